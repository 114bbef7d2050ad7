"""The 100k-passage index shared by the query-latency and BM25 sections, built once per run.

Passages are the real Wikipedia passages repeated under distinct ids; their vectors are seeded random
float32 vectors of the query encoder's size (retrieval speed does not depend on the values). Both stores
hold the same documents with the same vectors; Haystack's in-memory BM25 gets DPR's Wikipedia parameters
(k1 0.9, b 0.4), as ours uses by default, so both rank with the same formula settings.
"""
import functools
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from benchmarks import corpus, stacks

BM25_PARAMETERS = {"k1": 0.9, "b": 0.4}


@dataclass
class BigIndex:
    passages: int
    embedding_dim: int
    haystack_store: object
    our_store: Optional[object]
    build_seconds: Dict[str, float] = field(default_factory=dict)
    workdir: Optional[tempfile.TemporaryDirectory] = None


def documents_with_vectors(count: int, dim: int, seed: int = 0) -> List:
    documents = corpus.passages(count)
    vectors = np.random.default_rng(seed).standard_normal((count, dim), dtype=np.float32)
    for document, vector in zip(documents, vectors):
        document.embedding = vector
    return documents


def _write(store, documents) -> float:
    start = time.perf_counter()
    store.write_documents(documents)
    return time.perf_counter() - start


@functools.lru_cache(maxsize=2)
def build(passages: int, embedding_dim: int) -> BigIndex:
    """Both stores filled with the same ``passages`` documents and vectors (cached: built once per run)."""
    documents = documents_with_vectors(passages, embedding_dim)
    # One write each: Haystack's in-memory store rebuilds its whole BM25 model after every write.
    haystack_store = stacks.haystack_memory_store(embedding_dim, use_bm25=True, bm25_parameters=BM25_PARAMETERS)
    index = BigIndex(passages, embedding_dim, haystack_store, None,
                     {"Haystack InMemory (BM25 + vectors)": _write(haystack_store, documents)})
    if stacks.ours_missing() is None:
        index.workdir = tempfile.TemporaryDirectory(prefix="dpr-bench-100k-")
        index.our_store = stacks.our_store(f"{index.workdir.name}/store", embedding_dim)
        index.build_seconds["ours HybridDocumentStore"] = _write(index.our_store, documents)
    return index
