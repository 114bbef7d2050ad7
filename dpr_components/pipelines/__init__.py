"""Pipelines from YAML for the :class:`~dpr_components.workspace.Workspace`: files, overrides, checks, the one
builder, store settings, and the indexing, query and evaluation loops it runs under its lock.

New code opens a workspace. The three functions below are the earlier entry points, each a thin call of a
workspace opened on the pipeline's store; a :class:`LoadedPipeline` keeps its workspace (``.workspace``) open.

Usage::

    from dpr_components.pipelines import index_corpus, load_query_pipeline

    index_corpus("corpus.jsonl", store="my_store", overrides={"Retriever.batch_size": 32})   # resumable
    loaded = load_query_pipeline("hybrid_retrieval", store="my_store")  # the store's encoder by default
    print(loaded.workspace.query(["who wrote animal farm?"], loaded, top_k=3)[0]["documents"][0]["title"])
"""
from typing import Any, Dict, Optional

from dpr_components.pipelines.evaluation import load_question_set
from dpr_components.pipelines.files import (
    PipelineFileError,
    bundled_pipelines,
    read_pipeline_yaml,
    resolve_pipeline_path,
)
from dpr_components.pipelines.indexing import describe
from dpr_components.pipelines.loading import (
    LoadedPipeline,
    PipelineConfig,
    PipelineSource,
    build_pipeline,
    read_pipeline_config,
)
from dpr_components.pipelines.overrides import Overrides, apply_overrides, parse_assignment, parse_overrides
from dpr_components.pipelines.querying import read_question_texts, top_k_params
from dpr_components.pipelines.results import result_to_dict

__all__ = [
    "LoadedPipeline", "PipelineConfig", "PipelineFileError", "apply_overrides", "build_pipeline", "bundled_pipelines",
    "describe", "index_corpus", "load_pipeline", "load_query_pipeline", "load_question_set",
    "parse_assignment", "parse_overrides", "read_pipeline_config", "read_pipeline_yaml", "resolve_pipeline_path",
    "read_question_texts", "result_to_dict", "top_k_params",
]


def load_pipeline(pipeline: PipelineSource, pipeline_name: Optional[str] = None, store: Optional[str] = None,
                  overrides: Optional[Overrides] = (), environ: Any = None, read_only: bool = False) -> LoadedPipeline:
    """A pipeline built by a workspace on its HybridDocumentStore (without one: its YAML's own stores)."""
    from dpr_components.workspace import Workspace

    config = read_pipeline_config(pipeline, pipeline_name, store, overrides, environ)
    return Workspace.for_pipeline(config, read_only).pipeline(config)


def load_query_pipeline(pipeline: PipelineSource, pipeline_name: Optional[str] = None, store: Optional[str] = None,
                        overrides: Optional[Overrides] = (), environ: Any = None) -> LoadedPipeline:
    """``Workspace(store, read_only=True).query_pipeline(pipeline)``."""
    loaded = load_pipeline(pipeline, pipeline_name, store, overrides, environ, read_only=True)
    return loaded.workspace.query_pipeline(loaded)


def index_corpus(corpus: str, pipeline: PipelineSource = "indexing", store: Optional[str] = None,
                 overrides: Optional[Overrides] = (), pipeline_name: Optional[str] = None, **options: Any
                 ) -> Dict[str, Any]:
    """``Workspace(store).index(corpus, pipeline, **options)``, the workspace closed afterwards."""
    from dpr_components.workspace import Workspace

    config = read_pipeline_config(pipeline, pipeline_name, store, overrides)
    with Workspace.for_pipeline(config) as workspace:
        return workspace.index(corpus, config, **options)
