"""Top-k retrieval accuracy against k for several runs on one chart (PNG), the way retrievers are compared.

Usage::

    from dpr_components.evaluation import EvaluationResult, plot_accuracy_vs_k

    runs = [EvaluationResult.read_jsonl(path) for path in ("runs/bm25.jsonl", "runs/dpr.jsonl")]
    plot_accuracy_vs_k(runs, "accuracy_vs_k.png", title="Mini Wikipedia, test")
"""
from pathlib import Path
from typing import Optional, Sequence, Union

from dpr_components.errors import ConfigurationError
from dpr_components.evaluation.metrics import hits_curve
from dpr_components.evaluation.runner import EvaluationResult


def plot_accuracy_vs_k(
    runs: Sequence[EvaluationResult],
    path: Union[str, Path],
    max_k: Optional[int] = None,
    title: Optional[str] = None,
    log_x: bool = True,
) -> Path:
    """Draw one accuracy-vs-k line per run (k = 1..max_k, default: the longest ranking) and save a PNG."""
    if not runs:
        raise ConfigurationError("plot_accuracy_vs_k needs at least one run: give one or more EvaluationResults.")
    import matplotlib

    matplotlib.use("Agg")  # files only: works without a display
    import matplotlib.pyplot as plt

    if max_k is None:
        max_k = max((len(result.documents) for run in runs for result in run.results), default=1)
    max_k = max(max_k, 1)
    ks = list(range(1, max_k + 1))
    figure, axes = plt.subplots(figsize=(7, 4.5), dpi=120)
    try:
        for run in runs:
            curve = [100 * value for value in hits_curve(run.first_hit_ranks, max_k)]
            axes.plot(ks, curve, label=f"{run.name} (n={len(run.results)})", linewidth=1.8)
        if log_x and max_k > 1:
            from matplotlib.ticker import NullFormatter, ScalarFormatter

            axes.set_xscale("log")
            axes.set_xticks([k for k in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if k <= max_k])
            axes.xaxis.set_major_formatter(ScalarFormatter())  # 1, 5, 20, 100 rather than 10^0, 10^1
            axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlim(1, max_k)
        axes.set_ylim(0, 100)
        axes.set_xlabel("k (passages retrieved)")
        axes.set_ylabel("top-k accuracy (%)")
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(loc="lower right")
        if title:
            axes.set_title(title)
        figure.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, format="png")
    finally:
        plt.close(figure)
    return path
