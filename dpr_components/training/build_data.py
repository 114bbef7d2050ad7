"""Training data by distant supervision: retrieve passages for questions, label them with DPR's ``has_answer``.

For each question (text + answers) the top-k passages of a retrieval pipeline are labelled as DPR does
(:func:`dpr_components.evaluation.answers.has_answer`: NFD, regex tokens, lower case; regex answers for
CuratedTREC-style question sets): passages holding an answer become ``positive_ctxs``, the others
``hard_negative_ctxs`` (retrieved but without the answer: DPR's name for such negatives), in retrieval order
with their scores. A question without any positive is skipped and counted, as DPR's preprocessing does.
``max_positives`` keeps only the highest-ranked positives (DPR's preprocessing has the same cap; the others
are dropped, not made negatives): with distant supervision a lower-ranked passage that holds the answer string
is more often a spurious match (a year, a common name).
For regex questions the answers written are the texts the patterns matched in the positives, so a reader
can locate them.

Example::

    from dpr_components.training.build_data import build_training_data

    stats = build_training_data(["pyserini:nq-dev"], "nq-dev-train.jsonl", pipeline="bm25_retrieval",
                                store="my_store", top_k=20, exclude=["mini/dev.jsonl"])
    print(stats.describe())   # "... of ... questions written; ... skipped without a positive passage; ..."

    # or with any retrieval function (questions -> documents per question):
    examples, stats = build_training_examples(questions, retrieve=pipeline_retriever("hybrid_retrieval", "my_store"))
"""
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, List, Optional, Sequence, Set, Tuple

import numpy as np
import regex
from haystack.schema import Document
from tqdm import tqdm

from dpr_components.errors import ConfigurationError
from dpr_components.evaluation.answers import has_answer
from dpr_components.evaluation.questions import Question
from dpr_components.training.data import Context, TrainingExample, write_examples
from dpr_components.utils.validation import optional_positive_int

Retrieve = Callable[[List[str]], List[List[Document]]]
_WORD_CHARACTER = regex.compile(r"[\p{L}\p{N}]")


@dataclass
class BuildStats:
    questions: int = 0  # questions read
    excluded: int = 0  # dropped because they are in an excluded set (e.g. the evaluation's dev questions)
    no_positive: int = 0  # skipped: no retrieved passage holds an answer
    written: int = 0

    def describe(self) -> str:
        return (f"{self.written} of {self.questions} questions written; {self.no_positive} skipped without a "
                f"positive passage; {self.excluded} excluded.")


def question_key(text: str) -> str:
    """How questions are compared for exclusion: case, accents and spacing ignored."""
    return " ".join(unicodedata.normalize("NFKD", text).casefold().split())


def regex_matches(patterns: Iterable[str], text: str) -> List[str]:
    """The texts that the (case-insensitive) ``patterns`` match in ``text``."""
    found: List[str] = []
    normalized = unicodedata.normalize("NFC", text)
    for pattern in patterns:
        try:
            compiled = regex.compile(pattern, flags=regex.IGNORECASE | regex.UNICODE)
        except regex.error:
            continue
        found.extend(m.group() for m in compiled.finditer(normalized) if m.group().strip())
    return found


def _context(document: Document, title_field: str, positive: bool) -> Context:
    title = str((document.meta or {}).get(title_field) or "")
    return Context(title, document.content, str(document.id),
                   None if document.score is None else float(document.score), positive)


def label_question(question: Question, documents: Sequence[Document], title_field: str = "name",
                   max_negatives: Optional[int] = None, max_positives: Optional[int] = None
                   ) -> Optional[TrainingExample]:
    """The question's training example from its retrieved ``documents``; None when none holds an answer.

    A string answer without a letter or digit (NQ has a few, such as ``"("``) is not an answer a reader can
    learn from: it would make any passage with that character a positive, so it is ignored.
    """
    documents = [d for d in documents if isinstance(d.content, str) and d.content.strip()]
    if question.match != "regex":
        question = replace(question, answers=[a for a in question.answers if _WORD_CHARACTER.search(a)])
    labels = [has_answer(question.answers, d.content, question.match) for d in documents]
    positives = [_context(d, title_field, True) for d, label in zip(documents, labels) if label][:max_positives]
    if not positives:
        return None
    negatives = [_context(d, title_field, False) for d, label in zip(documents, labels) if not label]
    answers: Tuple[str, ...] = tuple(question.answers)
    if question.match == "regex":
        answers = tuple(dict.fromkeys(m for c in positives for m in regex_matches(question.answers, c.text)))
        if not answers:
            return None
    return TrainingExample(question.question, answers, positive_ctxs=tuple(positives),
                           hard_negative_ctxs=tuple(negatives[:max_negatives]))


def build_training_examples(questions: Sequence[Question], retrieve: Retrieve, title_field: str = "name",
                            batch_size: int = 64, exclude: Iterable[str] = (), max_negatives: Optional[int] = None,
                            max_positives: Optional[int] = None, progress_bar: bool = False
                            ) -> Tuple[List[TrainingExample], BuildStats]:
    """Label the retrieved passages of ``questions``; questions in ``exclude`` (texts) are left out."""
    optional_positive_int("max_negatives", max_negatives, minimum=0)
    optional_positive_int("max_positives", max_positives)
    excluded: Set[str] = {question_key(text) for text in exclude}
    stats = BuildStats(questions=len(questions))
    kept = [q for q in questions if question_key(q.question) not in excluded]
    stats.excluded = len(questions) - len(kept)
    examples: List[TrainingExample] = []
    starts = range(0, len(kept), batch_size)
    for start in tqdm(starts, desc="labelling", unit="batch", disable=not progress_bar):
        batch = kept[start:start + batch_size]
        for question, documents in zip(batch, retrieve([q.question for q in batch])):
            example = label_question(question, documents, title_field, max_negatives, max_positives)
            if example is None:
                stats.no_positive += 1
            else:
                examples.append(example)
    stats.written = len(examples)
    return examples, stats


def pipeline_retriever(pipeline: Any, store: Optional[str] = None, overrides: Sequence[str] = (), top_k: int = 20,
                       pipeline_name: Optional[str] = None) -> Retrieve:
    """Questions -> their top-k documents, through any retrieval pipeline (name, YAML path or PipelineConfig)."""
    from dpr_components.pipelines import load_query_pipeline, top_k_params

    loaded = load_query_pipeline(pipeline, pipeline_name=pipeline_name, store=store, overrides=overrides)
    params = top_k_params(loaded, top_k)

    def retrieve(questions: List[str]) -> List[List[Document]]:
        return loaded.pipeline.run_batch(queries=questions, params=params)["documents"]

    return retrieve


def passage_retriever(passages: Sequence[dict], top_k: int = 20, title_field: str = "name") -> Retrieve:
    """Questions -> their BM25 top-k of in-memory ``passages`` (``{"id", "title", "text"}``), no store needed.

    The BM25 is the store's own (:class:`dpr_components.stores.bm25_index.BM25Index`: title + text, stemmed,
    k1 0.9, b 0.4), so labels match what ``--pipeline bm25_retrieval`` over a store of these passages gives.
    """
    from dpr_components.stores.bm25_index import WIKIPEDIA_B, WIKIPEDIA_K1, BM25Index

    optional_positive_int("top_k", top_k)
    index = BM25Index.build(np.arange(len(passages)), [f"{p['title']} {p['text']}" for p in passages],
                            WIKIPEDIA_K1, WIKIPEDIA_B)

    def document(row: int, score: float) -> Document:
        passage = passages[row]
        return Document(passage["text"], id=str(passage["id"]), meta={title_field: passage["title"]}, score=score)

    def retrieve(questions: List[str]) -> List[List[Document]]:
        return [[document(row, float(score)) for score, row in zip(*index.search(question, top_k))]
                for question in questions]

    return retrieve


def build_training_data(question_files: Sequence[str], output: str, pipeline: Any = "hybrid_retrieval",
                        store: Optional[str] = None, overrides: Sequence[str] = (), top_k: int = 20,
                        exclude: Sequence[str] = (), limit: Optional[int] = None,
                        pipeline_name: Optional[str] = None, max_positives: Optional[int] = None,
                        progress_bar: bool = False, corpus: Optional[str] = None) -> BuildStats:
    """``build-training-data``: label the retrieved passages of the questions files, write ``output`` atomically.

    Passages come from ``pipeline`` over ``store``, or with ``corpus`` (a file or directory ``index`` reads) from
    BM25 over that corpus's passages held in memory (:func:`passage_retriever`: no store or encoder needed).
    """
    from dpr_components.evaluation.questions import load_questions
    from dpr_components.preprocessing.passages import corpus_passages

    if corpus is not None and store is not None:
        raise ConfigurationError("Give either a corpus (labelled with in-memory BM25) or a store, not both.")
    questions = [q for path in question_files for q in load_questions(path)][:limit]
    excluded = [q.question for path in exclude for q in load_questions(path)]
    retrieve = (passage_retriever(list(corpus_passages(corpus)), top_k) if corpus is not None
                else pipeline_retriever(pipeline, store, overrides, top_k, pipeline_name))
    examples, stats = build_training_examples(questions, retrieve, exclude=excluded, max_positives=max_positives,
                                              progress_bar=progress_bar)
    write_examples(output, examples)
    return stats
