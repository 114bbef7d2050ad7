"""Score a pipeline on a question set; tune its fusion on dev questions: what ``Workspace.evaluate`` and
``Workspace.sweep`` (``eval``, ``sweep``) run on a pipeline the workspace built.

:func:`evaluate` runs the pipeline over the questions with
:func:`dpr_components.evaluation.evaluate_pipeline` (DPR's ``has_answer`` on passage text, top-k accuracy,
MRR, EM/F1 with a reader). :func:`sweep_fusion` retrieves once per source of the pipeline's
:class:`HybridFusion` node (e.g. BM25 and DPR, ``depth`` passages each, raw scores), then scores a grid of
fusion settings offline with :mod:`dpr_components.fusion.sweep` and returns the best as
``Fusion.param=value`` overrides.

Usage::

    from dpr_components.workspace import Workspace

    with Workspace("mini_store", read_only=True) as workspace:
        print(workspace.evaluate("data/mini_wikipedia/dev.jsonl", "hybrid_retrieval").table())
        report = workspace.sweep("data/mini_wikipedia/dev.jsonl", "hybrid_retrieval")
    print(report["table"], report["best"]["params"])
"""
from typing import Any, Dict, List, Optional, Sequence

from dpr_components.errors import ConfigurationError
from dpr_components.pipelines.loading import LoadedPipeline
from dpr_components.pipelines.querying import top_k_params
from dpr_components.schema import PASSAGES, PassageSchema
from dpr_components.utils.validation import optional_positive_int, positive_int

DEFAULT_EVAL_DEPTH = 100


def load_question_set(questions: str, limit: Optional[int] = None, match: Optional[str] = None) -> List[Any]:
    """The questions of a file or ``pyserini:NAME``, the first ``limit`` of them; ``match`` (string|regex)
    overrides how their answers are compared (default: the set's own, else string)."""
    from dpr_components.evaluation import load_questions

    limit = optional_positive_int("limit", limit)
    loaded = load_questions(questions, match=match)
    return loaded[:limit] if limit is not None else loaded


def evaluate(
    loaded: LoadedPipeline,
    questions: str,
    top_k: Optional[int] = None,
    name: Optional[str] = None,
    output: Optional[str] = None,
    batch_size: int = 32,
    limit: Optional[int] = None,
    match: Optional[str] = None,
    progress_bar: bool = True,
    schema: PassageSchema = PASSAGES,
) -> Any:
    """An :class:`EvaluationResult` for the pipeline on ``questions`` (a file or ``pyserini:NAME``).

    ``top_k`` sets the output node's result count; without it a retriever or fusion output returns
    ``DEFAULT_EVAL_DEPTH`` passages (so top-100 accuracy is measured) and a reader keeps its YAML setting.
    """
    from haystack.nodes import BaseReader

    from dpr_components.evaluation import evaluate_pipeline

    top_k = optional_positive_int("top_k", top_k)
    batch_size = positive_int("batch_size", batch_size)
    question_list = load_question_set(questions, limit, match)
    if top_k is None and not any(isinstance(loaded.node(n), BaseReader) for n in loaded.output_nodes):
        top_k = DEFAULT_EVAL_DEPTH
    run_params = top_k_params(loaded, top_k) if top_k is not None else {}
    return evaluate_pipeline(loaded.pipeline, question_list, params=run_params, batch_size=batch_size,
                             name=name or loaded.config.name, output_path=output, progress_bar=progress_bar,
                             title_field=schema.title_field)


def fusion_sources(loaded: LoadedPipeline) -> tuple:
    """The pipeline's HybridFusion node name and its input node names, in the order of its weights."""
    from dpr_components.fusion.hybrid_fusion import HybridFusion

    fusions = [name for name, node in loaded.nodes.items() if isinstance(node, HybridFusion)]
    if len(fusions) != 1:
        raise ConfigurationError(
            f"sweep needs a pipeline with exactly one HybridFusion node; found {len(fusions)}. "
            "Use hybrid_retrieval (or another YAML whose retrievers feed one HybridFusion)."
        )
    fusion = loaded.node(fusions[0])
    sources = fusion.source_names or list(loaded.pipeline.graph.predecessors(fusions[0]))
    return fusions[0], sources


def sweep_fusion(
    loaded: LoadedPipeline,
    questions: str,
    depth: int = DEFAULT_EVAL_DEPTH,
    modes: Sequence[str] = ("linear", "rrf", "dbsf"),
    alphas: Optional[Sequence[float]] = None,
    normalizations: Sequence[str] = ("none", "centered", "minmax", "zscore"),
    alpha_source: int = 0,
    metric: str = "top_20",
    limit: Optional[int] = None,
    match: Optional[str] = None,
    progress_bar: bool = True,
) -> Dict[str, Any]:
    """Sweep fusion settings of the pipeline's HybridFusion on ``questions``; table, rows and best setting."""
    from haystack import Pipeline

    from dpr_components.evaluation import evaluate_pipeline, union_answer_doc_ids
    from dpr_components.fusion.sweep import DEFAULT_ALPHAS, best_row, format_table, settings_grid, sweep

    depth = positive_int("depth", depth)
    question_list = load_question_set(questions, limit, match)
    fusion_name, sources = fusion_sources(loaded)
    if not 0 <= alpha_source < len(sources):
        raise ConfigurationError(
            f"alpha_source must be between 0 and {len(sources) - 1} (sources: {', '.join(sources)}), got "
            f"{alpha_source!r}.", parameter="alpha_source")
    source_runs = []
    for source in sources:  # each retriever alone, deep and raw, as the fusion node would receive it
        alone = Pipeline()
        alone.add_node(component=loaded.node(source), name=source, inputs=["Query"])
        source_runs.append(evaluate_pipeline(alone, question_list, params={source: {"top_k": depth}}, name=source,
                                             progress_bar=progress_bar))
    positives = union_answer_doc_ids(source_runs)
    runs = {run.name: run.ranked_lists() for run in source_runs}
    grid = settings_grid(len(sources), modes=modes, alphas=alphas or DEFAULT_ALPHAS,
                         normalizations=normalizations, alpha_source=alpha_source)
    rows = sweep(runs, positives, grid)
    best = best_row(rows, metric=metric)
    assert best.setting is not None  # best_row chooses among the fusions only
    k = int(metric.strip().lower().replace("-", "_").removeprefix("top_"))  # best_row has validated it
    fused = sorted((row for row in rows if row.setting is not None), key=lambda row: -row.accuracy[k])
    shown = [row for row in rows if row.setting is None] + fused  # each source alone, then the best fusions
    params = [f"{fusion_name}.{key}={value}" for key, value in best.setting.node_params().items()]
    return {
        "questions": len(question_list),
        "sources": sources,
        "depth": depth,
        "metric": metric,
        "rows": [row.as_dict() for row in rows],
        "table": format_table(shown),
        "best": {"setting": best.label, "accuracy": best.accuracy, "params": params},
    }
