"""The fusion math on fixed ranked lists, against pyserini's formula and hand-computed values."""
import math

import pytest

from dpr_components.errors import ConfigurationError
from dpr_components.fusion.methods import (
    FusionInputError,
    dbsf_fusion,
    fuse,
    linear_fusion,
    normalize_scores,
    rrf_fusion,
)

# Overlapping BM25 and DPR top lists, as in pyserini's HybridSearcher: d2 and d4 are in both.
SPARSE = [("d1", 14.2), ("d2", 11.0), ("d3", 9.5), ("d4", 7.25)]
DENSE = [("d4", 81.5), ("d5", 80.0), ("d2", 78.25), ("d6", 77.0), ("d7", 76.5)]


def pyserini_hybrid(dense, sparse, alpha, normalization, weight_on_dense):
    """pyserini HybridSearcher._hybrid_results, written out from its documented formula."""
    dense_hits, sparse_hits = dict(dense), dict(sparse)
    dmin, dmax = min(dense_hits.values()), max(dense_hits.values())
    smin, smax = min(sparse_hits.values()), max(sparse_hits.values())
    scores = {}
    for doc in set(dense_hits) | set(sparse_hits):
        s, d = sparse_hits.get(doc, smin), dense_hits.get(doc, dmin)
        if normalization:
            s = (s - (smin + smax) / 2) / (smax - smin)
            d = (d - (dmin + dmax) / 2) / (dmax - dmin)
        scores[doc] = s + alpha * d if weight_on_dense else alpha * s + d
    return scores


@pytest.mark.parametrize("alpha", [0.1, 0.95, 1.3, 2.0])
@pytest.mark.parametrize("normalization", [True, False])
@pytest.mark.parametrize("weight_on_dense", [False, True])
def test_linear_equals_pyserini_hybrid_searcher(alpha, normalization, weight_on_dense):
    expected = pyserini_hybrid(DENSE, SPARSE, alpha, normalization, weight_on_dense)
    weights = [1.0, alpha] if weight_on_dense else [alpha, 1.0]
    fused = fuse([SPARSE, DENSE], "linear", weights, "centered" if normalization else "none")

    assert dict(fused) == pytest.approx(expected, abs=1e-12)
    # best first (pyserini breaks ties in set order, so only the scores' order is compared)
    reference_scores = [expected[doc] for doc, _ in fused]
    assert reference_scores == sorted(reference_scores, reverse=True)


def test_linear_centered_by_hand():
    # sparse range 7.25..14.2 (mid 10.725, width 6.95); dense 76.5..81.5 (mid 79, width 5); alpha 1.2 on sparse
    fused = dict(fuse([SPARSE, DENSE], "linear", [1.2, 1.0], "centered"))
    assert fused["d1"] == pytest.approx(1.2 * 0.5 + (-0.5))  # missing from DENSE: its minimum 76.5
    assert fused["d2"] == pytest.approx(1.2 * (11.0 - 10.725) / 6.95 + (78.25 - 79) / 5)
    assert fused["d4"] == pytest.approx(1.2 * (-0.5) + 0.5)
    assert fused["d5"] == pytest.approx(1.2 * (-0.5) + 0.2)  # missing from SPARSE: its minimum 7.25


def test_linear_without_normalization_fills_missing_with_list_minimum():
    fused = linear_fusion([[("a", 10.0), ("b", 4.0)], [("b", 3.0), ("c", 1.0)]])
    assert fused == [("a", 11.0), ("b", 7.0), ("c", 5.0)]


def test_dpr_paper_recipe_bm25_plus_lambda_sim():
    fused = linear_fusion([[("a", 20.0), ("b", 10.0)], [("b", 80.0), ("a", 70.0)]], weights=[1.0, 1.1])
    assert fused == [("b", pytest.approx(98.0)), ("a", pytest.approx(97.0))]


def test_normalizations_by_hand():
    assert normalize_scores([2.0, 4.0, 6.0], "minmax") == [0.0, 0.5, 1.0]
    assert normalize_scores([2.0, 4.0, 6.0], "centered") == [-0.5, 0.0, 0.5]
    # mean 4, population std sqrt(8/3)
    assert normalize_scores([2.0, 4.0, 6.0], "zscore") == pytest.approx([-1.2247449, 0.0, 1.2247449])
    assert normalize_scores([2.0, 4.0, 6.0], "none") == [2.0, 4.0, 6.0]
    # a list of equal scores favours no document
    assert normalize_scores([3.0, 3.0], "minmax") == [0.5, 0.5]
    assert normalize_scores([3.0, 3.0], "centered") == [0.0, 0.0]
    assert normalize_scores([3.0, 3.0], "zscore") == [0.0, 0.0]


def test_zscore_statistics_come_from_the_list_not_from_the_filled_minimums():
    # list 2 scores: 2 and 6 (mean 4, std 2); "a" is missing from it and gets its minimum, 2 -> z = -1
    fused = dict(linear_fusion([[("a", 1.0)], [("b", 6.0), ("c", 2.0)]], [0.0, 1.0], "zscore"))
    assert fused == {"a": -1.0, "b": 1.0, "c": -1.0}


def test_weighted_rrf_by_hand():
    first = [("a", 0.0), ("b", 0.0), ("c", 0.0)]
    second = [("c", 0.0), ("a", 0.0), ("d", 0.0)]
    fused = rrf_fusion([first, second], weights=[1.0, 2.0], rrf_k=60)
    expected = {
        "a": 1 / 61 + 2 / 62,  # 0.048651
        "b": 1 / 62,
        "c": 1 / 63 + 2 / 61,  # 0.048660: just above a
        "d": 2 / 63,
    }
    assert [doc for doc, _ in fused] == ["c", "a", "d", "b"]
    assert dict(fused) == pytest.approx(expected)


def test_rrf_k_and_scores_without_values():
    fused = rrf_fusion([[("a", None), ("b", None)], [("b", None)]], rrf_k=0)
    assert fused == [("b", 1 / 2 + 1 / 1), ("a", 1.0)]


def test_dbsf_by_hand():
    # list 1: mean 2, sigma 2 -> mapped from [-4, 8]; list 2: mean 4, sigma 2 -> mapped from [-2, 10]
    fused = dbsf_fusion([[("a", 4.0), ("b", 0.0)], [("b", 6.0), ("c", 2.0)]], weights=[1.0, 2.0])
    assert fused == [
        ("b", pytest.approx(4 / 12 + 2 * 8 / 12)),
        ("a", pytest.approx(8 / 12)),
        ("c", pytest.approx(2 * 4 / 12)),  # equal to a: the tie keeps first appearance
    ]


def test_dbsf_list_of_equal_scores_maps_to_the_middle():
    assert dbsf_fusion([[("a", 5.0), ("b", 5.0)]]) == [("a", 0.5), ("b", 0.5)]


def test_duplicate_documents_keep_their_first_rank_and_empty_lists_count_for_nothing():
    assert rrf_fusion([[("a", 3.0), ("b", 2.0), ("a", 1.0)], []]) == [("a", 1 / 61), ("b", 1 / 62)]
    assert linear_fusion([[("a", 3.0), ("b", 2.0), ("a", 1.0)], []], [1.0, 5.0]) == [("a", 3.0), ("b", 2.0)]
    assert fuse([[], []], "dbsf") == []


@pytest.mark.parametrize("mode", ["linear", "dbsf"])
@pytest.mark.parametrize("bad_score", [None, math.nan, math.inf, "3"])
def test_score_modes_reject_missing_or_non_finite_scores(mode, bad_score):
    with pytest.raises(FusionInputError, match="rrf"):
        fuse([[("a", 1.0), ("b", bad_score)]], mode)


def test_unknown_mode_or_normalization_lists_the_valid_values():
    with pytest.raises(ConfigurationError, match="'linear', 'rrf', 'dbsf'"):
        fuse([SPARSE], "borda")
    with pytest.raises(ConfigurationError, match="'none', 'minmax', 'centered', 'zscore'"):
        fuse([SPARSE], "linear", normalization="l2")


@pytest.mark.parametrize(
    "weights, message",
    [
        ([1.0], "1 value"),
        ([1.0, -1.0], "non-negative"),
        ([1.0, math.nan], "finite"),
        ([1.0, True], "numbers"),
        (["1", 1.0], "numbers"),
        ("1.0, 2.0", "list of numbers"),
        ([0, 0.0], "all zero"),
    ],
)
def test_bad_weights_are_refused_with_the_fix(weights, message):
    with pytest.raises(ConfigurationError, match=message):
        fuse([SPARSE, DENSE], "rrf", weights)


def test_bad_rrf_k_is_refused():
    with pytest.raises(ConfigurationError, match="rrf_k"):
        fuse([SPARSE], "rrf", rrf_k=-1)
