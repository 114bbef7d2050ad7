"""DPR's answer-span selection as pure functions over start/end logits (no model, no tokenizer).

The algorithm is the one of DPR's reader (Karpukhin et al. 2020, facebookresearch/DPR ``get_best_spans``):

1. every span (i, j) of the passage with ``0 <= j - i < max_answer_length`` is scored
   ``start_logits[i] + end_logits[j]``;
2. spans are visited best first; a span that contains, or is contained in, a span already chosen is
   skipped (partial overlaps are allowed);
3. a chosen span is extended to whole words: its start moves left while it sits on a ``##`` continuation
   piece, its end moves right while the next token is one.

Only passage tokens are scored: the caller slices the logits after the SECOND ``[SEP]`` of
``[CLS] question [SEP] title [SEP] passage`` (:class:`WindowLogits.passage_offset`), so neither the
question nor the title can be returned (transformers' ``decode_best_spans`` starts after the first
``[SEP]``, its issue 10375).

A passage longer than the model's input is read in overlapping windows. Each window contributes its
candidate spans in passage token coordinates; the pooled candidates go through steps 2-3 together, so a
span seen by two windows is kept once. With a single window this is exactly DPR's procedure.

Each chosen span also carries its probability within its window, ``P_start(i) * P_end(j)`` with the
softmaxes over all the window's tokens: the distribution DPR's span loss trains (``training/reader_loss``),
which :mod:`dpr_components.readers.answers` uses to score an answer by its marginal probability.

Example::

    import numpy as np
    from dpr_components.readers.spans import select_spans, span_candidates

    start, end = np.array([0.1, 2.0, 0.3]), np.array([0.0, 0.5, 3.0])
    spans = select_spans(span_candidates(start, end, max_answer_length=10), top_spans=2,
                         is_continuation=np.array([False, False, True]))
    assert (spans[0].start, spans[0].end) == (1, 2)
"""
from dataclasses import dataclass, fields
from typing import Callable, List, Optional, Sequence

import numpy as np

# Whether a span (first and last passage token, inclusive, after whole-word extension) may be an answer.
SpanFilter = Callable[[int, int], bool]


@dataclass(frozen=True)
class SpanCandidates:
    """Scored spans as parallel arrays, in DPR's enumeration order (by start, then by end)."""

    starts: np.ndarray  # first token, inclusive, in passage token coordinates
    ends: np.ndarray  # last token, inclusive
    start_logits: np.ndarray
    end_logits: np.ndarray
    log_normalizers: np.ndarray  # logsumexp of the window's start logits + that of its end logits

    @property
    def scores(self) -> np.ndarray:
        return self.start_logits + self.end_logits

    def __len__(self) -> int:
        return len(self.starts)

    @staticmethod
    def concatenate(parts: Sequence["SpanCandidates"]) -> "SpanCandidates":
        if not parts:
            return span_candidates(np.zeros(0), np.zeros(0), max_answer_length=1)
        return SpanCandidates(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(SpanCandidates)))


@dataclass(frozen=True)
class ChosenSpan:
    """A selected answer span: whole-word token range plus the logits of the span that was scored."""

    start: int  # after whole-word extension, inclusive
    end: int  # after whole-word extension, inclusive
    score: float  # start_logit + end_logit of the scored (unextended) span
    start_logit: float
    end_logit: float
    scored_start: int  # the span as scored, before extension
    scored_end: int
    log_probability: float  # log P_start + log P_end within the window the span was scored in


@dataclass(frozen=True)
class WindowLogits:
    """Model output for one window ``[CLS] question [SEP] title [SEP] passage[first_token:...]``."""

    start_logits: np.ndarray  # one per input token, padding removed
    end_logits: np.ndarray
    passage_offset: int  # index of the first passage token: right after the second [SEP]
    first_token: int  # index of that token in the whole passage's token sequence


def span_candidates(start_logits: np.ndarray, end_logits: np.ndarray, max_answer_length: int,
                    first_token: int = 0, log_normalizer: float = 0.0) -> SpanCandidates:
    """All spans (i, j) with ``0 <= j - i < max_answer_length`` over logits of passage tokens only.

    Indices are shifted by ``first_token`` (a window's position in its passage). Logits are kept in
    float64 so that sums and ties compare like DPR's Python floats. ``log_normalizer`` turns a span's score
    into its log probability (see :func:`window_candidates`).
    """
    start_logits = np.asarray(start_logits, dtype=np.float64)
    end_logits = np.asarray(end_logits, dtype=np.float64)
    length = len(start_logits)
    starts = np.repeat(np.arange(length), max_answer_length)
    ends = starts + np.tile(np.arange(max_answer_length), length)
    valid = ends < length
    starts, ends = starts[valid], ends[valid]
    return SpanCandidates(starts + first_token, ends + first_token, start_logits[starts], end_logits[ends],
                          np.full(len(starts), log_normalizer))


def logsumexp(logits: np.ndarray) -> float:
    logits = np.asarray(logits, dtype=np.float64)
    top = logits.max()
    return float(top + np.log(np.exp(logits - top).sum()))


def window_candidates(windows: Sequence[WindowLogits], max_answer_length: int) -> SpanCandidates:
    """Candidate spans of a passage's windows, each window scored on its passage tokens only.

    Probabilities are normalised over all the window's tokens, question and title included, as in training.
    """
    return SpanCandidates.concatenate([
        span_candidates(w.start_logits[w.passage_offset:], w.end_logits[w.passage_offset:],
                        max_answer_length, first_token=w.first_token,
                        log_normalizer=logsumexp(w.start_logits) + logsumexp(w.end_logits))
        for w in windows
    ])


def extend_to_whole_words(start: int, end: int, is_continuation: np.ndarray) -> tuple:
    """Grow ``[start, end]`` so that it neither starts nor ends inside a word split into ``##`` pieces."""
    while start > 0 and is_continuation[start]:
        start -= 1
    while end + 1 < len(is_continuation) and is_continuation[end + 1]:
        end += 1
    return start, end


def select_spans(candidates: SpanCandidates, top_spans: int, is_continuation: np.ndarray,
                 keep: Optional[SpanFilter] = None) -> List[ChosenSpan]:
    """DPR's greedy selection: best score first, no nesting with a chosen span, whole-word extension.

    ``is_continuation[t]`` is True where passage token ``t`` is a ``##`` piece. As in DPR, a candidate
    is compared with the chosen spans after their extension. ``keep`` (default: every span) rejects a
    candidate after extension; a rejected span is not chosen and blocks nothing, so the next best spans take
    its place (:func:`dpr_components.readers.answers.question_word_filter`).
    """
    chosen: List[ChosenSpan] = []
    if top_spans <= 0:
        return chosen
    scores = candidates.scores
    # Stable descending order keeps DPR's tie-breaking: enumeration order (start, then end).
    for index in np.argsort(-scores, kind="stable"):
        start, end = int(candidates.starts[index]), int(candidates.ends[index])
        if any(start <= c.start <= c.end <= end or c.start <= start <= end <= c.end for c in chosen):
            continue
        word_start, word_end = extend_to_whole_words(start, end, is_continuation)
        if keep is not None and not keep(word_start, word_end):
            continue
        chosen.append(ChosenSpan(word_start, word_end, float(scores[index]), float(candidates.start_logits[index]),
                                 float(candidates.end_logits[index]), start, end,
                                 float(scores[index] - candidates.log_normalizers[index])))
        if len(chosen) == top_spans:
            break
    return chosen


def passage_spans(windows: Sequence[WindowLogits], is_continuation: np.ndarray, max_answer_length: int,
                  top_spans: int, keep: Optional[SpanFilter] = None) -> List[ChosenSpan]:
    """The ``top_spans`` best answer spans of one passage read in one or more windows (``keep``: see above)."""
    return select_spans(window_candidates(windows, max_answer_length), top_spans, is_continuation, keep)
