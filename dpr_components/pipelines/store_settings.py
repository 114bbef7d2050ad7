"""The settings a store imposes on every pipeline built over it, applied to the config before it is built.

A store records which encoder made its vectors and where its passages keep their title
(:mod:`dpr_components.schema`). :func:`with_store_settings` gives a pipeline those settings, so that every
node of every pipeline over one store agrees with it (the :class:`~dpr_components.workspace.Workspace`
calls it for each pipeline it builds):

- the encoder: each DPRRetriever's model parameters default to the recorded ones (no ``Retriever.*``
  overrides on every command); parameters the caller set explicitly still win, and the store refuses a
  contradicting encoder with its own message;
- the title field: every component that takes ``title_field`` gets the store's; a component configured with
  another one is an error (the title field is set once, on the store);
- indexing into a store without vectors: an indexing pipeline leaves its dense retrievers out (BM25 only)
  unless the caller asks for an encoder, so writing to a BM25 store never loads (or downloads) one.

Usage::

    from dpr_components.pipelines import read_pipeline_config
    from dpr_components.pipelines.store_settings import with_store_settings

    config = with_store_settings(read_pipeline_config("dense_retrieval", store="minilm_store"),
                                 title_field="name", encoder=store.recorded_encoder())
    config.component_params()["Retriever"]["query_embedding_model"]   # the model the store was built with
"""
import inspect
from dataclasses import replace
from typing import Any, Dict, Mapping, Optional

from dpr_components.errors import ConfigurationError
from dpr_components.pipelines.loading import PipelineConfig
from dpr_components.pipelines.overrides import STORE_TYPES

ENCODER_PARAMS = ("query_embedding_model", "passage_embedding_model")  # what "asking for an encoder" sets


def retriever_params(recorded: Any) -> Dict[str, Any]:
    """DPRRetriever parameters that reproduce a recorded signature (an :class:`EncoderSignature` or any
    format :meth:`EncoderSignature.from_dict` reads)."""
    from dpr_components.encoders.signature import EncoderSignature

    signature = recorded if isinstance(recorded, EncoderSignature) else EncoderSignature.from_dict(recorded)
    params: Dict[str, Any] = {}
    if signature.query_source and signature.passage_source:
        params.update(query_embedding_model=str(signature.query_source),
                      passage_embedding_model=str(signature.passage_source))
    # "pooler_output" is what DPR checkpoints use whatever `pooling` says; the YAML spells it "cls".
    params["pooling"] = "cls" if signature.pooling == "pooler_output" else signature.pooling
    params["normalize"] = bool(signature.normalize)
    if signature.max_seq_len_passage is not None:
        params["max_seq_len_passage"] = int(signature.max_seq_len_passage)
    return params


def is_dense_retriever(type_name: str) -> bool:
    from haystack.nodes.retriever.dense import DenseRetriever

    from dpr_components.pipelines.checks import node_class

    return issubclass(node_class(type_name), DenseRetriever)


def asks_for_encoder(config: PipelineConfig) -> bool:
    """Whether the caller set a dense retriever's models explicitly (overrides or environment)."""
    return any((name, param) in config.overridden for name, type_name in config.component_types().items()
               if is_dense_retriever(type_name) for param in ENCODER_PARAMS)


def with_store_settings(config: PipelineConfig, title_field: str, encoder: Any = None,
                        bm25_only: bool = False) -> PipelineConfig:
    """``config`` with the store's title field and recorded ``encoder`` given to its nodes; with
    ``bm25_only``, an indexing pipeline without its dense retrievers."""
    from dpr_components.pipelines.checks import node_class

    types, params = config.component_types(), config.component_params()
    changes: Dict[str, Any] = {}
    for name, type_name in types.items():
        if "title_field" in inspect.signature(node_class(type_name, name).__init__).parameters:
            given = params[name].get("title_field")
            if given not in (None, title_field):
                raise ConfigurationError(
                    f"{name}.title_field is {given!r} but the store keeps passage titles in meta[{title_field!r}]. "
                    "The title field is set once, on the store (DocumentStore.title_field, recorded with its "
                    f"first passages): remove title_field from {name}.", parameter="title_field")
            if type_name not in STORE_TYPES:
                changes[f"{name}.title_field"] = title_field
        if encoder is not None and is_dense_retriever(type_name) and params[name].get("document_store") in types:
            for param, value in retriever_params(encoder).items():
                if (name, param) not in config.overridden and params[name].get(param) != value:
                    changes[f"{name}.{param}"] = value
    config = config.with_overrides(changes, explicit=False) if changes else config
    return _without_dense_retrievers(config) if bm25_only else config


def _without_dense_retrievers(config: PipelineConfig) -> PipelineConfig:
    """The pipeline with its dense retriever nodes cut out: what read from one reads from its inputs."""
    types = config.component_types()
    definition = config.definition()
    dense = {node["name"]: node["inputs"] for node in definition["nodes"] if is_dense_retriever(types[node["name"]])}
    if not dense:
        return config

    def rewired(inputs: Any) -> list:
        return [source for name in inputs for source in (rewired(dense[name]) if name in dense else [name])]

    nodes = [{**node, "inputs": rewired(node["inputs"])} for node in definition["nodes"] if node["name"] not in dense]
    pipelines = [{**d, "nodes": nodes} if d is definition else d for d in config.config["pipelines"]]
    return replace(config, config={**config.config, "pipelines": pipelines})


def store_component(config: PipelineConfig) -> Optional[Mapping[str, Any]]:
    """``{name, path, params}`` of the config's one HybridDocumentStore (None without one; two are refused).

    ``params`` open the store as the store's settings say: what it records (its index type, its similarity)
    comes from its record, as its encoder does; the YAML's values are for a new store only
    (``new_store_settings``), unless the caller set them (overrides, environment)."""
    from dpr_components.stores.hybrid_document_store import RECORDED_SETTINGS

    stores = config.store_paths()
    if len(stores) > 1:
        raise ConfigurationError(f"{config.name!r} has {len(stores)} HybridDocumentStore components "
                                 f"({', '.join(stores)}); a workspace holds one store: give the pipeline one.")
    for name, path in stores.items():
        params = config.component_params()[name]
        new_store = {key: params.pop(key) for key in RECORDED_SETTINGS
                     if key in params and (name, key) not in config.overridden}
        if new_store:
            params["new_store_settings"] = {**new_store, **(params.get("new_store_settings") or {})}
        return {"name": name, "path": path, "params": params}
    return None
