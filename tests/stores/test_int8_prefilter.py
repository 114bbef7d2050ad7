"""The int8 prefilter keeps flat search exact: its candidates always hold the float32 top k."""
import numpy as np
import pytest

from dpr_components.stores import vector_index
from dpr_components.stores.int8_prefilter import Int8Prefilter, int8_product_available
from dpr_components.stores.vector_index import VectorIndex

pytestmark = pytest.mark.skipif(not int8_product_available(), reason="this torch has no CPU int8 product")


def exact_top(vectors: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = vectors @ query
    return np.lexsort((np.arange(len(vectors)), -scores))[:k]


def near_ties(rng: np.random.Generator, count: int, dim: int) -> np.ndarray:
    """Vectors that differ from a shared one by less than int8's resolution: quantisation alone cannot tell
    them apart, so only the error bound keeps the true top k among the candidates."""
    base = rng.standard_normal(dim).astype(np.float32)
    return (base + 1e-3 * rng.standard_normal((count, dim))).astype(np.float32)


@pytest.mark.parametrize("make", ["gaussian", "shared_part", "near_ties", "wide_range"])
def test_candidates_hold_the_exact_top_k(make):
    rng = np.random.default_rng(1)
    if make == "gaussian":
        vectors = rng.standard_normal((3000, 32)).astype(np.float32)
    elif make == "shared_part":  # like DPR's [CLS] vectors: a large common part, outlier dimensions
        common = rng.standard_normal(32).astype(np.float32) * 20
        common[3] = 300
        vectors = common + rng.standard_normal((3000, 32)).astype(np.float32)
    elif make == "near_ties":
        vectors = near_ties(rng, 3000, 32)
    else:  # one huge coordinate per row makes every other coordinate's code coarse
        vectors = rng.standard_normal((3000, 32)).astype(np.float32)
        vectors[np.arange(3000), rng.integers(0, 32, 3000)] *= 1000
    prefilter = Int8Prefilter.of(vectors)
    taken = 0
    for query in rng.standard_normal((20, 32)).astype(np.float32):
        found = prefilter.candidates(query, vectors, k=10)
        if found is None:  # allowed: the caller scans everything
            continue
        taken += 1
        positions, scores = found
        assert set(exact_top(vectors, query, 10)) <= set(positions.tolist())
        np.testing.assert_allclose(scores, vectors[positions] @ query, rtol=1e-5, atol=1e-4)
    if make in ("gaussian", "shared_part"):
        assert taken == 20  # the bound prunes: the fast path is taken (a shared part needs the mean removed)


def test_zero_query_and_zero_rows():
    vectors = np.zeros((100, 8), dtype=np.float32)
    vectors[::2, 0] = np.arange(50)
    prefilter = Int8Prefilter.of(vectors)
    assert prefilter.candidates(np.zeros(8, dtype=np.float32), vectors, 5) is None
    positions, _ = prefilter.candidates(np.eye(8, dtype=np.float32)[0], vectors, 5)
    assert set(exact_top(vectors, np.eye(8, dtype=np.float32)[0], 5)) <= set(positions.tolist())


@pytest.mark.parametrize("similarity", ["dot_product", "cosine"])
def test_flat_search_with_prefilter_equals_the_float32_scan(similarity, monkeypatch):
    monkeypatch.setattr(vector_index, "PREFILTER_MIN_VECTORS", 1000)
    rng = np.random.default_rng(2)
    index = VectorIndex.create(24, "Flat", similarity, int8_prefilter=True)
    index.add(rng.permutation(100_000)[:4000], rng.standard_normal((4000, 24)).astype(np.float32))
    queries = rng.standard_normal((5, 24)).astype(np.float32)

    def compare(k: int) -> None:
        for query in queries:
            scores, ids = index.search(query[None], k)  # one query: the prefilter path
            expected_scores, expected_ids = index.search(np.stack([query, query]), k)  # two: the float32 scan
            np.testing.assert_array_equal(ids[0], expected_ids[0])
            np.testing.assert_allclose(scores[0], expected_scores[0], rtol=1e-5, atol=1e-5)

    compare(10)
    assert index._prefilter is not None and index._prefilter.rows == 4000
    index.add(np.arange(100_000, 100_500), rng.standard_normal((500, 24)).astype(np.float32) * 3)
    compare(100)  # the codes are extended by the appended rows
    assert index._prefilter.rows == 4500
    assert index.remove(np.arange(100_000, 100_250))
    compare(100)  # rebuilt after the storage was compacted
    assert index._prefilter.rows == 4250


def test_store_option_gives_the_same_hits_and_is_off_by_default(tmp_path, monkeypatch):
    from dpr_components.errors import ConfigurationError
    from dpr_components.stores.hybrid_document_store import HybridDocumentStore

    monkeypatch.setattr(vector_index, "PREFILTER_MIN_VECTORS", 100)
    rng = np.random.default_rng(3)
    vectors = rng.standard_normal((800, 16)).astype(np.float32) + 5  # a shared part, as DPR's vectors have
    plain = HybridDocumentStore(path=str(tmp_path / "store"), progress_bar=False)
    plain.write_documents([{"content": f"passage {i}", "id": str(i), "embedding": vector}
                           for i, vector in enumerate(vectors)])
    plain.build_indexes()
    prefiltered = HybridDocumentStore(path=str(tmp_path / "store"), int8_prefilter=True)
    for query in rng.standard_normal((5, 16)).astype(np.float32):
        expected = plain.query_by_embedding(query, top_k=20, scale_score=False)
        found = prefiltered.query_by_embedding(query, top_k=20, scale_score=False)
        assert [d.id for d in found] == [d.id for d in expected]
        np.testing.assert_allclose([d.score for d in found], [d.score for d in expected], rtol=1e-5)
    assert prefiltered._caches.vectors("document")._prefilter is not None
    assert plain._caches.vectors("document")._prefilter is None  # off unless asked: it costs memory
    with pytest.raises(ConfigurationError, match="int8_prefilter must be true or false"):
        HybridDocumentStore(path=str(tmp_path / "other"), int8_prefilter="yes")
