"""Which encoder made an index's vectors: recorded with the index, checked before vectors meet.

This module is the one place where the store compares encoders. Vectors arrive with the
:class:`~dpr_components.encoders.signature.EncoderSignature` of the encoder that made them (documents
written by an indexing pipeline, ``update_embeddings(retriever)``, query vectors of a DPRRetriever) and
:func:`admit` lets them in only if they are comparable with the vectors the index holds. Signatures that
older versions recorded (model paths, no weight hashes) are compared on the fields they hold and replaced
by the full signature at the next write.

Example::

    admit(database, "document", retriever.encoder_signature, record=True)      # before writing vectors
    admit(database, "document", retriever.encoder_signature, record=False)     # before a dense search
"""
import json
import logging
from typing import Optional

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import EmbeddingDimensionError, StoreError
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo

logger = logging.getLogger(__name__)


def recorded(info: IndexInfo) -> Optional[EncoderSignature]:
    """The signature recorded with the index (None if none)."""
    return EncoderSignature.from_dict(info.encoder) if info.encoder else None


def admit(database: DocumentDatabase, name: str, signature: EncoderSignature, record: bool,
          replace: bool = False) -> None:
    """Raise unless vectors of ``signature`` are comparable with the vectors of index ``name``.

    With ``record`` (vectors are about to be written) the signature is stored with the index when it has
    none, an older-version one, or vectors of no other encoder; with ``replace`` as well (every vector is
    about to be recomputed) vectors of another encoder are cleared instead of refused.
    """
    info = database.index_info(name)
    if not record:
        if info is not None:
            _refuse_if_incomparable(info, signature, "query vectors", refuse=True)
        return
    with database.transaction():
        info = database.index_for_write(name, None)
        incomparable = _refuse_if_incomparable(info, signature, "new vectors",
                                               refuse=not replace and database.count(info, embedding=True) > 0)
        if incomparable and database.count(info, embedding=True):
            database.clear_embeddings(info)
        before = recorded(info)
        if before is None or before != signature or not before.complete:
            if before is not None and not before.complete and not incomparable:
                logger.info("Index '%s': upgrading the encoder record of an older version to %s.", name,
                            signature.describe())
            database.set_index_fields(info, encoder=json.dumps(signature.to_dict(), sort_keys=True))


def check_vector_size(info: IndexInfo, size: Optional[int], what: str) -> None:
    if size is not None and info.embedding_dim is not None and size != info.embedding_dim:
        raise EmbeddingDimensionError(
            f"{what} has size {size} but index '{info.name}' holds {info.embedding_dim}-dim vectors. "
            f"Use an encoder of size {info.embedding_dim}, or another store path / index.")


def _refuse_if_incomparable(info: IndexInfo, signature: EncoderSignature, what: str, refuse: bool) -> bool:
    """Whether ``signature`` differs from the recorded one; raises instead when ``refuse``. The vector size
    is fixed by the first vectors written, so another size is always refused."""
    check_vector_size(info, signature.embedding_dim, "The encoder")
    before = recorded(info)
    differences = before.differences(signature) if before else []
    if differences and refuse:
        problem = (f"Index '{info.name}' holds vectors of another encoder ({'; '.join(differences)}; recorded: "
                   f"{before.describe()}), so {what} of {signature.describe()} are not comparable with them. Use the "
                   "encoder recorded with the index, or re-embed every document")
        raise StoreError(f"{problem}: store.update_embeddings(retriever).", cli_message=(
            f"{problem} with the new encoder: dpr-components index CORPUS --reembed --store DIR --param "
            "Retriever.passage_embedding_model=... --param Retriever.query_embedding_model=..."))
    return bool(differences)
