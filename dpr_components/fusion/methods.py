"""Fusion of ranked lists: pure functions shared by the :class:`HybridFusion` node and the sweep.

A ranked list is a sequence of ``(doc_id, raw_score)`` pairs, best first, as one retriever returned
them. Every function returns the union of the lists as ``(doc_id, fused_score)`` pairs, best first;
ties keep the order in which documents first appear (list 0 first, then list 1, ...).

Usage::

    from dpr_components.fusion.methods import fuse

    bm25 = [("d1", 12.3), ("d2", 9.8), ("d3", 7.1)]
    dpr = [("d2", 81.0), ("d4", 79.5), ("d1", 78.2)]
    # pyserini's HybridSearcher: alpha * sparse + dense, scores centred on each list's mid-range
    fuse([bm25, dpr], mode="linear", weights=[1.2, 1.0], normalization="centered")
    # weighted reciprocal rank fusion and distribution-based score fusion
    fuse([bm25, dpr], mode="rrf", rrf_k=60)
    fuse([bm25, dpr], mode="dbsf")
"""
import math
from numbers import Real
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union, overload

from dpr_components.errors import ConfigurationError, DPRComponentsError
from dpr_components.utils.choices import Choice

RankedList = Sequence[Tuple[str, Optional[float]]]  # scores are checked where they are used (rrf needs none)
Fused = List[Tuple[str, float]]


class FusionMode(Choice):
    """How the lists are combined."""

    LINEAR = "linear"  # weighted sum of (normalised) scores; a missing document gets the list's minimum
    RRF = "rrf"  # weighted reciprocal rank fusion: sum of w / (k + rank)
    DBSF = "dbsf"  # distribution-based score fusion: each list rescaled to mean +- 3 sigma, then summed


class Normalization(Choice):
    """Per-list score rescaling applied by the ``linear`` mode before weighting."""

    NONE = "none"
    MINMAX = "minmax"  # (s - min) / (max - min), in [0, 1]
    CENTERED = "centered"  # pyserini's (s - (min + max) / 2) / (max - min), in [-0.5, 0.5]
    ZSCORE = "zscore"  # (s - mean) / std (population std)


class FusionInputError(DPRComponentsError, ValueError):
    """A ranked list cannot be fused (a missing or non-finite score)."""


@overload
def check_weights(weights: None, n_lists: Optional[int] = None) -> None: ...
@overload
def check_weights(weights: Sequence[float], n_lists: Optional[int] = None) -> List[float]: ...
def check_weights(weights: Optional[Sequence[float]], n_lists: Optional[int] = None) -> Optional[List[float]]:
    """Validate fusion weights and return them as floats (``None`` stays ``None``: equal weights).

    Weights must be finite, non-negative numbers, not all zero; when ``n_lists`` is given there must be
    exactly one weight per list.
    """
    if weights is None:
        return None
    if isinstance(weights, (str, bytes)) or not isinstance(weights, Sequence):
        raise ConfigurationError(
            f"weights must be a list of numbers, one per input (e.g. [1.2, 1.0]), got {weights!r}."
        )
    bad = [w for w in weights if isinstance(w, bool) or not isinstance(w, Real) or not math.isfinite(w) or w < 0]
    if bad or not weights:
        raise ConfigurationError(
            f"weights must be finite, non-negative numbers, one per input (e.g. [1.2, 1.0]); got {list(weights)!r}."
        )
    if all(w == 0 for w in weights):
        raise ConfigurationError(f"weights are all zero ({list(weights)!r}): "
                                 "give at least one input a positive weight.")
    if n_lists is not None and len(weights) != n_lists:
        raise ConfigurationError(
            f"weights has {len(weights)} value(s) but there are {n_lists} input(s) to fuse: give one weight per "
            f"input, in the order of the inputs."
        )
    return [float(w) for w in weights]


def check_rrf_k(rrf_k: float) -> float:
    if isinstance(rrf_k, bool) or not isinstance(rrf_k, Real) or not math.isfinite(rrf_k) or rrf_k < 0:
        raise ConfigurationError(f"rrf_k must be a finite number >= 0 (60 is usual), got {rrf_k!r}.")
    return float(rrf_k)


def score_rescaler(reference: Sequence[float], normalization: Union[str, Normalization]) -> Callable[[float], float]:
    """The rescaling of ``normalization`` with its statistics (min, max, mean, std) taken from ``reference``.

    When all reference scores are equal the result is the middle of the range (0.5 for minmax, 0 for
    centered and zscore), so such a list favours no document.
    """
    method = Normalization.from_str(normalization)
    reference = [float(s) for s in reference]
    if method is Normalization.NONE or not reference:
        return float
    if method is Normalization.ZSCORE:
        mean = sum(reference) / len(reference)
        std = math.sqrt(sum((s - mean) ** 2 for s in reference) / len(reference))
        return (lambda s: (s - mean) / std) if std > 0 else (lambda s: 0.0)
    low, high = min(reference), max(reference)
    if high == low:
        middle = 0.5 if method is Normalization.MINMAX else 0.0
        return lambda s: middle
    offset = low if method is Normalization.MINMAX else (low + high) / 2
    return lambda s: (s - offset) / (high - low)


def normalize_scores(scores: Sequence[float], normalization: Union[str, Normalization]) -> List[float]:
    """Rescale one list's scores with statistics from the list itself (see :func:`score_rescaler`)."""
    rescale = score_rescaler(scores, normalization)
    return [rescale(float(s)) for s in scores]


def linear_fusion(
    lists: Sequence[RankedList],
    weights: Optional[Sequence[float]] = None,
    normalization: Union[str, Normalization] = Normalization.NONE,
) -> Fused:
    """``sum_i weights[i] * norm_i(score_i(d))`` over the union of the lists.

    A document missing from list ``i`` takes that list's minimum raw score (pyserini's HybridSearcher);
    normalisation statistics come from each list's own scores. An empty list contributes nothing.
    """
    weights = _weights_for(lists, weights)
    tables = [_score_table(ranked, position) for position, ranked in enumerate(lists)]
    union = _union(lists)
    fused = dict.fromkeys(union, 0.0)
    for table, weight in zip(tables, weights):
        if not table:
            continue
        floor = min(table.values())
        # Statistics from the list's own scores: the floor given to missing documents must not skew them.
        rescale = score_rescaler(list(table.values()), normalization)
        for doc_id in union:
            fused[doc_id] += weight * rescale(table.get(doc_id, floor))
    return _ranked(fused)


def rrf_fusion(lists: Sequence[RankedList], weights: Optional[Sequence[float]] = None, rrf_k: float = 60) -> Fused:
    """Weighted reciprocal rank fusion: ``sum_i weights[i] / (rrf_k + rank_i(d))``, ranks from 1.

    Scores are ignored (they may be ``None``); a document missing from a list gets nothing from it.
    """
    weights = _weights_for(lists, weights)
    rrf_k = check_rrf_k(rrf_k)
    fused = dict.fromkeys(_union(lists), 0.0)
    for ranked, weight in zip(lists, weights):
        for rank, doc_id in enumerate(_unique_ids(ranked), start=1):
            fused[doc_id] += weight / (rrf_k + rank)
    return _ranked(fused)


def dbsf_fusion(lists: Sequence[RankedList], weights: Optional[Sequence[float]] = None) -> Fused:
    """Distribution-based score fusion: each list's scores are mapped to ``(s - (mu - 3 sigma)) / (6 sigma)``
    (population sigma; a list of equal scores maps to 0.5), weighted and summed. A document missing from a
    list gets nothing from it. Values are not clipped: a score beyond mu +- 3 sigma keeps its full weight.
    """
    weights = _weights_for(lists, weights)
    fused = dict.fromkeys(_union(lists), 0.0)
    for position, (ranked, weight) in enumerate(zip(lists, weights)):
        table = _score_table(ranked, position)
        if not table:
            continue
        scores = list(table.values())
        mean = sum(scores) / len(scores)
        sigma = math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))
        for doc_id, score in table.items():
            fused[doc_id] += weight * ((score - (mean - 3 * sigma)) / (6 * sigma) if sigma > 0 else 0.5)
    return _ranked(fused)


def fuse(
    lists: Sequence[RankedList],
    mode: Union[str, FusionMode] = FusionMode.LINEAR,
    weights: Optional[Sequence[float]] = None,
    normalization: Union[str, Normalization] = Normalization.NONE,
    rrf_k: float = 60,
) -> Fused:
    """Fuse ranked lists with one of the modes; ``normalization`` is used by ``linear`` only, ``rrf_k`` by
    ``rrf`` only. ``weights``: one per list (default: all 1.0)."""
    mode = FusionMode.from_str(mode)
    if mode is FusionMode.LINEAR:
        return linear_fusion(lists, weights, normalization)
    if mode is FusionMode.RRF:
        return rrf_fusion(lists, weights, rrf_k)
    return dbsf_fusion(lists, weights)


def _weights_for(lists: Sequence[RankedList], weights: Optional[Sequence[float]]) -> List[float]:
    checked = check_weights(weights, len(lists))
    return checked if checked is not None else [1.0] * len(lists)


def _unique_ids(ranked: RankedList) -> List[str]:
    # A document listed twice keeps its best (first) rank.
    return list(dict.fromkeys(doc_id for doc_id, _ in ranked))


def _score_table(ranked: RankedList, position: int) -> Dict[str, float]:
    table: Dict[str, float] = {}
    for doc_id, score in ranked:
        if isinstance(score, bool) or not isinstance(score, Real) or not math.isfinite(score):
            raise FusionInputError(
                f"List {position} gives document {doc_id!r} the score {score!r}: score fusion needs a finite score "
                f"for every document (use mode 'rrf', which needs only ranks, for retrievers without scores)."
            )
        table.setdefault(doc_id, float(score))
    return table


def _union(lists: Sequence[RankedList]) -> List[str]:
    return list(dict.fromkeys(doc_id for ranked in lists for doc_id, _ in ranked))


def _ranked(fused: Dict[str, float]) -> Fused:
    # sorted() is stable, so equal scores keep first-appearance order.
    return sorted(fused.items(), key=lambda item: -item[1])
