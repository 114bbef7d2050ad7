"""Tune fusion on dev questions: top-k accuracy of a grid of fusion settings, computed offline.

Retrieve once per source (e.g. BM25 and DPR, top 100, raw scores), note which documents contain an answer,
then score every setting with the same functions the :class:`HybridFusion` node uses
(:func:`dpr_components.fusion.methods.fuse`), pick the best on dev and apply its ``node_params()`` on test.

Usage::

    from dpr_components.fusion.sweep import best_row, format_table, settings_grid, sweep

    runs = {  # per source, per question: (doc_id, raw_score), best first
        "BM25": [[("d1", 12.0), ("d2", 9.0)], [("d7", 8.5), ("d3", 4.0)]],
        "DPR": [[("d2", 80.1), ("d5", 79.0)], [("d3", 75.2), ("d9", 74.0)]],
    }
    positives = [{"d2"}, {"d3"}]  # per question: ids of the documents that contain an answer
    rows = sweep(runs, positives, settings_grid(2, alphas=[0.5, 1.0, 1.3]))
    print(format_table(rows))
    best = best_row(rows, metric="top_20")
    print(best.label, best.setting.node_params())  # -> HybridFusion params for the test run
"""
from dataclasses import dataclass
from typing import Collection, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from dpr_components.errors import ConfigurationError
from dpr_components.evaluation.metrics import first_relevant_rank, top_k_accuracy
from dpr_components.fusion.methods import (
    FusionMode,
    Normalization,
    RankedList,
    check_rrf_k,
    check_weights,
    fuse,
)
from dpr_components.utils.validation import positive_int

DEFAULT_KS: Tuple[int, ...] = (1, 5, 10, 20, 50, 100)
# Ties on the chosen metric are broken by these top-k accuracies, in this order (see selection_key).
TIE_BREAK_KS: Tuple[int, ...] = (5, 100, 1)
# Around pyserini's tuned values (NQ 1.2-1.3, TriviaQA 0.95) and the DPR paper's 1.1, plus the extremes.
DEFAULT_ALPHAS: Tuple[float, ...] = (0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 1.1, 1.2, 1.3, 1.5, 2.0, 3.0)


@dataclass(frozen=True)
class FusionSetting:
    """One point of the grid: the parameters of a HybridFusion node."""

    mode: str
    weights: Tuple[float, ...]
    normalization: str = "none"
    rrf_k: float = 60.0

    @property
    def label(self) -> str:
        weights = "[" + ", ".join(f"{w:g}" for w in self.weights) + "]"
        if self.mode == FusionMode.LINEAR.value:
            return f"linear {self.normalization} w={weights}"
        if self.mode == FusionMode.RRF.value:
            return f"rrf k={self.rrf_k:g} w={weights}"
        return f"dbsf w={weights}"

    def node_params(self) -> Dict[str, object]:
        """The HybridFusion params that reproduce this setting (for YAML or ``Pipeline.run(params=...)``)."""
        params: Dict[str, object] = {"mode": self.mode, "weights": list(self.weights)}
        if self.mode == FusionMode.LINEAR.value:
            params["normalization"] = self.normalization
        if self.mode == FusionMode.RRF.value:
            params["rrf_k"] = self.rrf_k
        return params


@dataclass(frozen=True)
class SweepRow:
    """Top-k accuracy of one setting (``setting`` is None for a single source's own ranking)."""

    label: str
    setting: Optional[FusionSetting]
    accuracy: Dict[int, float]

    def as_dict(self) -> Dict[str, object]:
        row: Dict[str, object] = {"setting": self.label}
        row.update({f"top_{k}": value for k, value in self.accuracy.items()})
        return row


def settings_grid(
    n_sources: int,
    modes: Iterable[str] = ("linear", "rrf", "dbsf"),
    alphas: Iterable[float] = DEFAULT_ALPHAS,
    normalizations: Iterable[str] = ("none", "centered", "minmax", "zscore"),
    rrf_ks: Iterable[float] = (60,),
    alpha_source: int = 0,
) -> List[FusionSetting]:
    """Every combination of mode, alpha, normalisation (linear only) and rrf_k (rrf only).

    ``alpha`` weighs source ``alpha_source`` and the others get 1.0: with sources ``[BM25, DPR]`` and
    ``alpha_source=0`` that is pyserini's ``alpha * sparse + dense``; ``alpha_source=1`` gives the DPR
    paper's ``BM25 + alpha * sim``.
    """
    n_sources = positive_int("n_sources", n_sources)
    if not 0 <= alpha_source < n_sources:
        raise ConfigurationError(f"alpha_source must index one of the {n_sources} sources, got {alpha_source!r}.")
    modes = [FusionMode.from_str(mode).value for mode in modes]
    normalizations = [Normalization.from_str(n).value for n in normalizations]
    rrf_ks = [check_rrf_k(k) for k in rrf_ks]
    weight_sets = []
    for alpha in alphas:
        alpha_weights = [1.0] * n_sources
        alpha_weights[alpha_source] = alpha
        weight_sets.append(tuple(check_weights(alpha_weights)))
    settings: List[FusionSetting] = []
    for mode in modes:
        for weights in weight_sets:
            if mode == FusionMode.LINEAR.value:
                settings += [FusionSetting(mode, weights, normalization=n) for n in normalizations]
            elif mode == FusionMode.RRF.value:
                settings += [FusionSetting(mode, weights, rrf_k=k) for k in rrf_ks]
            else:
                settings.append(FusionSetting(mode, weights))
    return list(dict.fromkeys(settings))  # drop repeats, keep order


def rankings_accuracy(
    rankings: Sequence[Sequence[str]], positives: Sequence[Collection[str]], ks: Sequence[int] = DEFAULT_KS
) -> Dict[int, float]:
    """Share of questions with a positive document among the first k ids of their ranking, per k
    (:func:`dpr_components.evaluation.metrics.top_k_accuracy` of the first positive ranks)."""
    if len(rankings) != len(positives):
        raise ConfigurationError(f"{len(rankings)} rankings but {len(positives)} positive sets: give one per question.")
    return top_k_accuracy([first_relevant_rank(ids, positive) for ids, positive in zip(rankings, positives)], ks)


def fused_ranking(lists: Sequence[RankedList], setting: FusionSetting) -> List[str]:
    """One question's document ids, best first, fused by ``setting`` (as the HybridFusion node ranks them)."""
    return [doc_id for doc_id, _ in fuse(lists, setting.mode, setting.weights, setting.normalization, setting.rrf_k)]


def evaluate_setting(
    question_lists: Sequence[Sequence[RankedList]],
    positives: Sequence[Collection[str]],
    setting: FusionSetting,
    ks: Sequence[int] = DEFAULT_KS,
) -> Dict[int, float]:
    """Top-k accuracy of one setting; ``question_lists[q]`` holds question q's ranked list from each source."""
    return rankings_accuracy([fused_ranking(lists, setting) for lists in question_lists], positives, ks)


def sweep(
    runs: Mapping[str, Sequence[RankedList]],
    positives: Sequence[Collection[str]],
    settings: Optional[Sequence[FusionSetting]] = None,
    ks: Sequence[int] = DEFAULT_KS,
    include_sources: bool = True,
) -> List[SweepRow]:
    """Evaluate settings on per-question ranked lists.

    :param runs: source name -> one ranked list ``[(doc_id, raw_score), ...]`` per question; the sources'
        order is the weights' order.
    :param positives: per question, the ids of the documents that contain an answer.
    :param settings: default: :func:`settings_grid` over all modes with the default alphas.
    :param include_sources: also report each source alone (rows labelled ``"<source> only"``).
    """
    if not runs:
        raise ConfigurationError("runs is empty: give the ranked lists of at least one source.")
    if not positives:
        raise ConfigurationError("No questions to evaluate: the question file gave no rankings.")
    for name, lists in runs.items():
        if len(lists) != len(positives):
            raise ConfigurationError(
                f"Source {name!r} has ranked lists for {len(lists)} questions but positives covers {len(positives)}: "
                "give every source one list per question, in the same question order."
            )
    settings = settings_grid(len(runs)) if settings is None else settings
    rows: List[SweepRow] = []
    if include_sources:
        for name, lists in runs.items():
            rankings = [[doc_id for doc_id, _ in ranked] for ranked in lists]
            rows.append(SweepRow(f"{name} only", None, rankings_accuracy(rankings, positives, ks)))
    question_lists = list(zip(*runs.values()))
    for setting in settings:
        if len(setting.weights) != len(runs):
            raise ConfigurationError(
                f"Setting {setting.label!r} has {len(setting.weights)} weights but there are {len(runs)} sources."
            )
        rows.append(SweepRow(setting.label, setting, evaluate_setting(question_lists, positives, setting, ks)))
    return rows


def selection_key(row: SweepRow, metric: str = "top_20") -> Tuple[float, ...]:
    """How settings are ranked on dev: ``metric`` first, then top-5, top-100, top-1 (those evaluated)."""
    k = _metric_k(metric)
    return (row.accuracy[k],) + tuple(row.accuracy[t] for t in TIE_BREAK_KS if t != k and t in row.accuracy)


def best_row(rows: Sequence[SweepRow], metric: str = "top_20", fused_only: bool = True) -> SweepRow:
    """The row with the highest ``metric`` (``top_<k>``); ties are broken by :func:`selection_key`'s
    further metrics, then go to the earlier row (grid order).

    ``fused_only`` skips the single-source rows, so the result always has a ``setting`` to apply.
    """
    k = _metric_k(metric)
    candidates = [row for row in rows if row.setting is not None or not fused_only]
    if not candidates:
        raise ConfigurationError("No fused settings among the rows: run the sweep with at least one setting.")
    if any(k not in row.accuracy for row in candidates):
        raise ConfigurationError(f"Metric {metric!r} was not evaluated: add {k} to the sweep's ks.")
    return max(candidates, key=lambda row: selection_key(row, metric))  # max() keeps the first of equal rows


def format_table(rows: Sequence[SweepRow], sort_by: Optional[str] = None) -> str:
    """A plain-text table, one row per setting, accuracies in percent (optionally sorted by ``top_<k>``)."""
    if not rows:
        return ""
    if sort_by is not None:
        k = _metric_k(sort_by)
        rows = sorted(rows, key=lambda row: -row.accuracy.get(k, -1.0))
    ks = list(rows[0].accuracy)
    width = max(len("setting"), *(len(row.label) for row in rows))
    lines = [f"{'setting':<{width}}" + "".join(f"  {'top-' + str(k):>7}" for k in ks)]
    lines += [f"{row.label:<{width}}" + "".join(f"  {100 * row.accuracy[k]:7.1f}" for k in ks) for row in rows]
    return "\n".join(lines)


def _metric_k(metric: str) -> int:
    name = str(metric).strip().lower().replace("-", "_")
    if not name.startswith("top_") or not name[4:].isdigit():
        raise ConfigurationError(f"Unknown metric {metric!r}: use 'top_<k>', e.g. 'top_20'.")
    return int(name[4:])
