"""The one place the server loads pipelines: a query pipeline and, for ``/file-upload``, an indexing pipeline
that writes into the very same store object.

Usage::

    from dpr_components.serving.loading import load_pipelines
    from dpr_components.serving.settings import ServeSettings

    loaded = load_pipelines(ServeSettings(pipeline="hybrid_qa", store="my_store"))
    loaded.query.run(query="who wrote hamlet?")
    loaded.indexing.run(documents=[...])          # None when the server is read-only

Why one store object: ``HybridDocumentStore`` keeps its FAISS and BM25 indexes in memory, so an indexing
pipeline with a second store instance on the same directory would write passages the query side never sees.
The indexing pipeline is built with the query pipeline's components wherever both define the same component
(the store always; the retriever when its models and settings match), so writes land where queries look.
"""
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

from dpr_components.errors import ConfigurationError
from dpr_components.serving.settings import ServeSettings

# Retrieval-time knobs: a retriever that differs only in these embeds passages the same way.
RUN_TIME_PARAMS = {"top_k", "scale_score", "progress_bar", "batch_size"}


@dataclass
class LoadedPipelines:
    query: Any
    indexing: Optional[Any]
    store: Any


def load_pipelines(settings: ServeSettings) -> LoadedPipelines:
    """Load, override and check the pipelines ``settings`` name (see :mod:`dpr_components.cli.pipeline_config`)."""
    from dpr_components.cli.pipeline_config import (
        apply_overrides, check_components, load_pipeline, read_pipeline_yaml,
    )

    query = load_pipeline(settings.pipeline, params=settings.params, store=settings.store,
                          pipeline_name=_query_pipeline_name(settings, read_pipeline_yaml(settings.pipeline)))
    if query.root_node != "Query":
        raise ConfigurationError(
            f"{settings.pipeline!r} is not a query pipeline (its first node takes {query.root_node}, not Query); "
            "choose the query pipeline with --pipeline-name or QUERY_PIPELINE_NAME."
        )
    store = query.get_document_store()
    if store is None:
        raise ConfigurationError(f"{settings.pipeline!r} has no document store; the REST API needs one.")
    if settings.read_only:
        return LoadedPipelines(query, None, store)

    source = settings.indexing_pipeline or _indexing_source(settings, read_pipeline_yaml)
    config = read_pipeline_yaml(source)
    names = {component["name"] for component in config["components"]}
    params = [p for p in settings.params if p.partition(".")[0].strip() in names]  # e.g. no Reader.* here
    config = apply_overrides(config, params=params, store=settings.store)
    check_components(config)
    indexing = _build_sharing(config, settings.indexing_pipeline_name, query, store)
    if indexing.root_node != "File":
        raise ConfigurationError(f"Pipeline {settings.indexing_pipeline_name!r} of {source!r} is not an indexing "
                                 "pipeline: its first node must take `inputs: [File]`.")
    return LoadedPipelines(query, indexing, store)


def _query_pipeline_name(settings: ServeSettings, config: Dict[str, Any]) -> Optional[str]:
    names = [definition.get("name") for definition in config["pipelines"]]
    if settings.query_pipeline_name:
        return settings.query_pipeline_name
    return "query" if len(names) > 1 and "query" in names else None


def _indexing_source(settings: ServeSettings, read_pipeline_yaml) -> str:
    """The query YAML when it defines the indexing pipeline (Haystack's one-file layout), else ``indexing``."""
    names = [definition.get("name") for definition in read_pipeline_yaml(settings.pipeline)["pipelines"]]
    return settings.pipeline if settings.indexing_pipeline_name in names else "indexing"


def _build_sharing(config: Dict[str, Any], pipeline_name: str, query: Any, store: Any):
    """Build ``pipeline_name`` of ``config``, reusing ``query``'s component objects where they are the same."""
    import dpr_components  # noqa: F401  (registers this project's nodes)
    from haystack import Pipeline
    from haystack.pipelines.config import get_component_definitions, get_pipeline_definition

    definition = get_pipeline_definition(pipeline_config=config, pipeline_name=pipeline_name)
    components = get_component_definitions(pipeline_config=config, overwrite_with_env_variables=False)
    query_components = {c["name"]: c for c in _query_config(query)}
    shared: Dict[str, Any] = {}
    for name, component in components.items():
        if component["type"] in _store_types(store):
            shared[name] = store
        elif name in query.graph.nodes and _same_component(component, query_components.get(name)):
            shared[name] = query.get_node(name)
    pipeline = Pipeline()
    for node in definition["nodes"]:
        instance = Pipeline._load_or_get_component(name=node["name"], definitions=components, components=shared)
        pipeline.add_node(component=instance, name=node["name"], inputs=node["inputs"])
    return pipeline


def _query_config(query: Any) -> List[Dict[str, Any]]:
    return query.get_config()["components"]


def _store_types(store: Any) -> Iterable[str]:
    return {type(store).__name__}


def _same_component(indexing: Dict[str, Any], querying: Optional[Dict[str, Any]]) -> bool:
    if querying is None or indexing["type"] != querying["type"]:
        return False
    strip = lambda params: {k: v for k, v in (params or {}).items() if k not in RUN_TIME_PARAMS | {"document_store"}}  # noqa: E731
    return strip(indexing.get("params")) == strip(querying.get("params"))
