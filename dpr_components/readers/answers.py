"""Haystack ``Answer`` objects from chosen spans, and merging of identical answer strings.

Scores. DPR picks the passage with the highest relevance logit, then the best span in it. Answers are
listed in that order (passages by relevance, spans of a passage by span score), and ``Answer.score`` is
the passage's probability: the softmax of the relevance logits over the question's passages. Scores
therefore never increase down the list; the span logits are in ``meta``.

Merging (``merge_identical_answers``): answers whose text is equal up to case and whitespace become one
answer. It keeps the text, document, offsets and meta of its best-placed occurrence; its score is the
sum of the probabilities of the distinct passages it occurs in (a passage counts once, however often the
string occurs in it), and ``meta["merged_answers"]`` lists the other occurrences. Merged answers are
re-ordered by that summed score, ties keeping their original order.

Marginal scoring (``AnswerScoring.MARGINAL``): merged the same way, but an answer's score is the model's
marginal probability of its text, ``sum over its occurrences of P(passage) * P_start(i) * P_end(j)``
(``meta["span_probability"]`` is the second factor): the answer distribution that DPR's two losses train,
the passage-selection softmax times the span softmaxes. A string found in several passages, or found
with confidence in a passage ranked second, can then beat a weak span of the first passage.

Answers that repeat the question (``DPRSpanReader(skip_question_words=True)``): a span whose SQuAD-normalised
words (:func:`dpr_components.evaluation.answers.normalize_answer`, the evaluation's own normalisation) all occur
in the question is skipped during span selection, so the passage's next best span takes its place. A question's
own words are almost never its answer ("Who wrote Animal Farm?" -> "Animal Farm"), yet a briefly trained
reader often returns them. Off by default (DPR does not do it).

Example::

    from dpr_components.readers.answers import merge_identical_answers, question_words, repeats_question
    answers = merge_identical_answers(answers)   # answers from DPRSpanReader.predict(...)["answers"]
    repeats_question("the Animal Farm", question_words("Who wrote Animal Farm?"))    # True
    repeats_question("George Orwell", question_words("Who wrote Animal Farm?"))      # False
"""
import math
from dataclasses import replace
from typing import Dict, FrozenSet, List

from haystack.schema import Answer, Document, Span

from dpr_components.evaluation.answers import normalize_answer
from dpr_components.readers.inputs import TokenizedText, character_span
from dpr_components.readers.spans import ChosenSpan, SpanFilter
from dpr_components.utils.choices import Choice

CONTEXT_WINDOW_CHARS = 150


class AnswerScoring(Choice):
    """How ``DPRSpanReader`` orders and scores answers.

    ``passage``: DPR's order (best passage by relevance, then its spans), score = the passage's probability.
    ``marginal``: one answer per distinct text, scored and ordered by its marginal probability (see above).
    """

    PASSAGE = "passage"
    MARGINAL = "marginal"


def context_window(text: str, start: int, end: int, size: int = CONTEXT_WINDOW_CHARS) -> tuple:
    """``(context_start, context_end)``: about ``size`` characters of ``text`` centred on ``[start, end)``."""
    margin = max(0, size - (end - start)) // 2
    return max(0, start - margin), min(len(text), end + margin)


def build_answer(document: Document, tokens: TokenizedText, span: ChosenSpan, probability: float,
                 relevance_logit: float, relevance_rank: int) -> Answer:
    """The answer for ``span`` (passage token indices), cut from the document's own text."""
    start, end = character_span(document.content, tokens, span.start, span.end)
    context_start, context_end = context_window(document.content, start, end)
    return Answer(
        answer=document.content[start:end],
        type="extractive",
        score=probability,
        context=document.content[context_start:context_end],
        offsets_in_document=[Span(start, end)],
        offsets_in_context=[Span(start - context_start, end - context_start)],
        document_ids=[document.id],
        meta={
            "relevance_logit": relevance_logit,
            "relevance_rank": relevance_rank,
            "span_score": span.score,
            "span_probability": math.exp(span.log_probability),
            "start_logit": span.start_logit,
            "end_logit": span.end_logit,
        },
    )


def question_words(question: str) -> FrozenSet[str]:
    """The question's SQuAD-normalised words."""
    return frozenset(normalize_answer(question).split())


def repeats_question(answer: str, words: FrozenSet[str]) -> bool:
    """True when every SQuAD-normalised word of ``answer`` is one of the question's ``words``; also when no word
    is left ("the", ","), since such an answer can never be right."""
    return set(normalize_answer(answer).split()) <= words


def question_word_filter(words: FrozenSet[str], text: str, tokens: TokenizedText) -> SpanFilter:
    """A span filter over ``tokens`` (the tokens of ``text``) keeping the spans that do not repeat the question."""
    def keep(start: int, end: int) -> bool:
        first, last = character_span(text, tokens, start, end)  # the text build_answer would return
        return not repeats_question(text[first:last], words)

    return keep


def merge_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def merge_identical_answers(answers: List[Answer], marginal: bool = False) -> List[Answer]:
    """One answer per distinct text: score summed over distinct passages, or the marginal probability
    with ``marginal=True`` (see the module docstring)."""
    groups: Dict[str, List[Answer]] = {}
    for answer in answers:
        groups.setdefault(merge_key(answer.answer), []).append(answer)
    merged = []
    for group in groups.values():
        if marginal:
            contribution = [a.score * a.meta["span_probability"] for a in group]
            best, score = group[max(range(len(group)), key=contribution.__getitem__)], sum(contribution)
        else:
            passage_probability: Dict[str, float] = {}
            for answer in group:
                passage_probability.setdefault(answer.document_ids[0], answer.score)
            best, score = group[0], sum(passage_probability.values())
        others = [
            {
                "document_id": answer.document_ids[0],
                "offsets_in_document": {"start": answer.offsets_in_document[0].start,
                                        "end": answer.offsets_in_document[0].end},
                "relevance_rank": answer.meta["relevance_rank"],
                "span_score": answer.meta["span_score"],
            }
            for answer in group if answer is not best
        ]
        merged.append(replace(best, score=float(score),
                              meta={**best.meta, "merged_answers": others}))
    return sorted(merged, key=lambda answer: -answer.score)
