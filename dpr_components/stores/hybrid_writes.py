"""Writing to a HybridDocumentStore: documents, vectors, meta and deletes, each call one SQLite transaction.

:class:`HybridWrites` is the write half of :class:`~dpr_components.stores.hybrid_document_store.HybridDocumentStore`
(Haystack's ``write_documents`` / ``update_embeddings`` / ``delete_documents`` API, and ``run`` as the node of an
indexing pipeline). Every vector passes the store's one check and encoder admission
(:mod:`~dpr_components.stores.encoder_records`) inside its transaction; a store opened ``read_only`` refuses all.

Example::

    store = HybridDocumentStore(path="dpr_store")
    store.write_documents([Document(content="Paris is in France.", meta={"name": "Paris"})])
    store.update_embeddings(retriever)                     # then the vector index is built
    store.delete_documents(filters={"name": ["Paris"]})
"""
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

from haystack.schema import Document, FilterType
from tqdm import tqdm

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import StoreError
from dpr_components.stores import encoder_records as encoders
from dpr_components.stores.document_rows import unique_ids
from dpr_components.stores.index_caches import IndexCaches
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo
from dpr_components.utils.choices import DuplicatePolicy
from dpr_components.utils.validation import positive_int

logger = logging.getLogger(__name__)


class HybridWrites:
    """Writes into a store's ``_database`` (SQLite); vector writers bring its ``_caches`` up to date."""

    _database: DocumentDatabase
    _caches: IndexCaches
    path: Path
    index: str
    label_index: str
    duplicate_documents: DuplicatePolicy
    embedding_field: str
    progress_bar: bool
    _configured_dim: Optional[int]
    _check_dim: Callable[[Optional[IndexInfo], Optional[int]], None]
    check_writable: Callable[[], None]
    delete_labels: Callable[..., None]

    def write_documents(self, documents: Union[List[dict], List[Document]], index: Optional[str] = None,
                        batch_size: int = 10_000, duplicate_documents: Optional[str] = None,
                        headers: Optional[Dict[str, str]] = None,
                        encoder_signature: Optional[EncoderSignature] = None) -> None:
        """Write documents (with or without embeddings) in one transaction: all are stored or none.

        ``encoder_signature``: the encoder that made the documents' embeddings (an indexing pipeline's
        DPRRetriever passes it on); it is recorded with the index, and refused if the index holds vectors
        of another encoder.
        """
        policy = DuplicatePolicy.from_str(duplicate_documents or self.duplicate_documents, "duplicate_documents")
        batch_size = positive_int("batch_size", batch_size)
        field_map = self._create_document_field_map()
        parsed = unique_ids([Document.from_dict(d, field_map=field_map) if isinstance(d, dict) else d
                             for d in documents], policy)
        name = index or self.index
        with self._database.transaction():
            info = self._database.index_for_write(name, self._configured_dim)
            before, size = info.vector_generation, info.embedding_dim
            for document in parsed:
                if document.embedding is not None:
                    size = encoders.checked_vectors(document.embedding, size, f"The embedding of document "
                                                    f"{document.id!r}", rows=1, index=name).shape[1]
            if policy is DuplicatePolicy.FAIL:  # checked for the whole call before anything is written
                self._database.raise_if_existing(info, [d.id for d in parsed])
            for start in range(0, len(parsed), batch_size):
                info = self._database.write(info, parsed[start:start + batch_size], policy)
            if any(document.embedding is not None for document in parsed):
                encoders.admit(self._database, info, encoder_signature or encoders.UNKNOWN,
                               kept=lambda: self._database.vectors_kept_since(info, before))
            self._check_dim(info, None)

    def run(self, documents: List[Union[dict, Document]], index: Optional[str] = None,
            headers: Optional[Dict[str, str]] = None, id_hash_keys: Optional[List[str]] = None,
            encoder_signature: Optional[EncoderSignature] = None):
        """Pipeline node: write the documents, with the ``encoder_signature`` the retriever before passed on."""
        field_map = self._create_document_field_map()
        documents = [Document.from_dict({**d, "id_hash_keys": id_hash_keys}, field_map=field_map)
                     if isinstance(d, dict) else d for d in documents]
        self.write_documents(documents, index=index, headers=headers, encoder_signature=encoder_signature)
        return {}, "output_1"

    def run_batch(self, documents: List[Union[dict, Document]], index: Optional[str] = None,
                  headers: Optional[Dict[str, str]] = None, id_hash_keys: Optional[List[str]] = None,
                  encoder_signature: Optional[EncoderSignature] = None):
        return self.run(documents, index, headers, id_hash_keys, encoder_signature)

    def update_embeddings(self, retriever, index: Optional[str] = None, update_existing_embeddings: bool = True,
                          filters: Optional[FilterType] = None, batch_size: Optional[int] = None) -> None:
        """Embed the documents with ``retriever.embed_documents`` (any Haystack retriever), then build the indexes.

        The new vectors are staged first and replace the old ones in one transaction, after
        :mod:`~dpr_components.stores.encoder_records` checked them and their encoder (the retriever's
        ``encoder_signature``, or its class and model for Haystack's retrievers), which the index then records:
        vectors that are not finite numbers of the index's size, or of another encoder while vectors of the
        recorded one would stay, are refused and every stored vector is kept.
        """
        name = index or self.index
        batch_size = 10_000 if batch_size is None else positive_int("batch_size", batch_size)
        self.check_writable()
        stored = self._database.index_info(name)
        if stored is None or not self._database.count(stored):
            logger.warning("update_embeddings: index '%s' has no documents.", name)
            return
        maker = encoders.maker_of(retriever)
        replaced = self._database.count(stored, filters, embedding=True) if update_existing_embeddings else 0
        # Refused before anything is embedded when it would surely mix two encoders' vectors.
        encoders.admit(self._database, stored, maker, record=False,
                       kept=lambda: self._database.count(stored, embedding=True) - replaced)
        row_ids = self._database.row_ids(stored, filters, only_without_embedding=not update_existing_embeddings)
        size: Optional[int] = None
        with self._database.staging() as staged, tqdm(total=len(row_ids), disable=not self.progress_bar,
                                                       desc="Updating embeddings") as progress:
            for start in range(0, len(row_ids), batch_size):
                found = self._database.documents_by_row_ids(row_ids[start:start + batch_size])
                vectors = encoders.checked_vectors(retriever.embed_documents(list(found.values())),
                                                   size or stored.embedding_dim, "The retriever's embeddings",
                                                   rows=len(found), index=name)
                self._database.stage(staged, list(found), vectors)
                size = vectors.shape[1]
                progress.update(len(found))
            with self._database.transaction():
                info = self._database.index_for_write(name, None)
                before = info.vector_generation
                encoders.check_vector_size(info.embedding_dim, size, "The retriever's embeddings", name)
                if info.embedding_dim is None and size is not None:
                    self._database.set_index_fields(info, embedding_dim=size)
                self._database.apply_staged(info, staged)
                info = self._info(name)
                encoders.admit(self._database, info, maker,
                               kept=lambda: self._database.vectors_kept_since(info, before))
        self._caches.build(name)

    def update_document_meta(self, id: str, meta: Dict[str, Any],  # noqa: A002 (Haystack's parameter name)
                             index: Optional[str] = None) -> None:
        """Merge ``meta`` into the document's metadata."""
        with self._database.transaction():
            self._database.update_meta(self._info(index or self.index), id, meta)

    def delete_documents(self, index: Optional[str] = None, ids: Optional[List[str]] = None,
                         filters: Optional[FilterType] = None, headers: Optional[Dict[str, str]] = None) -> None:
        """Delete the documents with these ids and/or matching these filters (all when neither is given)."""
        info = self._database.index_info(index or self.index)
        if info is not None:
            with self._database.transaction():
                self._database.delete(info, ids, filters)

    def delete_all_documents(self, index: Optional[str] = None, filters: Optional[FilterType] = None,
                             headers: Optional[Dict[str, str]] = None) -> None:
        self.delete_documents(index=index, filters=filters)

    def delete_index(self, index: str) -> None:
        """Delete an index with all its documents, vectors and BM25 terms."""
        if index == self.label_index:
            self.delete_labels(index=index)
        index_id = self._database.delete_index(index)
        if index_id is not None:
            self._caches.forget(index_id)

    def _create_document_field_map(self) -> Dict:
        return {self.embedding_field: "embedding"} if self.embedding_field != "embedding" else {}

    def _info(self, name: str) -> IndexInfo:
        info = self._database.index_info(name)
        if info is None:
            raise StoreError(f"Index '{name}' does not exist in {self.path}. Existing: {self._database.index_names()}.")
        return info
