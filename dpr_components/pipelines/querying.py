"""Questions through a query pipeline, in batches: what ``dpr-components retrieve`` and ``ask`` run.

:func:`load_query_pipeline` reads the config once, refuses a store that was never built or holds no
passages, and builds the pipeline. :func:`run_queries` sends questions through ``Pipeline.run_batch`` in
batches (as evaluation does) and returns plain dicts (:func:`dpr_components.pipelines.results.result_to_dict`).
:func:`read_question_texts` reads a question file: one question a line, or the jsonl / DPR qas files that
``eval`` reads.

Usage::

    from dpr_components.pipelines import load_query_pipeline, run_queries

    loaded = load_query_pipeline("hybrid_qa", store="wiki_store")
    for result in run_queries(loaded, ["who wrote animal farm?"], top_k=3):
        print(result["query"], [answer["answer"] for answer in result.get("answers", [])])
"""
import inspect
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from dpr_components.errors import ConfigurationError
from dpr_components.evaluation.runner import per_query
from dpr_components.pipelines.loading import (
    LoadedPipeline,
    PipelineSource,
    load_pipeline,
    read_pipeline_config,
    require_existing_stores,
    require_passages,
)
from dpr_components.pipelines.overrides import Overrides
from dpr_components.pipelines.results import result_to_dict
from dpr_components.utils.validation import optional_positive_int, positive_int

DEFAULT_BATCH_SIZE = 32


def load_query_pipeline(
    pipeline: PipelineSource,
    pipeline_name: Optional[str] = None,
    store: Optional[str] = None,
    overrides: Optional[Overrides] = (),
    environ: Optional[Mapping[str, str]] = None,
) -> LoadedPipeline:
    """A built query pipeline (root ``Query``) over an existing, non-empty store."""
    from dpr_components.pipelines.store_encoder import with_store_encoder

    config = read_pipeline_config(pipeline, pipeline_name, store, overrides, environ)
    require_existing_stores(config)
    loaded = load_pipeline(with_store_encoder(config)).require_root("Query", "a query pipeline")
    require_passages(loaded)
    return loaded


def top_k_params(loaded: LoadedPipeline, top_k: int) -> Dict[str, Dict[str, int]]:
    """Run params giving the pipeline's output node(s) ``top_k`` results (``top_k_join`` for join nodes)."""
    top_k = positive_int("top_k (--top-k)", top_k)
    params: Dict[str, Dict[str, int]] = {}
    for name in loaded.output_nodes:
        accepted = inspect.signature(loaded.node(name).run).parameters
        key = next((k for k in ("top_k", "top_k_join") if k in accepted), None)
        if key is None:
            raise ConfigurationError(f"--top-k: the pipeline's output node {name!r} takes no top_k.")
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


def run_queries(
    pipeline: Union[LoadedPipeline, PipelineSource],
    questions: Iterable[str],
    top_k: Optional[int] = None,
    filters: Optional[Dict[str, Any]] = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    store: Optional[str] = None,
    overrides: Optional[Overrides] = (),
) -> List[Dict[str, Any]]:
    """Each question's result as a plain dict, in order; ``pipeline`` is loaded with
    :func:`load_query_pipeline` unless it is a :class:`LoadedPipeline` already."""
    top_k = optional_positive_int("top_k (--top-k)", top_k)
    batch_size = positive_int("batch_size", batch_size)
    questions = [q for q in questions if q and q.strip()]
    if not questions:
        raise ConfigurationError("No question given: pass one or more questions, or --questions-file FILE.")
    loaded = pipeline if isinstance(pipeline, LoadedPipeline) else load_query_pipeline(
        pipeline, store=store, overrides=overrides)
    run_params: Dict[str, Any] = top_k_params(loaded, top_k) if top_k is not None else {}
    if filters:
        run_params["filters"] = filters
    results = []
    for start in range(0, len(questions), batch_size):
        batch = questions[start : start + batch_size]
        output = loaded.pipeline.run_batch(queries=batch, params=run_params or None)
        empty = [[] for _ in batch]
        for position, query in enumerate(batch):
            result = {"query": query, "documents": per_query(output.get("documents") or empty, len(batch))[position]}
            if "answers" in output:
                result["answers"] = per_query(output["answers"] or empty, len(batch))[position]
            results.append(result_to_dict(result))
    return results

