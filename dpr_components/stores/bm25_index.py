"""BM25 over title + text with bm25s (Lucene's BM25 variant), keyed by SQLite row ids.

Texts are lower-cased, English stop words removed and Snowball-stemmed (PyStemmer). ``k1`` / ``b``
default to the values tuned for Wikipedia passages (0.9 / 0.4, as in pyserini's DPR baselines). bm25s
precomputes every (term, document) score, so a query sums a few sparse columns (measured query times:
docs/performance.md). Filters arrive as the set of allowed row ids and act as a mask.

Example::

    bm25 = BM25Index.build(row_ids, ["Paris Paris is the capital of France."], k1=0.9, b=0.4)
    scores, ids = bm25.search("capital of France", k=10)
"""
import json
from pathlib import Path
from typing import List, Optional, Tuple

import bm25s
import numpy as np
import Stemmer

from dpr_components.errors import StoreCorruptedError
from dpr_components.utils.files import atomic_write

WIKIPEDIA_K1, WIKIPEDIA_B = 0.9, 0.4  # tuned for Wikipedia passages (pyserini's DPR baselines)
STOPWORDS = "en"
LANGUAGE = "english"
METHOD = "lucene"
ROW_IDS_FILE = "row_ids.npy"
SETTINGS_FILE = "settings.json"


class BM25Index:
    """A bm25s index whose document positions map to SQLite row ids."""

    def __init__(self, retriever: bm25s.BM25, row_ids: np.ndarray):
        self.retriever = retriever
        self.row_ids = row_ids
        self.stemmer = Stemmer.Stemmer(LANGUAGE)

    @staticmethod
    def settings(k1: float, b: float) -> dict:
        """Everything that shapes the scores: a saved index is reused only if these match."""
        return {"k1": float(k1), "b": float(b), "method": METHOD, "stopwords": STOPWORDS, "stemmer": LANGUAGE,
                "bm25s": bm25s.__version__}

    @classmethod
    def build(cls, row_ids: np.ndarray, texts: List[str], k1: float, b: float) -> "BM25Index":
        retriever = bm25s.BM25(k1=k1, b=b, method=METHOD)
        if texts:
            stemmer = Stemmer.Stemmer(LANGUAGE)
            tokens = bm25s.tokenize(texts, stopwords=STOPWORDS, stemmer=stemmer, show_progress=False)
            retriever.index(tokens, show_progress=False)
        return cls(retriever, np.asarray(row_ids, dtype=np.int64))

    @classmethod
    def load(cls, directory: Path, k1: float, b: float) -> "BM25Index":
        try:
            saved = json.loads((directory / SETTINGS_FILE).read_text())
            row_ids = np.load(directory / ROW_IDS_FILE)
            retriever = bm25s.BM25.load(str(directory)) if len(row_ids) else bm25s.BM25(k1=k1, b=b, method=METHOD)
        except (OSError, ValueError, KeyError) as error:
            raise StoreCorruptedError(f"BM25 index {directory} cannot be read: {error}") from None
        if saved != cls.settings(k1, b):
            raise StoreCorruptedError(f"BM25 index {directory} was built with other settings: {saved}")
        if len(row_ids) and retriever.scores["num_docs"] != len(row_ids):
            raise StoreCorruptedError(f"BM25 index {directory} holds {retriever.scores['num_docs']} documents "
                                      f"but maps {len(row_ids)} row ids.")
        return cls(retriever, row_ids)

    def save(self, directory: Path) -> None:
        def write(temporary: Path) -> None:
            temporary.mkdir()
            if self.size:
                self.retriever.save(str(temporary))
            np.save(temporary / ROW_IDS_FILE, self.row_ids)
            (temporary / SETTINGS_FILE).write_text(json.dumps(self.settings(self.retriever.k1, self.retriever.b)))

        atomic_write(directory, write)

    @property
    def size(self) -> int:
        return len(self.row_ids)

    def search(self, query: str, k: int, allowed: Optional[np.ndarray] = None,
               all_terms_must_match: bool = False) -> Tuple[np.ndarray, np.ndarray]:
        """Up to ``k`` (scores, row ids) by descending BM25 score; only documents containing a query term."""
        return self.search_batch([query], k, [allowed], all_terms_must_match)[0]

    def search_batch(self, queries: List[str], k: int, allowed: Optional[List[Optional[np.ndarray]]] = None,
                     all_terms_must_match: bool = False) -> List[Tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` for each query (``allowed``: None, or the allowed row ids of each); the queries are
        tokenized together."""
        if not self.size or k <= 0:
            return [(np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)) for _ in queries]
        tokens = bm25s.tokenize(list(queries), stopwords=STOPWORDS, stemmer=self.stemmer, return_ids=False,
                                show_progress=False)
        return [self._search(terms, k, None if allowed is None else allowed[i], all_terms_must_match)
                for i, terms in enumerate(tokens)]

    def _search(self, terms: List[str], k: int, allowed: Optional[np.ndarray],
                all_terms_must_match: bool) -> Tuple[np.ndarray, np.ndarray]:
        empty = np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        term_ids = self.retriever.get_tokens_ids([term for term in terms if term])
        if not term_ids or (all_terms_must_match and len(set(term_ids)) < len({term for term in terms if term})):
            return empty
        scores = self.retriever.get_scores_from_ids(term_ids)
        if all_terms_must_match:
            for term_id in set(term_ids):
                scores[self.retriever.get_scores_from_ids([term_id]) <= 0] = 0
        if allowed is not None:
            scores[~self._mask(allowed)] = 0
        candidates = np.flatnonzero(scores > 0)
        if len(candidates) > k:
            candidates = candidates[np.argpartition(-scores[candidates], k - 1)[:k]]
        order = candidates[np.argsort(-scores[candidates], kind="stable")]
        return scores[order], self.row_ids[order]

    def _mask(self, allowed: np.ndarray) -> np.ndarray:
        """Boolean mask over document positions for the allowed row ids (row ids are stored ascending)."""
        positions = np.searchsorted(self.row_ids, allowed)
        inside = positions < self.size
        positions, wanted = positions[inside], allowed[inside]
        mask = np.zeros(self.size, dtype=bool)
        mask[positions[self.row_ids[positions] == wanted]] = True
        return mask
