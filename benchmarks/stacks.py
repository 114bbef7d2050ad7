"""Builders for the two stacks under comparison, configured to do the same work.

Baseline: Haystack 1.x's DensePassageRetriever with InMemoryDocumentStore or FAISSDocumentStore (the
latter needs ``sqlalchemy<2``; when it is missing the FAISS baseline is skipped with that reason).
Ours: dpr_components' DPRRetriever with HybridDocumentStore. Both load the same checkpoint directories.
"""
import importlib
import logging
from typing import Optional, Tuple

from benchmarks.models import EncoderPair

BATCH_SIZE = 16  # the default of both retrievers
MAX_SEQ_LEN_PASSAGE = 256
MAX_SEQ_LEN_QUERY = 64


def quiet_logs() -> None:
    for name in ("haystack", "transformers", "faiss", "sentence_transformers", "dpr_components"):
        logging.getLogger(name).setLevel(logging.ERROR)


def missing_part(module: str, attribute: str) -> Optional[str]:
    """None when ``module.attribute`` imports, else why not (a part not merged yet, a missing package)."""
    try:
        getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as error:
        return f"{module}.{attribute} is not available ({error})"
    return None


def ours_missing() -> Optional[str]:
    return missing_part("dpr_components.retrievers.dpr_retriever", "DPRRetriever") or missing_part(
        "dpr_components.stores.hybrid_document_store", "HybridDocumentStore")


def onnxruntime_missing() -> Optional[str]:
    from dpr_components.encoders.onnx_runtime import missing_extra

    return missing_extra()


def faiss_baseline_missing() -> Optional[str]:
    try:
        import sqlalchemy
    except ImportError:
        return "Haystack's FAISSDocumentStore needs sqlalchemy<2 (pip install 'sqlalchemy>=1.4.2,<2' sqlalchemy-utils)"
    if int(sqlalchemy.__version__.split(".")[0]) >= 2:
        return f"Haystack's FAISSDocumentStore needs sqlalchemy<2, found {sqlalchemy.__version__}"
    return None


def haystack_retriever(pair: EncoderPair, document_store=None, batch_size: int = BATCH_SIZE):
    from haystack.nodes import DensePassageRetriever

    return DensePassageRetriever(
        document_store=document_store,
        query_embedding_model=pair.question_dir,
        passage_embedding_model=pair.context_dir,
        max_seq_len_query=MAX_SEQ_LEN_QUERY,
        max_seq_len_passage=MAX_SEQ_LEN_PASSAGE,
        batch_size=batch_size,
        use_gpu=False,
        progress_bar=False,
        scale_score=False,
    )


def haystack_memory_store(embedding_dim: int, use_bm25: bool = False, bm25_parameters: Optional[dict] = None):
    from haystack.document_stores import InMemoryDocumentStore

    return InMemoryDocumentStore(embedding_dim=embedding_dim, similarity="dot_product", use_gpu=False,
                                 progress_bar=False, use_bm25=use_bm25, bm25_parameters=bm25_parameters)


def haystack_faiss_store(embedding_dim: int, sql_path: str):
    from haystack.document_stores import FAISSDocumentStore

    return FAISSDocumentStore(sql_url=f"sqlite:///{sql_path}", embedding_dim=embedding_dim,
                              faiss_index_factory_str="Flat", similarity="dot_product", progress_bar=False)


def our_retriever(pair: EncoderPair, document_store=None, precision: str = "auto", batch_size: int = BATCH_SIZE,
                  runtime: str = "torch"):
    from dpr_components.retrievers.dpr_retriever import DPRRetriever

    return DPRRetriever(
        document_store=document_store,
        query_embedding_model=pair.question_dir,
        passage_embedding_model=pair.context_dir,
        max_seq_len_query=MAX_SEQ_LEN_QUERY,
        max_seq_len_passage=MAX_SEQ_LEN_PASSAGE,
        batch_size=batch_size,
        precision=precision,
        progress_bar=False,
        runtime=runtime,
    )


def our_store(path: str, embedding_dim: int, **params):
    from dpr_components.stores.hybrid_document_store import HybridDocumentStore

    return HybridDocumentStore(path=path, embedding_dim=embedding_dim, faiss_index_factory_str="Flat",
                               similarity="dot_product", progress_bar=False, **params)


def native_bf16() -> Tuple[bool, str]:
    """Whether the CPU multiplies bf16 natively (AVX-512 BF16 or AMX); without it bf16 is emulated, slow."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        flags = []
    native = [flag for flag in ("avx512_bf16", "amx_bf16") if flag in flags]
    return bool(native), ", ".join(native) or "no avx512_bf16/amx_bf16"
