"""benchmarks/check_docs.py, the docs' command runner (issue 30.7): how it reads a page, how it matches printed
output, that every page still parses with small settings that match it, and a cheap page run end to end."""
import pytest

from benchmarks import check_docs
from benchmarks.check_docs import Command, output_matches, parse_page, run_page

PAGE = """# A page

<!-- docs-check: skip needs a server -->
```bash
dpr-components serve --store s
```

```bash
# commentary above a command
first --flag \\
    continued
# printed line 1
# Loaded 8 shards (... passages) into s.

# commentary after a blank line
second
for i in 1 2; do
    third $i
done
```

```
output of third
```

```bash
$ curl -s localhost/health
{"ok": true}
```

```yaml
not: run
```
"""


def test_a_page_is_read_as_commands_with_their_expected_output(tmp_path):
    page = tmp_path / "page.md"
    page.write_text(PAGE, encoding="utf-8")
    commands = parse_page(page, "page.md")
    assert [c.text.split()[0] for c in commands] == ["dpr-components", "first", "second", "for", "curl"]
    assert commands[0].skip == "needs a server" and all(c.skip is None for c in commands[1:])
    assert commands[1].text == "first --flag \\\n    continued"
    assert commands[1].expected == ["printed line 1", "Loaded 8 shards (... passages) into s."]
    assert commands[2].expected == []
    assert commands[3].text.endswith("done") and commands[3].expected == ["output of third"]
    assert commands[4].expected == ['{"ok": true}'] and commands[4].line == 27


@pytest.mark.parametrize("expected, printed, exact, matches", [
    (["Loaded 8 shards (... passages) into s."], "progress\nLoaded 8 shards (120 passages) into s.\nbye\n", True, True),
    (["Loaded 8 shards (... passages) into s."], "Loaded 7 shards (120 passages) into s.\n", True, False),
    (["Loaded 8 shards into s."], "Loaded 7 shards into s.\n", False, True),  # small settings: any number
    (["a", "...", "d"], "a\nb\nc\nd\n", True, True),
    (["a", "d"], "a\nb\nd\n", True, False),  # lines follow each other unless "..." says otherwise
    (["| run | top-1 |", "| bm25 | 41.1 |"], "|  run | top-1 |\n|   bm25 |  41.1 |\n", True, True),  # spaces
    (["bm25 41.1"], "bm25 41.10\n", True, False),
])
def test_expected_output_matches_doctest_style(expected, printed, exact, matches):
    assert output_matches(expected, printed, exact_numbers=exact) is matches


def test_every_page_parses_and_its_small_settings_still_match_it():
    texts = {}
    for page in check_docs.PAGES_ORDER:
        commands = parse_page(check_docs.ROOT / page, page)
        texts[page] = "\n".join(c.text for c in commands)
    for page, replacements in check_docs.SMALL.items():
        assert page in texts, page
        assert all(old in texts[page] for old, _ in replacements), page
    assert sum(len(parse_page(check_docs.ROOT / p, p)) for p in check_docs.PAGES_ORDER) > 80


@pytest.mark.slow  # starts the CLI twice (~20-60 s on 2 busy cores)
def test_a_page_runs_in_order_and_a_drifted_output_is_reported(tmp_path):
    import os
    import sys
    from pathlib import Path

    commands = [
        Command("p.md", 1, "python -m dpr_components fetch-data dpr-questions", ["dpr-questions: ..."]),
        Command("p.md", 2, "export GREETING=hello"),
        Command("p.md", 3, "echo $GREETING; echo 3 shards", ["hello", "4 shards"]),  # the page drifted
        Command("p.md", 4, "dpr-components retrieve q --store never_built", ["error: Store 'never_built' ..."]),
        Command("p.md", 5, "false"),
    ]
    env = dict(os.environ, PYTHONPATH=str(check_docs.ROOT), HF_HUB_OFFLINE="1", HAYSTACK_TELEMETRY_ENABLED="False",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    outcomes = run_page("p.md", commands, tmp_path, env, full=True, timeout=600)
    assert [o.status for o in outcomes] == ["ok", "ok", "failed", "ok", "failed"]
    assert "does not match" in outcomes[2].detail and "exit status 1" in outcomes[4].detail
