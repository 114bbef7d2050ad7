"""Run the benchmark suite: dpr-components vs Haystack 1.x's own DPR stack, one report per machine kind.

Usage::

    python benchmarks/run_all.py --quick            # a few minutes
    python benchmarks/run_all.py --full             # larger samples, tens of minutes
    python benchmarks/run_all.py --quick --only bm25 query --no-write

Each section runs ours and the baseline interleaved (A B A B ..., ``--rounds`` rounds) in this process
(memory: in child processes) and prints the ratio, its spread over the rounds and the absolute figures.
Reports are written per machine kind (``docs/performance/<kind>.md``, e.g. ``amd-epyc-avx512-bf16``,
``intel-xeon-amx``, ``amd-epyc-avx2``) so figures of different CPUs never share a table.
"""
import argparse
import dataclasses
import os
import shlex
import sys
import time
import traceback
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:  # run as a script: make `benchmarks` and `dpr_components` importable
    sys.path.insert(0, str(REPO_ROOT))

import torch  # noqa: E402

from benchmarks import stacks  # noqa: E402  (sets the offline/telemetry environment first)
from benchmarks.harness import SectionResult, load_warning, machine_info, machine_kind, render_console, render_markdown  # noqa: E402
from benchmarks.sizes import SIZES  # noqa: E402

SECTIONS = ("indexing", "query", "bm25", "reader", "memory")

PREAMBLE = """
How dpr-components compares with what Haystack 1.x users run otherwise: `DensePassageRetriever` with
`InMemoryDocumentStore` / `FAISSDocumentStore`, the in-memory BM25, and the DPR reader's plain transformers
loop. Encoders with random weights have the speed of trained ones; passages are real 100-word Wikipedia
passages. On a shared machine absolute times vary: read the ratios (and the CPU-time ratios).

Reading the numbers: Haystack pads every passage to 256 tokens; real 100-word passages average ~145, so at
equal efficiency ours computes 1.7-1.9x fewer FLOPs (the indexing section prints the exact factor for its
sample): that factor bounds the fp32 speed-up unless FLOPs are cut further. bf16 is fast only on CPUs with
AVX-512 BF16 or AMX; elsewhere it is emulated and several times slower than fp32 (the GEMM probe shows it).
"""


def section_runner(name: str):
    if name == "indexing":
        from benchmarks import bench_indexing
        return bench_indexing.run
    if name == "query":
        from benchmarks import bench_query
        return bench_query.run
    if name == "bm25":
        from benchmarks import bench_bm25
        return bench_bm25.run
    if name == "reader":
        from benchmarks import bench_reader
        return bench_reader.run
    if name == "memory":
        from benchmarks import bench_memory
        return bench_memory.run
    raise ValueError(f"Unknown section {name!r}; valid: {', '.join(SECTIONS)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", const="quick", dest="mode", help="a few minutes (default)")
    mode.add_argument("--full", action="store_const", const="full", dest="mode", help="larger samples")
    mode.add_argument("--tiny", action="store_const", const="tiny", dest="mode", help="seconds; checks the harness")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--output", default=None,
                        help="report path (default: docs/performance/<machine kind>.md)")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default: per mode)")
    parser.add_argument("--no-write", action="store_true", help="print only, do not write the report")
    args = parser.parse_args(argv)
    sizes = SIZES[args.mode or "quick"]
    if args.rounds:
        sizes = dataclasses.replace(sizes, rounds=args.rounds)
    output = Path(args.output or REPO_ROOT / "docs" / "performance" / f"{machine_kind()}.md")
    stacks.quiet_logs()

    machine = machine_info()
    warning = load_warning()
    if warning:
        machine["load warning"] = warning
    command = "python benchmarks/run_all.py " + " ".join(shlex.quote(a) for a in (argv or sys.argv[1:]))
    print(f"{command}\n" + "\n".join(f"  {key}: {value}" for key, value in machine.items()), flush=True)
    results = []
    started = time.perf_counter()
    for name in args.only or SECTIONS:
        section_start = time.perf_counter()
        try:
            result = section_runner(name)(sizes)
        except Exception as error:  # noqa: BLE001 -- one broken section must not hide the others' figures
            traceback.print_exc()
            result = SectionResult(name, error=f"{type(error).__name__}: {error}")
        result.facts.append(f"section took {time.perf_counter() - section_start:.0f} s")
        results.append(result)
        print(render_console(result), flush=True)
    machine["load average at end"] = " ".join(f"{value:.2f}" for value in os.getloadavg())
    end_warning = load_warning(own_threads=torch.get_num_threads())  # our own threads were the load at the end
    if end_warning and not warning:
        machine["load warning"] = end_warning
    if end_warning:
        print(end_warning, flush=True)
    machine["total time"] = f"{time.perf_counter() - started:.0f} s ({sizes.name})"
    if not args.no_write:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render_markdown(results, command, machine, PREAMBLE), encoding="utf-8")
        print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
