"""Top-k accuracy, MRR and first-hit ranks on hand-made rankings."""
import pytest

from dpr_components.evaluation.metrics import (
    first_hit_rank,
    first_relevant_rank,
    hits_curve,
    mean,
    mean_reciprocal_rank,
    top_k_accuracy,
)


def test_first_hit_rank_is_one_based_and_none_without_a_hit():
    assert first_hit_rank([True, False]) == 1
    assert first_hit_rank([False, False, True, True]) == 3
    assert first_hit_rank([False, False]) is None
    assert first_hit_rank([]) is None


def test_first_relevant_rank_from_ids():
    assert first_relevant_rank(["d9", "d3", "d1"], {"d1", "d3"}) == 2
    assert first_relevant_rank(["d9"], set()) is None


def test_top_k_accuracy_is_cumulative_from_the_first_hit():
    # five questions: hits first at ranks 1, 3, 7, 60 and never
    ranks = [1, 3, 7, 60, None]
    accuracy = top_k_accuracy(ranks, ks=(1, 5, 10, 20, 50, 100))
    assert accuracy == {1: 0.2, 5: 0.4, 10: 0.6, 20: 0.6, 50: 0.6, 100: 0.8}
    assert list(accuracy.values()) == sorted(accuracy.values())  # never decreases with k


def test_mrr():
    assert mean_reciprocal_rank([1, 2, None, 4]) == pytest.approx((1 + 0.5 + 0 + 0.25) / 4)
    assert mean_reciprocal_rank([]) == 0.0
    assert top_k_accuracy([], ks=(1,)) == {1: 0.0}


def test_hits_curve_for_every_k():
    assert hits_curve([2, None, 1], max_k=3) == pytest.approx([1 / 3, 2 / 3, 2 / 3])


def test_mean():
    assert mean([1.0, 0.0, 0.5]) == 0.5
    assert mean([]) == 0.0
