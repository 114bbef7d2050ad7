"""Searching a HybridDocumentStore: dense (FAISS) and BM25, with Haystack's filters applied inside both.

:class:`HybridSearch` is the query half of :class:`~dpr_components.stores.hybrid_document_store.HybridDocumentStore`
(Haystack's ``query_by_embedding`` / ``query`` API and their batch forms); it reads the store's SQLite
database and its caches. Query vectors pass the store's one vector check
(:func:`~dpr_components.stores.encoder_records.checked_vectors`) and, with an ``encoder_signature``, the
encoder check; searching never writes to a store opened ``read_only``.

Example::

    store = HybridDocumentStore(path="dpr_store", read_only=True)
    store.query_by_embedding(np.ones(768, dtype=np.float32), top_k=5, filters={"genre": "news"})   # dense
    store.query("capital of France", top_k=5)                                                     # BM25
"""
from typing import Callable, Dict, List, Optional, Union

import numpy as np
from haystack.schema import Document, FilterType
from haystack.utils.scipy_utils import expit

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import ConfigurationError
from dpr_components.stores import encoder_records as encoders
from dpr_components.stores.index_caches import IndexCaches
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo
from dpr_components.utils.validation import positive_int


class HybridSearch:
    """Dense and BM25 search over a store's ``_database`` (SQLite) and ``_caches`` (FAISS, BM25)."""

    _database: DocumentDatabase
    _caches: IndexCaches
    index: str
    similarity: str
    return_embedding: bool
    get_all_documents: Callable[..., List[Document]]
    scale_to_unit_interval: Callable[[float, Optional[str]], float]

    # ----- dense search -------------------------------------------------------------------------------------

    def query_by_embedding(self, query_emb: np.ndarray, filters: Optional[FilterType] = None, top_k: int = 10,
                           index: Optional[str] = None, return_embedding: Optional[bool] = None,
                           headers: Optional[Dict[str, str]] = None, scale_score: bool = True,
                           encoder_signature: Optional[EncoderSignature] = None) -> List[Document]:
        """The ``top_k`` documents most similar to ``query_emb`` among those matching ``filters``.

        ``encoder_signature``: the encoder that made ``query_emb`` (DPRRetriever passes it); refused if the
        index's vectors were made by another one.
        """
        return self.query_by_embedding_batch([query_emb], filters, top_k, index,
                                             return_embedding, headers, scale_score, encoder_signature)[0]

    def query_by_embedding_batch(self, query_embs: Union[List[np.ndarray], np.ndarray],
                                 filters: Optional[Union[FilterType, List[Optional[FilterType]]]] = None,
                                 top_k: int = 10, index: Optional[str] = None, return_embedding: Optional[bool] = None,
                                 headers: Optional[Dict[str, str]] = None, scale_score: bool = True,
                                 encoder_signature: Optional[EncoderSignature] = None) -> List[List[Document]]:
        top_k = positive_int("top_k", top_k)
        info = self._database.index_info(index or self.index)
        if encoder_signature is not None and info is not None:
            encoders.check_query(info, encoder_signature)
        if info is None or info.embedding_dim is None or not len(query_embs):
            return [[] for _ in query_embs]
        queries = encoders.checked_vectors(query_embs, info.embedding_dim, "The query embedding", index=info.name)
        if not isinstance(filters, list):
            return self._dense(info, queries, top_k, filters, return_embedding, scale_score)
        if len(filters) != len(queries):
            raise ConfigurationError(f"Got {len(filters)} filters for {len(queries)} query embeddings: "
                                     f"give one filter per query or a single filter for all.")
        return [self._dense(info, queries[i:i + 1], top_k, f, return_embedding, scale_score)[0]
                for i, f in enumerate(filters)]

    def _dense(self, info: IndexInfo, queries: np.ndarray, top_k: int, filters: Optional[FilterType],
               return_embedding: Optional[bool], scale_score: bool) -> List[List[Document]]:
        return [self._documents_with_scores(row_scores, return_embedding,
                                            lambda s: self.scale_to_unit_interval(s, self.similarity), scale_score)
                for row_scores in self._caches.dense_hits(info, queries, top_k, filters)]

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

    def _with_embedding(self, return_embedding: Optional[bool]) -> bool:
        return self.return_embedding if return_embedding is None else return_embedding

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
