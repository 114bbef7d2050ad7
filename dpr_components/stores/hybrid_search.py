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
import copy
from collections import OrderedDict
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
from haystack.schema import Document, FilterType
from haystack.utils.scipy_utils import expit

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import ConfigurationError
from dpr_components.stores import encoder_records as encoders
from dpr_components.stores.document_rows import StoredDocument
from dpr_components.stores.index_caches import IndexCaches
from dpr_components.stores.sqlite_documents import DocumentDatabase
from dpr_components.utils.validation import positive_int

PARSED_ROWS = 20_000  # documents kept parsed for searches (a few KB each: tens of MB at most)


class HybridSearch:
    """Dense and BM25 search over a store's ``_database`` (SQLite) and ``_caches`` (FAISS, BM25)."""

    _database: DocumentDatabase
    _caches: IndexCaches
    _parsed_rows: "ParsedRows"
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
        """:meth:`query_by_embedding` for each vector; ``filters``: one filter for all, or a list, one per vector."""
        top_k = positive_int("top_k", top_k)
        info = self._database.index_info(index or self.index)
        if encoder_signature is not None and info is not None:
            encoders.check_query(info, encoder_signature)
        if info is None or info.embedding_dim is None or not len(query_embs):
            return [[] for _ in query_embs]
        queries = encoders.checked_vectors(query_embs, info.embedding_dim, "The query embedding", index=info.name)
        if isinstance(filters, list):
            hits = [self._caches.dense_hits(info, queries[i:i + 1], top_k, f)[0]
                    for i, f in enumerate(_per_query(filters, len(queries), "query embeddings"))]
        else:  # one search for all the vectors
            hits = self._caches.dense_hits(info, queries, top_k, filters)
        return self._documents_with_scores(hits, return_embedding,
                                           lambda s: self.scale_to_unit_interval(s, self.similarity), scale_score)

    # ----- BM25 search --------------------------------------------------------------------------------------

    def query(self, query: Optional[str], filters: Optional[FilterType] = None, top_k: int = 10,
              custom_query: Optional[str] = None, index: Optional[str] = None,
              headers: Optional[Dict[str, str]] = None, all_terms_must_match: bool = False,
              scale_score: bool = True) -> List[Document]:
        """BM25 over title (``meta[title_field]``) + text: the ``top_k`` best documents matching ``filters``."""
        return self.query_batch([query], filters, top_k, custom_query, index, headers,  # type: ignore[list-item]
                                all_terms_must_match, scale_score)[0]

    def query_batch(self, queries: List[str], filters: Optional[Union[FilterType, List[Optional[FilterType]]]] = None,
                    top_k: int = 10, custom_query: Optional[str] = None, index: Optional[str] = None,
                    headers: Optional[Dict[str, str]] = None, all_terms_must_match: bool = False,
                    scale_score: bool = True) -> List[List[Document]]:
        """:meth:`query` for each query (tokenized together, documents read together); ``filters``: one filter
        for all, or a list, one per query. A None query matches all documents, unscored, in storage order."""
        if custom_query is not None:
            raise ConfigurationError("HybridDocumentStore has no query language: custom_query is not supported. "
                                     "Use filters= to restrict the documents.")
        top_k = positive_int("top_k", top_k)
        queries = [queries] if isinstance(queries, str) else list(queries)
        filters = _per_query(filters, len(queries), "queries")
        name = index or self.index
        searched = [i for i, query in enumerate(queries) if query is not None]
        hits: List[List[Tuple[float, int]]] = [[] for _ in queries]
        if searched:
            info = self._database.index_info(name)
            allowed = [self._database.matching_row_ids(info, filters[i]) if (filters[i] and info) else None
                       for i in searched]
            found = self._caches.bm25(name).search_batch([queries[i] for i in searched], top_k, allowed,
                                                         all_terms_must_match)
            for i, (scores, row_ids) in zip(searched, found):
                hits[i] = list(zip(scores.tolist(), row_ids.tolist()))
        documents = self._documents_with_scores(hits, False, lambda s: float(expit(s / 8)), scale_score)
        for i, query in enumerate(queries):  # like Elasticsearch's match_all
            if query is None:
                documents[i] = self.get_all_documents(index=name, filters=filters[i])[:top_k]
        return documents

    # ----- documents of hits --------------------------------------------------------------------------------

    def _with_embedding(self, return_embedding: Optional[bool]) -> bool:
        return self.return_embedding if return_embedding is None else return_embedding

    def _documents_with_scores(self, hits: List[List[Tuple[float, int]]], return_embedding: Optional[bool],
                               scale: Callable[[float], float], scale_score: bool) -> List[List[Document]]:
        """Per query, the documents of its (score, row id) hits in hit order, each its own object; rows deleted
        since the search are left out. The rows of all queries are read at once, each once."""
        wanted = list(dict.fromkeys(row_id for query_hits in hits for _, row_id in query_hits))
        if self._with_embedding(return_embedding):
            found = self._database.documents_by_row_ids(wanted, with_embedding=True)
        else:
            found = self._parsed_rows.documents(wanted)
        return [[_scored(found[row_id], scale(score) if scale_score else score)
                 for score, row_id in query_hits if row_id in found] for query_hits in hits]


class ParsedRows:
    """Documents (without vectors) of recently read rows, parsed once and kept while the database is unchanged:
    a hybrid query's two retrievers, and the questions of a batch, read mostly the same rows, and building a
    document (its meta JSON) costs more than copying one. Callers get copies, never the kept documents."""

    def __init__(self, database: DocumentDatabase, size: int = PARSED_ROWS):
        self.database, self.size = database, size
        self._rows: OrderedDict[int, Document] = OrderedDict()
        self._version: Optional[tuple] = None

    def documents(self, row_ids: List[int]) -> Dict[int, Document]:
        """Row id -> a document of its own, for the row ids that exist."""
        with self.database.lock:
            version = self.database.version()
            if version != self._version:
                self._rows.clear()
                self._version = version
            missing = [row_id for row_id in row_ids if row_id not in self._rows]
            self._rows.update(self.database.documents_by_row_ids(missing) if missing else {})
            found = {}
            for row_id in row_ids:
                document = self._rows.get(row_id)
                if document is not None:
                    self._rows.move_to_end(row_id)
                    found[row_id] = document
            while len(self._rows) > self.size:
                self._rows.popitem(last=False)
        return found


def _scored(document: Document, score: float) -> Document:
    copied = document.__deepcopy__({}) if isinstance(document, StoredDocument) else copy.deepcopy(document)
    copied.score = score
    return copied


def _per_query(filters: Any, count: int, what: str) -> List[Optional[FilterType]]:
    """``filters`` as one filter per query: a list must have one per query, anything else is for all."""
    if not isinstance(filters, list):
        return [filters] * count
    if len(filters) != count:
        raise ConfigurationError(f"Got {len(filters)} filters for {count} {what}: give one filter per query or a "
                                 f"single filter for all.")
    return filters
