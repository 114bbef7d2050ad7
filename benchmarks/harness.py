"""Shared plumbing of the benchmark suite: measurements, timing, machine facts, the markdown report.

Every section returns a list of :class:`Measurement`; ``run_all.py`` prints them and writes
``docs/performance/<machine kind>.md``. A measurement always carries our figure, the baseline's figure from
the same run
and the ratio, because absolute times alone mean little on a shared machine.
"""
import datetime
import os
import platform
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, TypeVar

import torch

T = TypeVar("T")


@dataclass
class Measurement:
    """One line of the report: ours vs the baseline on the same work.

    ``higher_is_better`` says how the ratio is formed so that a ratio above 1 always means "ours is better":
    throughputs divide ours by the baseline, latencies and memory divide the baseline by ours.
    ``target`` is the ratio the issue asks for (None: informative only).
    """

    section: str
    name: str
    ours: float
    baseline: Optional[float]
    unit: str
    higher_is_better: bool
    baseline_name: str = ""
    target: Optional[float] = None
    note: str = ""
    precision: str = ""  # the precision ours ran at (fp32 | bf16 | int8), shown in its own column
    # per-round ratios of interleaved runs (ABAB...): their spread says how much the load moved the result
    round_ratios: List[float] = field(default_factory=list)

    @property
    def spread(self) -> str:
        if len(self.round_ratios) < 2:
            return ""
        return f"{min(self.round_ratios):.2f}-{max(self.round_ratios):.2f}x ({len(self.round_ratios)} rounds)"

    @property
    def ratio(self) -> Optional[float]:
        if self.baseline is None or not self.ours or not self.baseline:
            return None
        return self.ours / self.baseline if self.higher_is_better else self.baseline / self.ours

    @property
    def verdict(self) -> str:
        if self.target is None or self.ratio is None:
            return ""
        return "met" if self.ratio >= self.target else "MISSED"


@dataclass
class SectionResult:
    """A section's measurements plus free-form facts (sizes, efficiency, profile top items)."""

    title: str
    measurements: List[Measurement] = field(default_factory=list)
    facts: List[str] = field(default_factory=list)
    error: Optional[str] = None


def timed(function: Callable[[], object]) -> float:
    """Seconds one call of ``function`` takes (wall clock)."""
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def latencies_ms(function: Callable[[object], object], inputs: Sequence[object], warmup: int = 2) -> List[float]:
    """Milliseconds per call of ``function(x)`` for each ``x`` in ``inputs``, after ``warmup`` untimed calls."""
    for item in list(inputs)[:warmup]:
        function(item)
    return [timed(lambda item=item: function(item)) * 1000.0 for item in inputs]


def interleaved(runs: Dict[str, Callable[[], T]], rounds: int) -> Dict[str, List[T]]:
    """Each run's results over ``rounds`` rounds, the runs alternating (A B C A B C ...).

    Ours and the baseline then see the same load on a shared machine; per-round ratios show its effect.
    """
    results: Dict[str, List[T]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            results[name].append(run())
    return results


def round_ratios(ours: Sequence[float], baseline: Sequence[float], higher_is_better: bool) -> List[float]:
    """Ratio of each interleaved round (above 1: ours better), ours[i] against baseline[i]."""
    return [(o / b if higher_is_better else b / o) for o, b in zip(ours, baseline) if o and b]


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) with linear interpolation, as numpy's default."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("percentile of an empty sequence")
    position = (len(ordered) - 1) * q / 100.0
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_flags_of_interest() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return ""
    wanted = ["avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8"]
    return " ".join(flag for flag in wanted if flag in flags)


def machine_kind() -> str:
    """A file-name-safe name for this kind of machine (vendor + the flags that decide fast precisions),
    e.g. ``amd-epyc-avx512-bf16``, ``intel-xeon-amx``, ``amd-epyc-avx2``: reports are kept per kind."""
    flags = set(cpu_flags_of_interest().split())
    if torch.cuda.is_available():
        accelerator = "cuda-" + re.sub(r"[^a-z0-9]+", "-", torch.cuda.get_device_name(0).lower()).strip("-")
    elif "amx_bf16" in flags:
        accelerator = "amx"
    elif "avx512_bf16" in flags:
        accelerator = "avx512-bf16"
    elif "avx512f" in flags:
        accelerator = "avx512"
    elif "avx2" in flags:
        accelerator = "avx2"
    else:
        accelerator = "generic"
    words = re.sub(r"\(r\)|\(tm\)|cpu|processor|@.*", " ", cpu_model().lower()).split()
    vendor = "-".join(re.sub(r"[^a-z0-9]+", "", word) for word in words[:2]) or "cpu"
    return f"{vendor}-{accelerator}"


def machine_info() -> Dict[str, str]:
    """What the report needs to be read correctly: CPU, cores, memory, library versions, load."""
    import faiss
    import transformers

    from dpr_components.utils.devices import cpu_description

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "machine kind": machine_kind(),
        "cpu": cpu_description(),
        "cores": f"{os.cpu_count()} logical, torch threads {torch.get_num_threads()}",
        "memory": f"{memory_gib:.1f} GiB",
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "faiss": faiss.__version__,
        "load average at start": " ".join(f"{value:.2f}" for value in os.getloadavg()),
    }


def format_number(value: Optional[float]) -> str:
    if value is None:
        return "-"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 0.1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def format_ratio(measurement: Measurement) -> str:
    ratio = measurement.ratio
    return "-" if ratio is None else f"{ratio:.2f}x"


def format_target(measurement: Measurement) -> str:
    if measurement.target is None:
        return ""
    return f">= {measurement.target:.3g}x ({measurement.verdict})"


def render_table(measurements: Sequence[Measurement]) -> List[str]:
    lines = [
        "| measurement | precision | ours | baseline | unit | ours vs baseline | spread over rounds | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for measurement in measurements:
        baseline = format_number(measurement.baseline)
        if measurement.baseline_name:
            baseline = f"{baseline} ({measurement.baseline_name})"
        lines.append(
            f"| {measurement.name} | {measurement.precision or '-'} | {format_number(measurement.ours)} | {baseline} "
            f"| {measurement.unit} | {format_ratio(measurement)} | {measurement.spread} "
            f"| {format_target(measurement)} |"
        )
    return lines


def render_markdown(sections: Sequence[SectionResult], command: str, machine: Dict[str, str],
                    preamble: str = "") -> str:
    """One machine kind's report (``docs/performance/<kind>.md``): how it was made, on what, then one table
    per section."""
    lines = ["# Performance", ""]
    if preamble:
        lines += [preamble.strip(), ""]
    lines += ["Produced by:", "", "```", command, "```", "", "| machine | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    lines += [
        "",
        "Ratios are formed so that above 1 means ours is better (throughput: ours / baseline; latency and "
        "memory: baseline / ours). Ours and the baseline run in the same process, interleaved (A B A B ...) "
        "over several rounds; the spread column gives the lowest and highest per-round ratio.",
    ]
    warning = machine.get("load warning")
    if warning:
        lines += ["", f"**{warning}**"]
    for section in sections:
        lines += ["", f"## {section.title}", ""]
        if section.error:
            lines += [f"Not measured: {section.error}", ""]
        if section.measurements:
            lines += render_table(section.measurements) + [""]
        lines += [f"- {fact}" for fact in section.facts]
    return "\n".join(lines).rstrip() + "\n"


def render_console(section: SectionResult) -> str:
    lines = [f"== {section.title}"]
    if section.error:
        lines.append(f"   not measured: {section.error}")
    for measurement in section.measurements:
        lines.append(
            f"   {measurement.name}: ours {format_number(measurement.ours)} {measurement.unit}, "
            f"{measurement.baseline_name or 'baseline'} {format_number(measurement.baseline)} -> "
            f"{format_ratio(measurement)} {measurement.spread} {format_target(measurement)}"
            f"{' [' + measurement.precision + ']' if measurement.precision else ''}".rstrip()
        )
    lines += [f"   - {fact}" for fact in section.facts]
    return "\n".join(lines)


BUSY_LOAD_PER_CORE = 0.5


def load_warning(own_threads: int = 0) -> str:
    """A warning when the 1-minute load average says other processes share the cores ("" when idle).

    ``own_threads``: the benchmark's own busy threads, counted in the load average after it has run.
    """
    one_minute = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    if one_minute - own_threads <= BUSY_LOAD_PER_CORE * cores:
        return ""
    return (f"WARNING: load average {one_minute:.2f} on {cores} cores: other processes use the CPU, so times "
            "and ratios are not reliable; re-run on an idle machine before reading targets")
