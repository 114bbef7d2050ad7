"""Reader training samples: answers located on whole-word tokens, M windows per question, padded batches.

Inputs come from the reader's own builder (:class:`dpr_components.readers.inputs.ReaderInputs`), so a training
window is exactly what ``DPRSpanReader`` reads at inference: ``[CLS] question [SEP] title [SEP] passage``,
long passages cut into the same windows.

An answer occurrence is a run of passage tokens equal to the answer's own tokens (same tokenizer, no special
tokens; the answer is also tokenised after a space, which byte-level BPE tokenizers encode differently) that
starts and ends on a word boundary: its first token does not continue a word and the token after it does not
either (DPR locates answers the same way: token ids, then whole words). Every occurrence counts: the span loss
marginalises over all of them.

Per question and epoch, :func:`draw_sample` picks (with the epoch's RNG) one positive passage and one of its
windows that holds an answer, and ``M - 1`` negatives (hard negatives first, then negatives), each in one
random window. The positive is always at index 0, as DPR's switch loss expects.

Example::

    inputs = ReaderInputs(tokenizer, max_seq_len=256, doc_stride=64)
    prepared = prepare_example(inputs, example)         # None when no positive holds an answer
    sample = draw_sample(prepared, passages=8, rng=np.random.default_rng(0))
    batch = collate([sample], pad_id=inputs.pad_id)     # tensors for reader_loss
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from dpr_components.readers.inputs import ReaderInputs, TokenizedText, Window
from dpr_components.training.data import Context, TrainingExample

MAX_ANSWER_SPANS = 10  # DPR's max_n_answers


def answer_spans(passage: TokenizedText, answers: Sequence[TokenizedText]) -> List[Tuple[int, int]]:
    """Every whole-word occurrence ``(first, last)`` (inclusive, passage token indices) of any answer."""
    spans = set()
    ids, continuation = passage.ids, passage.is_continuation
    for answer in answers:
        n = len(answer.ids)
        if n == 0 or n > len(ids):
            continue
        candidates = np.flatnonzero(ids[:len(ids) - n + 1] == answer.ids[0])
        for start in candidates:
            end = start + n
            if continuation[start] or (end < len(ids) and continuation[end]):
                continue
            if np.array_equal(ids[start:end], answer.ids):
                spans.add((int(start), int(end - 1)))
    return sorted(spans)


def window_spans(window: Window, spans: Sequence[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """The spans that lie whole inside ``window``, in its input coordinates."""
    shown = len(window.input_ids) - window.passage_offset
    first, shift = window.first_token, window.passage_offset - window.first_token
    return [(s + shift, e + shift) for s, e in spans if first <= s and e < first + shown]


@dataclass
class PreparedPassage:
    windows: List[Window]
    spans_per_window: List[List[Tuple[int, int]]]  # answer spans (input coordinates) of each window


@dataclass
class PreparedExample:
    """A question's tokenised passages: positives that hold an answer in some window, and negatives."""

    question: str
    answers: Tuple[str, ...]
    positives: List[PreparedPassage]
    negatives: List[PreparedPassage]  # hard negatives first


def _prepare_passage(inputs: ReaderInputs, question: TokenizedText, title: TokenizedText, text: TokenizedText,
                     answers: Optional[Sequence[TokenizedText]]) -> PreparedPassage:
    windows = inputs.windows(question, title, text)
    if answers is None:
        return PreparedPassage(windows, [[] for _ in windows])
    spans = answer_spans(text, answers)
    return PreparedPassage(windows, [window_spans(w, spans) for w in windows])


def prepare_examples(inputs: ReaderInputs, examples: Sequence[TrainingExample]) -> List[Optional[PreparedExample]]:
    """Tokenise and window ``examples``; an entry is None when no positive passage holds an answer span."""
    texts: Dict[str, int] = {}

    def intern(text: str) -> int:
        return texts.setdefault(text, len(texts))

    for example in examples:
        intern(example.question)
        for answer in example.answers:
            intern(answer)
            intern(" " + answer)
        for ctx in (*example.positive_ctxs, *example.hard_negative_ctxs, *example.negative_ctxs):
            intern(ctx.title)
            intern(ctx.text)
    tokens = inputs.tokenize(list(texts))
    token = lambda text: tokens[texts[text]]  # noqa: E731

    prepared: List[Optional[PreparedExample]] = []
    for example in examples:
        question = token(example.question)
        answers = [token(variant) for answer in example.answers for variant in (answer, " " + answer)]
        positives = [_prepare_passage(inputs, question, token(c.title), token(c.text), answers)
                     for c in example.positive_ctxs]
        positives = [p for p in positives if any(p.spans_per_window)]
        negatives = [_prepare_passage(inputs, question, token(c.title), token(c.text), None)
                     for c in (*example.hard_negative_ctxs, *example.negative_ctxs)]
        prepared.append(PreparedExample(example.question, example.answers, positives, negatives) if positives else None)
    return prepared


def prepare_example(inputs: ReaderInputs, example: TrainingExample) -> Optional[PreparedExample]:
    return prepare_examples(inputs, [example])[0]


@dataclass
class ReaderSample:
    """One question's M model inputs (positive first) and the answer spans of the positive window."""

    input_ids: List[np.ndarray]
    spans: List[Tuple[int, int]]


def draw_sample(example: PreparedExample, passages: int, rng: np.random.Generator,
                shuffle_negatives: bool = True) -> ReaderSample:
    """1 positive window holding an answer + up to ``passages - 1`` negative windows."""
    positive = example.positives[rng.integers(len(example.positives))]
    holding = [i for i, spans in enumerate(positive.spans_per_window) if spans]
    window = holding[rng.integers(len(holding))]
    negatives = list(example.negatives)
    if shuffle_negatives and len(negatives) > passages - 1:
        negatives = [negatives[i] for i in sorted(rng.choice(len(negatives), passages - 1, replace=False))]
    inputs = [positive.windows[window].input_ids]
    for negative in negatives[:passages - 1]:
        inputs.append(negative.windows[rng.integers(len(negative.windows))].input_ids)
    return ReaderSample(inputs, positive.spans_per_window[window][:MAX_ANSWER_SPANS])


def collate(samples: Sequence[ReaderSample], pad_id: int) -> Dict[str, torch.Tensor]:
    """Tensors for :func:`dpr_components.training.reader_loss.reader_loss`.

    ``input_ids``/``attention_mask`` (N, M, L); ``passage_mask`` (N, M) False where a question has fewer
    than M passages; ``starts``/``ends``/``span_mask`` (N, S) over the positive (index 0) window.
    """
    n, m = len(samples), max(len(s.input_ids) for s in samples)
    length = max(len(ids) for s in samples for ids in s.input_ids)
    s_max = max(len(s.spans) for s in samples)
    input_ids = torch.full((n, m, length), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((n, m, length), dtype=torch.long)
    passage_mask = torch.zeros((n, m), dtype=torch.bool)
    starts = torch.zeros((n, s_max), dtype=torch.long)
    ends = torch.zeros((n, s_max), dtype=torch.long)
    span_mask = torch.zeros((n, s_max), dtype=torch.bool)
    for row, sample in enumerate(samples):
        for column, ids in enumerate(sample.input_ids):
            input_ids[row, column, :len(ids)] = torch.from_numpy(ids)
            attention_mask[row, column, :len(ids)] = 1
            passage_mask[row, column] = True
        for column, (start, end) in enumerate(sample.spans):
            starts[row, column], ends[row, column], span_mask[row, column] = start, end, True
    return {"input_ids": input_ids, "attention_mask": attention_mask, "passage_mask": passage_mask,
            "starts": starts, "ends": ends, "span_mask": span_mask}


def context_list(example: TrainingExample) -> List[Context]:
    """All passages of an example, by retrieval score when every one has a score, else positives first."""
    ctxs = [*example.positive_ctxs, *example.hard_negative_ctxs, *example.negative_ctxs]
    if ctxs and all(c.score is not None for c in ctxs):
        ctxs.sort(key=lambda c: c.score or 0.0, reverse=True)  # stable: ties keep their order
    return ctxs
