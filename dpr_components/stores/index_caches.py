"""The FAISS and BM25 indexes of a store: caches derived from SQLite, never trusted beyond what it says.

Each cache is stamped with the generation of the SQLite state it reflects, that generation's random token
and a key of the settings that shaped it (file names ``<index id>-<generation>-<token>-<key>``). A token is
drawn for every committed generation, so a cache is loaded only into the database whose history holds that
exact generation: never into a deleted and re-created database, a restored backup or a second database that
happens to reach the same counters and row ids. A loaded cache must map exactly SQLite's row ids (vectors:
those with embeddings; BM25: the text documents), else it is rebuilt. Before use, a cache is brought up to
SQLite's current generation: a vector index replays the rows logged in ``vector_changes`` since its stamp
(remove, re-add), or is rebuilt from SQLite in chunks when replay is impossible (HNSW cannot remove, the log
was pruned, the file is missing or corrupt, the result disagrees with SQLite's row ids). The BM25 index is
rebuilt when its text generation is stale. All reads for one refresh happen in one SQLite snapshot.
:meth:`IndexCaches.dense_hits` searches the current vector index with the filters applied inside.

Writers call :meth:`IndexCaches.build` (the store's ``build_indexes``), which saves what it built and reports
a full disk; a cache built during a query is saved when possible (a full disk is logged, the answer stands).
With ``persist=False`` (a read-only store) nothing is ever written: caches live in memory only.

Example::

    caches = IndexCaches(Path("dpr_store"), database, "HNSW32", "dot_product", k1=0.9, b=0.4)
    hits = caches.dense_hits(database.index_info("document"), queries, top_k=10, filters={"genre": "news"})
    caches.build("document")                   # up to date and saved: the next process loads them
"""
import hashlib
import json
import logging
import re
import threading
from pathlib import Path
from typing import Callable, Dict, Iterator, List, Optional, Tuple, TypedDict

import faiss
import numpy as np

from dpr_components.errors import StoreCorruptedError, StoreError
from dpr_components.stores.bm25_index import BM25Index
from dpr_components.stores.filters import Filters
from dpr_components.stores.sqlite_documents import DocumentDatabase, IndexInfo
from dpr_components.stores.store_files import EMPTY_TOKEN, reported
from dpr_components.stores.vector_index import SelectorUnsupportedError, VectorIndex, exact_search
from dpr_components.utils.files import TEMPORARY_MARK, remove, remove_leftovers

logger = logging.getLogger(__name__)

EXACT_SEARCH_MAX = 2048  # filtered searches over at most this many documents are scored exactly
# Rows read from SQLite per step of a rebuild: each step holds the rows twice (SQLite's and numpy's), so
# 1024 x 768-d keeps that transient at 6 MB, under 1% of a 250k-vector index.
BUILD_CHUNK_ROWS = 1024
STAMP = re.compile(r"^(\d+)-(\d+)-([0-9a-f]+)-([0-9a-f]+)(\.faiss)?$")


class SearchSettings(TypedDict):
    """A vector index's search-time settings (not in its cache key): VectorIndex's keywords."""

    nprobe: Optional[int]
    ef_search: Optional[int]
    int8_prefilter: bool


class IndexCaches:
    """Per named index: the FAISS index (at a vector generation) and the BM25 index (at a text generation)."""

    def __init__(self, directory: Path, database: DocumentDatabase, factory: str, similarity: str,
                 k1: float, b: float, nprobe: Optional[int] = None, ef_search: Optional[int] = None,
                 int8_prefilter: bool = False, persist: bool = True):
        self.database, self.persist = database, persist
        self.factory, self.similarity, self.k1, self.b = factory, similarity, k1, b
        # Search-time only: not in the cache key.
        self.search_settings = SearchSettings(nprobe=nprobe, ef_search=ef_search, int8_prefilter=int8_prefilter)
        self.vector_directory, self.bm25_directory = directory / "vectors", directory / "bm25"
        if persist:
            with reported(directory):
                for folder in (self.vector_directory, self.bm25_directory):
                    folder.mkdir(parents=True, exist_ok=True)
                    remove_leftovers(folder)
                self._remove_unbound()
        self.lock = threading.RLock()
        self._vectors: Dict[int, Tuple[int, Optional[str], VectorIndex]] = {}
        self._bm25: Dict[int, Tuple[int, Optional[str], BM25Index]] = {}
        self._unsaved: Dict[int, str] = {}  # index id -> index name, vector caches newer than their file

    def build(self, name: str) -> None:
        """Bring both caches of index ``name`` up to date and save them (a full disk raises StoreFullError)."""
        with self.lock:
            self.vectors(name, strict=True)
            self.save_vectors(name)
            self.bm25(name, strict=True)

    # ----- vectors ------------------------------------------------------------------------------------------

    def vectors(self, name: str, strict: bool = False) -> Optional[VectorIndex]:
        """The FAISS index matching SQLite's current vectors of index ``name`` (None if it has none)."""
        with self.lock, self.database.transaction(write=False):
            info = self.database.index_info(name)
            if info is None or info.embedding_dim is None:
                return None
            cached, loaded = self._vectors.get(info.index_id), False
            if cached is not None and cached[:2] == (info.vector_generation, info.vector_token):
                return cached[2]
            if cached is not None and self.database.token(info.index_id, "vectors", cached[0]) != cached[1]:
                cached = None  # built from another database (one restored since)
            if cached is None:
                cached, loaded = self._load_vectors(info, info.embedding_dim), True
            if cached is not None and self._replay(info, cached[0], cached[2], check_ids=loaded):
                self._vectors[info.index_id] = (info.vector_generation, info.vector_token, cached[2])
                if cached[0] != info.vector_generation:
                    self._unsaved[info.index_id] = name
                return cached[2]
            self._vectors.pop(info.index_id, None)
            del cached  # the stale index must be freed before its replacement is built
            index = self._rebuild_vectors(info, info.embedding_dim)
        self._saved(lambda: self.save_vectors(name), strict)  # a full build is worth keeping
        return index

    def save_vectors(self, name: str) -> None:
        """Write the in-memory vector index of ``name`` to disk if it is newer than the saved one."""
        with self.lock:
            info = self.database.index_info(name)
            if not self.persist or info is None or info.index_id not in self._unsaved:
                return
            generation, token, index = self._vectors[info.index_id]
            if token is None:
                return  # a generation written by an older version: no file could be bound to it
            path = self.vector_directory / f"{info.index_id}-{generation}-{token}-{self._vector_key(index.dim)}.faiss"
            with reported(path):
                index.save(path)
            self._remove_stale(self.vector_directory, info.index_id, keep=path)
            self._unsaved.pop(info.index_id, None)
            self.database.forget_changes(info.index_id, generation)

    def save_all(self) -> None:
        for name in list(self._unsaved.values()):
            self.save_vectors(name)

    def _load_vectors(self, info: IndexInfo, dim: int) -> Optional[Tuple[int, Optional[str], VectorIndex]]:
        key = self._vector_key(dim)
        saved = sorted((generation, token, path) for generation, token, path in
                       self._stamped(self.vector_directory, info.index_id)
                       if path.name.endswith(f"-{key}.faiss") and info.vector_log_start <= generation
                       <= info.vector_generation and token == self.database.token(info.index_id, "vectors", generation))
        if not saved:
            return None
        generation, token, path = saved[-1]
        try:
            index = VectorIndex.load(path, self.similarity, **self.search_settings)
        except StoreCorruptedError as error:
            logger.warning("%s; rebuilding it from the documents database.", error)
            return None
        return generation, token, index

    def _replay(self, info: IndexInfo, generation: int, index: VectorIndex, check_ids: bool) -> bool:
        """Apply the rows changed since ``generation`` and check the result against SQLite (every row id
        when ``check_ids``, else the count); False when only a rebuild can bring the index up to date."""
        if generation < info.vector_log_start:
            return False
        changed = self.database.changed_since(info, generation)
        if len(changed) > max(index.size // 2, 10_000) or not index.can_add(len(changed)):
            return False
        if not index.remove(changed):
            return False
        for row_ids, vectors in self.database.vectors(info, row_ids=changed):
            index.add(row_ids, vectors)
        if check_ids:
            consistent = np.array_equal(np.sort(index.ids()), self.database.row_ids(info, embedding=True))
        else:
            consistent = index.size == self.database.count(info, embedding=True)
        if not consistent:
            logger.warning("Vector index of '%s' disagrees with the documents database; rebuilding it.", info.name)
            return False
        return True

    def _rebuild_vectors(self, info: IndexInfo, dim: int) -> VectorIndex:
        logger.info("Building the %s vector index of '%s' from the documents database.", self.factory, info.name)
        sample = self._training_sample(info, dim)
        index = VectorIndex.build(dim, self.factory, self.similarity,
                                  sample, self.database.vectors(info, chunk_size=BUILD_CHUNK_ROWS),
                                  self.database.count(info, embedding=True),
                                  **self.search_settings)
        self._vectors[info.index_id] = (info.vector_generation, info.vector_token, index)
        self._unsaved[info.index_id] = info.name
        return index

    def _training_sample(self, info: IndexInfo, dim: int) -> np.ndarray:
        empty = VectorIndex.create(dim, self.factory, self.similarity)
        if empty.index.is_trained:
            return np.zeros((0, dim), dtype=np.float32)
        row_ids = self.database.row_ids(info, embedding=True)
        row_ids = row_ids[empty.training_rows(len(row_ids))]
        sample = np.empty((len(row_ids), dim), dtype=np.float32)
        filled = 0
        for _, vectors in self.database.vectors(info, row_ids=row_ids):
            sample[filled:filled + len(vectors)] = vectors
            filled += len(vectors)
        return sample[:filled]

    def _vector_key(self, dim: int) -> str:
        return _digest({"factory": self.factory, "similarity": self.similarity, "dim": dim, "faiss": faiss.__version__})

    def dense_hits(self, info: IndexInfo, queries: np.ndarray, top_k: int, filters: Filters
                   ) -> List[List[Tuple[float, int]]]:
        """Per query, up to ``top_k`` (score, row id) among the documents matching ``filters``, best first.

        Filters act inside the search: a faiss id selector, or exact scoring of the allowed vectors when
        they are few, when the index type takes no selector, or when an approximate index (HNSW graph,
        unprobed IVF lists) found fewer hits than exist.
        """
        with self.lock:
            vectors = self.vectors(info.name)
            if vectors is None:
                return [[] for _ in queries]
            return self._dense_hits(info, vectors, queries, top_k, filters)

    def _dense_hits(self, info: IndexInfo, vectors: VectorIndex, queries: np.ndarray, top_k: int,
                    filters: Filters) -> List[List[Tuple[float, int]]]:
        allowed = self.database.matching_row_ids(info, filters) if filters else None  # vectorless ids harmless
        available = vectors.size if allowed is None else len(allowed)
        k = min(top_k, available)
        if k == 0:
            return [[] for _ in queries]
        exact = allowed is not None and available <= EXACT_SEARCH_MAX
        if not exact:
            try:
                scores, ids = vectors.search(queries, k, allowed)
            except SelectorUnsupportedError:
                exact = True
        short = [] if exact or allowed is None else [i for i, row in enumerate(ids) if (row >= 0).sum() < k]
        if exact or short:
            rows = list(range(len(queries))) if exact else short
            exact_scores, exact_ids = exact_search(queries[rows], self.database.vectors(info, filters), k,
                                                   self.similarity)
            if exact:
                scores, ids = exact_scores, exact_ids
            else:
                scores[short], ids[short] = exact_scores, exact_ids
        return [[(float(s), int(i)) for s, i in zip(row_scores, row_ids) if i >= 0]
                for row_scores, row_ids in zip(scores, ids)]

    # ----- BM25 ---------------------------------------------------------------------------------------------

    def bm25(self, name: str, strict: bool = False) -> BM25Index:
        """The BM25 index matching SQLite's current texts of index ``name`` (loaded, or rebuilt and saved)."""
        with self.lock:
            with self.database.transaction(write=False):
                info = self.database.index_info(name)
                if info is None:
                    return BM25Index.build(np.zeros(0, dtype=np.int64), [], self.k1, self.b)
                cached = self._bm25.get(info.index_id)
                if cached is not None and cached[:2] == (info.text_generation, info.text_token):
                    return cached[2]
                stamp = f"{info.index_id}-{info.text_generation}-{info.text_token}"
                path = self.bm25_directory / f"{stamp}-{self._bm25_key()}"
                index = self._load_bm25(path) if info.text_token is not None else None
                if index is not None and not np.array_equal(index.row_ids, self.database.text_row_ids(info)):
                    logger.warning("BM25 index of '%s' disagrees with the documents database; rebuilding it.", name)
                    remove(path)
                    index = None
                if index is None:
                    logger.info("Building the BM25 index of '%s' from the documents database.", name)
                    index = BM25Index.build(*self.database.texts(info), k1=self.k1, b=self.b)
            if self.persist and info.text_token is not None and not path.exists():
                self._saved(lambda: self._save_bm25(index, path, info.index_id), strict)
            self._bm25[info.index_id] = (info.text_generation, info.text_token, index)
            return index

    def _save_bm25(self, index: BM25Index, path: Path, index_id: int) -> None:
        with reported(path):
            index.save(path)
        self._remove_stale(self.bm25_directory, index_id, keep=path)

    def _load_bm25(self, path: Path) -> Optional[BM25Index]:
        if not path.is_dir():
            return None
        try:
            return BM25Index.load(path, self.k1, self.b)
        except StoreCorruptedError as error:
            logger.warning("%s; rebuilding it from the documents database.", error)
            remove(path)
            return None

    def _bm25_key(self) -> str:
        return _digest({**BM25Index.settings(self.k1, self.b), "title": self.database.schema.title_field})

    # ----- shared -------------------------------------------------------------------------------------------

    def forget(self, index_id: int) -> None:
        """Drop every cache of a deleted index, in memory and on disk."""
        with self.lock:
            self._vectors.pop(index_id, None)
            self._bm25.pop(index_id, None)
            self._unsaved.pop(index_id, None)
            for directory in (self.vector_directory, self.bm25_directory):
                self._remove_stale(directory, index_id, keep=None)

    def _saved(self, save: Callable[[], None], strict: bool) -> None:
        """Run ``save``; unless ``strict`` (a writer asked), a disk that cannot take the file only costs a
        rebuild in the next process, so the answer stands and a warning says why."""
        if not self.persist:
            return
        try:
            save()
        except StoreError as error:
            if strict:
                raise
            logger.warning("Could not save a search index (%s); it is kept in memory and rebuilt by the next "
                           "process.", error)

    def _remove_unbound(self) -> None:
        """Delete cache files no generation of this database made: a replaced or restored database's, or an
        older version's. Files are listed before the tokens are read: a cache is saved only after its
        generation was committed, so a concurrent writer's new file is never taken for a stranger's."""
        files = [(directory, path, STAMP.match(path.name)) for directory in (self.vector_directory, self.bm25_directory)
                 for path in directory.iterdir() if not path.name.startswith(TEMPORARY_MARK)]
        known = {(index_id, kind, generation, token) for index_id, kind, generation, token
                 in self.database.query("SELECT index_id, kind, generation, token FROM generation_tokens")}
        for directory, path, match in files:
            kind = "texts" if directory is self.bm25_directory else "vectors"
            stamp = (int(match.group(1)), kind, int(match.group(2)), match.group(3)) if match else None
            if stamp is None or (stamp not in known and stamp[2:] != (0, EMPTY_TOKEN)):
                logger.info("Removing %s: no generation of the documents database made it.", path)
                remove(path)

    def _stamped(self, directory: Path, index_id: int) -> Iterator[Tuple[int, str, Path]]:
        if not directory.is_dir():  # a read-only store whose caches were deleted: nothing saved to load
            return
        for path in directory.iterdir():
            match = STAMP.match(path.name)
            if match and int(match.group(1)) == index_id:
                yield int(match.group(2)), match.group(3), path

    def _remove_stale(self, directory: Path, index_id: int, keep: Optional[Path]) -> None:
        """Remove the caches of an index older than ``keep`` (all without it); a newer one that another
        process saved meanwhile stays."""
        kept = int(STAMP.match(keep.name).group(2)) if keep is not None else None  # type: ignore[union-attr]
        for generation, _, path in list(self._stamped(directory, index_id)):
            if kept is None or generation < kept or (generation == kept and path != keep):
                remove(path)


def _digest(settings: dict) -> str:
    return hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
