"""The report's arithmetic and markdown: ratios point the right way, targets are judged, tables render."""
import pytest

from benchmarks.harness import (
    Measurement,
    SectionResult,
    interleaved,
    machine_kind,
    percentile,
    render_markdown,
    round_ratios,
)


def test_percentile_interpolates_like_numpy():
    values = [5.0, 1.0, 3.0, 2.0, 4.0]
    assert percentile(values, 50) == 3.0
    assert percentile(values, 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)


def test_ratio_above_one_means_ours_is_better_for_throughput_and_latency():
    faster = Measurement("s", "throughput", ours=30.0, baseline=10.0, unit="p/s", higher_is_better=True, target=2.0)
    quicker = Measurement("s", "latency", ours=10.0, baseline=40.0, unit="ms", higher_is_better=False, target=5.0)
    assert faster.ratio == 3.0 and faster.verdict == "met"
    assert quicker.ratio == 4.0 and quicker.verdict == "MISSED"
    assert Measurement("s", "x", ours=1.0, baseline=None, unit="ms", higher_is_better=False).ratio is None


def test_markdown_report_carries_command_machine_table_and_errors():
    section = SectionResult("3. BM25", [Measurement("bm25", "BM25 query p50", 2.0, 250.0, "ms", False,
                                                    baseline_name="Haystack InMemory BM25", target=20.0)],
                            facts=["30 questions"])
    broken = SectionResult("4. Reader", error="reader_speed.py is not available yet")
    text = render_markdown([section, broken], "python benchmarks/run_all.py --quick", {"cpu": "test CPU"})
    assert "python benchmarks/run_all.py --quick" in text
    assert "| cpu | test CPU |" in text
    assert "| BM25 query p50 | - | 2.00 | 250 (Haystack InMemory BM25) | ms | 125.00x |  | >= 20x (met) |" in text
    assert "- 30 questions" in text
    assert "Not measured: reader_speed.py is not available yet" in text


def test_interleaved_runs_alternate_and_round_ratios_pair_them():
    calls = []
    results = interleaved({"ours": lambda: calls.append("A") or 2.0, "base": lambda: calls.append("B") or 4.0}, 3)
    assert calls == ["A", "B"] * 3 and results == {"ours": [2.0] * 3, "base": [4.0] * 3}
    ratios = round_ratios([10.0, 20.0], [5.0, 5.0], higher_is_better=True)
    assert ratios == [2.0, 4.0]
    measured = Measurement("s", "x", 15.0, 5.0, "p/s", True, precision="bf16", round_ratios=ratios)
    assert measured.spread == "2.00-4.00x (2 rounds)"
    table = render_markdown([SectionResult("1. x", [measured])], "cmd", {"cpu": "c", "load warning": "WARNING: busy"})
    assert "| x | bf16 | 15.0 | 5.00 | p/s | 3.00x | 2.00-4.00x (2 rounds) |  |" in table
    assert "**WARNING: busy**" in table


def test_machine_kind_is_a_file_name():
    kind = machine_kind()
    assert kind and all(c.isalnum() or c == "-" for c in kind)
