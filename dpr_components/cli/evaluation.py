"""``dpr-components eval`` and ``sweep``: score a pipeline on a question set; tune its fusion on dev questions.

``eval`` runs the pipeline over the questions with :func:`dpr_components.evaluation.evaluate_pipeline` (DPR's
``has_answer`` on passage text, top-k accuracy, MRR, EM/F1 with a reader). ``sweep`` retrieves once per
source of the pipeline's :class:`HybridFusion` node (e.g. BM25 and DPR, ``depth`` passages each, raw scores),
then scores a grid of fusion settings offline with :mod:`dpr_components.fusion.sweep` and prints the best as
``--param Fusion....`` overrides.

Usage::

    from dpr_components.cli.evaluation import evaluate, sweep_fusion

    result = evaluate("hybrid_retrieval", "data/mini_wikipedia/dev.jsonl", store="mini_store")
    print(result.table())
    report = sweep_fusion("hybrid_retrieval", "data/mini_wikipedia/dev.jsonl", store="mini_store")
    print(report["table"], report["best"]["params"])
"""
from typing import Any, Dict, Iterable, List, Optional, Sequence

from dpr_components.errors import ConfigurationError

DEFAULT_EVAL_DEPTH = 100


def _questions(questions: str, limit: Optional[int]) -> List[Any]:
    from dpr_components.evaluation import load_questions

    loaded = load_questions(questions)
    return loaded[:limit] if limit else loaded


def _load(pipeline: str, params: Iterable[str], store: Optional[str], pipeline_name: Optional[str]) -> Any:
    from dpr_components.cli.pipeline_config import load_pipeline
    from dpr_components.cli.querying import check_store_exists, check_store_not_empty

    check_store_exists(pipeline, params, store)
    query_pipeline = load_pipeline(pipeline, params=params, store=store, pipeline_name=pipeline_name)
    check_store_not_empty(query_pipeline)
    return query_pipeline


def evaluate(
    pipeline: str,
    questions: str,
    store: Optional[str] = None,
    params: Iterable[str] = (),
    top_k: Optional[int] = None,
    name: Optional[str] = None,
    output: Optional[str] = None,
    batch_size: int = 32,
    limit: Optional[int] = None,
    pipeline_name: Optional[str] = None,
    progress_bar: bool = True,
) -> Any:
    """An :class:`EvaluationResult` for the pipeline on ``questions`` (a file or ``pyserini:NAME``).

    ``top_k`` sets the output node's result count; without it a retriever or fusion output returns
    ``DEFAULT_EVAL_DEPTH`` passages (so top-100 accuracy is measured) and a reader keeps its YAML setting.
    """
    from haystack.nodes import BaseReader

    from dpr_components.cli.pipeline_config import resolve_pipeline_path
    from dpr_components.cli.querying import output_node_names, top_k_params
    from dpr_components.evaluation import evaluate_pipeline

    question_list = _questions(questions, limit)
    query_pipeline = _load(pipeline, params, store, pipeline_name)
    outputs = [query_pipeline.get_node(n) for n in output_node_names(query_pipeline)]
    if top_k is None and not any(isinstance(node, BaseReader) for node in outputs):
        top_k = DEFAULT_EVAL_DEPTH
    run_params = top_k_params(query_pipeline, top_k) if top_k is not None else {}
    return evaluate_pipeline(query_pipeline, question_list, params=run_params, batch_size=batch_size,
                             name=name or resolve_pipeline_path(pipeline).stem, output_path=output,
                             progress_bar=progress_bar)


def fusion_sources(query_pipeline: Any) -> tuple:
    """The pipeline's HybridFusion node name and its input node names, in the order of its weights."""
    from dpr_components.fusion.hybrid_fusion import HybridFusion

    fusions = [name for name in query_pipeline.graph.nodes
               if isinstance(query_pipeline.get_node(name), HybridFusion)]
    if len(fusions) != 1:
        raise ConfigurationError(
            f"sweep needs a pipeline with exactly one HybridFusion node; found {len(fusions)}. "
            "Use hybrid_retrieval (or another YAML whose retrievers feed one HybridFusion)."
        )
    fusion = query_pipeline.get_node(fusions[0])
    sources = fusion.source_names or list(query_pipeline.graph.predecessors(fusions[0]))
    return fusions[0], sources


def sweep_fusion(
    pipeline: str,
    questions: str,
    store: Optional[str] = None,
    params: Iterable[str] = (),
    depth: int = DEFAULT_EVAL_DEPTH,
    modes: Sequence[str] = ("linear", "rrf", "dbsf"),
    alphas: Optional[Sequence[float]] = None,
    normalizations: Sequence[str] = ("none", "centered", "minmax", "zscore"),
    alpha_source: int = 0,
    metric: str = "top_20",
    limit: Optional[int] = None,
    pipeline_name: Optional[str] = None,
    progress_bar: bool = True,
) -> Dict[str, Any]:
    """Sweep fusion settings of the pipeline's HybridFusion on ``questions``; table, rows and best setting."""
    from haystack import Pipeline

    from dpr_components.evaluation import evaluate_pipeline, union_answer_doc_ids
    from dpr_components.fusion.sweep import DEFAULT_ALPHAS, best_row, format_table, settings_grid, sweep

    question_list = _questions(questions, limit)
    query_pipeline = _load(pipeline, params, store, pipeline_name)
    fusion_name, sources = fusion_sources(query_pipeline)
    source_runs = []
    for source in sources:  # each retriever alone, deep and raw, as the fusion node would receive it
        alone = Pipeline()
        alone.add_node(component=query_pipeline.get_node(source), name=source, inputs=["Query"])
        source_runs.append(evaluate_pipeline(alone, question_list, params={source: {"top_k": depth}}, name=source,
                                             progress_bar=progress_bar))
    positives = union_answer_doc_ids(source_runs)
    runs = {run.name: run.ranked_lists() for run in source_runs}
    grid = settings_grid(len(sources), modes=modes, alphas=alphas or DEFAULT_ALPHAS,
                         normalizations=normalizations, alpha_source=alpha_source)
    rows = sweep(runs, positives, grid)
    best = best_row(rows, metric=metric)
    k = int(metric.strip().lower().replace("-", "_").removeprefix("top_"))  # best_row has validated it
    fused = sorted((row for row in rows if row.setting is not None), key=lambda row: -row.accuracy[k])
    shown = [row for row in rows if row.setting is None] + fused  # each source alone, then the best fusions
    overrides = [f"{fusion_name}.{key}={value}" for key, value in best.setting.node_params().items()]
    return {
        "questions": len(question_list),
        "sources": sources,
        "depth": depth,
        "metric": metric,
        "rows": [row.as_dict() for row in rows],
        "table": format_table(shown),
        "best": {"setting": best.label, "accuracy": best.accuracy, "params": overrides},
    }
