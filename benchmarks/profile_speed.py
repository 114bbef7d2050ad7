"""Where the time goes: profiles of one query encode, one flat search and bf16/fp32 passage encoding.

Profile shares are robust to other processes' load where absolute times are not, so this prints the
top items of torch's profiler (operators) and of cProfile (Python functions) for each part, with the load
average. Run it before and after a change and compare the shares.

Usage::

    python benchmarks/profile_speed.py                       # all parts, BERT-base, precision auto
    python benchmarks/profile_speed.py --parts query search --precision fp32
    python benchmarks/profile_speed.py --parts passages --encoder minilm --top 12
"""
import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import big_index, corpus, models, stacks  # noqa: E402
from benchmarks.harness import load_warning  # noqa: E402

QUESTION = "who was the first president of the united states"  # 10 tokens with [CLS] and [SEP]


def python_profile(function, repeats: int, top: int) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeats):
        function()
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(top)
    lines = [line for line in stream.getvalue().splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if "ncalls" in line)
    return "\n".join(lines[start:start + top + 1])


def torch_profile(function, repeats: int, top: int) -> str:
    import torch

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profiler:
        for _ in range(repeats):
            function()
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=top, max_name_column_width=48)


def timed_ms(function, repeats: int) -> float:
    function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


def report(title: str, function, repeats: int, top: int) -> None:
    print(f"\n=== {title}: p50 {timed_ms(function, repeats):.1f} ms over {repeats} calls "
          f"(load average {' '.join(f'{v:.2f}' for v in os.getloadavg())})", flush=True)
    print("--- torch operators (self CPU time)")
    print(torch_profile(function, repeats, top))
    print("--- Python functions (tottime)")
    print(python_profile(function, repeats, top), flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", default=["query", "search", "passages"],
                        choices=["query", "search", "passages"])
    parser.add_argument("--encoder", default="bert-base", choices=sorted(models.ENCODERS))
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--passages", type=int, default=64)
    parser.add_argument("--index-passages", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    stacks.quiet_logs()
    from dpr_components.utils.devices import cpu_description

    print(f"cpu: {cpu_description()}; {load_warning() or 'machine idle enough'}")
    pair = models.ENCODERS[args.encoder]()
    retriever = stacks.our_retriever(pair, None, precision=args.precision)
    print(f"encoder {pair.name}, precision {retriever.query_encoder.precision.value}")
    if "query" in args.parts:
        report(f"query encode, {QUESTION!r}", lambda: retriever.embed_queries([QUESTION]), args.repeats, args.top)
    if "search" in args.parts:
        workdir = tempfile.TemporaryDirectory(prefix="dpr-profile-")
        store = stacks.our_store(f"{workdir.name}/store", pair.hidden)
        store.write_documents(big_index.documents_with_vectors(args.index_passages, pair.hidden))
        vector = retriever.embed_queries([QUESTION])[0]
        report(f"flat search top-100 over {args.index_passages:,} x {pair.hidden}",
               lambda: store.query_by_embedding(vector, top_k=100, scale_score=False), args.repeats, args.top)
        workdir.cleanup()
    if "passages" in args.parts:
        documents = corpus.passages(args.passages)
        with tempfile.TemporaryDirectory():
            report(f"passage encode, {args.passages} real passages",
                   lambda: retriever.embed_documents(documents), max(1, args.repeats // 10), args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
