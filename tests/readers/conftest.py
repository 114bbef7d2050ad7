"""Fixtures of the reader tests: an independent, plainly written re-implementation of DPR's span selection."""
import pytest


def _reference_best_spans(start_logits, end_logits, tokens, max_answer_length, top_spans):
    """DPR's get_best_spans written out plainly: Python floats, sorted(), nested loops."""
    scores = []
    for i, s in enumerate(start_logits):
        for j, e in enumerate(end_logits[i:i + max_answer_length]):
            scores.append(((i, i + j), s + e))
    scores = sorted(scores, key=lambda x: x[1], reverse=True)
    chosen = []
    for (start, end), _ in scores:
        if any(start <= ps <= pe <= end or ps <= start <= end <= pe for ps, pe in chosen):
            continue
        while start > 0 and tokens[start].startswith("##"):
            start -= 1
        while end < len(tokens) - 1 and tokens[end + 1].startswith("##"):
            end += 1
        chosen.append((start, end))
        if len(chosen) == top_spans:
            break
    return chosen


@pytest.fixture(scope="session")
def reference_best_spans():
    """DPR's ``get_best_spans`` (facebookresearch/DPR) as a function of logits and token strings."""
    return _reference_best_spans
