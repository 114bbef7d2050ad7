"""Persistence: reopening, caches repaired from SQLite, clear errors for bad files, and real SIGKILLed writers."""
import logging
import multiprocessing
import signal
import sqlite3
import time

import faiss
import numpy as np
import pytest
from store_crash_scenarios import DIM, expected_state, kill_at, write_until_killed
from store_testing import make_documents

from dpr_components.errors import EmbeddingDimensionError, StoreCorruptedError
from dpr_components.stores import vector_index

CACHE_LOGGER = "dpr_components.stores.index_caches"


def search_results(store, queries):
    return [[(d.id, round(d.score, 4)) for d in store.query_by_embedding(q, top_k=5, scale_score=False)]
            for q in queries] + [[d.id for d in store.query("paris topic3", top_k=5)]]


@pytest.fixture
def queries():
    return np.random.default_rng(42).standard_normal((3, 8)).astype(np.float32)


def test_reopened_store_answers_the_same_from_saved_caches(open_store, queries, caplog):
    store = open_store(faiss_index_factory_str="HNSW32")
    store.write_documents(make_documents(300))
    before = search_results(store, queries)
    store.close()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
        reopened = open_store(faiss_index_factory_str="HNSW32")
        assert search_results(reopened, queries) == before
    assert "Building the" not in caplog.text  # loaded from disk, not rebuilt
    assert reopened.get_document_count() == 300 and reopened.embedding_dim == 8


def test_new_vectors_are_replayed_onto_the_saved_index(open_store, queries, caplog):
    store = open_store()
    store.write_documents(make_documents(100))
    store.query_by_embedding(queries[0])
    store.close()
    reopened = open_store()
    reopened.write_documents(make_documents(50, start=100, seed=1))
    reopened.delete_documents(ids=[d.id for d in make_documents(5)])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
        hits = reopened.query_by_embedding(queries[0], top_k=200)
    assert "Building the" not in caplog.text and len(hits) == 145


def test_large_flat_index_is_rebuilt_rather_than_reallocated(open_store, queries, monkeypatch, caplog):
    # faiss grows a full flat index by doubling its storage; the store rebuilds it (1/64 headroom) instead.
    monkeypatch.setattr(vector_index, "SMALL_FLAT_BYTES", 0)  # treat this small index as a large one
    store = open_store()
    store.write_documents(make_documents(100))
    built = store._caches.vectors("document")
    assert built.capacity == 100 + 1024
    store.write_documents(make_documents(50, start=100, seed=1))  # fits in the headroom: added in place
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
        assert len(store.query_by_embedding(queries[0], top_k=500)) == 150
    assert "Building the" not in caplog.text and store._caches.vectors("document") is built
    store.close()
    reopened = open_store()  # loaded from its file: storage exactly full
    reopened.write_documents(make_documents(5, start=200, seed=2))
    with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
        assert len(reopened.query_by_embedding(queries[0], top_k=500)) == 155
    assert "Building the Flat vector index" in caplog.text
    assert reopened._caches.vectors("document").capacity == 155 + 1024


@pytest.mark.parametrize("damage", ["delete", "garbage", "truncate"])
def test_missing_or_corrupt_cache_files_are_rebuilt(open_store, store_path, queries, damage, caplog):
    store = open_store()
    store.write_documents(make_documents(200))
    before = search_results(store, queries)
    store.close()
    cache_files = [p for p in (store_path / "vectors").iterdir()] + list((store_path / "bm25").glob("*/*"))
    assert cache_files
    for path in cache_files:
        if damage == "delete":
            path.unlink()
        elif damage == "garbage":
            path.write_bytes(b"not an index" * 10)
        else:
            path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    caplog.clear()
    with caplog.at_level(logging.INFO, logger=CACHE_LOGGER):
        assert search_results(open_store(), queries) == before
    assert "Building the Flat vector index" in caplog.text and "Building the BM25 index" in caplog.text


def test_changed_similarity_or_index_type_rebuilds_from_the_stored_vectors(open_store, queries):
    open_store().write_documents(make_documents(100))
    cosine = open_store(similarity="cosine", faiss_index_factory_str="HNSW32")
    top = cosine.query_by_embedding(queries[0], top_k=1, scale_score=False)[0]
    stored = np.stack([d.embedding for d in cosine.get_all_documents(return_embedding=True)])
    best = (stored / np.linalg.norm(stored, axis=1, keepdims=True)) @ (queries[0] / np.linalg.norm(queries[0]))
    assert top.score == pytest.approx(best.max(), rel=1e-5)
    assert isinstance(faiss.downcast_index(cosine._caches.vectors("document").index.index), faiss.IndexHNSWFlat)


def test_corrupt_database_and_incompatible_versions_raise_clear_errors(open_store, store_path):
    open_store().write_documents(make_documents(3))
    connection = sqlite3.connect(store_path / "documents.sqlite")
    connection.execute("UPDATE store_info SET value = '99' WHERE key = 'format_version'")
    connection.commit()
    connection.close()
    with pytest.raises(StoreCorruptedError, match="incompatible version .* format 99; this version reads format 1"):
        open_store()
    (store_path / "documents.sqlite").write_bytes(b"garbage" * 1000)
    for suffix in ("-wal", "-shm"):
        (store_path / f"documents.sqlite{suffix}").unlink(missing_ok=True)
    with pytest.raises(StoreCorruptedError, match="not a readable document store database"):
        open_store()


def test_explicit_embedding_dim_must_match_the_stored_one(open_store, tmp_path):
    open_store().write_documents(make_documents(3, dim=8))
    with pytest.raises(EmbeddingDimensionError, match="size 16 but index 'document' holds 8-dim"):
        open_store(embedding_dim=16)
    assert open_store(embedding_dim=8).get_document_count() == 3
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreCorruptedError, match="is a file"):
        open_store(path=str(tmp_path / "file"))


# ----- real processes killed with SIGKILL -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def processes():
    """Children forked from a server that imported the store once (fast, and no threads forked).

    Python 3.11's forkserver ignores the parent's sys.path when preloading, so only the package (importable
    from the project root, where the tests run) is preloaded; children import the scenarios module.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["dpr_components.stores.hybrid_document_store"])
    return context


def run_until_killed(processes, target, args, kill_after_step=None, delay=0.0):
    """Run ``target`` in a child; kill it (unless it kills itself) after it reports ``kill_after_step``.
    Returns the last step the child reported as committed."""
    receiver, sender = processes.Pipe(duplex=False)
    child = processes.Process(target=target, args=(*args, sender))
    child.start()
    sender.close()
    reported = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if receiver.poll(0.01):
            try:
                reported = receiver.recv()
            except EOFError:
                break
            if kill_after_step is not None and reported >= kill_after_step:
                time.sleep(delay)
                child.kill()
                break
        elif not child.is_alive():
            break
    child.join(30)
    while receiver.poll():  # steps reported before the kill took effect
        try:
            reported = receiver.recv()
        except EOFError:
            break
    assert child.exitcode == -signal.SIGKILL, f"child ended with {child.exitcode}, not killed"
    return reported


def assert_consistent(open_store, store_path, steps_reported, factory="Flat", exact=False):
    store = open_store(path=str(store_path), faiss_index_factory_str=factory)
    stored = {d.id: d.embedding for d in store.get_all_documents(return_embedding=True)}
    # Unless ``exact``, the child may have committed one step it could not report before dying.
    candidates = [expected_state(steps_reported)] + ([] if exact else [expected_state(steps_reported + 1)])
    expected = next((state for state in candidates if state.keys() == stored.keys()), None)
    assert expected is not None, f"store holds {len(stored)} documents, matching no committed state"
    for doc_id, vector in expected.items():
        np.testing.assert_array_equal(stored[doc_id], vector)
    vectors = store._caches.vectors(store.index)
    info = store._database.index_info(store.index)
    assert np.array_equal(np.sort(vectors.ids()), store._database.row_ids(info, embedding=True))
    assert store.get_embedding_count() == store.get_document_count() == vectors.size == len(expected)
    assert store._caches.bm25(store.index).size == len(expected)
    query = np.random.default_rng(0).standard_normal(DIM).astype(np.float32)
    ids = list(expected)
    best = np.argsort(-(np.stack([expected[i] for i in ids]) @ query))[:5]
    assert [d.id for d in store.query_by_embedding(query, top_k=5)] == [ids[i] for i in best]
    assert {d.id for d in store.query("paris", top_k=1000)} <= set(expected)
    assert not [p for p in store_path.rglob("*") if ".tmp-" in p.name]  # leftovers of the dead writer removed
    store.close()


@pytest.mark.parametrize("scenario", ["inside_write_transaction", "inside_vector_save",
                                      "before_change_log_pruning", "inside_bm25_save", "inside_update_embeddings"])
def test_process_killed_at_a_precise_point_leaves_the_last_committed_state(
        processes, open_store, store_path, scenario):
    reported = run_until_killed(processes, kill_at, (scenario, str(store_path)))
    assert reported == (3 if scenario == "inside_bm25_save" else 2)
    assert_consistent(open_store, store_path, reported, exact=True)


@pytest.mark.parametrize("factory, kill_after_step, delay", [("Flat", 3, 0.0), ("Flat", 5, 0.013),
                                                             ("HNSW32", 4, 0.007)])
def test_process_killed_at_a_random_moment_leaves_a_committed_state(
        processes, open_store, store_path, factory, kill_after_step, delay):
    reported = run_until_killed(processes, write_until_killed, (str(store_path), factory), kill_after_step, delay)
    assert reported >= kill_after_step
    assert_consistent(open_store, store_path, reported, factory)
