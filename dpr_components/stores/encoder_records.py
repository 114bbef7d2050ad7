"""What may enter an index's vectors, and which encoder made them: the one place every vector write passes.

Every path that writes vectors (``write_documents`` with embeddings, with or without a signature;
``update_embeddings(retriever)`` with our retrievers or Haystack's; shard loading, which writes documents;
an indexing pipeline's store node) calls :func:`checked_vectors` (numbers, finite, the index's size) and
:func:`admit` (who made them) before its transaction commits; query vectors pass :func:`checked_vectors` and
:func:`check_query`. Refused vectors leave what was stored untouched.

The encoder that made vectors (their *maker*) is an
:class:`~dpr_components.encoders.signature.EncoderSignature` when the writer gives one (DPRRetriever,
shards), else a :class:`Writer`: the retriever's class and the models it names (Haystack's
``EmbeddingRetriever`` / ``DensePassageRetriever``), or :data:`UNKNOWN` for bare ``write_documents``. An index
records the maker of its vectors; vectors of another maker join only by replacing every vector of the index
(the record then names the new maker), never beside them, and queries of a signed encoder are refused
unless it made the index's vectors. A writer without a signature is known by its model locations only: a
signature whose query and passage models are those locations is taken as the same encoder (a checkpoint
retrained in place would pass). Signatures that older versions recorded (model paths, no weight hashes) are
compared on the fields they hold and replaced by the full signature at the next write. :func:`differences`
is the comparison rule, also for shard files.

Example::

    vectors = checked_vectors(embeddings, info.embedding_dim, "The retriever's embeddings", index="document")
    admit(database, info, maker_of(retriever), kept=lambda: 0)      # inside the write transaction
    check_query(info, retriever.encoder_signature)                  # before a dense search
"""
import json
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, Union

import numpy as np

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import EmbeddingDimensionError, StoreError
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo

logger = logging.getLogger(__name__)

WRITTEN_BY = "written_by"  # the record of vectors whose writer gave no signature


@dataclass(frozen=True)
class Writer:
    """Who wrote vectors without an encoder signature, and the models it names (``()``: unknown)."""

    name: str
    models: Tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.name}({', '.join(self.models)}) without an encoder signature"


Maker = Union[EncoderSignature, Writer]
UNKNOWN = Writer("write_documents without encoder_signature")


def maker_of(retriever: Any) -> Maker:
    """The signature a retriever's vectors carry (DPRRetriever's ``encoder_signature``), else the retriever's
    class and the models its parameters name (Haystack's retrievers have no signature)."""
    signature = getattr(retriever, "encoder_signature", None)
    if isinstance(signature, EncoderSignature):
        return signature
    params = retriever.get_params() if hasattr(retriever, "get_params") else {}
    models = {_location(value) for key, value in params.items() if key.endswith("_model") and isinstance(value, str)}
    return Writer(type(retriever).__name__, tuple(sorted(models)))


def recorded_maker(info: IndexInfo) -> Optional[Maker]:
    if not info.encoder:
        return None
    if WRITTEN_BY in info.encoder:
        return Writer(info.encoder[WRITTEN_BY], tuple(info.encoder.get("models", ())))
    return EncoderSignature.from_dict(info.encoder)


def recorded(info: IndexInfo) -> Optional[EncoderSignature]:
    """The signature recorded with the index (None if none, or if its vectors came without one)."""
    maker = recorded_maker(info)
    return maker if isinstance(maker, EncoderSignature) else None


def differences(before: Maker, offered: Maker) -> List[str]:
    """Why vectors of ``offered`` are not comparable with vectors of ``before`` (empty: comparable). Two
    signatures compare their weights, pooling, normalisation and size; a writer without a signature matches
    the same writer (an unknown one, any) or a signature of the same model locations."""
    if isinstance(before, EncoderSignature) and isinstance(offered, EncoderSignature):
        return before.differences(offered)
    if isinstance(before, Writer) and isinstance(offered, Writer):
        return [] if UNKNOWN in (before, offered) or before == offered else [
            f"written by {before.describe()}, now by {offered.describe()}"]
    writer, signature = (before, offered) if isinstance(before, Writer) else (offered, before)
    assert isinstance(writer, Writer) and isinstance(signature, EncoderSignature)  # one of each: the cases above
    sources = {_location(str(source)) for source in (signature.query_source, signature.passage_source)}
    if writer.models and sources == set(writer.models):
        return []
    return [f"{writer.name} gives no encoder signature and its models ({', '.join(writer.models) or 'unknown'}) "
            f"are not the signed encoder's"]


def checked_vectors(vectors: Any, size: Optional[int], what: str, rows: Optional[int] = None,
                    index: str = "") -> np.ndarray:
    """``vectors`` as a float32 matrix (one row per vector; a single flat vector gives one row), refused with
    a :class:`StoreError` naming ``what`` unless numbers, finite, of ``size`` (when known) and ``rows`` many."""
    try:
        array = np.asarray(vectors) if not isinstance(vectors, str) else np.asarray([vectors])
    except ValueError:  # ragged lists
        array = np.asarray([], dtype=object)
    if array.dtype.kind not in "iuf" or array.size == 0 or array.ndim not in (1, 2):
        raise StoreError(f"{what} must be a non-empty vector or matrix of numbers, got {array.dtype} values of "
                         f"shape {array.shape}. Nothing was written.")
    matrix = np.atleast_2d(array).astype(np.float32)
    if rows is not None and len(matrix) != rows:
        raise StoreError(f"{what}: {len(matrix)} vectors for {rows} documents. Nothing was written.")
    check_vector_size(size, matrix.shape[1], what, index)
    if not np.isfinite(matrix).all():
        raise StoreError(f"{what} hold NaN or infinite values (a broken encoder or checkpoint?). Nothing was "
                         f"written: the stored vectors are kept.")
    return matrix


def check_vector_size(size: Optional[int], offered: Optional[int], what: str, index: str = "") -> None:
    if size is not None and offered is not None and offered != size:
        where = f"index '{index}'" if index else "the index"
        raise EmbeddingDimensionError(
            f"{what} has size {offered} but {where} holds {size}-dim vectors. Use an encoder of size {size}, or "
            f"another store path / index.")


def check_query(info: IndexInfo, signature: EncoderSignature) -> None:
    """Raise unless query vectors of ``signature`` are comparable with the index's vectors."""
    check_vector_size(info.embedding_dim, signature.embedding_dim, "The encoder", info.name)
    before = recorded_maker(info)
    found = differences(before, signature) if before is not None else []
    if before is not None and found:
        raise _refusal(info, before, found, f"query vectors of {signature.describe()} are not comparable with them",
                       "use the encoder recorded with the index")


def admit(database: DocumentDatabase, info: IndexInfo, maker: Maker, kept: Callable[[], int],
          record: bool = True) -> None:
    """Raise unless vectors of ``maker`` may be written into the index, where ``kept()`` vectors of it would
    stay beside them (counted only when the maker is not the recorded one); with ``record`` (inside the write
    transaction) the maker becomes the index's record when the index had none, when no other vector stays,
    or when it is more specific (a signature where a writer or an older version's signature was recorded)."""
    if isinstance(maker, EncoderSignature):
        check_vector_size(info.embedding_dim, maker.embedding_dim, "The encoder", info.name)
    before = recorded_maker(info)
    if before == maker:
        return
    found, others = (differences(before, maker), kept()) if before is not None else ([], 0)
    if found and others:
        raise _refusal(info, before, found, f"new vectors of {maker.describe()} would be mixed with them; nothing "  # type: ignore[arg-type]
                       "was written", "use the encoder recorded with the index" if isinstance(maker, EncoderSignature)
                       else "pass the encoder_signature of the encoder that made them")
    upgrade = before == UNKNOWN or (isinstance(maker, EncoderSignature) and (
        isinstance(before, Writer) or (isinstance(before, EncoderSignature) and not before.complete)))
    if record and (before is None or not others or upgrade):
        if before is not None and others:
            logger.info("Index '%s': recording %s in place of %s.", info.name, maker.describe(), before.describe())
        value = maker.to_dict() if isinstance(maker, EncoderSignature) else {WRITTEN_BY: maker.name,
                                                                             "models": list(maker.models)}
        database.set_index_fields(info, encoder=json.dumps(value, sort_keys=True))


def _refusal(info: IndexInfo, before: Maker, found: List[str], what: str, fix: str) -> StoreError:
    """The refusal of vectors of another encoder: the fix as a Python call, and for CLI users as a command."""
    problem = (f"Index '{info.name}' holds vectors of another encoder ({'; '.join(found)}; recorded: "
               f"{before.describe()}), so {what}. To fix it, {fix}, or re-embed every document")
    return StoreError(f"{problem}: store.update_embeddings(retriever).", cli_message=(
        f"{problem} with the new encoder: dpr-components index CORPUS --reembed --store DIR --param "
        "Retriever.passage_embedding_model=... --param Retriever.query_embedding_model=..."))


def _location(model: str) -> str:
    """Where a model lives: the real path of a local directory, else the name given (a model hub id)."""
    return os.path.realpath(model) if os.path.exists(model) else model
