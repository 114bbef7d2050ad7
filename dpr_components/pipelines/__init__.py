"""Pipelines from YAML for the :class:`~dpr_components.workspace.Workspace`: files, overrides, checks, the one
builder, store settings, and the indexing, query and evaluation loops it runs under its lock.

New code opens a workspace (``from dpr_components.workspace import Workspace``). The functions below are the
earlier entry points, each a thin call of a workspace opened on the pipeline's store, so a program keeps
working; a :class:`LoadedPipeline` they return keeps its workspace (and store) open.

Usage::

    from dpr_components.pipelines import evaluate, index_corpus, load_query_pipeline, run_queries

    minilm = {"Retriever.query_embedding_model": "/models/minilm", "Retriever.passage_embedding_model":
              "/models/minilm", "Retriever.pooling": "mean", "Retriever.normalize": True}
    index_corpus("corpus.jsonl", store="my_store", overrides=minilm)    # resumable
    loaded = load_query_pipeline("hybrid_retrieval", store="my_store")  # the store's encoder by default
    print(run_queries(loaded, ["who wrote animal farm?"], top_k=3)[0]["documents"][0]["title"])
    print(evaluate(loaded, "dev.jsonl").table())
"""
from typing import Any, Dict, List, Optional

from dpr_components.pipelines.evaluation import load_question_set
from dpr_components.pipelines.files import (PipelineFileError, bundled_pipelines, read_pipeline_yaml,
                                            resolve_pipeline_path)
from dpr_components.pipelines.indexing import describe
from dpr_components.pipelines.loading import (LoadedPipeline, PipelineConfig, PipelineSource, build_pipeline,
                                              read_pipeline_config)
from dpr_components.pipelines.overrides import Overrides, apply_overrides, parse_assignment, parse_overrides
from dpr_components.pipelines.querying import read_question_texts, top_k_params
from dpr_components.pipelines.results import result_to_dict

__all__ = [
    "LoadedPipeline", "PipelineConfig", "PipelineFileError", "apply_overrides", "build_pipeline", "bundled_pipelines",
    "describe", "evaluate", "index_corpus", "load_indexing_pipeline", "load_pipeline", "load_query_pipeline",
    "load_question_set", "parse_assignment", "parse_overrides", "read_pipeline_config", "read_pipeline_yaml",
    "resolve_pipeline_path", "read_question_texts", "result_to_dict", "run_queries", "top_k_params",
]


def _opened(pipeline: Any, store: Optional[str] = None, overrides: Optional[Overrides] = (),
            pipeline_name: Optional[str] = None, read_only: bool = False, environ: Any = None) -> Any:
    """A pipeline this workspace built is returned as it is; else a workspace on the config's store builds it."""
    from dpr_components.workspace import Workspace

    if isinstance(pipeline, LoadedPipeline):
        return pipeline
    config = read_pipeline_config(pipeline, pipeline_name, store, overrides, environ)
    return Workspace.for_pipeline(config, read_only).pipeline(config)


def load_pipeline(pipeline: PipelineSource, pipeline_name: Optional[str] = None, store: Optional[str] = None,
                  overrides: Optional[Overrides] = (), environ: Any = None) -> LoadedPipeline:
    """Any pipeline: over a (writable) workspace when it has a HybridDocumentStore, else as the YAML says."""
    config = read_pipeline_config(pipeline, pipeline_name, store, overrides, environ)
    return _opened(config) if config.store_paths() else build_pipeline(config)


def load_query_pipeline(pipeline: PipelineSource, pipeline_name: Optional[str] = None, store: Optional[str] = None,
                        overrides: Optional[Overrides] = (), environ: Any = None) -> LoadedPipeline:
    """``Workspace(store, read_only=True).query_pipeline(pipeline)``."""
    loaded = _opened(pipeline, store, overrides, pipeline_name, read_only=True, environ=environ)
    return loaded.workspace.query_pipeline(loaded)


def load_indexing_pipeline(pipeline: PipelineSource = "indexing", pipeline_name: Optional[str] = None,
                           store: Optional[str] = None, overrides: Optional[Overrides] = (),
                           environ: Any = None) -> LoadedPipeline:
    """``Workspace(store).indexing_pipeline(pipeline)``."""
    config = read_pipeline_config(pipeline, pipeline_name, store, overrides, environ)
    from dpr_components.workspace import Workspace

    return Workspace.for_pipeline(config).indexing_pipeline(config)


def index_corpus(corpus: str, pipeline: Any = "indexing", store: Optional[str] = None,
                 overrides: Optional[Overrides] = (), pipeline_name: Optional[str] = None, **options: Any
                 ) -> Dict[str, Any]:
    """``Workspace(store).index(corpus, pipeline, **options)``, the workspace closed afterwards."""
    from dpr_components.workspace import Workspace

    config = read_pipeline_config(pipeline, pipeline_name, store, overrides)
    with Workspace.for_pipeline(config) as workspace:
        return workspace.index(corpus, config, **options)


def run_queries(pipeline: Any, questions: List[str], top_k: Optional[int] = None, filters: Any = None,
                batch_size: int = 32, store: Optional[str] = None, overrides: Optional[Overrides] = ()) -> List[Dict]:
    """``workspace.query(questions, pipeline, ...)`` on a built pipeline or one read from its YAML."""
    loaded = _opened(pipeline, store, overrides, read_only=True)
    return loaded.workspace.query(questions, loaded, top_k=top_k, filters=filters, batch_size=batch_size)


def evaluate(pipeline: Any, questions: str, store: Optional[str] = None, overrides: Optional[Overrides] = (),
             **options: Any) -> Any:
    """``workspace.evaluate(questions, pipeline, **options)``."""
    loaded = _opened(pipeline, store, overrides, read_only=True)
    return loaded.workspace.evaluate(questions, loaded, **options)
