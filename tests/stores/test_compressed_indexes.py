"""Compressed FAISS indexes in the store: trained on demand, kept across save/reopen, filters inside the search.

The factory strings are the benchmark's (benchmarks/index_compression.py) at a size 32-d test vectors allow.
"""
import logging

import faiss
import numpy as np
import pytest
from store_testing import make_documents

from dpr_components.errors import ConfigurationError
from dpr_components.stores.vector_index import VectorIndex, exact_search, id_selector

FACTORIES = ["HNSW32,SQ8", "IVF16,PQ8x4", "OPQ8,IVF16,PQ8x4", "IVF16,SQ8"]  # PQ8x4: 16 centroids, trains in ms
DIM, COUNT = 32, 1200  # IVF16 wants >= 16 x 39 training vectors


@pytest.fixture(autouse=True, scope="module")
def one_faiss_thread():
    """Training is tiny here; OpenMP threads spinning against other processes made it 20x slower."""
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(threads)


@pytest.mark.parametrize("factory", FACTORIES)
def test_compressed_index_trains_survives_reopen_and_filters(open_store, store_path, factory, caplog):
    documents = make_documents(COUNT, dim=DIM)
    store = open_store(faiss_index_factory_str=factory, nprobe=16, ef_search=256)
    store.write_documents(documents)
    probes = [documents[i] for i in (5, 400, 999)]
    with caplog.at_level(logging.INFO, logger="dpr_components.stores.index_caches"):
        before = [[d.id for d in store.query_by_embedding(p.embedding, top_k=10)] for p in probes]
    assert "Building the" in caplog.text  # trained on demand, at the first search
    vectors = store._caches.vectors(store.index)
    assert vectors.index.is_trained and vectors.size == COUNT
    assert all(p.id in hits for p, hits in zip(probes, before))  # a stored vector finds itself
    store.close()

    caplog.clear()
    reopened = open_store(faiss_index_factory_str=factory, nprobe=16, ef_search=256)
    with caplog.at_level(logging.INFO, logger="dpr_components.stores.index_caches"):
        after = [[d.id for d in reopened.query_by_embedding(p.embedding, top_k=10)] for p in probes]
        filtered = reopened.query_by_embedding(probes[0].embedding, top_k=10, filters={"genre": ["paper"]})
    assert "Building the" not in caplog.text  # the saved, trained index was loaded, not rebuilt
    assert after == before
    assert len(filtered) == 10 and all(d.meta["genre"] == "paper" for d in filtered)


def test_search_settings_reach_faiss(open_store):
    store = open_store(faiss_index_factory_str="IVF16,SQ8", nprobe=3)
    store.write_documents(make_documents(COUNT, dim=DIM))
    store.query_by_embedding(np.ones(DIM, dtype=np.float32), top_k=3)
    assert faiss.extract_index_ivf(store._caches.vectors(store.index).index.index).nprobe == 3
    with pytest.raises(ConfigurationError, match=r"nprobe .*must be a positive integer"):
        open_store(nprobe=0)


@pytest.mark.parametrize("ids", [np.array([0, 3, 9, 64, 1000]), np.array([5, 10 ** 12])])
def test_id_selector_holds_exactly_the_ids(ids):
    selector = id_selector(ids)
    probe = sorted(set(ids.tolist()) | {1, 2, 8, 63, 65, 999, 1001, 10 ** 9})
    assert [i for i in probe if selector.is_member(i)] == sorted(ids.tolist())


@pytest.mark.parametrize("factory, settings", [("IVF16,Flat", {"nprobe": 1}), ("HNSW32", {"ef_search": 10})])
def test_a_narrow_filter_widens_the_search(factory, settings):
    """A filter allowing 1/16 of the vectors searches 16x wider: all 16 lists (exact), or efSearch 160. Without
    the widening, one probed list holds ~8 allowed vectors (fewer than k) and efSearch 10 misses most."""
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((COUNT * 2, DIM)).astype(np.float32)
    ids = np.arange(len(vectors))
    index = VectorIndex.create(DIM, factory, "dot_product", **settings)
    if not index.index.is_trained:
        index.train(vectors)
    index.add(ids, vectors)
    allowed = np.sort(rng.choice(ids, len(ids) // 16, replace=False))
    queries = rng.standard_normal((20, DIM)).astype(np.float32)
    _, found = index.search(queries, 10, allowed)
    _, truth = exact_search(queries, [(allowed, vectors[allowed])], 10, "dot_product")
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found.tolist(), truth.tolist())])
    assert recall >= 0.95


@pytest.mark.parametrize("factory, size", [("HNSW32", 100_000), ("IVF1024,SQ8", 100_000),
                                           ("IVF16384,SQ8", 39 * 16384), ("OPQ8,IVF8192,PQ8", 39 * 8192)])
def test_many_ivf_lists_train_on_39_vectors_each(factory, size):
    assert VectorIndex.create(DIM, factory, "dot_product").training_sample_size == size
