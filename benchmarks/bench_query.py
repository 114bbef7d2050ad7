"""Section 2: dense query latency, encode + top-100 over the 100k-passage index, one query at a time.

Ours: DPRRetriever.retrieve on HybridDocumentStore (FAISS Flat). Baseline: Haystack's
DensePassageRetriever.retrieve on InMemoryDocumentStore. Same BERT-base-sized question encoder, same
vectors, same real NQ questions. The split into encoding and search is timed separately as well, so a
missed target points at the part to fix.
"""
import tempfile
import time
from typing import Callable, Dict, List

import numpy as np

from benchmarks import big_index, corpus, models, stacks
from benchmarks.harness import Measurement, SectionResult, latencies_ms, percentile
from benchmarks.sizes import Sizes

TOP_K = 100
TARGET = 3.0  # ours' p50 at most a third of Haystack's


def summary(latencies: List[float]) -> Dict[str, float]:
    return {"p50": percentile(latencies, 50), "p95": percentile(latencies, 95), "mean": float(np.mean(latencies))}


def profile_parts(retriever, store, queries: List[str]) -> Dict[str, float]:
    """Median ms of encoding one query and of searching with a ready vector (2 at most: slow baselines)."""
    encode = latencies_ms(lambda q: retriever.embed_queries([q]), queries, warmup=1)
    vectors = [retriever.embed_queries([q])[0] for q in queries[:2]]
    search = latencies_ms(lambda v: store.query_by_embedding(v, top_k=TOP_K, scale_score=False), vectors, warmup=0)
    return {"encode": percentile(encode, 50), "search": percentile(search, 50)}


def measure(label: str, retrieve: Callable[[str], list], queries: List[str], warmup: int = 2) -> Dict[str, float]:
    def one(query: str) -> None:
        documents = retrieve(query)
        if len(documents) != TOP_K:
            raise RuntimeError(f"{label} returned {len(documents)} documents, expected {TOP_K}")
    return summary(latencies_ms(one, queries, warmup=warmup))


def haystack_faiss_store(passages: int, dim: int, workdir: str):
    store = stacks.haystack_faiss_store(dim, f"{workdir}/faiss.db")
    start = time.perf_counter()
    store.write_documents(big_index.documents_with_vectors(passages, dim))
    return store, time.perf_counter() - start


def run(sizes: Sizes) -> SectionResult:
    result = SectionResult(f"2. Query latency (encode + top-{TOP_K}, {sizes.index_passages:,} passages)")
    pair = models.ENCODERS[sizes.query_encoder]()
    index = big_index.build(sizes.index_passages, pair.hidden)
    queries = corpus.questions(sizes.dense_queries)
    result.facts.append(f"{sizes.dense_queries} real NQ questions, one at a time, {pair.name} question encoder, "
                        f"{pair.hidden}-d random passage vectors; Haystack + InMemory gets the first "
                        f"{sizes.haystack_memory_queries} (it rebuilds every Document per query)")
    result.facts += [f"index build: {name} {seconds:.1f} s" for name, seconds in index.build_seconds.items()]

    baselines = {}
    memory_retriever = stacks.haystack_retriever(pair, index.haystack_store)
    baselines["Haystack DPR + InMemory"] = (memory_retriever, index.haystack_store,
                                            queries[:sizes.haystack_memory_queries])
    workdir = tempfile.TemporaryDirectory(prefix="dpr-bench-faiss-")
    faiss_missing = stacks.faiss_baseline_missing()
    if not sizes.haystack_faiss_queries:
        result.facts.append("Haystack + FAISSDocumentStore baseline: --full only (filling it takes minutes)")
    elif faiss_missing:
        result.facts.append(f"Haystack + FAISSDocumentStore baseline skipped: {faiss_missing}")
    else:
        faiss_store, seconds = haystack_faiss_store(sizes.index_passages, pair.hidden, workdir.name)
        result.facts.append(f"index build: Haystack FAISSDocumentStore {seconds:.1f} s")
        baselines["Haystack DPR + FAISS"] = (stacks.haystack_retriever(pair, faiss_store), faiss_store, queries)

    measured = {}
    for name, (retriever, store, subset) in baselines.items():
        measured[name] = measure(name, lambda q, r=retriever: r.retrieve(q, top_k=TOP_K), subset, warmup=1)
        parts = profile_parts(retriever, store, subset)
        result.facts.append(f"{name}: " + ", ".join(f"{k} {v:.1f} ms" for k, v in measured[name].items()) +
                            "; parts (p50): " + ", ".join(f"{part} {ms:.1f} ms" for part, ms in parts.items()))

    missing = stacks.ours_missing()
    if missing:
        result.facts.append(f"ours not measured: {missing}")
        workdir.cleanup()
        return result
    our_retriever = stacks.our_retriever(pair, index.our_store)
    ours = measure("ours", lambda q: our_retriever.retrieve(q, top_k=TOP_K), queries)
    our_parts = profile_parts(our_retriever, index.our_store, queries)
    result.facts.append("ours DPRRetriever + HybridDocumentStore parts (p50): " +
                        ", ".join(f"{part} {ms:.1f} ms" for part, ms in our_parts.items()))
    for name, baseline in measured.items():
        for statistic in ("p50", "p95"):
            result.measurements.append(Measurement(
                section="query", name=f"dense query {statistic} vs {name}", ours=ours[statistic],
                baseline=baseline[statistic], unit="ms", higher_is_better=False, baseline_name=name,
                target=TARGET if statistic == "p50" else None))
    workdir.cleanup()
    return result
