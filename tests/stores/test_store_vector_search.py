"""Vector search: every similarity against brute force, several faiss index types, filters inside the search."""
import faiss
import numpy as np
import pytest
from haystack.utils.scipy_utils import expit
from store_testing import make_documents

import dpr_components.stores.index_caches as caches_module


def brute_force(documents, query, similarity):
    vectors = np.stack([d.embedding for d in documents])
    if similarity == "cosine":
        vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        query = query / np.linalg.norm(query)
    scores = -((vectors - query) ** 2).sum(axis=1) if similarity == "l2" else vectors @ query
    order = np.argsort(-scores, kind="stable")
    return [documents[i].id for i in order], scores[order]


@pytest.mark.parametrize("similarity", ["dot_product", "cosine", "l2"])
def test_flat_search_equals_brute_force_for_every_similarity(open_store, similarity):
    store = open_store(similarity=similarity)
    documents = make_documents(200, dim=16)
    store.write_documents(documents)
    query = np.random.default_rng(7).standard_normal(16).astype(np.float32)
    expected_ids, expected_scores = brute_force(documents, query, similarity)
    hits = store.query_by_embedding(query, top_k=10, scale_score=False)
    assert [d.id for d in hits] == expected_ids[:10]
    np.testing.assert_allclose([d.score for d in hits], expected_scores[:10], rtol=1e-4, atol=1e-4)
    scaled = store.query_by_embedding(query, top_k=1, scale_score=True)[0].score
    raw = float(expected_scores[0])
    assert scaled == pytest.approx((raw + 1) / 2 if similarity == "cosine" else float(expit(raw / 100)), rel=1e-4)


@pytest.mark.parametrize("factory, inner_type", [
    ("HNSW32", faiss.IndexHNSWFlat),
    ("IVF8,Flat", faiss.IndexIVFFlat),  # trainable: trained on the stored vectors when first built
    ("SQ8", faiss.IndexScalarQuantizer),
])
def test_factory_strings_build_that_index_and_find_neighbours(open_store, factory, inner_type):
    store = open_store(faiss_index_factory_str=factory, similarity="cosine")
    documents = make_documents(600, dim=16)
    store.write_documents(documents)
    hits = [store.query_by_embedding(d.embedding, top_k=1)[0].id for d in documents[:40]]
    assert sum(hit == d.id for hit, d in zip(hits, documents)) >= 38  # approximate, but near-exact here
    index = store._caches.vectors(store.index).index
    assert isinstance(faiss.downcast_index(index.index), inner_type) and index.is_trained


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF64,Flat"])
def test_rare_filtered_documents_still_fill_top_k(open_store, factory, monkeypatch):
    # Force the faiss selector path even for few allowed vectors. IVF64 probes 16 of 64 lists and finds only
    # 4 of the 10 wanted rare documents: the exact fallback must complete the list.
    monkeypatch.setattr(caches_module, "EXACT_SEARCH_MAX", 0)
    store = open_store(faiss_index_factory_str=factory)
    documents = make_documents(1500, dim=16)
    for i, document in enumerate(documents):
        document.meta["rare"] = i % 100 == 0  # 15 documents
    store.write_documents(documents)
    query = np.random.default_rng(3).standard_normal(16).astype(np.float32)
    rare = [d for d in documents if d.meta["rare"]]
    hits = store.query_by_embedding(query, top_k=10, filters={"rare": True}, scale_score=False)
    assert [d.id for d in hits] == brute_force(rare, query, "dot_product")[0][:10]
    assert len(store.query_by_embedding(query, top_k=50, filters={"rare": True})) == 15


def test_filtered_search_over_many_documents_uses_faiss_and_is_exact_for_flat(open_store):
    store = open_store()
    documents = make_documents(5000, dim=8)
    store.write_documents(documents)
    query = np.random.default_rng(5).standard_normal(8).astype(np.float32)
    allowed = [d for d in documents if d.meta["tags"] == ["odd"]]  # 2500 > EXACT_SEARCH_MAX
    hits = store.query_by_embedding(query, top_k=20, filters={"tags": "odd"})
    assert [d.id for d in hits] == brute_force(allowed, query, "dot_product")[0][:20]


def test_batch_queries_with_one_or_per_query_filters(open_store):
    store = open_store()
    documents = make_documents(100, dim=8)
    store.write_documents(documents)
    queries = np.random.default_rng(1).standard_normal((3, 8)).astype(np.float32)
    batch = store.query_by_embedding_batch(queries, top_k=5, filters={"genre": "blog"})
    single = [store.query_by_embedding(q, top_k=5, filters={"genre": "blog"}) for q in queries]
    assert [[d.id for d in hits] for hits in batch] == [[d.id for d in hits] for hits in single]
    per_query = store.query_by_embedding_batch(queries, top_k=5, filters=[{"genre": "blog"}, None, {"year": 2003}])
    assert all(d.meta["genre"] == "blog" for d in per_query[0]) and all(d.meta["year"] == 2003 for d in per_query[2])
    assert len(per_query[1]) == 5


def test_top_k_larger_than_the_store_and_empty_stores(open_store):
    store = open_store()
    query = np.ones(8, np.float32)
    assert store.query_by_embedding(query) == []  # nothing written yet
    store.write_documents(make_documents(3, dim=8) + make_documents(2, start=10, embed=False))
    assert len(store.query_by_embedding(query, top_k=100)) == 3
    assert store.query_by_embedding(query, filters={"genre": "nothing"}) == []
    assert store.query_by_embedding(query, return_embedding=True)[0].embedding.shape == (8,)
