"""A reader over passages, shared by ``DPRSpanReader`` and reader training's dev evaluation (:class:`ReaderPredictor`),
so a dev EM measures what the node answers: every (question, passage) in the windows of
:class:`~dpr_components.readers.inputs.ReaderInputs`, all windows through the model in length-sorted batches,
a passage's windows regrouped (its relevance is its best window's), spans by DPR's algorithm
(:mod:`dpr_components.readers.spans`), answers cut from the text by ``readers.inputs.character_span``.

Example::

    predictor = ReaderPredictor(model, ReaderInputs(tokenizer, max_seq_len=256, doc_stride=128))
    text, score, passage = predictor.predict("who wrote hamlet?", [Context("Hamlet", "Hamlet is a play by ...")],
                                             torch.device("cpu"))
"""
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable, List, Sequence, Tuple

import numpy as np
import torch
from tqdm import tqdm

from dpr_components.readers.inputs import ReaderInputs, TokenizedText, Window, character_span
from dpr_components.readers.spans import WindowLogits, passage_spans
from dpr_components.utils.batching import padded_batches

Logits = Tuple[np.ndarray, np.ndarray, float]  # start logits, end logits, relevance logit of one window
Forward = Callable[[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class PassageReading:
    """A passage's windows as the model read them."""

    windows: List[WindowLogits]
    relevances: List[float]

    @property
    def relevance(self) -> float:
        return max(self.relevances)


def question_windows(inputs: ReaderInputs, questions: Sequence[TokenizedText],
                     passages: Sequence[Sequence[Tuple[TokenizedText, TokenizedText]]]
                     ) -> List[Tuple[int, int, Window]]:
    """``(question, passage, window)`` for every window of every (title, passage) of every question."""
    return [(q, p, window) for q, question in enumerate(questions) for p, (title, passage) in enumerate(passages[q])
            for window in inputs.windows(question, title, passage)]


def batch_logits(model: torch.nn.Module, device: torch.device, input_ids: np.ndarray,
                 attention_mask: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One padded batch through the reader: start and end logits (batch, length), relevance logits (batch,)."""
    with torch.inference_mode():
        output = model(input_ids=torch.from_numpy(input_ids).to(device),
                       attention_mask=torch.from_numpy(attention_mask).to(device), return_dict=True)
    start, end, relevance = (t.float().cpu().numpy()
                             for t in (output.start_logits, output.end_logits, output.relevance_logits))
    return start, end, relevance


def window_logits(forward: Forward, sequences: Sequence[np.ndarray], batch_size: int, pad_id: int,
                  progress_bar: bool = False) -> List[Logits]:
    """Start/end logits (padding removed) and the relevance logit of each input, in input order.

    ``forward(input_ids, attention_mask)`` runs one padded batch (:func:`batch_logits` with its model bound).
    """
    results: List[Any] = [None] * len(sequences)
    batches = padded_batches(sequences, batch_size, pad_id)
    for rows, input_ids, attention_mask in tqdm(batches, desc="DPR reader", disable=not progress_bar,
                                                total=-(-len(sequences) // batch_size)):
        start, end, relevance = forward(input_ids, attention_mask)
        for row, index in enumerate(rows):
            length = len(sequences[index])
            results[index] = (start[row, :length], end[row, :length], float(relevance[row]))
    return results


def by_passage(windows: Sequence[Tuple[int, int, Window]], logits: Sequence[Logits],
               passages_per_question: Sequence[int]) -> List[List[PassageReading]]:
    """The readings of each question's passages (in the passages' order) from the windows' logits."""
    readings = [[PassageReading([], []) for _ in range(count)] for count in passages_per_question]
    for (q, p, window), (start, end, relevance) in zip(windows, logits):
        reading = readings[q][p]
        reading.windows.append(WindowLogits(start, end, window.passage_offset, window.first_token))
        reading.relevances.append(relevance)
    return readings


class ReaderPredictor:
    """The best answer of one question over its passages, decoded as ``DPRSpanReader`` decodes (its top answer
    with ``answer_scoring: passage``): the passage with the highest relevance logit, its best span."""

    def __init__(self, model: torch.nn.Module, inputs: ReaderInputs, max_answer_length: int = 10,
                 batch_size: int = 32):
        self.model, self.inputs = model, inputs
        self.max_answer_length, self.batch_size = max_answer_length, batch_size

    def predict(self, question: str, ctxs: Sequence[Any], device: torch.device) -> Tuple[str, float, int]:
        """``(answer text, span score, index of its passage)`` from passages with ``title`` and ``text``;
        ``("", -inf, -1)`` without passages."""
        if not ctxs:
            return "", float("-inf"), -1
        tokens = self.inputs.tokenize([question, *[c.title for c in ctxs], *[c.text for c in ctxs]])
        passages = tokens[1 + len(ctxs):]
        windows = question_windows(self.inputs, tokens[:1], [list(zip(tokens[1:1 + len(ctxs)], passages))])
        logits = window_logits(partial(batch_logits, self.model, device), [w.input_ids for _, _, w in windows],
                               self.batch_size, self.inputs.pad_id)
        readings = by_passage(windows, logits, [len(ctxs)])[0]
        best = int(np.argmax([reading.relevance for reading in readings]))  # the first of equals, as DPR
        spans = passage_spans(readings[best].windows, passages[best].is_continuation, self.max_answer_length, 1)
        if not spans:
            return "", float("-inf"), best
        first, last = character_span(ctxs[best].text, passages[best], spans[0].start, spans[0].end)
        return ctxs[best].text[first:last], spans[0].score, best
