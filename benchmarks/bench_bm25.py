"""Section 3: BM25 query latency over the 100k-passage index, one query at a time, top 100.

Ours: HybridDocumentStore.query. Baseline: Haystack InMemoryDocumentStore(use_bm25=True).query, given the
same k1/b. Targets: ours at least 20x faster, and ours' p50 at most 5 ms (issue 3).
"""
from benchmarks import big_index, corpus, models, stacks
from benchmarks.bench_query import summary
from benchmarks.harness import Measurement, SectionResult, latencies_ms
from benchmarks.sizes import Sizes

TOP_K = 100
TARGET_RATIO = 20.0
TARGET_P50_MS = 5.0


def overlap_at_10(ours, theirs) -> float:
    """Share of Haystack's top 10 that ours also ranks in its top 10 (same corpus, same k1/b)."""
    mine = {d.id for d in ours[:10]}
    return len([d for d in theirs[:10] if d.id in mine]) / max(1, min(10, len(theirs)))


def run(sizes: Sizes) -> SectionResult:
    result = SectionResult(f"3. BM25 query latency (top {TOP_K}, {sizes.index_passages:,} passages)")
    pair = models.ENCODERS[sizes.query_encoder]()
    index = big_index.build(sizes.index_passages, pair.hidden)
    queries = corpus.questions(sizes.bm25_queries, seed=1)
    result.facts.append(f"{sizes.bm25_queries} real NQ questions, one at a time; BM25 k1 "
                        f"{big_index.BM25_PARAMETERS['k1']}, b {big_index.BM25_PARAMETERS['b']} on both sides")

    def haystack_query(query: str):
        return index.haystack_store.query(query, top_k=TOP_K, scale_score=False)

    baseline = summary(latencies_ms(haystack_query, queries))
    result.facts.append("Haystack InMemory BM25: " + ", ".join(f"{k} {v:.1f} ms" for k, v in baseline.items()))
    missing = stacks.ours_missing()
    if missing:
        result.facts.append(f"ours not measured: {missing}")
        return result

    def our_query(query: str):
        return index.our_store.query(query, top_k=TOP_K, scale_score=False)

    ours = summary(latencies_ms(our_query, queries, warmup=3))
    for statistic in ("p50", "p95", "mean"):
        result.measurements.append(Measurement(
            section="bm25", name=f"BM25 query {statistic}", ours=ours[statistic], baseline=baseline[statistic],
            unit="ms", higher_is_better=False, baseline_name="Haystack InMemory BM25",
            target=TARGET_RATIO if statistic == "p50" else None))
    verdict = "met" if ours["p50"] <= TARGET_P50_MS else "MISSED"
    result.facts.append(f"ours p50 {ours['p50']:.2f} ms (issue 3 target <= {TARGET_P50_MS:g} ms: {verdict})")
    agreement = [overlap_at_10(our_query(q), haystack_query(q)) for q in queries[:10]]
    result.facts.append(f"top-10 agreement with Haystack's BM25 (tokenisers differ): "
                        f"{sum(agreement) / len(agreement):.0%} on {len(agreement)} questions")
    return result
