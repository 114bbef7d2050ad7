"""The BLAS path of unfiltered flat search returns what faiss's own search returns."""
import numpy as np
import pytest

from dpr_components.stores import vector_index
from dpr_components.stores.vector_index import VectorIndex


@pytest.mark.parametrize("similarity", ["dot_product", "cosine"])
@pytest.mark.parametrize("k", [1, 10, 700])
def test_blas_search_equals_faiss_search(similarity, k, monkeypatch):
    rng = np.random.default_rng(0)
    index = VectorIndex.create(24, "Flat", similarity)
    index.add(rng.permutation(10_000)[:500], rng.standard_normal((500, 24), dtype=np.float32))
    queries = rng.standard_normal((3, 24), dtype=np.float32)
    scores, ids = index.search(queries, k)
    monkeypatch.setattr(vector_index, "BLAS_SEARCH_MAX_QUERIES", 0)  # faiss's own search
    expected_scores, expected_ids = index.search(queries, k)
    np.testing.assert_array_equal(ids, expected_ids)
    found = ids >= 0
    assert found.sum(axis=1).tolist() == [min(k, 500)] * 3
    np.testing.assert_allclose(scores[found], expected_scores[found], rtol=1e-5, atol=1e-5)
    assert np.isneginf(scores[~found]).all()


def test_l2_and_many_queries_keep_faiss_search():
    index = VectorIndex.create(8, "Flat", "l2")
    index.add(np.arange(4), np.eye(4, 8, dtype=np.float32))
    scores, ids = index.search(np.eye(1, 8, dtype=np.float32), 2)
    assert ids[0, 0] == 0 and scores[0, 0] == pytest.approx(0.0)  # minus the squared distance, not a dot product
    many = VectorIndex.create(8, "Flat", "dot_product")
    many.add(np.arange(4), np.eye(4, 8, dtype=np.float32))
    queries = np.eye(20, 8, dtype=np.float32)  # more than BLAS_SEARCH_MAX_QUERIES: faiss's batched path
    _, top = many.search(queries, 1)
    assert top[:4, 0].tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize("count", [1, 1023, 2048, 4099])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_inner_products_in_blocks_equal_the_plain_product(count, threads):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(count)
    queries = rng.standard_normal((2, 16), dtype=np.float32)
    vectors = rng.standard_normal((count, 16), dtype=np.float32)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        scores = vector_index.inner_products(queries, vectors)
    finally:
        torch.set_num_threads(before)
    np.testing.assert_allclose(scores, queries @ vectors.T, rtol=1e-5, atol=1e-5)
