"""The library under the ``dpr-components`` CLI (and the REST API): load pipelines, index, query, evaluate.

Every function takes a bundled pipeline name (``hybrid_qa``), a YAML path, or a :class:`PipelineConfig`
read once with :func:`read_pipeline_config`; query functions also take a :class:`LoadedPipeline`, so a
program builds its pipeline (and loads its models) once and reuses it.

Usage::

    from dpr_components.pipelines import evaluate, index_corpus, load_query_pipeline, run_queries

    minilm = {"Retriever.query_embedding_model": "/models/minilm", "Retriever.passage_embedding_model":
              "/models/minilm", "Retriever.pooling": "mean", "Retriever.normalize": True}
    index_corpus("corpus.jsonl", store="my_store", overrides=minilm)    # resumable
    loaded = load_query_pipeline("hybrid_retrieval", store="my_store")  # the store's encoder by default
    print(run_queries(loaded, ["who wrote animal farm?"], top_k=3)[0]["documents"][0]["title"])
    print(evaluate(loaded, "dev.jsonl").table())
"""
from dpr_components.pipelines.evaluation import evaluate, load_question_set, sweep_fusion
from dpr_components.pipelines.files import PipelineFileError, bundled_pipelines, read_pipeline_yaml, resolve_pipeline_path
from dpr_components.pipelines.indexing import describe, index_corpus, load_indexing_pipeline
from dpr_components.pipelines.loading import LoadedPipeline, PipelineConfig, load_pipeline, read_pipeline_config
from dpr_components.pipelines.overrides import apply_overrides, parse_assignment, parse_overrides
from dpr_components.pipelines.querying import load_query_pipeline, read_question_texts, run_queries, top_k_params
from dpr_components.pipelines.results import result_to_dict
from dpr_components.pipelines.store_encoder import with_store_encoder

__all__ = [
    "LoadedPipeline",
    "PipelineConfig",
    "PipelineFileError",
    "apply_overrides",
    "bundled_pipelines",
    "describe",
    "evaluate",
    "index_corpus",
    "load_indexing_pipeline",
    "load_pipeline",
    "load_query_pipeline",
    "load_question_set",
    "parse_assignment",
    "parse_overrides",
    "read_pipeline_config",
    "read_pipeline_yaml",
    "resolve_pipeline_path",
    "read_question_texts",
    "result_to_dict",
    "run_queries",
    "sweep_fusion",
    "top_k_params",
    "with_store_encoder",
]
