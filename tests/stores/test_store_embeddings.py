"""update_embeddings with a real (deterministic) DenseRetriever, and the recorded encoder signature."""
import zlib
from dataclasses import replace
from typing import List

import numpy as np
import pytest
from haystack.nodes.retriever import DenseRetriever
from haystack.schema import Document
from store_testing import make_documents

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import EmbeddingDimensionError, StoreError
from dpr_components.stores import encoder_records


def recorded(store, index):
    return encoder_records.recorded(store._database.index_info(index))


class WordHashingRetriever(DenseRetriever):
    """Embeds text as a normalised bag of hashed words: similar words, similar vectors, no model needed.

    Like DPRRetriever, it has an ``encoder_signature`` that update_embeddings reads and that travels with
    its query vectors; ``embed_documents`` is pure.
    """

    def __init__(self, document_store=None, dim: int = 32, salt: str = "a", top_k: int = 5):
        super().__init__()
        self.document_store, self.dim, self.salt, self.top_k = document_store, dim, salt, top_k
        self.encoder_signature = EncoderSignature(
            query_architecture="hash", passage_architecture="hash", query_weights=f"hash-{salt}",
            passage_weights=f"hash-{salt}", pooling="none", normalize=True, embedding_dim=dim,
            query_source=f"hash-{salt}", passage_source=f"hash-{salt}")
        self.embedded = 0

    def _embed(self, texts: List[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().split():
                vectors[row, zlib.crc32((self.salt + word).encode()) % self.dim] += 1
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)

    def embed_queries(self, queries: List[str]) -> np.ndarray:
        return self._embed(queries)

    def embed_documents(self, documents: List[Document]) -> np.ndarray:
        self.embedded += len(documents)
        return self._embed([d.content for d in documents])

    def retrieve(self, query, filters=None, top_k=None, index=None, headers=None, scale_score=None,
                 document_store=None):
        store = document_store or self.document_store
        return store.query_by_embedding(self.embed_queries([query])[0], filters=filters, top_k=top_k or self.top_k,
                                        index=index, scale_score=bool(scale_score),
                                        encoder_signature=self.encoder_signature)

    def retrieve_batch(self, queries, filters=None, top_k=None, index=None, headers=None, batch_size=None,
                       scale_score=None, document_store=None):
        return [self.retrieve(q, filters, top_k, index, headers, scale_score, document_store) for q in queries]


def test_update_embeddings_then_retrieve(open_store):
    store = open_store()
    store.write_documents(make_documents(40, embed=False))
    retriever = WordHashingRetriever(store)
    store.update_embeddings(retriever, batch_size=7)
    assert store.get_embedding_count() == 40 and store.embedding_dim == 32 and retriever.embedded == 40
    hits = retriever.retrieve("passage 17 about paris france and topic3")
    assert hits[0].meta["name"] == "Title 17"
    assert recorded(store, "document") == retriever.encoder_signature
    filtered = retriever.retrieve("passage 17 about paris", filters={"genre": "news"})
    assert filtered and all(d.meta["genre"] == "news" for d in filtered)


def test_only_missing_or_filtered_documents_are_embedded(open_store):
    store = open_store()
    store.write_documents(make_documents(10, embed=False))
    retriever = WordHashingRetriever(store)
    store.update_embeddings(retriever, filters={"genre": "blog"})
    assert store.get_embedding_count() == 3 == retriever.embedded
    store.write_documents(make_documents(5, start=10, embed=False))
    store.update_embeddings(retriever, update_existing_embeddings=False)
    assert store.get_embedding_count() == 15 and retriever.embedded == 15


def test_switching_encoders_replaces_every_vector_and_is_checked(open_store):
    store = open_store()
    store.write_documents(make_documents(12, embed=False))
    old, new = WordHashingRetriever(store, salt="a"), WordHashingRetriever(store, salt="b")
    store.update_embeddings(old)
    with pytest.raises(StoreError, match="holds vectors of another encoder .*hash-a.*hash-b"):
        store.update_embeddings(new, update_existing_embeddings=False)  # would mix two encoders
    with pytest.raises(StoreError, match="holds vectors of another encoder"):  # written with their signature
        store.write_documents([Document(content="x", embedding=new._embed(["x"])[0])],
                              encoder_signature=new.encoder_signature)
    assert recorded(store, "document") == old.encoder_signature

    store.update_embeddings(new)  # every vector replaced: allowed
    assert store.get_embedding_count() == 12
    assert new.retrieve("passage 5 about paris france and topic5")[0].meta["name"] == "Title 5"
    with pytest.raises(StoreError, match="another encoder .*query_weights: recorded 'hash-b', now 'hash-a'"):
        old.retrieve("passage 5")
    with pytest.raises(EmbeddingDimensionError, match="size 16 but index 'document'"):
        store.query_by_embedding(np.ones(16, dtype=np.float32),
                                 encoder_signature=replace(new.encoder_signature, embedding_dim=16))


def test_embeddings_of_the_wrong_size_are_refused(open_store):
    store = open_store()
    store.write_documents(make_documents(4, dim=8))
    store.write_documents(make_documents(3, start=10, embed=False))
    with pytest.raises(EmbeddingDimensionError, match="size 32 but index 'document' holds 8-dim"):
        store.update_embeddings(WordHashingRetriever(store), update_existing_embeddings=False)
    assert store.get_embedding_count() == 4


def test_retriever_records_its_encoder_on_the_index_being_embedded(open_store):
    store = open_store()
    store.write_documents(make_documents(5, embed=False), index="other")
    retriever = WordHashingRetriever(store)
    store.update_embeddings(retriever, index="other")
    assert recorded(store, "other") == retriever.encoder_signature
    assert store._database.index_info("document").encoder is None
    assert retriever.retrieve("passage 3 about paris france and topic3", index="other")[0].meta["name"] == "Title 3"
