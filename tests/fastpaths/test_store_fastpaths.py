"""The store's two fast paths (faiss_storage: a flat index's vectors and ids read and written in place;
document_copies: Documents made and copied past pydantic's __init__) give the answers their plain fallbacks give."""
import copy

import numpy as np
import pytest
from haystack.schema import Document

from dpr_components.stores import document_rows
from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from dpr_components.stores.vector_index import VectorIndex

DIM = 8


def documents(count: int) -> list:
    rng = np.random.default_rng(0)
    return [Document(content=f"passage {i} about topic {i % 5}", id=f"d{i}", meta={"topic": i % 5, "tags": ["a", i]},
                     embedding=rng.standard_normal(DIM).astype(np.float32)) for i in range(count)]


def answers(path, monkeypatch, setting: str):
    """Every stored document and the dense and BM25 hits of a fresh store over the same rows, under ``setting``."""
    monkeypatch.setenv("DPR_FASTPATHS", setting)
    store = HybridDocumentStore(path=str(path), embedding_dim=DIM, progress_bar=False)
    try:
        queries = np.random.default_rng(1).standard_normal((3, DIM)).astype(np.float32)
        dense = [[(d.id, round(d.score, 5)) for d in store.query_by_embedding(q, top_k=7)] for q in queries]
        bm25 = [(d.id, round(d.score, 5)) for d in store.query("topic 3", top_k=5)]
        return store.get_all_documents(return_embedding=True), dense, bm25
    finally:
        store.close()


def test_store_answers_equal_with_the_store_fast_paths_off(tmp_path, monkeypatch):
    store = HybridDocumentStore(path=str(tmp_path / "store"), embedding_dim=DIM, progress_bar=False)
    store.write_documents(documents(300))
    store.close()
    fast = answers(tmp_path / "store", monkeypatch, "on")
    plain = answers(tmp_path / "store", monkeypatch, "-faiss_storage,-document_copies")
    assert fast[1:] == plain[1:]
    assert fast[0] == plain[0] and len(fast[0]) == 300
    for a, b in zip(fast[0], plain[0]):
        assert a.meta == b.meta and np.array_equal(a.embedding, b.embedding)


@pytest.mark.parametrize("setting", ["on", "-faiss_storage"])
def test_a_flat_index_built_either_way_holds_the_same_vectors(monkeypatch, setting):
    monkeypatch.setenv("DPR_FASTPATHS", setting)
    rng = np.random.default_rng(2)
    vectors = rng.standard_normal((50, DIM)).astype(np.float32)
    row_ids = np.arange(100, 150)
    chunks = [(row_ids[:20], vectors[:20]), (row_ids[20:], vectors[20:])]
    index = VectorIndex.build(DIM, "Flat", "dot_product", vectors, chunks, count=50)
    assert (index.capacity > 50) == (setting == "on")  # the in-place build reserves headroom; add() does not
    assert index.ids().tolist() == row_ids.tolist()
    scores, ids = index.search(vectors[:3], k=4)
    assert ids[:, 0].tolist() == row_ids[np.argmax(vectors[:3] @ vectors.T, axis=1)].tolist()
    np.testing.assert_allclose(scores, np.sort(vectors[:3] @ vectors.T, axis=1)[:, ::-1][:, :4], rtol=1e-5)


def test_plain_document_copies_go_through_pydantic_and_stay_independent(monkeypatch):
    row = (1, "d1", "text", "text", '{"topic": 1, "tags": ["a", 1]}', '["content"]',
           np.ones(DIM, dtype=np.float32).tobytes())
    built = []
    original_init = document_rows.StoredDocument.__init__

    def counting_init(self, *args, **kwargs):
        built.append(kwargs.get("id"))
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(document_rows.StoredDocument, "__init__", counting_init)
    monkeypatch.setenv("DPR_FASTPATHS", "on")
    fast = document_rows.to_document(row)
    fast_copy = copy.deepcopy(fast)
    assert built == []  # the fast path never validates again
    monkeypatch.setenv("DPR_FASTPATHS", "-document_copies")
    plain = document_rows.to_document(row)
    plain_copy = copy.deepcopy(plain)
    assert built == ["d1", "d1"]
    assert fast == plain == fast_copy == plain_copy
    for document, clone in ((fast, fast_copy), (plain, plain_copy)):
        clone.meta["tags"].append("changed")
        clone.embedding[0] = 5.0
        assert document.meta["tags"] == ["a", 1] and document.embedding[0] == 1.0
