"""Who may write what: queries never write (27.9), a directory that is not a store stays untouched, a failed
index leaves no store behind (30.9), and indexing follows the store's encoder or stays BM25-only (27.8)."""
import hashlib
import json
from pathlib import Path

import pytest
from haystack import Document

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from dpr_components.workspace import Workspace

ARTICLES = [{"id": "oslo", "title": "Oslo", "text": "Oslo is the capital of Norway. " * 30},
            {"id": "rome", "title": "Rome", "text": "Rome is the capital of Italy. " * 30}]


def snapshot(directory):
    """Every file of a store but SQLite's -wal/-shm companions, with a digest of its bytes."""
    return {str(path.relative_to(directory)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.rglob("*")) if path.is_file() and not path.name.endswith(("-wal", "-shm"))}


def one_line_error(capsys, *expected):
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1, error
    assert all(text in error for text in expected), error


def test_queries_write_nothing_the_index_command_built_the_indexes(tiny_store, capsys):
    store = tiny_store(ARTICLES)
    before = snapshot(Path(store))
    assert any(name.endswith(".faiss") for name in before)  # main: built (and written) by the first query
    for pipeline in ("dense_retrieval", "bm25_retrieval", "hybrid_retrieval"):
        assert main(["retrieve", "capital of Norway", "--pipeline", pipeline, "--store", store, "--json"]) == EXIT_OK
        assert json.loads(capsys.readouterr().out)[0]["documents"]  # (random tiny encoders: any order)
    assert snapshot(Path(store)) == before


def test_a_directory_that_is_not_a_store_is_refused_and_left_alone(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("my notes", encoding="utf-8")
    assert main(["retrieve", "capital", "--store", str(tmp_path)]) == EXIT_USAGE  # main: created a store there
    one_line_error(capsys, "is not a store")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]
    with pytest.raises(Exception, match="is not a store"):
        Workspace(tmp_path, read_only=True)


def test_a_failed_index_leaves_no_store(tmp_path, tiny_retriever_overrides, capsys):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    bad = ["-p", f"Retriever.passage_embedding_model={tmp_path / 'missing'}",
           "-p", f"Retriever.query_embedding_model={tmp_path / 'missing'}"]
    assert main(["index", str(corpus), "--store", str(tmp_path / "new"), *bad]) == EXIT_USAGE
    capsys.readouterr()
    assert not (tmp_path / "new").exists()  # main: an empty store folder that later commands took for a store
    existing = tmp_path / "existing"
    existing.mkdir()
    assert main(["index", str(corpus), "--store", str(existing), *bad]) == EXIT_USAGE
    assert list(existing.iterdir()) == []


@pytest.fixture
def bm25_store(tmp_path):
    """A store of passages without vectors, as written by a BM25-only pipeline."""
    path = tmp_path / "bm25_store"
    store = HybridDocumentStore(path=str(path), progress_bar=False)
    store.write_documents([Document(a["text"], id=a["id"], meta={"name": a["title"], "source_id": a["id"]})
                           for a in ARTICLES])
    store.close()
    return path


def test_indexing_into_a_bm25_store_loads_no_encoder(bm25_store, tmp_path, capsys):
    corpus = tmp_path / "more.jsonl"
    corpus.write_text(json.dumps({"id": "bern", "title": "Bern", "text": "Bern is the capital of Switzerland."}) + "\n",
                      encoding="utf-8")
    # the default indexing pipeline names facebook's DPR encoders, which cannot be loaded offline
    assert main(["index", str(corpus), "--store", str(bm25_store), "--json"]) == EXIT_OK, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["documents_new"] == 1
    assert main(["retrieve", "Switzerland", "--pipeline", "bm25_retrieval", "--store", str(bm25_store)]) == EXIT_OK
    assert "Bern  [id bern-0]" in capsys.readouterr().out


def test_serving_a_bm25_store_offline_without_read_only(bm25_store):
    pytest.importorskip("fastapi", reason='the REST API needs pip install "dpr-components[serve]"')
    from dpr_components.serving import ServeSettings, load_service

    service = load_service(ServeSettings(pipeline="bm25_retrieval", store=str(bm25_store)))  # main: DPR download
    assert "Retriever" not in service.pipelines.indexing.nodes
    assert service.lock is service.pipelines.workspace.lock  # the CLI's and the REST API's one lock
    service.start()
    try:
        assert service.upload([("bern.txt", b"Bern is the capital of Switzerland.")])["passages_written"] == 1
        assert service.query("Switzerland").result(timeout=30)["documents"][0]["meta"]["name"] == "bern"
    finally:
        service.stop()
