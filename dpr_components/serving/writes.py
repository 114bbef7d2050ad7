"""Uploads and deletes: the store's duplicate policy made explicit, and writes that let queries in between.

An upload is compared with the store by ``meta["source_id"]`` (a file's name, a jsonl/tsv record's id) and the
policy (the store's ``duplicate_documents``, or the request's) decides, before anything is written:

- ``overwrite``: a stored document with that source is replaced whole -- its old passages are deleted in the
  same write as the first new ones, so a query never sees a mix of two versions, nor neither;
- ``skip``: it is left as it is and the upload's copy is not indexed;
- ``fail``: nothing is written and the answer is 409 naming them.

The answer says what happened (``documents_replaced``, ``documents_skipped``, ``passages_replaced``,
``passages_written``). The work before the store (conversion, splitting, embedding) runs outside the
readers-writer lock; the passages are then written in batches of ``batch_passages``, each under the write
side, so queries run between batches instead of waiting for the whole upload.

Usage::

    writer = StoreWriter(indexing_pipeline, store, ReadWriteLock())
    writer.upload([("notes.txt", b"Hamlet was written by William Shakespeare.")])   # a report dict
    writer.delete({"name": ["notes"]})                                              # how many were deleted
"""
import logging
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from dpr_components.pipelines.indexing import store_inputs, until_store
from dpr_components.schema import PASSAGES, SOURCE_ID_FIELD, PassageSchema
from dpr_components.serving.errors import ConflictError, InvalidRequestError
from dpr_components.utils.locks import ReadWriteLock
from dpr_components.serving.uploads import Upload, documents_from_upload, file_paths_from_upload

logger = logging.getLogger(__name__)
POLICIES = ("overwrite", "skip", "fail")


class StoreWriter:
    """Writes of one server into its store, one upload at a time."""

    def __init__(self, indexing: Any, store: Any, lock: ReadWriteLock, batch_passages: int = 64,
                 file_upload_path: Optional[str] = None, schema: PassageSchema = PASSAGES, workspace: Any = None):
        self.store, self.lock, self.schema = store, lock, schema
        # Documents go through ``workspace.index(documents, loaded)``, the call ``dpr-components index`` makes.
        self.workspace, self.loaded, self.indexing = workspace, indexing, getattr(indexing, "pipeline", indexing)
        self.batch_passages, self.file_upload_path = batch_passages, file_upload_path
        self._one_upload = threading.Lock()  # the policy check must still hold when the writes happen
        self._before_store = until_store(self.indexing, store)

    @property
    def takes_files(self) -> bool:
        """Whether the pipeline starts with a Haystack file converter (it is then run with ``file_paths=``)."""
        from haystack.nodes import BaseConverter, FileTypeClassifier

        first = [self.indexing.get_node(name) for name in self.indexing.graph.successors(self.indexing.root_node)]
        return any(isinstance(node, (BaseConverter, FileTypeClassifier)) for node in first)

    def delete(self, filters: Optional[Dict[str, Any]], index: Optional[str] = None) -> int:
        """Delete the documents matching ``filters`` (all for None or ``{}``); how many there were."""
        with self.lock.writing():
            count = self.store.get_document_count(filters=filters or None, index=index)
            self.store.delete_documents(filters=filters or None, index=index)
            _save(self.store)
        return count

    def upload(self, files: List[Upload], meta: Optional[Mapping[str, Any]] = None,
               duplicate_documents: Optional[str] = None, keep_files: bool = False) -> Dict[str, Any]:
        """Index the files as the policy says; a report of what was replaced, skipped and written."""
        policy = duplicate_documents or getattr(self.store, "duplicate_documents", "overwrite")
        if policy not in POLICIES:
            raise InvalidRequestError(f"duplicate_documents must be one of {', '.join(POLICIES)}, got {policy!r}.")
        with self._one_upload:
            if self.takes_files:
                return self._upload_files(files, meta, policy, keep_files)
            documents = documents_from_upload(files, meta, self.schema)
            report = {"documents": len(documents), "duplicate_documents": policy}
            documents, stale = self._apply_policy(documents, policy, report)  # 'fail': 409 before anything is written
            if self.workspace is None:
                return self._report(report, *(self._index(stale, documents=documents) if documents else (0, 0)))
            summary = self.workspace.index(documents, self.loaded, duplicate_documents=policy, progress_bar=False,
                                           batch_passages=self.batch_passages)
            return self._report(report, summary["passages_written"], summary["passages_replaced"])

    def _upload_files(self, files: List[Upload], meta: Optional[Mapping[str, Any]], policy: str,
                      keep_files: bool) -> Dict[str, Any]:
        keep = Path(self.file_upload_path or "file-upload") if keep_files else None
        with tempfile.TemporaryDirectory(prefix="dpr-upload-") as temporary:
            directory = keep or Path(temporary)
            directory.mkdir(parents=True, exist_ok=True)
            paths, metas = file_paths_from_upload(files, meta, directory)
            report = {"documents": len(paths), "duplicate_documents": policy}
            kept, stale = self._apply_policy(list(zip(paths, metas)), policy, report)
            written = self._index(stale, file_paths=[p for p, _ in kept], meta=[m for _, m in kept]) if kept else (0, 0)
            if keep is None:
                for path in paths:
                    path.unlink(missing_ok=True)
        return self._report(report, *written)

    def _apply_policy(self, items: List[Any], policy: str, report: Dict[str, Any]) -> Tuple[List[Any], List[str]]:
        """The items to index and the stored sources they replace (items: documents or (path, meta) pairs), by
        the rule ``dpr-components index`` follows: a source stored with the same content is left unchanged (a
        file path's content is not known before conversion: it counts as other content)."""
        from dpr_components.pipelines.indexing import outcomes

        source = lambda item: str((item[1] if isinstance(item, tuple) else item.meta)[SOURCE_ID_FIELD])  # noqa: E731
        digest = lambda item: None if isinstance(item, tuple) else item.meta.get(self.schema.digest_field)  # noqa: E731
        with self.lock.reading():
            found = outcomes(self.store, [(source(item), digest(item)) for item in items], policy, self.schema)
        report["documents_unchanged"] = found.count("unchanged")
        existing = {source(item) for item, outcome in zip(items, found) if outcome in ("replaced", "refused")}
        items = [item for item, outcome in zip(items, found) if outcome != "unchanged"]
        if existing and policy == "fail":
            shown = ", ".join(sorted(existing)[:5]) + (" ..." if len(existing) > 5 else "")
            raise ConflictError(f"{len(existing)} uploaded document(s) are already stored ({shown}) and the "
                                "duplicate policy is 'fail': nothing was written. Send duplicate_documents="
                                "overwrite or skip, or delete them first.")
        report["documents_replaced"] = len(existing) if policy == "overwrite" else 0
        report["documents_skipped"] = len(existing) if policy == "skip" else 0
        if policy == "skip":
            return [item for item in items if source(item) not in existing], []
        return items, sorted(existing)

    def _index(self, stale: List[str], **inputs: Any) -> Tuple[int, int]:
        """Run the pipeline and write its passages in batches, replacing the ``stale`` sources in the first
        batch's write; (passages written, passages replaced)."""
        if self._before_store is None:  # the store is not the pipeline's only last node: run it whole, locked
            with self.lock.writing():
                replaced = self._delete_sources(stale)
                before = self.store.get_document_count()
                self.indexing.run(**inputs)
                _save(self.store)
                return self.store.get_document_count() - before, replaced
        output = self._before_store.run(**inputs)
        passages = output.get("documents") or []
        extras = {key: value for key, value in output.items() if key in store_inputs(self.store)}
        replaced = 0
        for start in range(0, max(len(passages), 1), self.batch_passages):
            with self.lock.writing():
                if start == 0:
                    replaced = self._delete_sources(stale)
                if passages:
                    self.store.run(documents=passages[start:start + self.batch_passages], **extras)
        with self.lock.writing():
            _save(self.store)
        return len(passages), replaced

    def _delete_sources(self, sources: List[str]) -> int:
        if not sources:
            return 0
        filters = {SOURCE_ID_FIELD: sources}
        count = self.store.get_document_count(filters=filters)
        self.store.delete_documents(filters=filters)
        return count

    def _report(self, report: Dict[str, Any], written: int, replaced: int) -> Dict[str, Any]:
        report.update(passages_replaced=replaced, passages_written=written,
                      passages_in_store=self.store.get_document_count())
        return report


def _save(store: Any) -> None:
    if hasattr(store, "save"):
        store.save()
