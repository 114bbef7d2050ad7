"""Which passages a question brings to a bi-encoder batch, and dense hard negatives from the current model.

A batch question brings its positive (``positive_ctxs[0]``, or a random one with ``shuffle_positives``) and
``hard_negatives`` passages from ``hard_negative_ctxs`` (BM25 passages without the answer, as written by
``build-training-data``), topped up from ``negative_ctxs`` when it has fewer, as DPR's
``_create_biencoder_input`` does; every other passage of the batch is an in-batch negative.
``hard_negatives=0`` trains on in-batch negatives only.

:func:`mine_dense_negatives` replaces the hard negatives by the passages the current model ranks highest
that do not contain an answer (DPR's ``has_answer``) and are not the positive (ANCE-style dense negatives).

Example::

    from dpr_components.training.negatives import batch_passages, usable_examples

    examples, skipped = usable_examples(read_examples("train.jsonl"))   # skipped: questions without positives
    passages, positive_rows = batch_passages(examples[:4], hard_negatives=1, rng=random.Random(0))
"""
import random
from typing import Iterable, List, Optional, Sequence, Tuple

import numpy as np

from dpr_components.evaluation.answers import has_answer
from dpr_components.training.biencoder import BiEncoder, embed
from dpr_components.training.data import Context, TrainingExample


def usable_examples(examples: Iterable[TrainingExample]) -> Tuple[List[TrainingExample], int]:
    """The examples that have a positive passage, and how many were skipped for having none."""
    kept, skipped = [], 0
    for example in examples:
        if example.positive_ctxs:
            kept.append(example)
        else:
            skipped += 1
    return kept, skipped


def question_passages(example: TrainingExample, hard_negatives: int, rng: Optional[random.Random] = None,
                      shuffle_positives: bool = False) -> List[Context]:
    """[positive] + up to ``hard_negatives`` hard negatives (shuffled when ``rng``), topped up from negatives."""
    positive = rng.choice(example.positive_ctxs) if (shuffle_positives and rng) else example.positive_ctxs[0]
    hard = list(example.hard_negative_ctxs)
    other = list(example.negative_ctxs)
    if rng is not None:
        rng.shuffle(hard)
        rng.shuffle(other)
    negatives = (hard + other)[:hard_negatives]
    return [positive] + negatives


def batch_passages(examples: Sequence[TrainingExample], hard_negatives: int, rng: Optional[random.Random] = None,
                   shuffle_positives: bool = False) -> Tuple[List[Context], List[int]]:
    """All passages of a batch in DPR's layout, and the row of each question's positive."""
    passages: List[Context] = []
    positives: List[int] = []
    for example in examples:
        positives.append(len(passages))
        passages.extend(question_passages(example, hard_negatives, rng, shuffle_positives))
    return passages, positives


def mine_dense_negatives(model: BiEncoder, examples: Sequence[TrainingExample], corpus: Sequence[Context],
                         per_question: int = 5, depth: int = 100, max_seq_len_query: int = 64,
                         max_seq_len_passage: int = 256, batch_size: int = 32) -> List[TrainingExample]:
    """``examples`` with ``hard_negative_ctxs`` replaced by the model's top passages without an answer.

    The corpus is embedded once with the current passage encoder (exact inner-product search in numpy,
    fine for corpora that fit in memory; a larger one belongs in a store).
    """
    passage_vectors = embed(model, "passage", [(c.title, c.text) for c in corpus], max_seq_len_passage, batch_size)
    question_vectors = embed(model, "question", [e.question for e in examples], max_seq_len_query, batch_size)
    scores = question_vectors @ passage_vectors.T
    depth = min(depth, len(corpus))
    mined = []
    for example, row in zip(examples, scores):
        top = np.argpartition(-row, depth - 1)[:depth]
        top = top[np.argsort(-row[top])]
        positive_texts = {ctx.text for ctx in example.positive_ctxs}
        negatives = []
        for index in top:
            passage = corpus[int(index)]
            if passage.text in positive_texts or has_answer(example.answers, passage.text):
                continue
            negatives.append(Context(passage.title, passage.text, passage.passage_id, float(row[index]), False))
            if len(negatives) == per_question:
                break
        mined.append(TrainingExample(example.question, example.answers, example.positive_ctxs,
                                     example.negative_ctxs, tuple(negatives)))
    return mined
