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
        info = store._database.index_info(store.index)  # TODO(store-integrity): the store's public accessor
        return dict(info.encoder) if info is not None and info.encoder else None
    finally:
        store.close()


def retriever_params(signature: Mapping[str, Any]) -> Dict[str, Any]:
    """DPRRetriever parameters that reproduce a recorded signature (old and new record formats)."""
    params: Dict[str, Any] = {}
    query = signature.get("query_source") or signature.get("query_model")
    passage = signature.get("passage_source") or signature.get("passage_model")
    if query and passage:
        params.update(query_embedding_model=str(query), passage_embedding_model=str(passage))
    if signature.get("pooling") in ("cls", "mean"):  # "pooler_output": DPR checkpoints, pooling "cls"
        params["pooling"] = signature["pooling"]
    elif signature.get("pooling") == "pooler_output":
        params["pooling"] = "cls"
    if isinstance(signature.get("normalize"), bool):
        params["normalize"] = signature["normalize"]
    if isinstance(signature.get("max_seq_len_passage"), int):
        params["max_seq_len_passage"] = signature["max_seq_len_passage"]
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
        for param, value in retriever_params(signature or {}).items():
            if (name, param) not in config.overridden and params[name].get(param) != value:
                overrides[f"{name}.{param}"] = value
    return config.with_overrides(overrides) if overrides else config
