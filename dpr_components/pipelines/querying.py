"""Questions through a query pipeline, in batches: what ``Workspace.query`` (``retrieve``, ``ask``) runs.

:func:`run_queries` sends questions through ``Pipeline.run_batch`` in batches (as evaluation does) and
returns plain dicts (:func:`dpr_components.pipelines.results.result_to_dict`, titles read from the store's
passage schema). :func:`read_question_texts` reads a question file: one question a line, or the jsonl / DPR
qas files that ``eval`` reads.

Usage::

    from dpr_components.workspace import Workspace

    with Workspace("wiki_store", read_only=True) as workspace:
        for result in workspace.query(["who wrote animal farm?"], "hybrid_qa", top_k=3):
            print(result["query"], [answer["answer"] for answer in result.get("answers", [])])
"""
import inspect
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Union

from dpr_components.errors import ConfigurationError
from dpr_components.pipelines.loading import LoadedPipeline
from dpr_components.pipelines.results import result_to_dict
from dpr_components.schema import PASSAGES, PassageSchema
from dpr_components.utils.validation import optional_positive_int, positive_int

DEFAULT_BATCH_SIZE = 32


def top_k_params(loaded: LoadedPipeline, top_k: int) -> Dict[str, Dict[str, int]]:
    """Run params giving the pipeline's output node(s) ``top_k`` results (``top_k_join`` for join nodes)."""
    top_k = positive_int("top_k", top_k)
    params: Dict[str, Dict[str, int]] = {}
    for name in loaded.output_nodes:
        accepted = inspect.signature(loaded.node(name).run).parameters
        key = next((k for k in ("top_k", "top_k_join") if k in accepted), None)
        if key is None:
            raise ConfigurationError(f"top_k: the pipeline's output node {name!r} takes no top_k.", parameter="top_k")
        params[name] = {key: top_k}
    return params


def read_question_texts(path: Union[str, Path]) -> List[str]:
    """Questions of a file: one a line, or a jsonl / DPR qas / ``pyserini:NAME`` question set (as ``eval``)."""
    from dpr_components.evaluation.questions import QuestionFileError, is_question_set, load_questions
    from dpr_components.utils.text_files import read_utf8

    if str(path).startswith("pyserini:"):
        return [question.question for question in load_questions(path)]
    if not Path(path).is_file():
        raise QuestionFileError(f"Question file {str(path)!r} does not exist: give a file with one question a line.")
    text = read_utf8(path, "question file")
    if is_question_set(text):
        return [question.question for question in load_questions(path)]
    return [line.strip() for line in text.splitlines() if line.strip()]


def question_list(questions: Iterable[str]) -> List[str]:
    """The non-blank questions, or an error when there are none."""
    questions = [q for q in questions if q and q.strip()]
    if not questions:
        raise ConfigurationError("No question given: give one or more questions.", parameter="questions")
    return questions


def run_queries(loaded: LoadedPipeline, questions: Iterable[str], top_k: Optional[int] = None,
                filters: Optional[Dict[str, Any]] = None, batch_size: int = DEFAULT_BATCH_SIZE,
                schema: PassageSchema = PASSAGES) -> List[Dict[str, Any]]:
    """Each question's result as a plain dict, in order."""
    from dpr_components.evaluation.runner import per_query

    top_k = optional_positive_int("top_k", top_k)
    batch_size = positive_int("batch_size", batch_size)
    questions = question_list(questions)
    run_params: Dict[str, Any] = top_k_params(loaded, top_k) if top_k is not None else {}
    if filters:
        run_params["filters"] = filters
    results = []
    for start in range(0, len(questions), batch_size):
        batch = questions[start : start + batch_size]
        output = loaded.pipeline.run_batch(queries=batch, params=run_params or None)
        empty: List[List[Any]] = [[] for _ in batch]
        for position, query in enumerate(batch):
            result = {"query": query, "documents": per_query(output.get("documents") or empty, len(batch))[position]}
            if "answers" in output:
                result["answers"] = per_query(output["answers"] or empty, len(batch))[position]
            results.append(result_to_dict(result, schema))
    return results
