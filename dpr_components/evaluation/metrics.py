"""Retrieval and reader metrics over many questions, as the DPR papers report them.

* First-hit rank: the 1-based position of the first answer-bearing passage in a question's ranking, or
  ``None`` when none of the retrieved passages has the answer.
* Top-k accuracy: the share of questions whose first hit is at rank <= k (cumulative, as DPR's
  ``calculate_matches`` counts it). A ranking shorter than k counts as it is: no padding, no penalty.
* MRR: mean of 1 / first-hit rank over all questions (0 for a question without a hit).
* Exact match / F1: means of the per-question values for the top predicted answer.

Usage::

    from dpr_components.evaluation.metrics import first_hit_rank, top_k_accuracy, mean_reciprocal_rank

    ranks = [first_hit_rank([False, True]), first_hit_rank([True]), first_hit_rank([False, False])]  # 2, 1, None
    top_k_accuracy(ranks, ks=(1, 5))   # {1: 0.333..., 5: 0.666...}
    mean_reciprocal_rank(ranks)        # 0.5
"""
from typing import Collection, Dict, Hashable, Iterable, List, Optional, Sequence

from dpr_components.errors import ConfigurationError
from dpr_components.utils.validation import positive_int

TOP_KS = (1, 5, 10, 20, 50, 100)


def first_hit_rank(hits: Iterable[bool]) -> Optional[int]:
    """1-based rank of the first True in ``hits`` (one flag per ranked passage), or None."""
    return next((rank for rank, hit in enumerate(hits, start=1) if hit), None)


def first_relevant_rank(ranked_ids: Sequence[Hashable], relevant_ids: Collection[Hashable]) -> Optional[int]:
    """1-based rank of the first id of ``ranked_ids`` that is in ``relevant_ids`` (answer-bearing ids), or None."""
    return first_hit_rank(doc_id in relevant_ids for doc_id in ranked_ids)


def top_k_accuracy(first_hit_ranks: Sequence[Optional[int]], ks: Iterable[int] = TOP_KS) -> Dict[int, float]:
    """Share of questions with a hit within the first k passages, for each k (0.0 for no questions).

    Every k must be a positive integer; the one implementation behind evaluation runs and fusion sweeps.
    """
    ks = [positive_int("k (of top-k accuracy)", k) for k in ks]
    if not ks:
        raise ConfigurationError("ks is empty: give the cut-offs k to report, e.g. (1, 5, 20, 100).")
    total = len(first_hit_ranks)
    return {
        k: (sum(1 for rank in first_hit_ranks if rank is not None and rank <= k) / total if total else 0.0)
        for k in ks
    }


def mean_reciprocal_rank(first_hit_ranks: Sequence[Optional[int]]) -> float:
    """Mean of 1/rank of the first hit (0 when a question has none); 0.0 for no questions."""
    if not first_hit_ranks:
        return 0.0
    return sum(1.0 / rank for rank in first_hit_ranks if rank is not None) / len(first_hit_ranks)


def hits_curve(first_hit_ranks: Sequence[Optional[int]], max_k: int) -> List[float]:
    """Top-k accuracy for every k in 1..max_k (the curve that accuracy-vs-k plots draw)."""
    return list(top_k_accuracy(first_hit_ranks, range(1, max_k + 1)).values())


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean, 0.0 for an empty sequence (used for EM and F1 over questions)."""
    return sum(values) / len(values) if values else 0.0
