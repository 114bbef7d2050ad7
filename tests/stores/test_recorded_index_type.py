"""The store records its FAISS factory string and similarity and reopens with them (issue 30.3): a query that
sets only ``nprobe`` searches the IVF index it was built with, not a rebuilt exact Flat one."""
import json
import logging

import faiss
import numpy as np
from store_testing import make_documents

CACHE_LOGGER = "dpr_components.stores.index_caches"
QUERY = np.random.default_rng(1).standard_normal(8).astype(np.float32)


def inner_index(store):
    return faiss.downcast_index(store._caches.vectors(store.index).index.index)


def test_a_store_reopens_with_its_recorded_index_type(open_store, caplog):
    store = open_store(faiss_index_factory_str="IVF4,Flat", similarity="cosine")
    store.write_documents(make_documents(300))
    store.build_indexes()
    store.close()
    caplog.clear()
    with caplog.at_level(logging.INFO):
        reopened = open_store(nprobe=4, read_only=True)  # what `retrieve -p DocumentStore.nprobe=4` opens
        hits = reopened.query_by_embedding(QUERY, top_k=3, scale_score=False)
    assert (reopened.faiss_index_factory_str, reopened.similarity) == ("IVF4,Flat", "cosine")
    assert isinstance(inner_index(reopened), faiss.IndexIVFFlat) and inner_index(reopened).nprobe == 4
    assert "Building the" not in caplog.text and len(hits) == 3 and hits[0].score <= 1.0 + 1e-6


def test_another_index_type_given_is_said_rebuilt_and_recorded_by_a_writer(open_store, caplog):
    open_store(faiss_index_factory_str="IVF4,Flat").write_documents(make_documents(300))
    with caplog.at_level(logging.WARNING):
        reader = open_store(faiss_index_factory_str="HNSW32", read_only=True)
        assert isinstance(inner_index(reader), faiss.IndexHNSWFlat)
    assert "built with faiss_index_factory_str='IVF4,Flat'; 'HNSW32' is given" in caplog.text
    assert open_store(read_only=True).faiss_index_factory_str == "IVF4,Flat"  # a reader records nothing
    open_store(faiss_index_factory_str="HNSW32")
    assert open_store(read_only=True).faiss_index_factory_str == "HNSW32"


def test_indexing_more_documents_keeps_the_recorded_index_type(tmp_path, tiny_retriever_overrides):
    from dpr_components.pipelines import index_corpus
    from dpr_components.stores.hybrid_document_store import HybridDocumentStore

    def corpus(name, start):
        path = tmp_path / name
        path.write_text("".join(json.dumps({"id": str(i), "title": f"title {i}", "text": f"text of passage {i} " * 5})
                                + "\n" for i in range(start, start + 40)), encoding="utf-8")
        return str(path)

    store = str(tmp_path / "store")
    index_corpus(corpus("a.jsonl", 0), store=store, progress_bar=False,
                 overrides={**tiny_retriever_overrides, "DocumentStore.faiss_index_factory_str": "HNSW32"})
    index_corpus(corpus("b.jsonl", 40), store=store, overrides=tiny_retriever_overrides, progress_bar=False)
    reopened = HybridDocumentStore(path=store, read_only=True, progress_bar=False)
    assert reopened.faiss_index_factory_str == "HNSW32" and reopened.get_document_count() == 80
    reopened.close()
