"""The accuracy-vs-k chart is a real PNG with one line per run."""
import pytest

from dpr_components.evaluation.plot import plot_accuracy_vs_k
from dpr_components.evaluation.questions import Question
from dpr_components.evaluation.runner import EvaluationResult, QuestionResult, RankedDocument


def run(name, hit_positions, depth=20):
    results = []
    for index, position in enumerate(hit_positions):
        documents = [RankedDocument(id=f"d{i}", score=float(-i), has_answer=(i == position)) for i in range(depth)]
        results.append(QuestionResult(Question(f"q{index}", "q?", ["a"]), documents))
    return EvaluationResult(name, results)


def test_plot_writes_a_png_with_one_line_per_run(tmp_path):
    import matplotlib.image

    path = plot_accuracy_vs_k([run("bm25", [0, 5, None]), run("dpr", [1, 2, 19])], tmp_path / "plots" / "acc.png",
                              title="test")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width, _ = matplotlib.image.imread(path).shape
    assert (width, height) == (840, 540)


def test_plot_needs_a_run(tmp_path):
    with pytest.raises(ValueError, match="at least one run"):
        plot_accuracy_vs_k([], tmp_path / "x.png")
