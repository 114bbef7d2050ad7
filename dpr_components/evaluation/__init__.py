"""Evaluation measured as the DPR literature reports it: answer matching, metrics, runner, plots."""
from dpr_components.evaluation.answers import (
    MatchMode,
    dpr_tokens,
    exact_match,
    f1_score,
    has_answer,
    normalize_answer,
)
from dpr_components.evaluation.metrics import (
    TOP_KS,
    first_hit_rank,
    first_relevant_rank,
    mean_reciprocal_rank,
    top_k_accuracy,
)
from dpr_components.evaluation.plot import plot_accuracy_vs_k
from dpr_components.evaluation.questions import (
    Question,
    QuestionFileError,
    load_pyserini_topics,
    load_questions,
    write_questions,
)
from dpr_components.evaluation.runner import (
    EvaluationResult,
    QuestionResult,
    RankedDocument,
    evaluate_pipeline,
    results_table,
    union_answer_doc_ids,
)

__all__ = [
    "MatchMode",
    "dpr_tokens",
    "exact_match",
    "f1_score",
    "has_answer",
    "normalize_answer",
    "TOP_KS",
    "first_hit_rank",
    "first_relevant_rank",
    "mean_reciprocal_rank",
    "top_k_accuracy",
    "plot_accuracy_vs_k",
    "Question",
    "QuestionFileError",
    "load_pyserini_topics",
    "load_questions",
    "write_questions",
    "EvaluationResult",
    "QuestionResult",
    "RankedDocument",
    "evaluate_pipeline",
    "results_table",
    "union_answer_doc_ids",
]
