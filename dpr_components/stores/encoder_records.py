"""Which encoder made an index's vectors: recorded with the index, checked before vectors are compared.

A signature is the retriever's ``encoder_signature`` dict (query model, passage model, pooling,
normalize, embedding_dim). Values that differ between the recorded and the offered signature mean the
vectors are not comparable; a different ``embedding_dim`` raises :class:`EmbeddingDimensionError`.

Example::

    with database.transaction():
        encoder_records.record(database, info, retriever.encoder_signature, replace=False)
    encoder_records.check(database.index_info("document"), retriever.encoder_signature)
"""
import json
from typing import Any, Dict, Optional

from dpr_components.errors import EmbeddingDimensionError, StoreError
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo


def record(database: DocumentDatabase, info: IndexInfo, signature: Dict[str, Any], replace: bool) -> None:
    """Store ``signature`` with the index (inside a transaction). If the index holds vectors of another
    encoder, they are cleared when ``replace`` (every vector is about to be recomputed), else refused."""
    differences = _differences(info.encoder, signature)
    if differences and database.count(info, embedding=True):
        if not replace:
            raise StoreError(
                f"Index '{info.name}' holds vectors of another encoder ({differences}); adding vectors of this "
                f"one would mix incomparable vectors. Re-embed every document with "
                f"store.update_embeddings(retriever), or use another index.")
        check_vector_size(info, signature.get("embedding_dim"), "The new encoder")
        database.clear_embeddings(info)
    if info.encoder != signature:
        database.set_index_fields(info, encoder=json.dumps(signature, sort_keys=True))


def check(info: IndexInfo, signature: Dict[str, Any]) -> None:
    """Raise when query vectors of the ``signature`` encoder are not comparable with the index's vectors."""
    check_vector_size(info, signature.get("embedding_dim"), "The encoder")
    differences = _differences(info.encoder, signature)
    if differences:
        raise StoreError(f"Index '{info.name}' was embedded with a different encoder ({differences}); its "
                         f"vectors and these query vectors are not comparable. Use the encoder settings "
                         f"recorded with the index, or re-embed it: store.update_embeddings(retriever).")


def check_vector_size(info: IndexInfo, size: Optional[int], what: str) -> None:
    if size is not None and info.embedding_dim is not None and size != info.embedding_dim:
        raise EmbeddingDimensionError(
            f"{what} has size {size} but index '{info.name}' holds {info.embedding_dim}-dim vectors. "
            f"Use an encoder of size {info.embedding_dim}, or another store path / index.")


def _differences(recorded: Optional[Dict[str, Any]], signature: Dict[str, Any]) -> str:
    if not recorded:
        return ""
    keys = [key for key in signature if key in recorded and recorded[key] != signature[key]]
    return "; ".join(f"{key}: recorded {recorded[key]!r}, now {signature[key]!r}" for key in keys)
