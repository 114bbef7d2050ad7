"""The offline fusion sweep: grid, top-k accuracy by hand, best setting, agreement with the node."""
import pytest
from haystack import Document

from dpr_components.errors import ConfigurationError
from dpr_components.fusion.hybrid_fusion import HybridFusion
from dpr_components.fusion.sweep import (
    DEFAULT_KS,
    FusionSetting,
    SweepRow,
    best_row,
    format_table,
    fused_ranking,
    rankings_accuracy,
    settings_grid,
    sweep,
)

# Three questions; q1's answer is in c, q2's in e, q3's answer was retrieved by neither source.
RUNS = {
    "BM25": [[("a", 10.0), ("b", 9.0), ("c", 8.0)], [("e", 5.0), ("f", 4.0)], [("h", 3.0)]],
    "DPR": [[("c", 80.0), ("d", 70.0), ("a", 60.0)], [("f", 50.0), ("g", 48.0)], [("i", 2.0)]],
}
POSITIVES = [{"c"}, {"e"}, {"x"}]
KS = (1, 2, 3)


def test_grid_covers_each_mode_once_per_relevant_parameter():
    grid = settings_grid(2, alphas=[0.5, 1.3], normalizations=["none", "centered"], rrf_ks=[60, 10])
    assert len(grid) == 2 * 2 + 2 * 2 + 2  # linear: alphas x normalisations; rrf: alphas x k; dbsf: alphas
    assert FusionSetting("linear", (1.3, 1.0), "centered") in grid
    assert FusionSetting("rrf", (0.5, 1.0), rrf_k=10.0) in grid
    assert FusionSetting("dbsf", (0.5, 1.0)) in grid
    # the DPR paper's recipe weighs the dense side
    assert settings_grid(2, modes=["linear"], alphas=[1.1], normalizations=["none"], alpha_source=1) == \
        [FusionSetting("linear", (1.0, 1.1), "none")]
    assert len(settings_grid(2, alphas=[1.0, 1.0])) == len(settings_grid(2, alphas=[1.0]))
    assert len(settings_grid(2)) == 13 * 4 + 13 + 13


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_sources": 0}, "n_sources"),
        ({"n_sources": 2, "alpha_source": 2}, "alpha_source"),
        ({"n_sources": 2, "modes": ["combsum"]}, "'linear', 'rrf', 'dbsf'"),
        ({"n_sources": 2, "alphas": [-1.0]}, "non-negative"),
        ({"n_sources": 2, "rrf_ks": [-3]}, "rrf_k"),
    ],
)
def test_bad_grid_parameters(kwargs, message):
    with pytest.raises(ConfigurationError, match=message):
        settings_grid(**kwargs)


def test_top_k_accuracy_by_hand():
    rankings = [["a", "b", "c"], ["e"], ["h"]]
    assert rankings_accuracy(rankings, POSITIVES, KS) == {1: 1 / 3, 2: 1 / 3, 3: 2 / 3}
    with pytest.raises(ConfigurationError, match="one per question"):
        rankings_accuracy(rankings, POSITIVES[:2], KS)
    with pytest.raises(ConfigurationError, match="k .of top-k accuracy. must be a positive integer"):
        rankings_accuracy(rankings, POSITIVES, (0, 5))


def test_sweep_rows_by_hand():
    settings = [FusionSetting("linear", (1.0, 1.0), "none"), FusionSetting("rrf", (1.0, 1.0), rrf_k=60)]
    rows = {row.label: row for row in sweep(RUNS, POSITIVES, settings, ks=KS)}
    assert rows["BM25 only"].accuracy == {1: 1 / 3, 2: 1 / 3, 3: 2 / 3}
    assert rows["DPR only"].accuracy == {1: 1 / 3, 2: 1 / 3, 3: 1 / 3}
    # linear: q1 c = 8 + 80 first; q2 f = 4 + 50 > e = 5 + 48 (g missing from BM25 gets its minimum 4)
    assert rows["linear none w=[1, 1]"].accuracy == {1: 1 / 3, 2: 2 / 3, 3: 2 / 3}
    # rrf: q1 a and c tie at 1/61 + 1/63, a appeared first; q2 f (1/62 + 1/61) before e (1/61)
    assert rows["rrf k=60 w=[1, 1]"].accuracy == {1: 0.0, 2: 2 / 3, 3: 2 / 3}
    assert rows["rrf k=60 w=[1, 1]"].as_dict() == {"setting": "rrf k=60 w=[1, 1]", "top_1": 0.0,
                                                   "top_2": 2 / 3, "top_3": 2 / 3}

    best = best_row(list(rows.values()), metric="top_1")
    assert best.setting == settings[0]
    assert best.setting.node_params() == {"mode": "linear", "weights": [1.0, 1.0], "normalization": "none"}
    # on top-2 the two settings tie; top-1 breaks the tie (linear); single sources are skipped
    assert best_row(list(rows.values()), metric="top-2").setting == settings[0]
    assert best_row(list(rows.values()), metric="top_3", fused_only=False).label == "BM25 only"


def test_ties_are_broken_by_top_5_then_top_100_then_top_1_then_grid_order():
    # the rule the mini Wikipedia benchmark chose its dev setting by (docs/mini-wikipedia-benchmark.md)
    a, b, c = (FusionSetting("linear", (w, 1.0), "minmax") for w in (0.1, 0.2, 0.3))
    rows = [SweepRow("a", a, {1: 0.5, 5: 0.7, 20: 0.9, 100: 0.97}),
            SweepRow("b", b, {1: 0.4, 5: 0.7, 20: 0.9, 100: 0.99}),
            SweepRow("c", c, {1: 0.9, 5: 0.6, 20: 0.9, 100: 1.0})]
    assert best_row(rows).setting == b          # top-20 tie, top-5 drops c, top-100 picks b over a
    assert best_row(rows[:1] + [SweepRow("a2", b, dict(rows[0].accuracy))]).setting == a  # all equal: grid order
    assert best_row(rows, metric="top_1").setting == c


def test_sweep_ranks_exactly_as_the_node_does():
    """Same fusion functions: given the same lists as Documents, the node returns the sweep's ranking."""
    for setting in settings_grid(2, alphas=[0.3, 1.3]):
        node = HybridFusion(**setting.node_params(), source_names=["BM25", "DPR"])
        for question in range(len(POSITIVES)):
            inputs = [{"node_id": name, "documents": [Document(content=doc_id, id=doc_id, score=score)
                                                      for doc_id, score in lists[question]]}
                      for name, lists in reversed(RUNS.items())]
            node_ranking = [doc.id for doc in node.run(inputs=inputs)[0]["documents"]]
            assert node_ranking == fused_ranking([lists[question] for lists in RUNS.values()], setting)


def test_default_sweep_runs_every_mode_and_reports_the_standard_ks():
    rows = sweep(RUNS, POSITIVES)
    assert len(rows) == 2 + len(settings_grid(2))
    assert all(tuple(row.accuracy) == DEFAULT_KS for row in rows)
    assert {row.setting.mode for row in rows if row.setting} == {"linear", "rrf", "dbsf"}


def test_sweep_input_errors():
    with pytest.raises(ConfigurationError, match="'DPR' has ranked lists for 2 questions"):
        sweep({"BM25": RUNS["BM25"], "DPR": RUNS["DPR"][:2]}, POSITIVES)
    with pytest.raises(ConfigurationError, match="3 weights"):
        sweep(RUNS, POSITIVES, [FusionSetting("rrf", (1.0, 1.0, 1.0))])
    with pytest.raises(ConfigurationError, match="runs is empty"):
        sweep({}, POSITIVES)
    rows = sweep(RUNS, POSITIVES, [], ks=KS)
    with pytest.raises(ConfigurationError, match="No fused settings"):
        best_row(rows)
    rows = sweep(RUNS, POSITIVES, [FusionSetting("dbsf", (1.0, 1.0))], ks=KS)
    with pytest.raises(ConfigurationError, match="add 20 to the sweep's ks"):
        best_row(rows, metric="top_20")
    with pytest.raises(ConfigurationError, match="top_<k>"):
        best_row(rows, metric="mrr")


def test_format_table_lists_every_row_in_percent():
    rows = sweep(RUNS, POSITIVES, [FusionSetting("linear", (1.0, 1.0))], ks=KS)
    table = format_table(rows, sort_by="top_2")
    lines = table.splitlines()
    assert lines[0].split() == ["setting", "top-1", "top-2", "top-3"]
    assert lines[1].startswith("linear none w=[1, 1]") and lines[1].split()[-3:] == ["33.3", "66.7", "66.7"]
    assert {line.split("  ")[0].strip() for line in lines[2:]} == {"BM25 only", "DPR only"}
