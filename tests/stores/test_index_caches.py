"""IndexCaches on its own: caches brought up to date by replaying SQLite's change log answer exactly as caches
rebuilt from scratch and as brute force over the stored vectors; a broken or unusable file costs a rebuild, never a
wrong answer; a cache that does not persist writes nothing. (A HybridDocumentStore writes the documents; the caches
under test open the same database with their own connection and directory.)"""
import logging
import shutil

import numpy as np
import pytest
from haystack.schema import Document

from dpr_components.stores import index_caches
from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from dpr_components.stores.index_caches import IndexCaches
from dpr_components.stores.sqlite_documents import DocumentDatabase

DIM = 8
BUILDING = "Building the"  # the log line of a rebuild from the documents database


def documents(rng, count, prefix):
    return [Document(content=f"{prefix} passage {i} about topic {i % 7}", id=f"{prefix}{i}", meta={"topic": i % 7},
                     embedding=rng.standard_normal(DIM).astype(np.float32)) for i in range(count)]


@pytest.fixture
def written(tmp_path):
    """A store with 200 documents, and a second connection to its database."""
    rng = np.random.default_rng(0)
    store = HybridDocumentStore(path=str(tmp_path / "store"), embedding_dim=DIM, progress_bar=False)
    store.write_documents(documents(rng, 200, "d"))
    database = DocumentDatabase(tmp_path / "store" / "documents.sqlite")
    yield store, database, rng
    database.close()
    store.close()


def caches(directory, database, factory="Flat", persist=True):
    return IndexCaches(directory, database, factory, "dot_product", k1=0.9, b=0.4, persist=persist)


def change(store, rng):
    """Deletes, additions and replaced vectors: every kind of row the change log records."""
    store.delete_documents(ids=[f"d{i}" for i in range(0, 200, 9)])
    store.write_documents(documents(rng, 30, "n"))
    store.write_documents(documents(rng, 10, "d"), duplicate_documents="overwrite")  # d0..d9: new vectors


def brute_force(database, queries, k, filters=None):
    info = database.index_info("document")
    row_ids, vectors = map(np.concatenate, zip(*database.vectors(info, filters)))
    scores = queries @ vectors.T
    return [[(float(scores[q, i]), int(row_ids[i])) for i in np.argsort(-scores[q], kind="stable")[:k]]
            for q in range(len(queries))]


def hits(cache, database, queries, k=10, filters=None):
    return cache.dense_hits(database.index_info("document"), queries, k, filters)


def same(left, right):
    assert [[row for _, row in q] for q in left] == [[row for _, row in q] for q in right]
    np.testing.assert_allclose([s for q in left for s, _ in q], [s for q in right for s, _ in q], rtol=1e-5)


def test_replayed_changes_answer_as_a_rebuild_and_as_brute_force(written, tmp_path, caplog):
    store, database, rng = written
    kept = caches(tmp_path / "kept", database)
    kept.build("document")  # saved: a later process loads it
    change(store, rng)
    queries = rng.standard_normal((5, DIM)).astype(np.float32)

    caplog.set_level(logging.INFO, logger="dpr_components.stores.index_caches")
    replayed = hits(kept, database, queries)  # in memory, brought up to date from the change log
    reloaded = hits(caches(tmp_path / "kept", database), database, queries)  # the saved file + the log
    assert BUILDING + " Flat vector index" not in caplog.text
    rebuilt = hits(caches(tmp_path / "fresh", database), database, queries)
    assert BUILDING + " Flat vector index" in caplog.text
    for answer in (replayed, reloaded):
        same(answer, rebuilt)
    same(rebuilt, brute_force(database, queries, 10))


@pytest.mark.parametrize("exact_up_to", [index_caches.EXACT_SEARCH_MAX, 0])  # exact scoring; faiss's id selector
def test_filtered_hits_are_the_best_of_the_allowed_documents(written, tmp_path, monkeypatch, exact_up_to):
    store, database, rng = written
    monkeypatch.setattr(index_caches, "EXACT_SEARCH_MAX", exact_up_to)
    cache = caches(tmp_path / "c", database)
    queries = rng.standard_normal((3, DIM)).astype(np.float32)
    for filters in ({"topic": [3]}, {"topic": {"$in": [1, 2]}}):
        same(hits(cache, database, queries, k=5, filters=filters), brute_force(database, queries, 5, filters))
    assert hits(cache, database, queries, k=5, filters={"topic": [99]}) == [[], [], []]


def test_an_index_that_cannot_remove_vectors_is_rebuilt_after_deletes(written, tmp_path, caplog):
    store, database, rng = written
    cache = caches(tmp_path / "hnsw", database, factory="HNSW16")
    queries = rng.standard_normal((4, DIM)).astype(np.float32)
    hits(cache, database, queries)
    store.delete_documents(ids=["d1", "d2"])
    caplog.set_level(logging.INFO, logger="dpr_components.stores.index_caches")
    row_ids = {row for q in hits(cache, database, queries, k=200) for _, row in q}
    assert BUILDING + " HNSW16 vector index" in caplog.text
    info = database.index_info("document")
    assert row_ids <= set(database.row_ids(info, embedding=True).tolist())
    assert cache.vectors("document").size == 198


def test_a_corrupt_saved_index_is_rebuilt_with_a_warning(written, tmp_path, caplog):
    store, database, rng = written
    caches(tmp_path / "c", database).build("document")
    for saved in (tmp_path / "c" / "vectors").glob("*.faiss"):
        saved.write_bytes(b"not a faiss index")
    queries = rng.standard_normal((2, DIM)).astype(np.float32)
    with caplog.at_level(logging.WARNING, logger="dpr_components.stores.index_caches"):
        answer = hits(caches(tmp_path / "c", database), database, queries)
    assert "rebuilding it from the documents database" in caplog.text
    same(answer, brute_force(database, queries, 10))


def test_bm25_follows_the_texts_and_a_memory_only_cache_writes_nothing(written, tmp_path):
    store, database, rng = written
    cache = caches(tmp_path / "memory", database, persist=False)
    before = cache.bm25("document")
    store.write_documents([Document(content="zebra stripes", id="z")])
    after = cache.bm25("document")
    assert after is not before and len(after.row_ids) == len(before.row_ids) + 1
    assert cache.vectors("document").size == 200
    cache.build("document")
    assert not (tmp_path / "memory").exists()


def test_a_read_only_store_whose_caches_were_deleted_answers_from_the_database(written, tmp_path):
    """The caches are derived data: deleting them must cost a rebuild in memory, not a crash (FileNotFoundError
    on the missing vectors/ folder before)."""
    store, database, rng = written
    store.close()
    for folder in ("vectors", "bm25"):
        shutil.rmtree(tmp_path / "store" / folder, ignore_errors=True)
    reader = HybridDocumentStore(path=str(tmp_path / "store"), read_only=True, progress_bar=False)
    try:
        assert len(reader.query_by_embedding(rng.standard_normal(DIM).astype(np.float32), top_k=3)) == 3
        assert len(reader.query("topic", top_k=3)) == 3
    finally:
        reader.close()
    assert not (tmp_path / "store" / "vectors").exists()  # read-only: nothing written
