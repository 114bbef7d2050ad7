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
    """Load, override and check the pipelines ``settings`` name, with :mod:`dpr_components.pipelines`.

    Like every command, a retriever's models default to the encoder the store recorded, so a store built
    with ``dpr-components index --param Retriever....`` is served without repeating those parameters.
    """
    from dpr_components.pipelines import load_pipeline, read_pipeline_config, read_pipeline_yaml
    from dpr_components.pipelines.checks import check_components
    from dpr_components.pipelines.store_encoder import with_store_encoder

    names = _pipeline_names(read_pipeline_yaml(settings.pipeline))
    query_name = settings.query_pipeline_name or ("query" if len(names) > 1 and "query" in names else None)
    query_config = read_pipeline_config(settings.pipeline, query_name, settings.store, settings.params)
    query = load_pipeline(with_store_encoder(query_config)).require_root(
        "Query", "a query pipeline (choose it with --pipeline-name or QUERY_PIPELINE_NAME)").pipeline
    store = query.get_document_store()
    if store is None:
        raise ConfigurationError(f"{settings.pipeline!r} has no document store; the REST API needs one.")
    if settings.read_only:
        return LoadedPipelines(query, None, store)

    source = settings.indexing_pipeline or (
        settings.pipeline if settings.indexing_pipeline_name in names else "indexing")
    components = {c["name"] for c in read_pipeline_yaml(source)["components"]}
    params = [p for p in settings.params if p.partition(".")[0].strip() in components]  # e.g. no Reader.* here
    config = with_store_encoder(read_pipeline_config(source, settings.indexing_pipeline_name, settings.store,
                                                     params)).config
    check_components(config)
    indexing = _build_sharing(config, settings.indexing_pipeline_name, query, store)
    if indexing.root_node != "File":
        raise ConfigurationError(f"Pipeline {settings.indexing_pipeline_name!r} of {source!r} is not an indexing "
                                 "pipeline: its first node must take `inputs: [File]`.")
    return LoadedPipelines(query, indexing, store)


def _pipeline_names(config: Dict[str, Any]) -> List[str]:
    return [definition.get("name") for definition in config["pipelines"]]


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
