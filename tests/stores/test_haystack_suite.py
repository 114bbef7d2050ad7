"""Haystack's own document-store conformance suite (``haystack.testing.DocumentStoreBaseTestAbstract``, shipped
with farm-haystack) run against HybridDocumentStore, overridden where it does not apply exactly as upstream
Haystack v1.26.4 overrides it for its reference InMemoryDocumentStore (``test/document_stores/test_memory.py``),
plus upstream's InMemory search tests."""
from copy import deepcopy

import numpy as np
import pytest
from haystack.nodes import BM25Retriever
from haystack.testing import DocumentStoreBaseTestAbstract

from dpr_components.stores.hybrid_document_store import HybridDocumentStore


class TestHaystackDocumentStoreSuite(DocumentStoreBaseTestAbstract):
    @pytest.fixture
    def ds(self, tmp_path):
        store = HybridDocumentStore(path=str(tmp_path / "store"), return_embedding=True, progress_bar=False)
        yield store
        store.close()

    def test_delete_index(self, ds, documents):
        """Overridden as upstream does for InMemory: an index that does not exist (any more) counts 0 documents
        instead of raising (Haystack's base test expects an error, as Elasticsearch gives)."""
        ds.write_documents(documents, index="custom_index")
        assert ds.get_document_count(index="custom_index") == len(documents)
        ds.delete_index(index="custom_index")
        assert ds.get_document_count(index="custom_index") == 0
        assert ds.get_all_documents(index="custom_index") == []

    def test_ne_filters(self, ds, documents):
        """Overridden as upstream does for InMemory: Haystack's reference semantics (filter_utils NeOperation,
        InMemoryDocumentStore) fail ``$ne`` on documents missing the field, so the 3 documents without a year are
        not returned (the base test, written for Elasticsearch, expects 6)."""
        ds.write_documents(documents)
        assert len(ds.get_all_documents(filters={"year": {"$ne": "2020"}})) == 3

    def test_write_labels_keeps_the_written_order_when_a_label_is_replaced(self, ds, labels):
        ds.write_labels(labels)
        replaced = deepcopy(labels[1])
        replaced.meta = {"name": "changed"}
        ds.write_labels([replaced])
        assert ds.get_all_labels() == [labels[0], replaced, *labels[2:]]
        assert ds.get_all_labels(filters={"origin": "user-feedback"}) == [replaced, *labels[3::2]]

    # Upstream's InMemory search tests (test_memory.py), for the store's BM25 and dense search.

    def test_memory_query(self, ds, documents):
        ds.write_documents(documents)
        docs = ds.query(query="Bar", top_k=1)
        assert len(docs) == 1 and "A Bar Document" in docs[0].content

    def test_memory_query_batch(self, ds, documents):
        """Adapted: BM25 hits are the documents holding a query term, as in Elasticsearch (3 per query here);
        InMemory's rank_bm25 pads top_k with zero-score documents (5)."""
        ds.write_documents(documents)
        docs = ds.query_batch(queries=["Foo", "Bar"], top_k=5)
        assert len(docs) == 2 and len(docs[0]) == 3 and len(docs[1]) == 3
        assert "A Foo Document" in docs[0][0].content and "A Bar Document" in docs[1][0].content

    def test_memory_query_by_embedding_batch(self, ds, documents):
        documents = [doc for doc in documents if doc.embedding is not None]
        ds.write_documents(documents)
        query_embs = [doc.embedding for doc in documents]
        docs_batch = ds.query_by_embedding_batch(query_embs=query_embs, top_k=5)
        assert len(docs_batch) == 6
        for docs, query_emb in zip(docs_batch, query_embs):
            assert len(docs) == 5
            assert (docs[0].embedding == query_emb).all()

    def test_bm25_scores_not_changing_across_queries(self, ds, documents):
        ds.write_documents(documents)
        retriever = BM25Retriever(ds, scale_score=False)
        queries = ["What is a Foo Document?", "What is a Bar Document?", "Tell me about a document without embeddings"]
        direct = [doc.score for query in queries for doc in retriever.retrieve(query)]
        copied = [doc.score for query in queries for doc in deepcopy(retriever.retrieve(query))]
        assert direct == copied and np.isfinite(direct).all()
