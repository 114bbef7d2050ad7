"""Documents through an indexing pipeline into its store, resumably: what ``Workspace.index`` runs.

Documents are fed to the pipeline's root (``File``) in batches of about ``batch_passages`` passages. Each
carries a digest of its title and text (``meta[schema.digest_field]``: the corpus reader stamps it, copied
onto its passages), so before each batch the documents already stored are told apart by content, not only
by id:

- new (its ``source_id`` has no passages yet): indexed;
- unchanged (same digest; for passages stored before digests were kept, the digest of the text they hold):
  skipped, which is what makes a re-run after an interruption cheap;
- changed: what the store's ``duplicate_documents`` says: ``overwrite`` replaces its passages (the old ones
  are deleted in the write of the first new ones), ``skip`` keeps the stored text and reports the document as
  refused, ``fail`` raises before anything of the batch is written.

Usage (through a workspace, which supplies the pipeline, the store's schema and the lock)::

    from dpr_components.workspace import Workspace

    with Workspace("wiki_store") as workspace:
        summary = workspace.index("psgs_w100.tsv", overrides=["Retriever.batch_size=32"])
    print(describe(summary))   # Indexed 3 documents (2 new, 1 replaced; ...), 5 unchanged. Store ... holds ...
"""
import math
import sys
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from dpr_components.errors import ConfigurationError, StoreError
from dpr_components.pipelines.loading import LoadedPipeline
from dpr_components.schema import PASSAGES, PassageSchema
from dpr_components.utils.locks import ReadWriteLock

OUTCOMES = ("new", "replaced", "unchanged", "refused")


class DuplicateError(StoreError):
    """Documents are stored with other text and the duplicate policy is ``fail``; nothing of them was written."""


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


def outcomes(store: Any, sources: Sequence[Tuple[str, Optional[str]]], policy: str,
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
        found.setdefault(source, set()).add(passages_digest(passages, schema))
    return found


def index_documents(indexing: LoadedPipeline, documents: Iterable[Any], schema: PassageSchema,
                    total: Optional[int] = None, batch_passages: int = 256, progress_bar: bool = True,
                    lock: Any = None, policy: Optional[str] = None,
                    files: Optional[List[Tuple[Any, Dict[str, Any]]]] = None) -> Dict[str, Any]:
    """Index ``documents`` with the pipeline (see the module doc); returns counts per outcome and of passages.

    With ``lock`` (a :class:`~dpr_components.utils.locks.ReadWriteLock`), only the store writes hold its write
    side, ``batch_passages`` passages at a time: splitting and embedding run before, so queries go on
    meanwhile, and a replaced document's old passages are deleted in the write of its first new ones (a query
    never sees two versions, nor neither). ``policy`` overrides the store's ``duplicate_documents``; under
    ``fail`` a list of documents is checked whole before anything is written. ``files``: ``(path, meta)`` for a
    pipeline that starts with a Haystack file converter, run with ``file_paths``; a file's content is known
    after conversion, so its digest is that of the text its passages hold."""
    from tqdm import tqdm

    store = indexing.document_store
    rule = policy or str(getattr(store, "duplicate_documents", "overwrite"))
    lock = lock or ReadWriteLock()
    before_store = until_store(indexing.pipeline, store)
    summary: Dict[str, Any] = {f"documents_{outcome}": 0 for outcome in OUTCOMES}
    summary.update(documents_empty=0, passages_before=store.get_document_count(), passages_replaced=0)

    def classify(sources: List[Tuple[str, str]]) -> Dict[str, str]:
        with lock.reading():
            found = dict(zip([source for source, _ in sources], outcomes(store, sources, rule, schema)))
        changed = [source for source, outcome in found.items() if outcome in ("replaced", "refused")]
        if rule == "fail" and changed:
            raise DuplicateError(
                f"{len(changed)} document(s) are stored with other text ({', '.join(changed[:5])}); nothing of "
                "them was written. The duplicate policy is 'fail': use 'overwrite' to replace them (the store's "
                "duplicate_documents), or give the documents other ids.")
        for outcome in found.values():
            summary[f"documents_{outcome}"] += 1
        return found

    def write(passages: List[Any], replaced: List[str], extras: Dict[str, Any], whole: Any = None) -> None:
        for start in range(0, max(len(passages), 1), batch_passages):
            with lock.writing():
                if start == 0 and replaced:  # old versions go in the write of the first new passages
                    old = {schema.source_id_field: {"$in": replaced}}
                    summary["passages_replaced"] += store.get_document_count(filters=old)
                    store.delete_documents(filters=old)
                if passages:
                    store.run(documents=passages[start:start + batch_passages], **extras)
                elif whole:  # the store is not the pipeline's one last node: run it whole
                    indexing.pipeline.run(documents=whole)

    bar = tqdm(total=total, unit="doc", desc="Indexing", disable=not progress_bar, file=sys.stderr)
    try:
        if files:
            if before_store is None:
                raise ConfigurationError("A pipeline that converts files needs the document store as its one last "
                                         "node (File -> converter -> ... -> DocumentStore).")
            output = before_store.run(file_paths=[path for path, _ in files], meta=[meta for _, meta in files])
            by_source: Dict[str, List[Any]] = {}
            for passage in output.get("documents") or []:
                by_source.setdefault(source_id(passage, schema), []).append(passage)
            digests = {source: passages_digest(passages, schema) for source, passages in by_source.items()}
            found = classify(list(digests.items()))
            kept = [passage for source, passages in by_source.items() if found[source] in ("new", "replaced")
                    for passage in passages]
            for passage in kept:
                passage.meta = {**(passage.meta or {}), schema.digest_field: digests[source_id(passage, schema)]}
            write(kept, [s for s, outcome in found.items() if outcome == "replaced"],
                  {key: value for key, value in output.items() if key in store_inputs(store)})
            bar.update(len(files))
        if rule == "fail" and isinstance(documents, list):  # the whole list, before anything is written
            classify([(source_id(d, schema), stamp(d, schema)) for d in documents if d.content.strip()])
            summary.update({f"documents_{outcome}": 0 for outcome in OUTCOMES})
        for batch in batches(documents, batch_passages, schema.words_per_passage):
            with_words = [document for document in batch if document.content.strip()]
            found = classify([(source_id(d, schema), stamp(d, schema)) for d in with_words])
            todo = [d for d in with_words if found[source_id(d, schema)] in ("new", "replaced")]
            output = before_store.run(documents=todo) if todo and before_store else {}
            write(output.get("documents") or [], [source_id(d, schema) for d in todo
                                                  if found[source_id(d, schema)] == "replaced"],
                  {key: value for key, value in output.items() if key in store_inputs(store)},
                  whole=todo if todo and not before_store else None)
            summary["documents_empty"] += len(batch) - len(with_words)
            bar.update(len(batch))
    finally:
        bar.close()
        summary["passages_in_store"] = store.get_document_count()  # written: new ones and the new texts' ones
        summary["passages_written"] = summary["passages_in_store"] - summary["passages_before"] + summary[
            "passages_replaced"]
        summary["documents_indexed"] = summary["documents_new"] + summary["documents_replaced"]
        summary["duplicate_documents"] = rule
        summary["store"] = str(getattr(store, "path", "") or "") or None
    return summary


def stamp(document: Any, schema: PassageSchema) -> str:
    """The document's digest (the corpus reader stamps it; documents given in Python get it here)."""
    meta = document.meta = dict(document.meta or {})
    return meta.setdefault(schema.digest_field, schema.digest(meta.get(schema.title_field), document.content))


def passages_digest(passages: List[Any], schema: PassageSchema) -> str:
    """The digest of the source document the passages hold, in their order (its title and words)."""
    ordered = sorted(passages, key=lambda passage: (passage.meta or {}).get(schema.split_id_field) or 0)
    return schema.digest(schema.title(ordered[0].meta), " ".join(passage.content for passage in ordered))


def until_store(pipeline: Any, store: Any) -> Optional[Any]:
    """The indexing pipeline up to (not including) its store node, or None when the store is not its only last
    node (then the pipeline is run whole)."""
    from haystack import Pipeline

    graph = pipeline.graph
    names = [name for name in graph.nodes if graph.nodes[name]["component"] is store]
    if len(names) != 1 or list(graph.successors(names[0])) or len(graph.nodes) < 3:
        return None
    trimmed = Pipeline()
    trimmed.graph = graph.copy()
    trimmed.graph.remove_node(names[0])
    leaves = [name for name in trimmed.graph.nodes if not list(trimmed.graph.successors(name))]
    return trimmed if len(leaves) == 1 else None


def store_inputs(store: Any) -> set:
    """What the store node's ``run`` takes besides the documents (``encoder_signature``)."""
    import inspect

    return set(inspect.signature(store.run).parameters) - {"documents", "self"}


def _outcome(stored: Optional[set], digest: Optional[str], policy: str) -> str:
    if not stored:
        return "new"
    if digest in stored:
        return "unchanged"
    return "replaced" if policy == "overwrite" else "refused"


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
    replaced = f", {summary['passages_replaced']} old ones replaced" if summary["passages_replaced"] else ""
    return (f"Re-embedded {reembedded} stored passages. " if reembedded else "") + (
        f"Indexed {summary['documents_indexed']} documents ({indexed}; {summary['passages_written']} passages "
        f"written{replaced}), {', '.join(others)}. Store {summary['store']} holds {summary['passages_in_store']} "
        "passages.")
