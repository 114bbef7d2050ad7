"""DPR span selection (readers/spans.py) against a plain re-implementation of DPR's get_best_spans
(``reference_best_spans`` fixture, tests/readers/conftest.py)."""
import numpy as np
import pytest
from transformers import AutoTokenizer

from dpr_components.readers.inputs import ReaderInputs
from dpr_components.readers.spans import (
    SpanCandidates,
    WindowLogits,
    extend_to_whole_words,
    passage_spans,
    select_spans,
    span_candidates,
)


def random_tokens(rng, n):
    return [("##" if i and rng.random() < 0.35 else "") + "w" for i in range(n)]


@pytest.mark.parametrize("seed", range(25))
def test_selection_matches_dpr_reference(seed, reference_best_spans):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 60))
    max_answer_length = int(rng.integers(1, 12))
    top_spans = int(rng.integers(1, 12))
    start = rng.normal(size=n).astype(np.float32)
    end = rng.normal(size=n).astype(np.float32)
    if seed % 3 == 0:  # ties: logits on a coarse grid
        start, end = np.round(start * 2) / 2, np.round(end * 2) / 2
    tokens = random_tokens(rng, n)
    is_continuation = np.array([t.startswith("##") for t in tokens])

    chosen = select_spans(span_candidates(start, end, max_answer_length), top_spans, is_continuation)

    expected = reference_best_spans(start.tolist(), end.tolist(), tokens, max_answer_length, top_spans)
    assert [(c.start, c.end) for c in chosen] == expected
    for c in chosen:
        assert 0 <= c.scored_end - c.scored_start < max_answer_length
        assert c.score == pytest.approx(float(start[c.scored_start]) + float(end[c.scored_end]))


def test_candidates_respect_max_answer_length():
    candidates = span_candidates(np.zeros(5), np.zeros(5), max_answer_length=2, first_token=10)
    spans = set(zip(candidates.starts.tolist(), candidates.ends.tolist()))
    assert spans == {(10, 10), (10, 11), (11, 11), (11, 12), (12, 12), (12, 13), (13, 13), (13, 14), (14, 14)}


def test_containment_rule_allows_partial_overlap():
    # best (1,2); (1,1) and (0,2) nest with it and are skipped; (2,3) only overlaps and is kept
    start = np.array([0.0, 5.0, 4.0, 0.0])
    end = np.array([0.0, 4.5, 5.0, 4.8])
    chosen = select_spans(span_candidates(start, end, 3), 3, np.zeros(4, dtype=bool))
    assert [(c.start, c.end) for c in chosen][:2] == [(1, 2), (2, 3)]
    assert all(not (c.start <= 1 and 2 <= c.end) or (c.start, c.end) == (1, 2) for c in chosen)


def test_whole_word_extension():
    is_continuation = np.array([False, True, True, False, True])  # [pa ##r ##is] [be ##rlin]
    assert extend_to_whole_words(1, 1, is_continuation) == (0, 2)
    assert extend_to_whole_words(2, 3, is_continuation) == (0, 4)
    assert extend_to_whole_words(0, 0, is_continuation) == (0, 2)
    assert extend_to_whole_words(3, 3, np.array([True, True, True, True])) == (0, 3)


def test_windows_pool_candidates_and_keep_a_span_once():
    # Two windows over a 6-token passage sharing tokens 2-3; the shared best span is returned once.
    passage_start = np.array([0.0, 0.0, 3.0, 0.0, 0.0, 0.0])
    passage_end = np.array([0.0, 0.0, 0.0, 3.0, 0.0, 0.0])
    prefix = 4  # [CLS] q [SEP] [SEP]
    first = WindowLogits(np.r_[np.full(prefix, 9.0), passage_start[:4]], np.r_[np.full(prefix, 9.0), passage_end[:4]],
                         prefix, 0)
    second = WindowLogits(np.r_[np.full(prefix, 9.0), passage_start[2:]], np.r_[np.full(prefix, 9.0), passage_end[2:]],
                          prefix, 2)
    chosen = passage_spans([first, second], np.zeros(6, dtype=bool), max_answer_length=3, top_spans=10)
    assert (chosen[0].start, chosen[0].end) == (2, 3)
    assert [(c.start, c.end) for c in chosen].count((2, 3)) == 1
    assert all(0 <= c.start <= c.end < 6 for c in chosen)  # prefix logits (9.0) never used


def test_best_raw_span_in_title_is_never_chosen(tiny_reader, reference_best_spans):
    """The highest logits sit on the title; DPR's reader still answers from the passage only."""
    tokenizer = AutoTokenizer.from_pretrained(tiny_reader)
    inputs = ReaderInputs(tokenizer, max_seq_len=64, doc_stride=16)
    question, title, passage = inputs.tokenize(["who was born in paris", "berlin germany",
                                                "the queen was born in london in the first year"])
    (window,) = inputs.windows(question, title, passage)
    ids = window.input_ids.tolist()
    first_sep = ids.index(tokenizer.sep_token_id)
    second_sep = ids.index(tokenizer.sep_token_id, first_sep + 1)
    assert window.passage_offset == second_sep + 1

    rng = np.random.default_rng(7)
    start, end = rng.normal(size=len(ids)), rng.normal(size=len(ids))
    start[first_sep + 1] = end[first_sep + 2] = 20.0  # "berlin germany": the title
    # Scoring from the first [SEP] on (transformers' decode_best_spans) would pick the title:
    after_first_sep = reference_best_spans(start[first_sep + 1:].tolist(), end[first_sep + 1:].tolist(),
                                           ["w"] * (len(ids) - first_sep - 1), 10, 1)
    assert after_first_sep == [(0, 1)]

    chosen = passage_spans([WindowLogits(start, end, window.passage_offset, 0)], passage.is_continuation, 10, 4)
    tokens = tokenizer.convert_ids_to_tokens(passage.ids.tolist())
    expected = reference_best_spans(start[second_sep + 1:].tolist(), end[second_sep + 1:].tolist(), tokens, 10, 4)
    assert [(c.start, c.end) for c in chosen] == expected


def test_empty_candidates():
    assert select_spans(SpanCandidates.concatenate([]), 3, np.zeros(0, dtype=bool)) == []
    assert select_spans(span_candidates(np.zeros(0), np.zeros(0), 10), 3, np.zeros(0, dtype=bool)) == []


def test_a_rejected_span_is_skipped_and_blocks_nothing():
    # best (1,2) = 10; (1,3) = 9.8 contains it, so plain DPR selection skips (1,3) and takes (2,3) next.
    start = np.array([0.0, 5.0, 4.0, 0.0])
    end = np.array([0.0, 4.0, 5.0, 4.8])
    plain = select_spans(span_candidates(start, end, 3), 2, np.zeros(4, dtype=bool))
    assert [(c.start, c.end) for c in plain] == [(1, 2), (2, 3)]
    # (1,2) rejected: it is not chosen and does not block (1,3), which contains it
    rejected = select_spans(span_candidates(start, end, 3), 2, np.zeros(4, dtype=bool),
                            keep=lambda s, e: (s, e) != (1, 2))
    assert [(c.start, c.end) for c in rejected] == [(1, 3), (0, 2)]
    # the filter judges the whole-word span: rejecting the word (0, 2) removes every span that extends to it
    is_continuation = np.array([False, True, True, False])
    seen = []
    kept = select_spans(span_candidates(start, end, 3), 4, is_continuation,
                        keep=lambda s, e: seen.append((s, e)) or (s, e) != (0, 2))
    assert (0, 2) in seen and kept and all((c.start, c.end) != (0, 2) for c in kept)
