"""A store keeps the settings it records (its similarity and index type) whatever pipeline opens it: a pipeline
YAML's values are for a new store, and only the caller's own (overrides) rebuild it with others (issue 30.3,
the rule the encoder follows too). The bundled YAMLs say ``similarity: dot_product``: a cosine store queried
writable through them was rebuilt as dot_product and recorded so."""
import json
import sqlite3
from pathlib import Path

import pytest

from dpr_components.pipelines import bundled_pipelines, index_corpus
from dpr_components.pipelines.loading import read_pipeline_config
from dpr_components.workspace import Workspace

ARTICLES = [{"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20},
            {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20}]
COSINE_HNSW = {"similarity": "cosine", "faiss_index_factory_str": "HNSW32"}


def recorded(store: str) -> dict:
    with sqlite3.connect(Path(store) / "documents.sqlite") as connection:
        return {key: value for key, value in connection.execute("SELECT key, value FROM store_info")
                if key in COSINE_HNSW}


def write_corpus(path: Path, articles) -> str:
    path.write_text("".join(json.dumps(article) + "\n" for article in articles), encoding="utf-8")
    return str(path)


@pytest.fixture
def cosine_store(tmp_path, tiny_retriever_overrides):
    store = str(tmp_path / "store")
    index_corpus(write_corpus(tmp_path / "corpus.jsonl", ARTICLES), store=store, progress_bar=False,
                 overrides={**tiny_retriever_overrides, **{f"DocumentStore.{k}": v for k, v in COSINE_HNSW.items()}})
    assert recorded(store) == COSINE_HNSW
    return store


def test_a_cosine_store_keeps_its_settings_through_every_bundled_pipeline(cosine_store, tmp_path, tiny_reader):
    reader = {"Reader.model_name_or_path": tiny_reader, "Reader.max_seq_len": 128, "Reader.doc_stride": 32}
    names = sorted(set(bundled_pipelines()) - {"elasticsearch_hybrid"})  # needs a server
    for name in names:
        for read_only in (False, True):
            config = read_pipeline_config(name, store=cosine_store)
            with Workspace.for_pipeline(config, read_only=read_only) as workspace:  # main: dot_product, Flat
                store = workspace.store
                assert {"similarity": store.similarity, "faiss_index_factory_str": store.faiss_index_factory_str} \
                    == COSINE_HNSW, (name, read_only)
                if name == "indexing" and not read_only:
                    workspace.index(write_corpus(tmp_path / "more.jsonl", [{"id": "it", "title": "Italy",
                                    "text": "Rome is the capital of Italy. " * 20}]), progress_bar=False)
                elif name != "indexing":
                    overrides = reader if name.endswith("_qa") else {}
                    result = workspace.query(["capital of France"], name, overrides=overrides)[0]
                    assert result["documents"]
                    if name == "dense_retrieval":  # raw cosine scores (the tiny encoder's vectors are not unit)
                        assert all(-1 - 1e-5 <= d["score"] <= 1 + 1e-5 for d in result["documents"])
        assert recorded(cosine_store) == COSINE_HNSW, name


def test_the_callers_setting_wins_and_a_new_store_takes_the_yamls(cosine_store, tmp_path):
    config = read_pipeline_config("bm25_retrieval", store=cosine_store, overrides=["DocumentStore.similarity=l2"])
    with Workspace.for_pipeline(config) as workspace:
        assert workspace.store.similarity == "l2"
    assert recorded(cosine_store)["similarity"] == "l2"
    yaml = (Path(config.path).read_text(encoding="utf-8")
            .replace("progress_bar: false", "progress_bar: false\n      similarity: cosine"))
    assert "similarity: cosine" in yaml
    (tmp_path / "cosine.yml").write_text(yaml, encoding="utf-8")
    new = str(tmp_path / "new_store")
    with Workspace.for_pipeline(read_pipeline_config(str(tmp_path / "cosine.yml"), store=new)) as workspace:
        assert workspace.store.similarity == "cosine"  # nothing recorded yet: the YAML's
        workspace.store.write_documents([{"content": "Paris is in France.", "meta": {"name": "Paris"}}])
    assert recorded(new)["similarity"] == "cosine"
