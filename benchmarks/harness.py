"""Shared plumbing of the benchmark suite: measurements, timing, machine facts, the markdown report.

Every section returns a list of :class:`Measurement`; ``run_all.py`` prints them and writes
``docs/performance.md``. A measurement always carries our figure, the baseline's figure from the same run
and the ratio, because absolute times alone mean little on a shared machine.
"""
import datetime
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch


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
    return [timed(lambda: function(item)) * 1000.0 for item in inputs]


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


def machine_info() -> Dict[str, str]:
    """What the report needs to be read correctly: CPU, cores, memory, library versions, load."""
    import faiss
    import transformers

    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "date": datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "cpu": f"{cpu_model()} ({cpu_flags_of_interest()})",
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
        "| measurement | ours | baseline | unit | ours vs baseline | target |",
        "|---|---|---|---|---|---|",
    ]
    for measurement in measurements:
        baseline = format_number(measurement.baseline)
        if measurement.baseline_name:
            baseline = f"{baseline} ({measurement.baseline_name})"
        lines.append(
            f"| {measurement.name} | {format_number(measurement.ours)} | {baseline} | {measurement.unit} "
            f"| {format_ratio(measurement)} | {format_target(measurement)} |"
        )
    return lines


def render_markdown(sections: Sequence[SectionResult], command: str, machine: Dict[str, str],
                    preamble: str = "") -> str:
    """The whole ``docs/performance.md``: how it was made, on what, then one table per section."""
    lines = ["# Performance", ""]
    if preamble:
        lines += [preamble.strip(), ""]
    lines += ["Produced by:", "", "```", command, "```", "", "| machine | |", "|---|---|"]
    lines += [f"| {key} | {value} |" for key, value in machine.items()]
    lines += [
        "",
        "Ratios are formed so that above 1 means ours is better (throughput: ours / baseline; latency and "
        "memory: baseline / ours). Ours and the baseline run in the same process, one after the other.",
    ]
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
            f"{format_ratio(measurement)} {format_target(measurement)}".rstrip()
        )
    lines += [f"   - {fact}" for fact in section.facts]
    return "\n".join(lines)


BUSY_LOAD_PER_CORE = 0.5


def load_warning() -> str:
    """A warning when the 1-minute load average says other processes share the cores ("" when idle)."""
    one_minute = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    if one_minute <= BUSY_LOAD_PER_CORE * cores:
        return ""
    return (f"WARNING: load average {one_minute:.2f} on {cores} cores: other processes use the CPU, so times "
            "and ratios are not reliable; re-run on an idle machine before reading targets")
