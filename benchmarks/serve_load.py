"""Load test of ``dpr-components serve``: 50 concurrent clients, micro-batching on vs one query at a time.

A real server process on a free 127.0.0.1 port (the ``dpr-components serve`` command) over the demo's mini
Wikipedia store (107 articles, 4,807 DPR passages, all-MiniLM-L6-v2 + BM25; built by ``make demo`` or by this
script on first use, about 5-10 minutes), asked the real NQ/TriviaQA questions that name those articles. For
each mode a fresh server answers a fixed number of ``POST /query`` requests sent by ``--clients`` concurrent
clients; the modes alternate for ``--rounds`` rounds so both see the same background load. Reported per mode:
errors (any non-200 answer or failed request; must be 0), p50/p95/p99 latency, throughput, the mean batch the
server ran (from ``/health``) and the server process's CPU time per query (user + system, all its threads:
a measure other processes' load changes far less than throughput). Not a test: it prints the CPU model,
the measured numbers and the batching ratio (median throughput, and CPU time per query, of both modes).

    python benchmarks/serve_load.py                        # 50 clients, 200 queries per mode and round
    python benchmarks/serve_load.py --clients 50 --requests 400 --rounds 3 --out runs/serve_load.json

The pipeline is ``hybrid_retrieval`` (BM25 + MiniLM dense + HybridFusion): no trained DPR reader can be had
offline. With one, pass ``--pipeline hybrid_qa --param Reader.model_name_or_path=/models/dpr-reader``.
"""
import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

MODES = {"micro-batching": [], "one at a time": ["--max-batch-size", "1"]}


def prepare_store(store_root: Path) -> Path:
    """The demo's store (``<store_root>/store``): built the way ``dpr-components demo`` builds it, if missing."""
    from dpr_components.demo.run import CORPUS_FILE, STORE_SUBDIR, minilm_params, write_corpus
    from dpr_components.pipelines import index_corpus

    corpus, store = store_root / CORPUS_FILE, store_root / STORE_SUBDIR
    if not corpus.exists():
        write_corpus(corpus)
    summary = index_corpus(str(corpus), store=str(store), overrides=minilm_params(), progress_bar=True)
    print(f"Store {store}: {summary['passages_in_store']} passages.", flush=True)
    return store


def load_question_texts(data_dir: Path) -> List[str]:
    """Question texts of the mini Wikipedia benchmark (dev and test: only their wording is used here)."""
    from dpr_components.data.wikipedia_mini import build_mini_wikipedia

    build_mini_wikipedia(data_dir)
    texts = []
    for split in ("dev", "test"):
        with open(data_dir / f"{split}.jsonl", encoding="utf-8") as stream:
            texts += [json.loads(line)["question"] for line in stream if line.strip()]
    return texts


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(pipeline: str, store: Path, params: Sequence[str], extra: Sequence[str], port: int,
                 timeout_s: float = 300.0) -> subprocess.Popen:
    """``dpr-components serve`` in its own process, read-only; returns once ``/initialized`` answers."""
    import httpx

    command = [sys.executable, "-m", "dpr_components", "serve", "--pipeline", pipeline, "--store", str(store),
               "--port", str(port), "--read-only", *sum((["--param", p] for p in params), []), *extra]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    process = subprocess.Popen(command, cwd=ROOT, env=environment)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The server exited with status {process.returncode}: {' '.join(command)}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/initialized", timeout=1.0).json() is True:
                return process
        except (httpx.HTTPError, ValueError):
            time.sleep(0.5)
    process.terminate()
    raise RuntimeError(f"The server did not answer within {timeout_s:.0f} s.")


def stop_server(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def drive(url: str, questions: Sequence[str], clients: int, requests: int) -> Dict[str, object]:
    """``clients`` concurrent clients send ``requests`` queries in all; latencies of the successful ones."""
    import httpx

    latencies: List[float] = []
    errors: List[str] = []
    next_index = 0

    async def client(session: "httpx.AsyncClient") -> None:
        nonlocal next_index
        while next_index < requests:
            question = questions[next_index % len(questions)]
            next_index += 1
            start = time.perf_counter()
            try:
                response = await session.post(f"{url}/query", json={"query": question})
                if response.status_code == 200 and "documents" in response.json():
                    latencies.append((time.perf_counter() - start) * 1000)
                else:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
            except httpx.HTTPError as error:
                errors.append(f"{type(error).__name__}: {error}")

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(300.0)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        elapsed = time.perf_counter() - started
        health = (await session.get(f"{url}/health")).json()
    return {"latencies_ms": latencies, "errors": errors, "seconds": elapsed, "health": health}


def percentile(values: Sequence[float], q: float) -> float:
    from benchmarks.harness import percentile as harness_percentile

    return harness_percentile(values, q) if values else float("nan")


def summarise(mode: str, round_index: int, run: Dict[str, object]) -> Dict[str, object]:
    latencies, health = run["latencies_ms"], run["health"]
    answered = len(latencies) + len(run["errors"])
    return {
        "mode": mode, "round": round_index, "requests": answered, "errors": len(run["errors"]),
        "p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95), "p99_ms": percentile(latencies, 99),
        "throughput_qps": len(latencies) / run["seconds"], "seconds": run["seconds"],
        "mean_batch": health["queries_run"] / max(health["batches_run"], 1),
        "cpu_ms_per_query": run["cpu_seconds"] * 1000 / max(len(latencies), 1),
        "load_average": os.getloadavg()[0], "first_errors": run["errors"][:3],
    }


def server_cpu_seconds(process: subprocess.Popen) -> float:
    """User + system CPU time of the server process so far (all its threads)."""
    import psutil

    times = psutil.Process(process.pid).cpu_times()
    return times.user + times.system


def report(rows: List[Dict[str, object]], clients: int) -> str:
    from benchmarks.harness import cpu_model

    lines = ["| mode | round | clients | requests | errors | p50 ms | p95 ms | p99 ms | queries/s | mean batch "
             "| server CPU ms/query | load avg (1 min) |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['mode']} | {row['round']} | {clients} | {row['requests']} | {row['errors']} | "
                     f"{row['p50_ms']:.0f} | {row['p95_ms']:.0f} | {row['p99_ms']:.0f} | "
                     f"{row['throughput_qps']:.1f} | {row['mean_batch']:.1f} | {row['cpu_ms_per_query']:.1f} | "
                     f"{row['load_average']:.1f} |")
    by_mode = {mode: statistics.median(r["throughput_qps"] for r in rows if r["mode"] == mode) for mode in MODES}
    cpu = {mode: statistics.median(r["cpu_ms_per_query"] for r in rows if r["mode"] == mode) for mode in MODES}
    ratio = by_mode["micro-batching"] / by_mode["one at a time"]
    errors = sum(r["errors"] for r in rows)
    lines.append("")
    lines.append(f"CPU: {cpu_model()}, {os.cpu_count()} cores.")
    lines.append(f"Batching ratio (median throughput): micro-batching {by_mode['micro-batching']:.1f} q/s, one at a "
                 f"time {by_mode['one at a time']:.1f} q/s: {ratio:.2f}x (target >= 2x). Errors: {errors} (target 0).")
    lines.append(f"Server CPU per query: micro-batching {cpu['micro-batching']:.1f} ms, one at a time "
                 f"{cpu['one at a time']:.1f} ms: {cpu['one at a time'] / cpu['micro-batching']:.2f}x less CPU a "
                 "query batched.")
    return "\n".join(lines)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store-root", default=str(ROOT / "demo_store"), help="the demo's cache directory")
    parser.add_argument("--data", default=str(ROOT / "runs" / "mini_wikipedia_data"), help="question files")
    parser.add_argument("--pipeline", default="hybrid_retrieval")
    parser.add_argument("--param", action="append", default=[], help="extra COMPONENT.PARAM=VALUE overrides")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=200, help="queries per mode and round")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of both modes")
    parser.add_argument("--out", help="write the rows as JSON here")
    args = parser.parse_args(argv)

    from benchmarks.harness import cpu_flags_of_interest, cpu_model
    from dpr_components.demo.run import minilm_params

    store = prepare_store(Path(args.store_root))
    questions = load_question_texts(Path(args.data))
    params = minilm_params() + list(args.param)
    print(f"CPU: {cpu_model()} ({cpu_flags_of_interest()}), {os.cpu_count()} cores; load average at start "
          f"{' '.join(f'{v:.1f}' for v in os.getloadavg())}. {len(questions)} questions, {args.clients} clients, "
          f"{args.requests} queries per mode and round, pipeline {args.pipeline}.", flush=True)
    rows = []
    for round_index in range(1, args.rounds + 1):
        for mode, extra in MODES.items():
            port = free_port()
            server = start_server(args.pipeline, store, params, extra, port)
            try:
                url = f"http://127.0.0.1:{port}"
                asyncio.run(drive(url, questions, args.clients, min(args.clients, 20)))  # warm-up, not counted
                warm = asyncio.run(drive(url, questions, 1, 0))["health"]
                cpu_before = server_cpu_seconds(server)
                run = asyncio.run(drive(url, questions, args.clients, args.requests))
                run["cpu_seconds"] = server_cpu_seconds(server) - cpu_before
                run["health"] = {key: run["health"][key] - warm[key] for key in ("queries_run", "batches_run")}
            finally:
                stop_server(server)
            rows.append(summarise(mode, round_index, run))
            print(f"{mode}, round {round_index}: {rows[-1]['throughput_qps']:.1f} q/s, "
                  f"p50 {rows[-1]['p50_ms']:.0f} ms, server CPU {rows[-1]['cpu_ms_per_query']:.1f} ms/query, "
                  f"errors {rows[-1]['errors']}", flush=True)
    print()
    print(report(rows, args.clients))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0 if all(row["errors"] == 0 for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
