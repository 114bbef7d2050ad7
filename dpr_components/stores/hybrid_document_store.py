"""HybridDocumentStore: documents in SQLite, vectors in FAISS, BM25 by bm25s, all under one directory.

SQLite is the single source of truth (documents, metadata, embeddings, per-index settings); the FAISS and
BM25 indexes are caches derived from it and brought up to date before every search, so a store can never
answer from vectors or terms of documents that are gone. Every write call is one transaction: a process
killed mid-write or mid-save leaves the last committed state, and the caches are repaired on next use.
"""
import logging
import weakref
from pathlib import Path
from typing import Any, Callable, Dict, Generator, List, Optional, Union

import numpy as np
from haystack.document_stores import KeywordDocumentStore
from haystack.schema import Document, FilterType, Label
from haystack.utils.scipy_utils import expit
from tqdm import tqdm

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import ConfigurationError, StoreCorruptedError, StoreError
from dpr_components.schema import PassageSchema
from dpr_components.stores import encoder_records as encoders
from dpr_components.stores import label_table
from dpr_components.stores.bm25_index import WIKIPEDIA_B, WIKIPEDIA_K1
from dpr_components.stores.document_rows import unique_ids
from dpr_components.stores.index_caches import IndexCaches
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo
from dpr_components.stores.vector_index import Similarity, VectorIndex
from dpr_components.utils.validation import finite_float, optional_positive_int, positive_int

logger = logging.getLogger(__name__)

DATABASE_FILE = "documents.sqlite"
DuplicatePolicy = ("overwrite", "skip", "fail")


class HybridDocumentStore(KeywordDocumentStore):
    """Embedded document store for dense (FAISS) and sparse (BM25) retrieval with filters inside both.

    Haystack's filter syntax is applied *inside* the vector and BM25 searches, so ``top_k`` filtered hits
    come back even when matching documents are rare. Scores are raw unless ``scale_score=True`` (then
    Haystack's scaling: BM25 expit(s/8), dot product expit(s/100), cosine (s+1)/2; ``l2`` scores are minus
    the squared distance). ``faiss_index_factory_str`` takes any faiss factory string; ``similarity``,
    ``faiss_index_factory_str`` and ``bm25_k1`` / ``bm25_b`` may change between opens (the caches are
    rebuilt); ``embedding_dim`` is fixed by the first vectors written. On open, SQLite's ``PRAGMA
    quick_check`` reads every page of ``documents.sqlite`` and a corrupted file is refused
    (``integrity_check: false`` skips it, for very large stores opened often). BM25 indexes
    ``meta[title_field]`` + text: give it the ``title_field`` of the splitter and retriever
    (:mod:`dpr_components.schema`); the store records it with its first passages and refuses another one
    (unset: the recorded one, else ``name``). ``nprobe`` (IVF lists probed,
    default min(nlist, 16)) and ``ef_search`` (HNSW efSearch, default 128) trade recall for speed at search
    time, without a rebuild (a filter allowing a share s of the vectors searches 1/s wider, up to 16x);
    docs/scaling.md has measured choices for Wikipedia-size indexes. ``int8_prefilter: true`` makes a
    one-question ``Flat`` search of 20k+ vectors scan int8 codes first and score exactly only the candidates
    they leave (the same hits, ~2x faster; the codes hold a quarter of the vectors' memory).

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

        import numpy as np
        from dpr_components.stores.hybrid_document_store import HybridDocumentStore

        store = HybridDocumentStore(path="dpr_store")
        store.write_documents([{"content": "Paris is the capital of France.", "meta": {"name": "Paris"},
                                "embedding": np.ones(768, dtype=np.float32)}])
        store.query("capital of France", top_k=5, filters={"name": ["Paris"]})       # BM25
        store.query_by_embedding(np.ones(768, dtype=np.float32), top_k=5)            # dense
        # Documents written without vectors: store.update_embeddings(retriever), e.g. a DPRRetriever.
    """

    def __init__(
        self,
        path: str = "dpr_store",
        index: str = "document",
        embedding_dim: Optional[int] = None,
        faiss_index_factory_str: str = "Flat",
        similarity: str = "dot_product",
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
    ):
        super().__init__()
        nprobe = optional_positive_int("nprobe", nprobe)
        ef_search = optional_positive_int("ef_search", ef_search)
        if not isinstance(int8_prefilter, bool):
            raise ConfigurationError(f"int8_prefilter must be true or false, not {int8_prefilter!r}.")
        self.similarity = Similarity.from_str(similarity).value
        if duplicate_documents not in DuplicatePolicy:
            raise ConfigurationError(f"Unknown duplicate_documents {duplicate_documents!r}. "
                                     f"Valid values: {', '.join(DuplicatePolicy)}.")
        # Wikipedia passages: k1=0.9, b=0.4 (pyserini's DPR baselines).
        bm25_k1, bm25_b = finite_float("bm25_k1", bm25_k1, minimum=0), finite_float("bm25_b", bm25_b, 0, 1)
        self.path, self.index, self.label_index = Path(path), index, "label"
        self.faiss_index_factory_str, self.embedding_field = faiss_index_factory_str, embedding_field
        self.return_embedding, self.duplicate_documents = return_embedding, duplicate_documents
        self.progress_bar, self._configured_dim = progress_bar, embedding_dim
        if self.path.exists() and not self.path.is_dir():
            raise StoreCorruptedError(f"Store path {self.path} is a file; give a directory (new or an existing store).")
        self.path.mkdir(parents=True, exist_ok=True)
        self._database = DocumentDatabase(self.path / DATABASE_FILE, check=integrity_check,
                                          schema=PassageSchema(title_field=title_field) if title_field else None)
        self.title_field = self._database.schema.title_field
        self._caches = IndexCaches(self.path, self._database, faiss_index_factory_str, self.similarity, bm25_k1, bm25_b,
                                   nprobe=nprobe, ef_search=ef_search, int8_prefilter=int8_prefilter)
        self._finalizer = weakref.finalize(self, _shutdown, self._caches, self._database)
        try:
            with self._database.transaction():
                info = self._database.index_for_write(index, embedding_dim)
                self._check_dim(info, embedding_dim)
        except Exception:
            self.close()
            raise

    # ----- lifecycle ----------------------------------------------------------------------------------------

    @property
    def embedding_dim(self) -> Optional[int]:
        """Vector size of the default index (None until the first vector or an explicit ``embedding_dim``)."""
        info = self._database.index_info(self.index)
        return info.embedding_dim if info else self._configured_dim

    def save(self) -> None:
        """Persist the vector indexes changed in this process (documents are always persisted on write)."""
        self._caches.save_all()

    def close(self) -> None:
        """Save the vector indexes and close the database; the store can't be used afterwards."""
        self._finalizer()

    # ----- writes -------------------------------------------------------------------------------------------

    def write_documents(self, documents: Union[List[dict], List[Document]], index: Optional[str] = None,
                        batch_size: int = 10_000, duplicate_documents: Optional[str] = None,
                        headers: Optional[Dict[str, str]] = None,
                        encoder_signature: Optional[EncoderSignature] = None) -> None:
        """Write documents (with or without embeddings) in one transaction: all are stored or none.

        ``encoder_signature``: the encoder that made the documents' embeddings (an indexing pipeline's
        DPRRetriever passes it on); it is recorded with the index, and refused if the index holds vectors
        of another encoder.
        """
        policy = duplicate_documents or self.duplicate_documents
        if policy not in DuplicatePolicy:
            raise ConfigurationError(f"Unknown duplicate_documents {policy!r}. Valid: {', '.join(DuplicatePolicy)}.")
        batch_size = positive_int("batch_size", batch_size)
        field_map = self._create_document_field_map()
        documents = [Document.from_dict(d, field_map=field_map) if isinstance(d, dict) else d for d in documents]
        documents = unique_ids(documents, policy)
        name = index or self.index
        with self._database.transaction():
            if encoder_signature is not None and any(d.embedding is not None for d in documents):
                encoders.admit(self._database, name, encoder_signature, record=True)
            info = self._database.index_for_write(name, self._configured_dim)
            if policy == "fail":  # checked for the whole call before anything is written
                self._database.raise_if_existing(info, [d.id for d in documents])
            for start in range(0, len(documents), batch_size):
                info = self._database.write(info, documents[start:start + batch_size], policy)
            self._check_dim(info, None)

    def run(self, documents: List[Union[dict, Document]], index: Optional[str] = None,  # type: ignore[override]
            headers: Optional[Dict[str, str]] = None, id_hash_keys: Optional[List[str]] = None,
            encoder_signature: Optional[EncoderSignature] = None):
        """Pipeline node: write the documents, with the ``encoder_signature`` the retriever before passed on."""
        field_map = self._create_document_field_map()
        documents = [Document.from_dict({**d, "id_hash_keys": id_hash_keys}, field_map=field_map)
                     if isinstance(d, dict) else d for d in documents]
        self.write_documents(documents, index=index, headers=headers, encoder_signature=encoder_signature)
        return {}, "output_1"

    def run_batch(self, documents: List[Union[dict, Document]], index: Optional[str] = None,  # type: ignore[override]
                  headers: Optional[Dict[str, str]] = None, id_hash_keys: Optional[List[str]] = None,
                  encoder_signature: Optional[EncoderSignature] = None):
        return self.run(documents, index, headers, id_hash_keys, encoder_signature)

    def update_embeddings(self, retriever, index: Optional[str] = None, update_existing_embeddings: bool = True,
                          filters: Optional[FilterType] = None, batch_size: Optional[int] = None) -> None:
        """Embed the documents with ``retriever.embed_documents``; each batch is committed on its own.

        The retriever's ``encoder_signature`` (if it has one) is recorded with the index; if it differs from
        the recorded one and every vector is being replaced, the old vectors are cleared first, so the index
        never mixes two encoders (replacing only some of them is refused).
        """
        name = index or self.index
        batch_size = 10_000 if batch_size is None else positive_int("batch_size", batch_size)
        info = self._database.index_info(name)
        if info is None or not self._database.count(info):
            logger.warning("update_embeddings: index '%s' has no documents.", name)
            return
        signature = getattr(retriever, "encoder_signature", None)  # Haystack's retrievers have none
        if isinstance(signature, EncoderSignature):
            encoders.admit(self._database, name, signature, record=True,
                           replace=update_existing_embeddings and not filters)
        row_ids = self._database.row_ids(self._info(name), filters,
                                         only_without_embedding=not update_existing_embeddings)
        with tqdm(total=len(row_ids), disable=not self.progress_bar, desc="Updating embeddings") as progress:
            for start in range(0, len(row_ids), batch_size):
                documents = list(self._database.documents_by_row_ids(row_ids[start:start + batch_size]).values())
                embeddings = np.asarray(retriever.embed_documents(documents), dtype=np.float32)
                if embeddings.ndim != 2 or len(embeddings) != len(documents):
                    raise StoreError(f"The retriever returned embeddings of shape {embeddings.shape} for "
                                     f"{len(documents)} documents; nothing of this batch was written.")
                with self._database.transaction():
                    info = self._database.index_for_write(name, None)
                    encoders.check_vector_size(info, embeddings.shape[1], "The retriever's embeddings")
                    if info.embedding_dim is None:
                        self._database.set_index_fields(info, embedding_dim=embeddings.shape[1])
                    self._database.set_embeddings(info, [d.id for d in documents], embeddings)
                progress.update(len(documents))
        with self._caches.lock:
            self._caches.vectors(name)
            self._caches.save_vectors(name)

    def update_document_meta(self, id: str, meta: Dict[str, Any], index: Optional[str] = None) -> None:
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

    def get_document_by_id(self, id: str, index: Optional[str] = None,
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

    def get_embedding_count(self, index: Optional[str] = None, filters: Optional[FilterType] = None) -> int:
        info = self._database.index_info(index or self.index)
        return self._database.count(info, filters, embedding=True) if info else 0

    # ----- dense search -------------------------------------------------------------------------------------

    def query_by_embedding(self, query_emb: np.ndarray, filters: Optional[FilterType] = None, top_k: int = 10,
                           index: Optional[str] = None, return_embedding: Optional[bool] = None,
                           headers: Optional[Dict[str, str]] = None, scale_score: bool = True,
                           encoder_signature: Optional[EncoderSignature] = None) -> List[Document]:
        """The ``top_k`` documents most similar to ``query_emb`` among those matching ``filters``.

        ``encoder_signature``: the encoder that made ``query_emb`` (DPRRetriever passes it); refused if the
        index's vectors were made by another one.
        """
        return self.query_by_embedding_batch(np.asarray(query_emb)[None, :], filters, top_k, index,
                                             return_embedding, headers, scale_score, encoder_signature)[0]

    def query_by_embedding_batch(self, query_embs: Union[List[np.ndarray], np.ndarray],
                                 filters: Optional[Union[FilterType, List[Optional[FilterType]]]] = None,
                                 top_k: int = 10, index: Optional[str] = None, return_embedding: Optional[bool] = None,
                                 headers: Optional[Dict[str, str]] = None, scale_score: bool = True,
                                 encoder_signature: Optional[EncoderSignature] = None) -> List[List[Document]]:
        top_k = positive_int("top_k", top_k)
        name = index or self.index
        if encoder_signature is not None:
            encoders.admit(self._database, name, encoder_signature, record=False)
        queries = np.asarray(query_embs, dtype=np.float32)
        if isinstance(filters, list):
            if len(filters) != len(queries):
                raise ConfigurationError(f"Got {len(filters)} filters for {len(queries)} query embeddings: "
                                         f"give one filter per query or a single filter for all.")
            return [self.query_by_embedding_batch(queries[i:i + 1], f, top_k, index, return_embedding,
                                                  headers, scale_score)[0] for i, f in enumerate(filters)]
        info = self._database.index_info(name)
        if info is None or info.embedding_dim is None or not len(queries):
            return [[] for _ in queries]
        encoders.check_vector_size(info, queries.shape[-1] if queries.ndim == 2 else -1, "The query embedding")
        hits = self._caches.dense_hits(info, queries, top_k, filters)
        return [self._documents_with_scores(row_scores, return_embedding,
                                            lambda s: self.scale_to_unit_interval(s, self.similarity), scale_score)
                for row_scores in hits]

    # ----- BM25 search --------------------------------------------------------------------------------------

    def query(self, query: Optional[str], filters: Optional[FilterType] = None, top_k: int = 10,
              custom_query: Optional[str] = None, index: Optional[str] = None,
              headers: Optional[Dict[str, str]] = None, all_terms_must_match: bool = False,
              scale_score: bool = True) -> List[Document]:
        """BM25 over title (``meta[title_field]``) + text: the ``top_k`` best documents matching ``filters``."""
        if custom_query is not None:
            raise ConfigurationError("HybridDocumentStore has no query language: custom_query is not supported. "
                                     "Use filters= to restrict the documents.")
        top_k = positive_int("top_k", top_k)
        name = index or self.index
        if query is None:  # like Elasticsearch's match_all: documents in storage order, unscored
            return self.get_all_documents(index=name, filters=filters)[:top_k]
        info = self._database.index_info(name)
        bm25 = self._caches.bm25(name)
        allowed = self._database.matching_row_ids(info, filters) if (filters and info) else None
        scores, row_ids = bm25.search(query, top_k, allowed, all_terms_must_match)
        return self._documents_with_scores(list(zip(scores.tolist(), row_ids.tolist())), False,
                                           lambda s: float(expit(s / 8)), scale_score)

    def query_batch(self, queries: List[str], filters: Optional[Union[FilterType, List[Optional[FilterType]]]] = None,
                    top_k: int = 10, custom_query: Optional[str] = None, index: Optional[str] = None,
                    headers: Optional[Dict[str, str]] = None, all_terms_must_match: bool = False,
                    scale_score: bool = True) -> List[List[Document]]:
        if isinstance(queries, str):
            queries = [queries]
        if isinstance(filters, list):
            if len(filters) != len(queries):
                raise ConfigurationError(f"Got {len(filters)} filters for {len(queries)} queries: "
                                         f"give one filter per query or a single filter for all.")
        else:
            filters = [filters] * len(queries)
        return [self.query(q, f, top_k, custom_query, index, headers, all_terms_must_match, scale_score)
                for q, f in zip(queries, filters)]

    def _documents_with_scores(self, hits: List[tuple], return_embedding: Optional[bool],
                               scale: Callable[[float], float], scale_score: bool) -> List[Document]:
        """Documents of (score, row id) hits in hit order; rows deleted since the search are left out."""
        found = self._database.documents_by_row_ids([row_id for _, row_id in hits],
                                                    with_embedding=self._with_embedding(return_embedding))
        documents = []
        for score, row_id in hits:
            if row_id in found:
                found[row_id].score = scale(score) if scale_score else score
                documents.append(found[row_id])
        return documents

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

    def _create_document_field_map(self) -> Dict:
        return {self.embedding_field: "embedding"} if self.embedding_field != "embedding" else {}

    def _with_embedding(self, return_embedding: Optional[bool]) -> bool:
        return self.return_embedding if return_embedding is None else return_embedding

    def _info(self, name: str) -> IndexInfo:
        info = self._database.index_info(name)
        if info is None:
            raise StoreError(f"Index '{name}' does not exist in {self.path}. Existing: {self._database.index_names()}.")
        return info

    def _check_dim(self, info: IndexInfo, embedding_dim: Optional[int]) -> None:
        encoders.check_vector_size(info, embedding_dim, "embedding_dim")
        if info.embedding_dim is not None:
            VectorIndex.create(info.embedding_dim, self.faiss_index_factory_str, self.similarity)


def _shutdown(caches: IndexCaches, database: DocumentDatabase) -> None:
    try:
        caches.save_all()
    except Exception as error:  # noqa: BLE001 -- at exit the caches are rebuilt on next open anyway
        logger.warning("Could not save the vector indexes (%s); they will be rebuilt on next open.", error)
    finally:
        database.close()
