"""A corpus through an indexing pipeline into its store, resumably: what ``dpr-components index`` runs.

The corpus is read document by document (see :mod:`dpr_components.preprocessing.corpus`) and fed to the
pipeline's root (``File``) in batches of about ``batch_passages`` passages. Before each batch, the documents
whose ``meta["source_id"]`` is already in the store are skipped, so re-running the same call after an
interruption (or after adding files to a corpus directory) only indexes what is missing. An existing store
lends its recorded encoder to the pipeline's retriever (see :mod:`dpr_components.pipelines.store_encoder`).

Usage::

    from dpr_components.pipelines import index_corpus

    summary = index_corpus("psgs_w100.tsv", pipeline="indexing", store="wiki_store",
                           overrides=["Retriever.batch_size=32"])
    print(summary["documents_indexed"], summary["passages_in_store"])
"""
import math
import sys
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Set

from tqdm import tqdm

from dpr_components.errors import ConfigurationError
from dpr_components.pipelines.loading import LoadedPipeline, PipelineSource, load_pipeline, read_pipeline_config
from dpr_components.pipelines.overrides import Overrides
from dpr_components.preprocessing.corpus import count_documents, read_corpus
from dpr_components.schema import SOURCE_ID_FIELD, WORDS_PER_PASSAGE
from dpr_components.utils.validation import positive_int


def batches(documents: Iterable[Any], batch_passages: int) -> Iterator[List[Any]]:
    """Groups of documents that will make about ``batch_passages`` 100-word passages each."""
    batch: List[Any] = []
    passages = 0
    for document in documents:
        batch.append(document)
        passages += max(1, math.ceil(len(document.content.split()) / WORDS_PER_PASSAGE))
        if passages >= batch_passages:
            yield batch
            batch, passages = [], 0
    if batch:
        yield batch


def stored_source_ids(store: Any, source_ids: List[str]) -> Set[str]:
    """Which of ``source_ids`` already have passages in ``store``."""
    if not source_ids:
        return set()
    stored = store.get_all_documents(filters={SOURCE_ID_FIELD: {"$in": source_ids}}, return_embedding=False)
    return {str(document.meta.get(SOURCE_ID_FIELD)) for document in stored}


def load_indexing_pipeline(
    pipeline: PipelineSource = "indexing",
    pipeline_name: Optional[str] = None,
    store: Optional[str] = None,
    overrides: Optional[Overrides] = (),
    environ: Optional[Mapping[str, str]] = None,
) -> LoadedPipeline:
    """A built indexing pipeline (root ``File``) with a document store."""
    from dpr_components.pipelines.store_encoder import with_store_encoder

    config = with_store_encoder(read_pipeline_config(pipeline, pipeline_name, store, overrides, environ))
    loaded = load_pipeline(config)
    if loaded.document_store is None or loaded.root_node != "File":
        raise ConfigurationError(
            f"{config.name!r} is not an indexing pipeline: it needs `inputs: [File]` on its first node and a "
            "document store node that writes the passages (see pipelines/indexing.yml)."
        )
    return loaded


def index_corpus(
    corpus: str,
    pipeline: Any = "indexing",
    store: Optional[str] = None,
    overrides: Optional[Overrides] = (),
    corpus_format: str = "auto",
    batch_passages: int = 256,
    pipeline_name: Optional[str] = None,
    progress_bar: bool = True,
    reembed: bool = False,
) -> Dict[str, Any]:
    """Index ``corpus`` with the pipeline (a name, path, ``PipelineConfig`` or ``LoadedPipeline``); returns
    counts of what was indexed, skipped and stored.

    ``reembed``: first re-embed every passage already stored with the pipeline's dense retriever. A store
    refuses vectors and queries of an encoder other than the one it recorded; after training a new passage
    encoder (``train-retriever``) this replaces all of its vectors at once."""
    batch_passages = positive_int("batch_passages (--batch-passages)", batch_passages)
    total = count_documents(corpus, corpus_format)  # also checks the corpus exists before models load
    indexing = pipeline if isinstance(pipeline, LoadedPipeline) else load_indexing_pipeline(
        pipeline, pipeline_name, store, overrides)
    document_store = indexing.document_store
    summary = {"documents_indexed": 0, "documents_skipped": 0, "documents_empty": 0,
               "passages_before": document_store.get_document_count(), "passages_reembedded": 0}
    if reembed:
        summary["passages_reembedded"] = reembed_store(indexing)
    bar = tqdm(total=total, unit="doc", desc="Indexing", disable=not progress_bar, file=sys.stderr)
    try:
        for batch in batches(read_corpus(corpus, corpus_format), batch_passages):
            with_words = [document for document in batch if document.content.strip()]
            source_ids = [str(document.meta[SOURCE_ID_FIELD]) for document in with_words]
            done = stored_source_ids(document_store, source_ids)
            todo = [document for document in with_words if str(document.meta[SOURCE_ID_FIELD]) not in done]
            if todo:
                indexing.pipeline.run(documents=todo)
            summary["documents_indexed"] += len(todo)
            summary["documents_skipped"] += len(with_words) - len(todo)
            summary["documents_empty"] += len(batch) - len(with_words)
            bar.update(len(batch))
            bar.set_postfix(skipped=summary["documents_skipped"])
    finally:
        bar.close()
        if hasattr(document_store, "save"):  # persist derived vector indexes now rather than at exit
            document_store.save()
        summary["passages_in_store"] = document_store.get_document_count()
        summary["passages_written"] = summary["passages_in_store"] - summary["passages_before"]
        summary["store"] = str(getattr(document_store, "path", "") or "") or None
    return summary


def reembed_store(indexing: LoadedPipeline) -> int:
    """Re-embed every stored passage with the indexing pipeline's dense retriever; returns how many."""
    retrievers = [node for node in indexing.nodes.values() if hasattr(node, "embed_documents")]
    if len(retrievers) != 1:
        raise ConfigurationError(f"--reembed needs exactly one dense retriever in the indexing pipeline, found "
                                 f"{len(retrievers)}. Use a pipeline like pipelines/indexing.yml.")
    count = indexing.document_store.get_document_count()
    if count:
        indexing.document_store.update_embeddings(retrievers[0], update_existing_embeddings=True)
    return count


def describe(summary: Dict[str, Any]) -> str:
    """One line for people: what was indexed, skipped and stored."""
    empty = f", {summary['documents_empty']} without text" if summary["documents_empty"] else ""
    reembedded = summary.get("passages_reembedded")
    return (f"Re-embedded {reembedded} stored passages. " if reembedded else "") + (
        f"Indexed {summary['documents_indexed']} documents ({summary['passages_written']} new passages), "
        f"skipped {summary['documents_skipped']} already stored{empty}. "
        f"Store {summary['store']} holds {summary['passages_in_store']} passages."
    )
