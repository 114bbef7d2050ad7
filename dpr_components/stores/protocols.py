"""The contract between nodes that make vectors and a store that records which encoder made them.

:class:`SignedVectorStore` is what DPRRetriever, shard loading and pipelines rely on instead of asking
"is this a HybridDocumentStore?": the recorded encoder of an index, a check that vectors or queries of an
encoder may meet that index's vectors, the vector size of an index, writes that carry the encoder's
signature, and building the indexes a writer changed. Any Haystack store with these methods takes part;
Haystack's own stores (no such methods) are used without the checks.

Example::

    from dpr_components.stores.protocols import SignedVectorStore

    if isinstance(store, SignedVectorStore):
        store.check_encoder(retriever.encoder_signature, index="document")   # raises if not comparable
        store.write_documents(documents, encoder_signature=retriever.encoder_signature)
        store.build_indexes()
"""
from typing import Any, List, Optional, Protocol, runtime_checkable

from dpr_components.encoders.signature import EncoderSignature


@runtime_checkable
class SignedVectorStore(Protocol):
    """A document store that records the encoder of each index's vectors and refuses incomparable ones."""

    def recorded_encoder(self, index: Optional[str] = None) -> Optional[EncoderSignature]:
        """The signature of the encoder that made the vectors of ``index`` (None if none was recorded)."""

    def check_encoder(self, signature: EncoderSignature, index: Optional[str] = None, writing: bool = False) -> None:
        """Raise unless queries (or, ``writing``, new vectors) of ``signature`` are comparable with the vectors
        of ``index``: the same encoder and vector size."""

    def vector_size(self, index: Optional[str] = None) -> Optional[int]:
        """The vector size of ``index`` (None until it holds vectors)."""

    def write_documents(self, documents: List[Any], index: Optional[str] = None, batch_size: int = 10_000,
                        duplicate_documents: Optional[str] = None, headers: Optional[dict] = None,
                        encoder_signature: Optional[EncoderSignature] = None) -> None:
        """Haystack's ``write_documents``, plus the signature of the encoder that made the embeddings."""

    def build_indexes(self) -> None:
        """Bring the search indexes up to date with what was written and persist them (writers call it)."""
