"""HybridDocumentStore: documents in SQLite, vectors in FAISS, BM25 by bm25s, all under one directory.

SQLite is the single source of truth (documents, metadata, embeddings, per-index settings); the FAISS and
BM25 indexes are caches derived from it and brought up to date before every search, so a store can never
answer from vectors or terms of documents that are gone. Every write call is one transaction: a process
killed mid-write or mid-save leaves the last committed state, and the caches are repaired on next use.
Writers call :meth:`HybridDocumentStore.build_indexes` so that queries find the caches built; a store opened
``read_only`` writes nothing, not even caches. docs/nodes/hybrid-document-store.md says what survives what.
"""
import logging
import weakref
from pathlib import Path
from typing import Dict, Generator, List, Optional, Union

from haystack.document_stores import KeywordDocumentStore
from haystack.schema import Document, FilterType, Label

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import ConfigurationError, StoreCorruptedError
from dpr_components.schema import PassageSchema
from dpr_components.stores import encoder_records as encoders
from dpr_components.stores import label_table, store_files
from dpr_components.stores.bm25_index import WIKIPEDIA_B, WIKIPEDIA_K1
from dpr_components.stores.hybrid_search import HybridSearch, ParsedRows
from dpr_components.stores.hybrid_writes import HybridWrites
from dpr_components.stores.index_caches import IndexCaches
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo
from dpr_components.stores.vector_index import Similarity, VectorIndex
from dpr_components.utils.choices import DuplicatePolicy
from dpr_components.utils.validation import finite_float, optional_positive_int

logger = logging.getLogger(__name__)

DATABASE_FILE = "documents.sqlite"
# Settings the store records with its vectors: given ones win (and are recorded), else the record, else the default.
RECORDED_SETTINGS = ("faiss_index_factory_str", "similarity")


class HybridDocumentStore(HybridSearch, HybridWrites, KeywordDocumentStore):
    """Embedded document store for dense (FAISS) and sparse (BM25) retrieval with filters inside both.

    Haystack's filter syntax is applied *inside* the vector and BM25 searches, so ``top_k`` filtered hits
    come back even when matching documents are rare. Scores are raw unless ``scale_score=True`` (Haystack's
    scaling). Settings the store records (``faiss_index_factory_str``, default ``Flat``; ``similarity``,
    default ``dot_product``; ``title_field``, default ``name``; the vector size) come from its record when
    not given; a given factory or similarity rebuilds the caches (a warning says so) and a writable store
    records it; ``new_store_settings`` gives them to a store that records none yet (what the Workspace does
    with a pipeline YAML's values). ``read_only``: nothing is ever written (caches built in memory: read-only
    media can be queried); ``create: false`` refuses a directory that is not a store. ``integrity_check``
    (``PRAGMA quick_check`` on open), ``nprobe`` / ``ef_search`` (search-time recall), ``int8_prefilter`` and
    the rest: docs/nodes/hybrid-document-store.md, with what survives a kill, a full disk or a restore.

    YAML (a BM25 query pipeline; Haystack's own BM25Retriever works unchanged)::

        version: 1.26.4.post0
        components:
          - name: Store
            type: HybridDocumentStore
            params: {path: dpr_store, faiss_index_factory_str: HNSW32, similarity: dot_product}
          - name: BM25
            type: BM25Retriever
            params: {document_store: Store, top_k: 100, scale_score: false}
        pipelines:
          - name: query
            nodes: [{name: BM25, inputs: [Query]}]

    Python::

        from dpr_components.stores.hybrid_document_store import HybridDocumentStore

        store = HybridDocumentStore(path="dpr_store")
        store.write_documents([{"content": "Paris is the capital of France.", "meta": {"name": "Paris"},
                                "embedding": np.ones(768, dtype=np.float32)}])
        store.query("capital of France", top_k=5, filters={"name": ["Paris"]})       # BM25
        store.query_by_embedding(np.ones(768, dtype=np.float32), top_k=5)            # dense
        # Documents written without vectors: store.update_embeddings(retriever), e.g. a DPRRetriever.
        store.build_indexes()                          # after writing: the next query pays no build
        store.backup("backups/monday.sqlite")          # later: HybridDocumentStore.restore_backup(that, "dpr_store")
    """

    def __init__(
        self,
        path: str = "dpr_store",
        index: str = "document",
        embedding_dim: Optional[int] = None,
        faiss_index_factory_str: Optional[str] = None,
        similarity: Optional[str] = None,
        embedding_field: str = "embedding",
        return_embedding: bool = False,
        duplicate_documents: str = "overwrite",
        bm25_k1: float = WIKIPEDIA_K1,
        bm25_b: float = WIKIPEDIA_B,
        progress_bar: bool = True,
        integrity_check: bool = True,
        title_field: Optional[str] = None,
        nprobe: Optional[int] = None,
        ef_search: Optional[int] = None,
        int8_prefilter: bool = False,
        read_only: bool = False,
        create: bool = True,
        new_store_settings: Optional[Dict[str, str]] = None,
    ):
        super().__init__()
        nprobe = optional_positive_int("nprobe", nprobe)
        ef_search = optional_positive_int("ef_search", ef_search)
        for name, flag in (("int8_prefilter", int8_prefilter), ("read_only", read_only), ("create", create)):
            if not isinstance(flag, bool):
                raise ConfigurationError(f"{name} must be true or false, not {flag!r}.")
        self.duplicate_documents = DuplicatePolicy.from_str(duplicate_documents, "duplicate_documents")
        # Wikipedia passages: k1=0.9, b=0.4 (pyserini's DPR baselines).
        bm25_k1, bm25_b = finite_float("bm25_k1", bm25_k1, minimum=0), finite_float("bm25_b", bm25_b, 0, 1)
        self.path, self.index, self.label_index, self.read_only = Path(path), index, "label", read_only
        self.embedding_field, self.return_embedding = embedding_field, return_embedding
        self.progress_bar, self._configured_dim = progress_bar, embedding_dim
        if self.path.exists() and not self.path.is_dir():
            raise StoreCorruptedError(f"Store path {self.path} is a file; give a directory (new or an existing store).")
        if read_only or not create:
            store_files.check_exists(self.path / DATABASE_FILE)
        with store_files.reported(self.path):
            self.path.mkdir(parents=True, exist_ok=True)
        self._database = DocumentDatabase(self.path / DATABASE_FILE, check=integrity_check, read_only=read_only,
                                          schema=PassageSchema(title_field=title_field) if title_field else None)
        self.title_field: str = self._database.schema.title_field  # the recorded one when not given
        try:
            defaults = {"faiss_index_factory_str": "Flat", "similarity": "dot_product", **self._checked_settings(
                new_store_settings)}
            self.faiss_index_factory_str = self._setting("faiss_index_factory_str", faiss_index_factory_str, defaults)
            self.similarity = Similarity.from_str(self._setting(
                "similarity", similarity and Similarity.from_str(similarity).value, defaults)).value
            self._caches = IndexCaches(self.path, self._database, self.faiss_index_factory_str, self.similarity,
                                       bm25_k1, bm25_b, nprobe=nprobe, ef_search=ef_search,
                                       int8_prefilter=int8_prefilter, persist=not read_only)
        except Exception:
            self._database.close()
            raise
        self._parsed_rows = ParsedRows(self._database)
        self._finalizer = weakref.finalize(self, _shutdown, self._caches, self._database)
        try:
            if read_only:
                self._check_dim(self._database.index_info(index), embedding_dim)
                return
            with self._database.transaction():
                self._check_dim(self._database.index_for_write(index, embedding_dim), embedding_dim)
                for key in RECORDED_SETTINGS:  # valid (checked above): recorded
                    if self._database.setting(key) != getattr(self, key):
                        self._database.set_setting(key, getattr(self, key))
        except Exception:
            self.close()
            raise

    # ----- lifecycle ----------------------------------------------------------------------------------------

    @property
    def embedding_dim(self) -> Optional[int]:
        """Vector size of the default index (None until the first vector or an explicit ``embedding_dim``)."""
        return self.vector_size()

    def vector_size(self, index: Optional[str] = None) -> Optional[int]:
        """Vector size of ``index`` (default: the store's): None until its first vector or ``embedding_dim``."""
        info = self._database.index_info(index or self.index)
        return info.embedding_dim if info else (self._configured_dim if index in (None, self.index) else None)

    def build_indexes(self) -> None:
        """Bring the FAISS and BM25 indexes of every index up to date with the documents and save them (in
        memory only when ``read_only``), so that queries pay no build. Writers call it after writing (the
        CLI's ``index``, shard loading, REST uploads); ``update_embeddings`` does it itself."""
        for name in self._database.index_names():
            self._caches.build(name)

    def check_writable(self) -> None:
        """Raise :class:`StoreReadOnlyError` if the store was opened ``read_only`` (before long work that writes)."""
        self._database.check_writable()

    def close(self) -> None:
        """Save the vector indexes and close the database; the store can't be used afterwards."""
        self._finalizer()

    def backup(self, destination: Union[str, Path], overwrite: bool = False) -> None:
        """Copy the documents database (the source of truth: caches are rebuilt from it) into the single file
        ``destination`` with SQLite's online backup API: a consistent snapshot, also while others write.
        :meth:`restore_backup` puts it back."""
        with store_files.reported(Path(destination)):
            store_files.backup(self._database.path, Path(destination), overwrite)

    @staticmethod
    def restore_backup(backup: Union[str, Path], path: Union[str, Path]) -> None:
        """Replace the content of the store at ``path`` with the ``backup`` (a file made by :meth:`backup`, or
        a store directory) in one transaction, whatever the WAL a killed process left; a corrupted store
        database is replaced. Its caches are bound to the content they were built from, so every process
        rebuilds them as needed. The store may be open elsewhere, unless its database was unreadable."""
        backup, path = Path(backup), Path(path)
        backup = backup / DATABASE_FILE if backup.is_dir() else backup
        store_files.check_exists(backup, backup=True)
        with store_files.reported(path):
            path.mkdir(parents=True, exist_ok=True)
            store_files.restore(backup, path / DATABASE_FILE)

    def _setting(self, key: str, given: Optional[str], defaults: Dict[str, str]) -> str:
        """``given`` if given, else the store's recorded value, else the default for a new store; a given value
        unlike the recorded one is said in a warning (the caches are rebuilt with it)."""
        recorded = self._database.setting(key)
        if given is not None and recorded is not None and str(given) != recorded:
            logger.warning("%s was built with %s=%r; %r is given, so its vector index is rebuilt with it%s.",
                           self.path, key, recorded, given, "" if self.read_only else " and recorded")
        return str(given) if given is not None else recorded or str(defaults[key])

    @staticmethod
    def _checked_settings(settings: Optional[Dict[str, str]]) -> Dict[str, str]:
        unknown = set(settings or {}) - set(RECORDED_SETTINGS)
        if unknown:
            raise ConfigurationError(f"new_store_settings takes {' and '.join(RECORDED_SETTINGS)}, not "
                                     f"{', '.join(sorted(unknown))}.", parameter="new_store_settings")
        return {key: value for key, value in (settings or {}).items() if value is not None}

    # ----- reads --------------------------------------------------------------------------------------------

    def get_all_documents(self, index: Optional[str] = None, filters: Optional[FilterType] = None,
                          return_embedding: Optional[bool] = None, batch_size: int = 10_000,
                          headers: Optional[Dict[str, str]] = None) -> List[Document]:
        return list(self.get_all_documents_generator(index, filters, return_embedding, batch_size))

    def get_all_documents_generator(self, index: Optional[str] = None, filters: Optional[FilterType] = None,
                                    return_embedding: Optional[bool] = None, batch_size: int = 10_000,
                                    headers: Optional[Dict[str, str]] = None) -> Generator[Document, None, None]:
        info = self._database.index_info(index or self.index)
        if info is None:
            return
        yield from self._database.documents(info, filters, with_embedding=self._with_embedding(return_embedding),
                                            batch_size=batch_size)

    def get_document_by_id(self, id: str, index: Optional[str] = None,  # noqa: A002 (Haystack's parameter name)
                           headers: Optional[Dict[str, str]] = None) -> Optional[Document]:
        documents = self.get_documents_by_id([id], index=index)
        return documents[0] if documents else None

    def get_documents_by_id(self, ids: List[str], index: Optional[str] = None, batch_size: int = 10_000,
                            headers: Optional[Dict[str, str]] = None) -> List[Document]:
        """The stored documents among ``ids``, in the order of ``ids``."""
        info = self._database.index_info(index or self.index)
        if info is None:
            return []
        stored = self._database.documents(info, ids=list(ids), with_embedding=self._with_embedding(None))
        found = {d.id: d for d in stored}
        return [found[i] for i in dict.fromkeys(ids) if i in found]

    def get_document_count(self, filters: Optional[FilterType] = None, index: Optional[str] = None,
                           only_documents_without_embedding: bool = False,
                           headers: Optional[Dict[str, str]] = None) -> int:
        info = self._database.index_info(index or self.index)
        if info is None:
            return 0
        return self._database.count(info, filters, embedding=False if only_documents_without_embedding else None)

    def recorded_encoder(self, index: Optional[str] = None) -> Optional[EncoderSignature]:
        """The signature of the encoder that made the vectors of ``index`` (None if none was recorded)."""
        info = self._database.index_info(index or self.index)
        return encoders.recorded(info) if info is not None else None

    def check_encoder(self, signature: EncoderSignature, index: Optional[str] = None, writing: bool = False) -> None:
        """Raise unless queries (or, ``writing``, new vectors beside the stored ones) of ``signature`` are
        comparable with the vectors of ``index``: the encoder recorded with them and their size."""
        info = self._database.index_info(index or self.index)
        if info is not None and writing:
            encoders.admit(self._database, info, signature, kept=lambda: self._database.count(info, embedding=True),
                           record=False)
        elif info is not None:
            encoders.check_query(info, signature)

    def get_embedding_count(self, index: Optional[str] = None, filters: Optional[FilterType] = None) -> int:
        info = self._database.index_info(index or self.index)
        return self._database.count(info, filters, embedding=True) if info else 0

    # ----- labels -------------------------------------------------------------------------------------------

    def write_labels(self, labels: Union[List[Label], List[dict]], index: Optional[str] = None,
                     headers: Optional[Dict[str, str]] = None) -> None:
        label_table.write(self._database, index or self.label_index, labels)

    def get_all_labels(self, index: Optional[str] = None, filters: Optional[FilterType] = None,
                       headers: Optional[Dict[str, str]] = None) -> List[Label]:
        return label_table.read(self._database, index or self.label_index, filters)

    def get_label_count(self, index: Optional[str] = None, headers: Optional[Dict[str, str]] = None) -> int:
        return label_table.count(self._database, index or self.label_index)

    def delete_labels(self, index: Optional[str] = None, ids: Optional[List[str]] = None,
                      filters: Optional[FilterType] = None, headers: Optional[Dict[str, str]] = None) -> None:
        label_table.delete(self._database, index or self.label_index, ids, filters)

    # ----- helpers ------------------------------------------------------------------------------------------

    def _check_dim(self, info: Optional[IndexInfo], embedding_dim: Optional[int]) -> None:
        size = info.embedding_dim if info else None
        encoders.check_vector_size(size, embedding_dim, "embedding_dim", self.index if info is None else info.name)
        if size is not None:
            VectorIndex.create(size, self.faiss_index_factory_str, self.similarity)


def _shutdown(caches: IndexCaches, database: DocumentDatabase) -> None:
    try:
        caches.save_all()
    except Exception as error:  # noqa: BLE001 -- at exit the caches are rebuilt on next open anyway
        logger.warning("Could not save the vector indexes (%s); they will be rebuilt on next open.", error)
    finally:
        database.close()
