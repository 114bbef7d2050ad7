"""Documents through an indexing pipeline into its store, resumably: what ``Workspace.index`` runs.

Documents are fed to the pipeline's root (``File``) in batches of about ``batch_passages`` passages. Each
carries a digest of its title and text (``meta[schema.digest_field]``: the corpus reader stamps it, copied
onto its passages), so before each batch the documents already stored are told apart by content, not only
by id:

- new (its ``source_id`` has no passages yet): indexed;
- unchanged (same digest; for passages stored before digests were kept, the digest of the text they hold):
  skipped, which is what makes a re-run after an interruption cheap;
- changed: what the store's ``duplicate_documents`` says: ``overwrite`` replaces its passages (the new ones
  are written first, then the old ones left over are deleted), ``skip`` keeps the stored text and reports
  the document as refused, ``fail`` raises before anything of the batch is written.

Usage (through a workspace, which supplies the pipeline, the store's schema and the lock)::

    from dpr_components.workspace import Workspace

    with Workspace("wiki_store") as workspace:
        summary = workspace.index("psgs_w100.tsv", overrides=["Retriever.batch_size=32"])
    print(describe(summary))   # Indexed 3 documents (2 new, 1 replaced; ...), 5 unchanged. Store ... holds ...
"""
import math
import sys
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple

from dpr_components.errors import ConfigurationError, StoreError
from dpr_components.pipelines.loading import LoadedPipeline
from dpr_components.schema import PASSAGES, PassageSchema

OUTCOMES = ("new", "replaced", "unchanged", "refused")


def batches(documents: Iterable[Any], batch_passages: int, words_per_passage: int) -> Iterator[List[Any]]:
    """Groups of documents that will make about ``batch_passages`` passages each."""
    batch: List[Any] = []
    passages = 0
    for document in documents:
        batch.append(document)
        passages += max(1, math.ceil(len(document.content.split()) / words_per_passage))
        if passages >= batch_passages:
            yield batch
            batch, passages = [], 0
    if batch:
        yield batch


def source_id(document: Any, schema: PassageSchema) -> str:
    return str((document.meta or {}).get(schema.source_id_field) or document.id)


def outcomes(store: Any, sources: List[Tuple[str, Optional[str]]], policy: str,
             schema: PassageSchema = PASSAGES) -> List[str]:
    """The duplicate rule: for each ``(source id, digest)`` (digest None: content not known yet), ``new``,
    ``unchanged``, or for a stored source with other content ``replaced`` (policy ``overwrite``) / ``refused``."""
    stored = stored_digests(store, [source for source, _ in sources], schema)
    return [_outcome(stored.get(source), digest, policy) for source, digest in sources]


def stored_digests(store: Any, source_ids: List[str], schema: PassageSchema) -> Dict[str, set]:
    """``{source id: digests of its stored passages}`` for those of ``source_ids`` with passages; passages stored
    before digests were kept get the digest of the title and text they hold (blocks of the source's words)."""
    found: Dict[str, set] = {}
    older: Dict[str, List[Any]] = {}
    if source_ids:
        for passage in store.get_all_documents(filters={schema.source_id_field: {"$in": source_ids}},
                                               return_embedding=False):
            meta, source = passage.meta or {}, source_id(passage, schema)
            if meta.get(schema.digest_field):
                found.setdefault(source, set()).add(meta[schema.digest_field])
            else:
                older.setdefault(source, []).append(passage)
    for source, passages in older.items():
        passages.sort(key=lambda passage: passage.meta.get(schema.split_id_field) or 0)
        text = " ".join(passage.content for passage in passages)
        found.setdefault(source, set()).add(schema.digest(schema.title(passages[0].meta), text))
    return found


def index_documents(indexing: LoadedPipeline, documents: Iterable[Any], schema: PassageSchema,
                    total: Optional[int] = None, batch_passages: int = 256,
                    progress_bar: bool = True) -> Dict[str, Any]:
    """Index ``documents`` with the pipeline (see the module doc); returns counts per outcome and of passages."""
    from tqdm import tqdm

    store = indexing.document_store
    policy = getattr(store, "duplicate_documents", "overwrite")
    summary: Dict[str, Any] = {f"documents_{outcome}": 0 for outcome in OUTCOMES}
    summary.update(documents_empty=0, passages_before=store.get_document_count(), passages_reembedded=0)
    bar = tqdm(total=total, unit="doc", desc="Indexing", disable=not progress_bar, file=sys.stderr)
    try:
        for batch in batches(documents, batch_passages, schema.words_per_passage):
            with_words = [document for document in batch if document.content.strip()]
            for document in with_words:  # the corpus reader stamps the digest; documents given in Python get it here
                meta = document.meta = dict(document.meta or {})
                meta.setdefault(schema.digest_field, schema.digest(meta.get(schema.title_field), document.content))
            found = dict(zip([d.id for d in with_words], outcomes(
                store, [(source_id(d, schema), d.meta[schema.digest_field]) for d in with_words], policy, schema)))
            changed = [source_id(d, schema) for d in with_words if found[d.id] in ("replaced", "refused")]
            if policy == "fail" and changed:
                raise StoreError(
                    f"{len(changed)} document(s) are stored with other text ({', '.join(changed[:5])}); nothing of "
                    "this batch was written (documents before it were). The store's duplicate_documents is "
                    "'fail': set it to 'overwrite' to replace them, or give the new documents other ids.")
            todo = [d for d in with_words if found[d.id] in ("new", "replaced")]
            if todo:
                indexing.pipeline.run(documents=todo)
                _delete_replaced(store, {source_id(d, schema): d.meta[schema.digest_field]
                                         for d in todo if found[d.id] == "replaced"}, schema)
            for outcome in found.values():
                summary[f"documents_{outcome}"] += 1
            summary["documents_empty"] += len(batch) - len(with_words)
            bar.update(len(batch))
    finally:
        bar.close()
        summary["passages_in_store"] = store.get_document_count()
        summary["passages_written"] = summary["passages_in_store"] - summary["passages_before"]
        summary["documents_indexed"] = summary["documents_new"] + summary["documents_replaced"]
        summary["duplicate_documents"] = policy
        summary["store"] = str(getattr(store, "path", "") or "") or None
    return summary


def _outcome(stored: Optional[set], digest: Optional[str], policy: str) -> str:
    if not stored:
        return "new"
    if digest in stored:
        return "unchanged"
    return "replaced" if policy == "overwrite" else "refused"


def _delete_replaced(store: Any, digests: Dict[str, str], schema: PassageSchema) -> None:
    """Delete the passages of replaced documents that the new text did not overwrite."""
    if digests:
        old = [passage.id for passage in store.get_all_documents(
            filters={schema.source_id_field: {"$in": list(digests)}}, return_embedding=False)
            if (passage.meta or {}).get(schema.digest_field) != digests[source_id(passage, schema)]]
        if old:
            store.delete_documents(ids=old)


def reembed(indexing: LoadedPipeline) -> int:
    """Re-embed every stored passage with the indexing pipeline's dense retriever; returns how many."""
    retrievers = [node for node in indexing.nodes.values() if hasattr(node, "embed_documents")]
    if len(retrievers) != 1:
        raise ConfigurationError(f"reembed needs exactly one dense retriever in the indexing pipeline, found "
                                 f"{len(retrievers)}. Use a pipeline like pipelines/indexing.yml.", parameter="reembed")
    count = indexing.document_store.get_document_count()
    if count:
        indexing.document_store.update_embeddings(retrievers[0], update_existing_embeddings=True)
    return count


def describe(summary: Dict[str, Any]) -> str:
    """A few lines for people: what was indexed, replaced, left unchanged or refused, and what is stored."""
    reembedded = summary.get("passages_reembedded")
    indexed = f"{summary['documents_new']} new" + (f", {summary['documents_replaced']} replaced with their new text"
                                                   if summary["documents_replaced"] else "")
    others = [f"{summary['documents_unchanged']} unchanged (already stored)"]
    if summary["documents_refused"]:
        others.append(f"{summary['documents_refused']} refused: stored with other text, kept because the store's "
                      f"duplicate_documents is '{summary['duplicate_documents']}'")
    if summary["documents_empty"]:
        others.append(f"{summary['documents_empty']} without text")
    return (f"Re-embedded {reembedded} stored passages. " if reembedded else "") + (
        f"Indexed {summary['documents_indexed']} documents ({indexed}; {summary['passages_written']:+d} passages), "
        f"{', '.join(others)}. Store {summary['store']} holds {summary['passages_in_store']} passages.")
