"""DPRRetriever and shard loading talk to stores through the SignedVectorStore protocol (issue 27), and the
retriever checks the index it searches, not the store's default one (issue 27.3)."""
from typing import List, Optional

import pytest
from haystack.document_stores import InMemoryDocumentStore
from haystack.schema import Document
from store_testing import make_documents

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import EmbeddingDimensionError, StoreError
from dpr_components.retrievers.dpr_retriever import DPRRetriever
from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from dpr_components.stores.protocols import SignedVectorStore

QUESTION = "what is the capital of germany"
TEXTS = ["berlin is the capital of germany", "paris is the capital of france", "music and film of the world"]


@pytest.fixture(scope="module")
def retriever(tiny_question_encoder, tiny_context_encoder):
    return DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
                        max_seq_len_passage=48, progress_bar=False)


def test_the_retriever_checks_the_index_it_searches(open_store, retriever):
    store = open_store()
    store.write_documents(make_documents(4, dim=8))  # the default index holds 8-dim vectors of another encoder
    store.write_documents([Document(content=text) for text in TEXTS], index="passages")
    store.update_embeddings(retriever, index="passages")
    assert store.vector_size("passages") == 32 and store.vector_size() == 8
    assert retriever.retrieve(QUESTION, index="passages", document_store=store, top_k=1)[0].content in TEXTS
    assert len(retriever.retrieve_batch([QUESTION] * 2, index="passages", document_store=store, top_k=2)[1]) == 2
    with pytest.raises(EmbeddingDimensionError, match="size 32 but index 'document' holds 8-dim"):
        retriever.retrieve(QUESTION, document_store=store)


class SignatureKeepingStore(InMemoryDocumentStore):
    """Haystack's in-memory store plus the SignedVectorStore methods: a third-party store that records encoders."""

    def __init__(self):
        super().__init__(embedding_dim=32, similarity="dot_product")
        self.signature: Optional[EncoderSignature] = None

    def recorded_encoder(self, index: Optional[str] = None) -> Optional[EncoderSignature]:
        return self.signature

    def check_encoder(self, signature: EncoderSignature, index: Optional[str] = None, writing: bool = False) -> None:
        if self.signature is not None and self.signature.differences(signature):
            raise StoreError("another encoder")

    def vector_size(self, index: Optional[str] = None) -> Optional[int]:
        return self.embedding_dim

    def write_documents(self, documents: List, index: Optional[str] = None, batch_size: int = 10_000,
                        duplicate_documents: Optional[str] = None, headers: Optional[dict] = None,
                        encoder_signature: Optional[EncoderSignature] = None) -> None:
        self.signature = encoder_signature or self.signature
        super().write_documents(documents, index=index, batch_size=batch_size,
                                duplicate_documents=duplicate_documents, headers=headers)

    def query_by_embedding(self, query_emb, filters=None, top_k=10, index=None, return_embedding=None, headers=None,
                           scale_score=True, encoder_signature: Optional[EncoderSignature] = None):
        self.check_encoder(encoder_signature)
        return super().query_by_embedding(query_emb, filters, top_k, index, return_embedding, headers, scale_score)

    def build_indexes(self) -> None:
        pass


def test_any_store_of_the_protocol_gets_the_signatures(retriever, tiny_question_encoder):
    store = SignatureKeepingStore()
    assert isinstance(store, SignedVectorStore) and isinstance(HybridDocumentStore, type)
    passages = [Document(content=text) for text in TEXTS]
    store.write_documents(passages, encoder_signature=retriever.encoder_signature)
    store.update_embeddings(retriever)
    assert retriever.retrieve(QUESTION, document_store=store, top_k=1)[0].content in TEXTS
    other = DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_question_encoder,
                         max_seq_len_passage=48, progress_bar=False)
    with pytest.raises(StoreError, match="another encoder"):  # checked through the protocol, before encoding
        other.retrieve(QUESTION, document_store=store)
