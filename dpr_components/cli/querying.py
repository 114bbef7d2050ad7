"""``dpr-components retrieve`` and ``ask``: questions through a query pipeline.

Usage::

    from dpr_components.cli.querying import run_queries

    results = run_queries(["who wrote animal farm?"], pipeline="hybrid_qa", store="wiki_store", top_k=3)
    for result in results:
        print(result["query"], [answer["answer"] for answer in result.get("answers", [])])
"""
import inspect
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

from dpr_components.cli.output import result_to_dict
from dpr_components.errors import ConfigurationError


def output_node_names(pipeline: Any) -> List[str]:
    """Nodes nothing else reads from: the ones whose output the pipeline returns."""
    graph = pipeline.graph
    return [name for name in graph.nodes if graph.out_degree(name) == 0 and name != pipeline.root_node]


def top_k_params(pipeline: Any, top_k: int) -> Dict[str, Dict[str, int]]:
    """Run params giving the pipeline's output node(s) ``top_k`` results (``top_k_join`` for join nodes)."""
    params: Dict[str, Dict[str, int]] = {}
    for name in output_node_names(pipeline):
        accepted = inspect.signature(pipeline.get_node(name).run).parameters
        key = next((k for k in ("top_k", "top_k_join") if k in accepted), None)
        if key is None:
            raise ConfigurationError(f"--top-k: the pipeline's output node {name!r} takes no top_k.")
        params[name] = {key: top_k}
    return params


def check_store_exists(pipeline: str, params: Iterable[str], store: Optional[str]) -> None:
    """Refuse to query a store directory that was never built (loading it would create an empty one)."""
    from dpr_components.cli.pipeline_config import STORE_TYPES, component_params, read_pipeline_yaml

    types = {c["name"]: c["type"] for c in read_pipeline_yaml(pipeline)["components"]}
    for name, values in component_params(pipeline, params=params, store=store).items():
        path = values.get("path", "dpr_store")
        if types[name] in STORE_TYPES and not Path(str(path)).exists():
            raise ConfigurationError(
                f"Store {str(path)!r} does not exist. Build it first: dpr-components index CORPUS --store {path} "
                "(with the same model parameters), or point at an existing store with --store DIR."
            )


def check_store_not_empty(query_pipeline: Any) -> None:
    """Refuse to query a store that holds no passages (e.g. one left behind by a failed command)."""
    store = query_pipeline.get_document_store()
    if store is not None and store.get_document_count() == 0:
        path = getattr(store, "path", None) or type(store).__name__
        raise ConfigurationError(
            f"Store {str(path)!r} holds no passages. Index a corpus first: dpr-components index CORPUS --store {path}."
        )


def run_queries(
    questions: Iterable[str],
    pipeline: str,
    store: Optional[str] = None,
    params: Iterable[str] = (),
    top_k: Optional[int] = None,
    filters: Optional[Dict[str, Any]] = None,
    pipeline_name: Optional[str] = None,
) -> List[Dict[str, Any]]:
    """Run each question through the pipeline; results as plain dicts (see ``output.result_to_dict``)."""
    from dpr_components.cli.pipeline_config import load_pipeline

    questions = [q for q in questions if q and q.strip()]
    if not questions:
        raise ConfigurationError("No question given: pass one or more questions, or --questions-file FILE.")
    check_store_exists(pipeline, params, store)
    query_pipeline = load_pipeline(pipeline, params=params, store=store, pipeline_name=pipeline_name)
    if query_pipeline.root_node != "Query":
        raise ConfigurationError(
            f"{pipeline!r} is not a query pipeline (its first node takes {query_pipeline.root_node}, not Query)."
        )
    check_store_not_empty(query_pipeline)
    run_params: Dict[str, Any] = top_k_params(query_pipeline, top_k) if top_k is not None else {}
    if filters:
        run_params["filters"] = filters
    return [result_to_dict(query_pipeline.run(query=q, params=run_params or None)) for q in questions]
