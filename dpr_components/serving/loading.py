"""What the server serves: one :class:`~dpr_components.workspace.Workspace` on the store (read-only with
``--read-only``), its query pipeline and, for ``/file-upload``, its indexing pipeline, both built by the
workspace over the one store object (so writes land where queries look, and an identical retriever is
shared, its models loaded once). Uploads index through ``workspace.index``, the call ``dpr-components
index`` makes, under the workspace's lock.

Usage::

    from dpr_components.serving.loading import load_pipelines
    from dpr_components.serving.settings import ServeSettings

    loaded = load_pipelines(ServeSettings(pipeline="hybrid_qa", store="my_store"))
    loaded.query.run(query="who wrote hamlet?")
    loaded.workspace.index(documents, loaded.indexing)   # loaded.indexing is None when the server is read-only
"""
from dataclasses import dataclass
from typing import Any, Optional

from dpr_components.serving.settings import ServeSettings


@dataclass
class LoadedPipelines:
    workspace: Any  # dpr_components.workspace.Workspace
    query: Any  # haystack.Pipeline
    indexing: Optional[Any]  # LoadedPipeline, None when read-only

    @property
    def store(self) -> Any:
        return self.workspace.store


def load_pipelines(settings: ServeSettings) -> LoadedPipelines:
    """Open the workspace ``settings`` name and build its pipelines. Like every command, a retriever's models
    default to the encoder the store recorded; the default indexing pipeline follows the store (its encoder;
    BM25 only for a store without vectors, or when the query pipeline has no dense retriever)."""
    from haystack.nodes.retriever.dense import DenseRetriever

    from dpr_components.pipelines import read_pipeline_config, read_pipeline_yaml
    from dpr_components.workspace import Workspace

    names = [definition.get("name") for definition in read_pipeline_yaml(settings.pipeline)["pipelines"]]
    query_name = settings.query_pipeline_name or ("query" if len(names) > 1 and "query" in names else None)
    query_config = read_pipeline_config(settings.pipeline, query_name, settings.store, settings.params)
    workspace = Workspace.for_pipeline(query_config, read_only=settings.read_only)
    query = workspace.pipeline(query_config).require_root(
        "Query", "a query pipeline (choose it with --pipeline-name or QUERY_PIPELINE_NAME)")
    if settings.read_only:
        return LoadedPipelines(workspace, query.pipeline, None)
    source = settings.indexing_pipeline or (
        settings.pipeline if settings.indexing_pipeline_name in names else "indexing")
    components = {c["name"] for c in read_pipeline_yaml(source)["components"]}
    params = [p for p in settings.params if p.partition(".")[0].strip() in components]  # e.g. no Reader.* here
    dense = None if settings.indexing_pipeline else any(isinstance(n, DenseRetriever) for n in query.nodes.values())
    indexing = workspace.indexing_pipeline(source, params, settings.indexing_pipeline_name, dense=dense)
    return LoadedPipelines(workspace, query.pipeline, indexing)
