"""Run a Haystack retrieval or QA pipeline over a question set and score it the way DPR does.

``evaluate_pipeline`` sends the questions through ``pipeline.run_batch(queries=..., params=...)`` in
batches, keeps each question's ranked documents (id, score, title, text, per-source ``meta["fusion"]``
scores when a fusion node made them) and the top answer when the pipeline has a reader, then marks every
document with DPR's ``has_answer`` (passage text only, title excluded). The result gives top-k accuracy, MRR,
first-hit ranks, EM and F1, renders a table, and writes one JSON line per question so that runs can be
compared, plotted and fused later (``EvaluationResult.read_jsonl`` reads them back).

Usage::

    from haystack import Pipeline
    from haystack.document_stores import InMemoryDocumentStore
    from haystack.nodes import BM25Retriever
    from dpr_components.evaluation import evaluate_pipeline, load_questions

    store = InMemoryDocumentStore(use_bm25=True)
    store.write_documents([{"content": "Paris is the capital of France.", "meta": {"name": "Paris"}}])
    pipeline = Pipeline()
    pipeline.add_node(BM25Retriever(document_store=store), name="Retriever", inputs=["Query"])
    result = evaluate_pipeline(pipeline, load_questions("dev.jsonl"), params={"Retriever": {"top_k": 100}},
                               name="bm25", output_path="runs/bm25.dev.jsonl")
    print(result.table())
"""
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple, Union

from dpr_components.errors import ConfigurationError, DPRComponentsError
from dpr_components.evaluation.answers import exact_match, f1_score, has_answer
from dpr_components.evaluation.metrics import TOP_KS, first_hit_rank, mean, mean_reciprocal_rank, top_k_accuracy
from dpr_components.evaluation.questions import Question
from dpr_components.schema import TITLE_FIELD
from dpr_components.utils.validation import positive_int


class PipelineOutputError(DPRComponentsError, ValueError):
    """A pipeline's output has neither ranked documents nor answers to evaluate."""


@dataclass
class RankedDocument:
    """One retrieved passage as the evaluation keeps it."""

    id: str
    score: Optional[float]
    has_answer: bool
    title: Optional[str] = None
    content: Optional[str] = None
    fusion: Optional[Dict[str, Any]] = None

    def to_dict(self, include_content: bool = False) -> Dict[str, Any]:
        record: Dict[str, Any] = {
            "id": self.id, "score": self.score, "has_answer": self.has_answer, "title": self.title,
        }
        if self.fusion is not None:
            record["fusion"] = self.fusion
        if include_content:
            record["content"] = self.content
        return record


@dataclass
class QuestionResult:
    """What a pipeline returned for one question, with the per-question scores."""

    question: Question
    documents: List[RankedDocument] = field(default_factory=list)
    predicted_answer: Optional[str] = None
    answer_score: Optional[float] = None

    @property
    def first_hit_rank(self) -> Optional[int]:
        return first_hit_rank(document.has_answer for document in self.documents)

    @property
    def exact_match(self) -> float:
        if self.predicted_answer is None:
            return 0.0
        return float(exact_match(self.predicted_answer, self.question.answers, self.question.match))

    @property
    def f1(self) -> float:
        if self.predicted_answer is None:
            return 0.0
        return f1_score(self.predicted_answer, self.question.answers, self.question.match)

    def to_dict(self, include_content: bool = False) -> Dict[str, Any]:
        record = self.question.to_dict()
        record.update(
            first_hit_rank=self.first_hit_rank,
            predicted_answer=self.predicted_answer,
            answer_score=self.answer_score,
            documents=[document.to_dict(include_content) for document in self.documents],
        )
        if self.predicted_answer is not None:
            record.update(exact_match=self.exact_match, f1=self.f1)
        return record

    @classmethod
    def from_dict(cls, record: Dict[str, Any]) -> "QuestionResult":
        question = Question(
            id=record["id"], question=record["question"], answers=record["answers"],
            match=record.get("match", "string"), meta=record.get("meta") or {},
        )
        documents = [
            RankedDocument(
                id=doc["id"], score=doc.get("score"), has_answer=bool(doc["has_answer"]), title=doc.get("title"),
                content=doc.get("content"), fusion=doc.get("fusion"),
            )
            for doc in record.get("documents", [])
        ]
        return cls(question, documents, record.get("predicted_answer"), record.get("answer_score"))


@dataclass
class EvaluationResult:
    """Per-question results of one run plus the aggregate metrics."""

    name: str
    results: List[QuestionResult]
    has_reader: bool = False
    ks: Sequence[int] = TOP_KS

    @property
    def first_hit_ranks(self) -> List[Optional[int]]:
        return [result.first_hit_rank for result in self.results]

    @property
    def top_k(self) -> Dict[int, float]:
        return top_k_accuracy(self.first_hit_ranks, self.ks)

    @property
    def mrr(self) -> float:
        return mean_reciprocal_rank(self.first_hit_ranks)

    @property
    def exact_match(self) -> Optional[float]:
        return mean([result.exact_match for result in self.results]) if self.has_reader else None

    @property
    def f1(self) -> Optional[float]:
        return mean([result.f1 for result in self.results]) if self.has_reader else None

    def summary(self) -> Dict[str, Any]:
        """Aggregate numbers as a JSON-friendly dict (accuracies as fractions)."""
        summary: Dict[str, Any] = {"name": self.name, "questions": len(self.results), "mrr": self.mrr}
        summary.update({f"top_{k}": value for k, value in self.top_k.items()})
        if self.has_reader:
            summary.update(exact_match=self.exact_match, f1=self.f1)
        return summary

    def table(self) -> str:
        """A markdown table of this run's metrics (percentages)."""
        return results_table([self], self.ks)

    def ranked_ids(self) -> Dict[str, List[str]]:
        """Question id -> ranked document ids (the input a fusion sweep needs from each source)."""
        return {result.question.id: [document.id for document in result.documents] for result in self.results}

    def ranked_lists(self) -> List[List[Tuple[str, Optional[float]]]]:
        """Per question, in question order: ``[(doc_id, score), ...]`` best first (a fusion sweep's input)."""
        return [[(document.id, document.score) for document in result.documents] for result in self.results]

    def answer_doc_ids(self) -> Dict[str, Set[str]]:
        """Question id -> ids of the retrieved documents that have the answer."""
        return {
            result.question.id: {document.id for document in result.documents if document.has_answer}
            for result in self.results
        }

    def write_jsonl(self, path: Union[str, Path], include_content: bool = False) -> Path:
        """One JSON object per question: question, answers, ranked documents, first-hit rank, predicted answer."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8") as handle:
            for result in self.results:
                handle.write(json.dumps(result.to_dict(include_content), ensure_ascii=False) + "\n")
        return path

    @classmethod
    def read_jsonl(
        cls, path: Union[str, Path], name: Optional[str] = None, ks: Sequence[int] = TOP_KS
    ) -> "EvaluationResult":
        """Read back a run written by ``write_jsonl`` (its name defaults to the file name without suffixes)."""
        path = Path(path)
        with open(path, encoding="utf-8") as handle:
            records = [json.loads(line) for line in handle if line.strip()]
        results = [QuestionResult.from_dict(record) for record in records]
        has_reader = any("exact_match" in record or record.get("predicted_answer") is not None for record in records)
        return cls(name or path.name.split(".")[0], results, has_reader, ks)


def union_answer_doc_ids(runs: Sequence[EvaluationResult]) -> List[Set[str]]:
    """Per question (order of the first run): ids of answer-bearing documents retrieved by any of the runs.

    A fusion of these runs only reorders the union of their lists, so this set decides every fused hit.
    """
    if not runs:
        return []
    question_ids = [result.question.id for result in runs[0].results]
    for run in runs[1:]:
        if [result.question.id for result in run.results] != question_ids:
            raise ConfigurationError(
                f"Runs {runs[0].name!r} and {run.name!r} cover different questions or orders: evaluate every run "
                "on the same question file (same limit).")
    per_run = [run.answer_doc_ids() for run in runs]
    return [set().union(*(answer_ids[question_id] for answer_ids in per_run)) for question_id in question_ids]


def results_table(runs: Sequence[EvaluationResult], ks: Sequence[int] = TOP_KS) -> str:
    """Markdown table comparing runs: top-k accuracy (%), MRR, and EM/F1 (%) when any run has a reader."""
    with_reader = any(run.has_reader for run in runs)
    header = ["run", "questions"] + [f"top-{k}" for k in ks] + ["MRR"] + (["EM", "F1"] if with_reader else [])
    alignment = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(alignment) + "|"]
    for run in runs:
        accuracy = top_k_accuracy(run.first_hit_ranks, ks)
        cells = [run.name, str(len(run.results))] + [f"{100 * accuracy[k]:.1f}" for k in ks] + [f"{run.mrr:.3f}"]
        if with_reader:
            em, f1 = run.exact_match, run.f1  # None without a reader
            cells += [f"{100 * em:.1f}", f"{100 * f1:.1f}"] if em is not None and f1 is not None else ["-", "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def per_query(value: Any, count: int) -> List[Any]:
    """One list per query from a ``run_batch`` output value (a batch of one may come back flat)."""
    if count == 1 and value and not isinstance(value[0], list):
        return [value]
    return value


def _ranked_documents(documents: Sequence[Any], question: Question, title_field: str) -> List[RankedDocument]:
    ranked = []
    for document in documents:
        content = document.content if isinstance(document.content, str) else ""
        meta = document.meta or {}
        ranked.append(
            RankedDocument(
                id=str(document.id),
                score=None if document.score is None else float(document.score),
                has_answer=has_answer(question.answers, content, question.match),
                title=meta.get(title_field),
                content=content,
                fusion=meta.get("fusion"),
            )
        )
    return ranked


def evaluate_pipeline(
    pipeline: Any,
    questions: Sequence[Question],
    params: Optional[Dict[str, Any]] = None,
    batch_size: int = 32,
    name: str = "run",
    title_field: str = TITLE_FIELD,
    output_path: Optional[Union[str, Path]] = None,
    include_content: bool = False,
    ks: Sequence[int] = TOP_KS,
    progress_bar: bool = False,
) -> EvaluationResult:
    """Evaluate a Haystack retrieval or QA pipeline over ``questions`` (see the module docstring)."""
    batch_size = positive_int("batch_size", batch_size)
    batches = range(0, len(questions), batch_size)
    if progress_bar:
        from tqdm import tqdm

        batches = tqdm(batches, desc=f"Evaluating {name}", unit="batch")
    results: List[QuestionResult] = []
    has_reader = False
    for start in batches:
        batch = list(questions[start : start + batch_size])
        output = pipeline.run_batch(queries=[question.question for question in batch], params=params or {})
        if "documents" not in output and "answers" not in output:
            raise PipelineOutputError(
                f"The pipeline's output has keys {sorted(output)}; evaluation needs 'documents' (a retriever) "
                "and/or 'answers' (a reader). End the pipeline with a retriever, a fusion node or a reader."
            )
        documents = per_query(output.get("documents") or [[] for _ in batch], len(batch))
        answers = output.get("answers")
        has_reader = has_reader or answers is not None
        answers = per_query(answers or [[] for _ in batch], len(batch))
        for question, question_documents, question_answers in zip(batch, documents, answers):
            top_answer = question_answers[0] if question_answers else None
            results.append(
                QuestionResult(
                    question=question,
                    documents=_ranked_documents(question_documents, question, title_field),
                    predicted_answer=None if top_answer is None else top_answer.answer,
                    answer_score=None if top_answer is None or top_answer.score is None else float(top_answer.score),
                )
            )
    result = EvaluationResult(name, results, has_reader, ks)
    if output_path is not None:
        result.write_jsonl(output_path, include_content)
    return result
