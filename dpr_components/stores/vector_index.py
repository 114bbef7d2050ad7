"""FAISS vector index of one named index, keyed by SQLite row ids: a cache rebuilt from SQLite when stale.

Any faiss index factory string works (``Flat``, ``HNSW32``, ``IVF1024,PQ64``, ``SQ8``...); trainable
indexes are trained on a sample of the stored vectors when first built. Similarities: ``dot_product``
(DPR's), ``cosine`` (vectors L2-normalised, inner product) and ``l2`` (score = minus the squared euclidean
distance, so that higher is better everywhere). HNSW uses DPR's efConstruction 200 and, unless ``ef_search``
is given, efSearch 128; IVF probes ``nprobe`` lists (default ``min(nlist, 16)``). Both are search-time
settings: changing them needs no rebuild (benchmarks/index_compression.py measures their recall/latency).

Filtered search passes an id selector into faiss; when the index type cannot take one, or an approximate
index finds fewer hits than exist, :func:`exact_search` scores the allowed vectors directly. A filter that
allows a share ``s`` of the vectors widens the search by ``1/s`` (at most :data:`FILTER_WIDENING_MAX` x):
``nprobe / s`` lists, efSearch ``/ s``, so that about as many allowed candidates are compared as an
unfiltered search compares vectors. Without it, a 10% filter at 1M vectors kept 0.36 (HNSW32, efSearch 128)
and 0.78 (IVF4096, nprobe 16) of the exact top 100.

Example::

    index = VectorIndex.create(768, "HNSW32", "dot_product", ef_search=256)
    index.add(np.array([7, 9]), vectors)                    # ids are SQLite row ids
    scores, ids = index.search(query[None, :], k=10, allowed=np.array([9]))
"""
from pathlib import Path
from typing import Iterable, Optional, Tuple

import faiss
import numpy as np

from dpr_components.errors import ConfigurationError, StoreCorruptedError, StoreError
from dpr_components.fastpaths import FastPath, enabled
from dpr_components.stores.int8_prefilter import Int8Prefilter, int8_product_available
from dpr_components.utils.choices import Similarity
from dpr_components.utils.files import atomic_write

SMALL_FLAT_BYTES = 64 * 2**20  # below this, a flat index may grow by faiss's reallocation (doubling) freely
HNSW_EF_CONSTRUCTION = 200
HNSW_EF_SEARCH = 128
IVF_MAX_NPROBE = 16
FILTER_WIDENING_MAX = 16
TRAINING_SAMPLE_SIZE = 100_000  # ~10% of 1M vectors: enough for IVF/PQ training, little extra memory
TRAINING_POINTS_PER_LIST = 39  # faiss's k-means warns below this many training vectors per centroid
# Up to this many queries, an unfiltered flat inner-product search is one matrix-vector product over
# faiss's own storage (no copy) plus a partial sort: faiss's path for few queries scans the vectors on one
# thread and took twice as long (100k x 768, AMD EPYC, under load). It is bound by reading the vectors.
BLAS_SEARCH_MAX_QUERIES = 16
# With ``int8_prefilter`` and from this many vectors on, a single query's flat search first scans int8 codes
# (a quarter of the bytes) and scores only the candidates they leave exactly (stores/int8_prefilter.py): the
# same hits, 100k x 768 in ~3 ms instead of 9. Below it the float32 scan takes ~1 ms.
PREFILTER_MIN_VECTORS = 20_000


def inner_products(queries: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """``queries @ vectors.T`` (float32), computed in torch's thread pool, one block of rows per thread.

    Why torch and not numpy: the query encoder runs in torch's pool, and numpy's OpenBLAS keeps a second pool
    whose threads spin for a while after each call. Alternating the two (encode, search, encode, ...) made
    each wait for the other's spinning threads: ``DPRRetriever.retrieve`` took 70 ms where encoding alone took
    19 and the numpy product 17; in torch's pool retrieve takes 34 ms and the product 10.5 (p50, 100k x 768,
    BERT-base bf16, AMD EPYC, 2 cores, idle). Why blocks: torch runs a single matrix-vector product on one
    thread (26 ms); a batched product over one block per thread uses them all.
    """
    import torch

    queries_t, vectors_t = torch.from_numpy(queries), torch.from_numpy(vectors)
    blocks = max(1, min(torch.get_num_threads(), len(vectors) // 1024))
    rows = len(vectors) // blocks * blocks
    scores = torch.empty((len(queries), len(vectors)), dtype=torch.float32)
    if rows:
        per_block = vectors_t[:rows].view(blocks, rows // blocks, -1)
        products = torch.bmm(per_block, queries_t.T.expand(blocks, -1, -1))  # (blocks, rows/block, queries)
        scores[:, :rows] = products.permute(2, 0, 1).reshape(len(queries), rows)
    if rows < len(vectors):
        scores[:, rows:] = queries_t @ vectors_t[rows:].T
    return scores.numpy()


def faiss_reason(error: RuntimeError) -> str:
    """What a faiss error says, without the C++ file and line faiss puts before it."""
    return str(error).strip().splitlines()[-1]


class SelectorUnsupportedError(Exception):
    """This faiss index type cannot restrict a search to a set of ids."""


class VectorIndex:
    """A faiss ``IndexIDMap`` over a factory-built index; ids are the documents' SQLite row ids."""

    def __init__(self, index: faiss.IndexIDMap, similarity: Similarity, nprobe: Optional[int] = None,
                 ef_search: Optional[int] = None, int8_prefilter: bool = False):
        self.index = index
        self.similarity = similarity
        self.nprobe, self.ef_search = nprobe, ef_search
        # Costs a quarter of the float32 vectors' memory, so it is asked for (HybridDocumentStore's parameter).
        self.int8_prefilter = int8_prefilter and int8_product_available()
        flat = self._flat()
        # Vectors a flat index can take without reallocating (which would double its memory).
        self.capacity = flat.ntotal if flat is not None else None
        self._prefilter: Optional[Int8Prefilter] = None  # made by the first prefiltered search
        self._tune()

    @classmethod
    def create(cls, dim: int, factory: str, similarity: str, nprobe: Optional[int] = None,
               ef_search: Optional[int] = None, int8_prefilter: bool = False) -> "VectorIndex":
        similarity = Similarity.from_str(similarity)
        metric = faiss.METRIC_L2 if similarity is Similarity.L2 else faiss.METRIC_INNER_PRODUCT
        try:
            inner = faiss.index_factory(dim, factory, metric)
        except RuntimeError as error:
            raise ConfigurationError(
                f"faiss cannot build index {factory!r} for {dim}-dim vectors with {similarity.value} similarity "
                f"({faiss_reason(error)}). Use a faiss index factory string such as 'Flat', 'HNSW32', "
                f"'IVF1024,Flat' or 'IVF1024,PQ64' (PQ sizes must divide the dimension)."
            ) from None
        if isinstance(inner, faiss.IndexIDMap):
            raise ConfigurationError(f"Index factory {factory!r} must not contain IDMap: the store adds it.")
        return cls(faiss.IndexIDMap(inner), similarity, nprobe, ef_search, int8_prefilter)

    @classmethod
    def build(cls, dim: int, factory: str, similarity: str, training_sample: np.ndarray,
              chunks: Iterable[Tuple[np.ndarray, np.ndarray]], count: int, nprobe: Optional[int] = None,
              ef_search: Optional[int] = None, int8_prefilter: bool = False) -> "VectorIndex":
        """A new index trained (if it needs training) on ``training_sample``, holding the ``count`` vectors of
        ``chunks``. A flat index is allocated once, with 1/64 headroom for later additions (faiss zero-fills
        the headroom, so it is resident memory: more would cost the first open of a large store more than
        the 1.05x of the raw vectors the memory benchmark allows; beyond it, the store rebuilds)."""
        index = cls.create(dim, factory, similarity, nprobe, ef_search, int8_prefilter)
        if not index.index.is_trained:
            index.train(training_sample)
        flat = index._flat()
        if flat is None or not enabled(FastPath.FAISS_STORAGE):
            for row_ids, vectors in chunks:
                index.add(row_ids, vectors)
            return index
        index.capacity = count + max(1024, count // 64)
        flat.codes.resize(index.capacity * flat.code_size)
        storage = faiss.rev_swig_ptr(flat.codes.data(), index.capacity * flat.code_size).view(np.float32)
        storage = storage.reshape(index.capacity, dim)
        filled = 0
        for row_ids, vectors in chunks:
            index._prepare(vectors, out=storage[filled:filled + len(vectors)])  # straight into faiss's storage
            index.index.id_map.resize(filled + len(row_ids))
            faiss.rev_swig_ptr(index.index.id_map.data(), filled + len(row_ids))[filled:] = row_ids
            filled += len(vectors)
        if filled != count:
            raise StoreError(f"Expected {count} vectors while building the index but read {filled}.")
        flat.codes.resize(filled * flat.code_size)  # shrinking keeps the allocation
        flat.ntotal = index.index.ntotal = filled
        return index

    @classmethod
    def load(cls, path: Path, similarity: str, nprobe: Optional[int] = None,
             ef_search: Optional[int] = None, int8_prefilter: bool = False) -> "VectorIndex":
        try:
            index = faiss.read_index(str(path))
        except RuntimeError as error:
            raise StoreCorruptedError(f"Vector index file {path} cannot be read: {error}") from None
        if not isinstance(index, faiss.IndexIDMap):
            raise StoreCorruptedError(f"Vector index file {path} does not hold an id-mapped faiss index.")
        return cls(index, Similarity.from_str(similarity), nprobe, ef_search, int8_prefilter)

    def save(self, path: Path) -> None:
        def write(temporary: Path) -> None:
            with open(temporary, "wb") as file:  # through Python: a full disk raises OSError with its errno
                # faiss's stubs lack PyCallbackIOWriter (faiss/python/extra_wrappers.py has it)
                faiss.write_index(self.index, faiss.PyCallbackIOWriter(file.write))  # type: ignore[attr-defined]

        atomic_write(path, write)

    @property
    def dim(self) -> int:
        return self.index.d

    @property
    def size(self) -> int:
        return self.index.ntotal

    def ids(self) -> np.ndarray:
        return faiss.vector_to_array(self.index.id_map).astype(np.int64)

    @property
    def training_sample_size(self) -> int:
        """How many vectors to train on: 100k, or 39 per IVF list where the lists are more (IVF16384: 639k,
        2 GB of 768-d vectors while building; a 21M-passage index wants that many lists, docs/scaling.md)."""
        ivf = faiss.try_extract_index_ivf(faiss.downcast_index(self.index.index))
        return max(TRAINING_SAMPLE_SIZE, TRAINING_POINTS_PER_LIST * ivf.nlist if ivf is not None else 0)

    def training_rows(self, count: int) -> np.ndarray:
        """Sorted positions, among ``count`` vectors, of those to train on: all, or a seeded sample."""
        if count <= self.training_sample_size:
            return np.arange(count)
        return np.sort(np.random.default_rng(0).choice(count, self.training_sample_size, replace=False))

    def train(self, vectors: np.ndarray) -> None:
        try:
            self.index.train(self._prepare(vectors))
        except RuntimeError as error:
            raise StoreError(
                f"Training the faiss index on {len(vectors)} stored vectors failed ({faiss_reason(error)}). "
                f"Trainable indexes (IVF, PQ) need many vectors, e.g. IVF<nlist> at least nlist and ideally 40 x "
                f"nlist: store more documents with embeddings, lower nlist, or use 'Flat' or 'HNSW32'."
            ) from None

    def can_add(self, count: int) -> bool:
        """Whether ``count`` more vectors fit without reallocating a large flat index (else rebuild it:
        faiss grows its storage by doubling, which would hold up to twice the vectors' memory)."""
        total = self.size + count
        return self.capacity is None or total <= self.capacity or total * self.dim * 4 <= SMALL_FLAT_BYTES

    def add(self, row_ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(row_ids):
            self.index.add_with_ids(self._prepare(vectors), np.ascontiguousarray(row_ids, dtype=np.int64))
            if self.capacity is not None:
                self.capacity = max(self.capacity, self.size)

    def remove(self, row_ids: np.ndarray) -> bool:
        """Remove these ids; False when the index type cannot remove (HNSW): then it must be rebuilt."""
        if not len(row_ids):
            return True
        try:
            self.index.remove_ids(faiss.IDSelectorBatch(np.ascontiguousarray(row_ids, dtype=np.int64)))
        except RuntimeError:
            return False
        self._prefilter = None  # a flat index compacts its storage: the codes' rows no longer line up
        return True

    def search(self, queries: np.ndarray, k: int, allowed: Optional[np.ndarray] = None
               ) -> Tuple[np.ndarray, np.ndarray]:
        """(scores, row ids), each (n_queries, k), higher score = more similar; row id -1 pads missing hits."""
        parameters = None
        flat = self._flat()
        if (allowed is None and flat is not None and self.similarity is not Similarity.L2
                and enabled(FastPath.FAISS_STORAGE)
                and len(queries) <= BLAS_SEARCH_MAX_QUERIES and flat.ntotal):
            return self._blas_search(flat, self._prepare(queries), k)
        if allowed is not None:
            widening = min(FILTER_WIDENING_MAX, max(1.0, self.size / max(1, len(allowed))))
            parameters = self._search_parameters(id_selector(allowed), widening)
        try:
            scores, ids = self.index.search(self._prepare(queries), k, params=parameters)
        except RuntimeError as error:
            if parameters is not None:
                raise SelectorUnsupportedError(str(error)) from None
            raise
        return self._higher_is_better(scores), ids

    def _blas_search(self, flat: faiss.IndexFlat, queries: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
        """Exact inner-product top-k as faiss returns it (ties: lower position first; -1 / -inf padding)."""
        count = flat.ntotal
        vectors = faiss.rev_swig_ptr(flat.get_xb(), count * self.dim).reshape(count, self.dim)
        row_ids = faiss.rev_swig_ptr(self.index.id_map.data(), count)
        if self.int8_prefilter and len(queries) == 1 and count >= PREFILTER_MIN_VECTORS and k <= count // 8:
            found = self._prefilter_of(vectors).candidates(queries[0], vectors, k)
            if found is not None:
                positions, scores = found
                return top_k(scores[None], positions, row_ids, k)
        return top_k(inner_products(queries, vectors), np.arange(count), row_ids, k)

    def _prefilter_of(self, vectors: np.ndarray) -> Int8Prefilter:
        """The int8 codes of ``vectors`` (faiss's storage): kept, extended by rows appended since, or made."""
        prefilter = self._prefilter
        if prefilter is None or prefilter.rows > len(vectors):
            prefilter = Int8Prefilter.of(vectors)
        elif prefilter.rows < len(vectors):
            prefilter = prefilter.extended(vectors[prefilter.rows:])
        self._prefilter = prefilter
        return prefilter

    def _flat(self) -> Optional[faiss.IndexFlat]:
        inner = faiss.downcast_index(self.index.index)  # exactly these types: their storage is the plain vectors
        plain = type(inner) in (faiss.IndexFlat, faiss.IndexFlatIP, faiss.IndexFlatL2)
        return inner if plain and isinstance(inner, faiss.IndexFlat) else None

    def _prepare(self, vectors: np.ndarray, out: Optional[np.ndarray] = None) -> np.ndarray:
        """float32 C-order vectors as the index compares them (L2-normalised for cosine): a copy, or written
        into ``out`` (a C-contiguous float32 slice) when given."""
        if out is None:
            out = np.array(vectors, dtype=np.float32, order="C", ndmin=2)  # a copy: normalising is in place
        else:
            out[:] = vectors
        if self.similarity is Similarity.COSINE:
            faiss.normalize_L2(out)
        return out

    def _higher_is_better(self, scores: np.ndarray) -> np.ndarray:
        return -scores if self.similarity is Similarity.L2 else scores

    def _tune(self) -> None:
        inner = faiss.downcast_index(self.index.index)
        if isinstance(inner, faiss.IndexHNSW):
            if inner.ntotal == 0:
                inner.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            inner.hnsw.efSearch = self.ef_search or HNSW_EF_SEARCH
        ivf = faiss.try_extract_index_ivf(inner)
        if ivf is not None:
            ivf.nprobe = min(ivf.nlist, self.nprobe or IVF_MAX_NPROBE)

    def _search_parameters(self, selector: faiss.IDSelector, widening: float) -> faiss.SearchParameters:
        inner = faiss.downcast_index(self.index.index)
        if isinstance(inner, faiss.IndexPreTransform):  # OPQ/PCA first: the selector goes to the index inside
            wrapped = faiss.SearchParametersPreTransform()
            wrapped.index_params = self._parameters_for(faiss.downcast_index(inner.index), selector, widening)
            wrapped.sel = selector
            # swig does not keep nested parameters alive (a Python attribute the stubs do not know)
            wrapped.referenced_objects = [wrapped.index_params]  # type: ignore[attr-defined]
            return wrapped
        return self._parameters_for(inner, selector, widening)

    @staticmethod
    def _parameters_for(inner: faiss.Index, selector: faiss.IDSelector, widening: float
                        ) -> faiss.SearchParameters:
        # faiss's Python wrapper takes the fields as keywords and keeps the objects given (the selector) alive
        # with the parameters; its stubs show only C++'s constructor, and lack SearchParametersHNSW.
        if isinstance(inner, faiss.IndexIVF):
            return faiss.SearchParametersIVF(sel=selector,  # type: ignore[call-arg]
                                             nprobe=min(inner.nlist, round(inner.nprobe * widening)))
        if isinstance(inner, faiss.IndexHNSW):
            return faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=selector, efSearch=round(inner.hnsw.efSearch * widening))
        return faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]


def top_k(scores: np.ndarray, positions: np.ndarray, row_ids: np.ndarray, k: int) -> Tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of ``scores`` (n_queries, m), the scores of the vectors at storage ``positions`` (m,),
    as faiss orders them (higher first, ties: lower position first), with their row ids; -inf / -1 pad."""
    width = min(k, len(positions))
    top = np.argpartition(-scores, width - 1, axis=1)[:, :width] if width < len(positions) else \
        np.broadcast_to(np.arange(len(positions)), scores.shape)
    top_scores = np.take_along_axis(scores, top, axis=1)
    top = np.take_along_axis(top, np.lexsort((positions[top], -top_scores), axis=1), axis=1)
    best_scores = np.full((len(scores), k), -np.inf, dtype=np.float32)
    best_ids = np.full((len(scores), k), -1, dtype=np.int64)
    best_scores[:, :width] = np.take_along_axis(scores, top, axis=1)
    best_ids[:, :width] = row_ids[positions[top]]
    return best_scores, best_ids


def id_selector(allowed: np.ndarray) -> faiss.IDSelector:
    """A faiss selector of these (non-negative) ids: a bitmap when ids are dense enough (0.3 ms for 100k ids
    up to 1M where ``IDSelectorBatch``, a hash set, takes 50-300 ms to build, per query), else the hash set."""
    allowed = np.ascontiguousarray(allowed, dtype=np.int64)
    top = int(allowed.max()) + 1 if len(allowed) else 0
    if top > 64 * len(allowed) + 65_536:  # bitmap bytes (top / 8) at most 8x the hash set's 8 bytes per id
        return faiss.IDSelectorBatch(allowed)
    members = np.zeros(top, dtype=bool)
    members[allowed] = True
    bitmap = np.packbits(members, bitorder="little")
    selector = faiss.IDSelectorBitmap(len(bitmap), faiss.swig_ptr(bitmap))  # n counts bytes
    # faiss reads the numpy buffer: keep it alive with the selector (a Python attribute the stubs do not know)
    selector.referenced_objects = [bitmap]  # type: ignore[attr-defined]
    return selector


def exact_search(queries: np.ndarray, chunks: Iterable[Tuple[np.ndarray, np.ndarray]], k: int,
                 similarity: str) -> Tuple[np.ndarray, np.ndarray]:
    """Brute-force top-k over streamed (row ids, vectors) chunks: (scores, row ids), padded with -inf / -1."""
    similarity = Similarity.from_str(similarity)
    queries = np.array(queries, dtype=np.float32, ndmin=2)
    if similarity is Similarity.COSINE:
        faiss.normalize_L2(queries)
    best_scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
    best_ids = np.full((len(queries), k), -1, dtype=np.int64)
    for row_ids, vectors in chunks:
        vectors = np.array(vectors, dtype=np.float32)
        if similarity is Similarity.COSINE:
            faiss.normalize_L2(vectors)
        if similarity is Similarity.L2:
            scores = -faiss.pairwise_distances(queries, vectors)
        else:
            scores = queries @ vectors.T
        all_scores = np.concatenate([best_scores, scores], axis=1)
        all_ids = np.concatenate([best_ids, np.broadcast_to(row_ids, scores.shape)], axis=1)
        top = np.argsort(-all_scores, axis=1, kind="stable")[:, :k]
        best_scores = np.take_along_axis(all_scores, top, axis=1)
        best_ids = np.take_along_axis(all_ids, top, axis=1)
    return best_scores, best_ids
