"""Default a pipeline's encoder to the one recorded in its (existing) store.

A store records which encoder made its vectors. Querying it needs that same encoder, so instead of four
``--param Retriever....`` on every ``retrieve``/``ask``/``eval``, the retriever's model parameters default to
the recorded ones. Parameters given explicitly (``--param``, ``<COMPONENT>_PARAMS_<PARAM>``) still win, and
the store refuses a contradicting encoder with its own message.

Usage::

    from dpr_components.pipelines import read_pipeline_config
    from dpr_components.pipelines.store_encoder import with_store_encoder

    config = with_store_encoder(read_pipeline_config("dense_retrieval", store="minilm_store"))
    config.component_params()["Retriever"]["query_embedding_model"]   # the model the store was built with
"""
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from dpr_components.pipelines.loading import PipelineConfig

RETRIEVER_TYPES = ("DPRRetriever",)


def recorded_encoder(store_path: str, index: Optional[str] = None) -> Optional[Dict[str, Any]]:
    """The encoder signature (as a dict) recorded in the store at ``store_path``, or None."""
    from dpr_components.stores.hybrid_document_store import DATABASE_FILE, HybridDocumentStore

    if not (Path(store_path) / DATABASE_FILE).is_file():
        return None
    store = HybridDocumentStore(path=store_path, **({"index": index} if index else {}), progress_bar=False)
    try:
        signature = store.recorded_encoder()
        return signature.to_dict() if signature is not None else None
    finally:
        store.close()


def retriever_params(recorded: Mapping[str, Any]) -> Dict[str, Any]:
    """DPRRetriever parameters that reproduce a recorded signature (any format
    :meth:`EncoderSignature.from_dict` reads)."""
    from dpr_components.encoders.signature import EncoderSignature

    signature = EncoderSignature.from_dict(recorded)
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


def with_store_encoder(config: PipelineConfig) -> PipelineConfig:
    """``config`` with each DPRRetriever's model parameters taken from its store's record, unless overridden."""
    types, params = config.component_types(), config.component_params()
    stores = config.store_paths()
    overrides: Dict[str, Any] = {}
    for name, type_name in types.items():
        store_name = params[name].get("document_store")
        if type_name not in RETRIEVER_TYPES or store_name not in stores:
            continue
        signature = recorded_encoder(stores[store_name], params[store_name].get("index"))
        for param, value in (retriever_params(signature) if signature else {}).items():
            if (name, param) not in config.overridden and params[name].get(param) != value:
                overrides[f"{name}.{param}"] = value
    return config.with_overrides(overrides) if overrides else config
