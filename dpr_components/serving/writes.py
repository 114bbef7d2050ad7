"""Uploads and deletes of the REST API, through the server's :class:`~dpr_components.workspace.Workspace`.

An upload is indexed by ``workspace.index``, the call ``dpr-components index`` makes, so it follows the same
rule (:mod:`dpr_components.pipelines.indexing`): a document is compared with the store by ``meta["source_id"]``
(a file's name, a jsonl/tsv record's id) and the digest of its content; one stored with the same content is
left unchanged; one stored with other content follows the policy (the store's ``duplicate_documents``, or
the request's): ``overwrite`` replaces it whole (its old passages deleted in the write of the first new ones:
a query never sees a mix of two versions, nor neither), ``skip`` keeps it, ``fail`` writes nothing and
answers 409. The work before the store (conversion, splitting, embedding) runs outside the workspace's
readers-writer lock; passages are written in batches of ``batch_passages``, each under the write side, so
queries run between batches. The answer says what happened (``documents_replaced``, ``documents_skipped``,
``documents_unchanged``, ``passages_replaced``, ``passages_written``).

Usage::

    writer = StoreWriter(workspace, workspace.indexing_pipeline("indexing"))
    writer.upload([("notes.txt", b"Hamlet was written by William Shakespeare.")])   # a report dict
    writer.delete({"name": ["notes"]})                                              # how many were deleted
"""
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

from dpr_components.pipelines.indexing import DuplicateError
from dpr_components.serving.errors import ConflictError, InvalidRequestError
from dpr_components.serving.uploads import Upload, documents_from_upload, file_paths_from_upload

POLICIES = ("overwrite", "skip", "fail")


class StoreWriter:
    """Writes of one server into its workspace's store."""

    def __init__(self, workspace: Any, indexing: Any, batch_passages: int = 64, file_upload_path: Optional[str] = None):
        self.workspace, self.indexing = workspace, indexing  # indexing: a LoadedPipeline the workspace built
        self.batch_passages, self.file_upload_path = batch_passages, file_upload_path

    @property
    def takes_files(self) -> bool:
        """Whether the pipeline starts with a Haystack file converter (it is then run with ``file_paths=``)."""
        from haystack.nodes import BaseConverter, FileTypeClassifier

        pipeline = self.indexing.pipeline
        first = [pipeline.get_node(name) for name in pipeline.graph.successors(pipeline.root_node)]
        return any(isinstance(node, (BaseConverter, FileTypeClassifier)) for node in first)

    def delete(self, filters: Optional[Dict[str, Any]], index: Optional[str] = None) -> int:
        """Delete the documents matching ``filters`` (all for None or ``{}``); how many there were."""
        with self.workspace.writing() as store:
            count = store.get_document_count(filters=filters or None, index=index)
            store.delete_documents(filters=filters or None, index=index)
        return count

    def upload(self, files: List[Upload], meta: Optional[Mapping[str, Any]] = None,
               duplicate_documents: Optional[str] = None, keep_files: bool = False) -> Dict[str, Any]:
        """Index the files as the policy says; a report of what was replaced, skipped and written."""
        policy = duplicate_documents or getattr(self.workspace.store, "duplicate_documents", "overwrite")
        if policy not in POLICIES:
            raise InvalidRequestError(f"duplicate_documents must be one of {', '.join(POLICIES)}, got {policy!r}.")
        with tempfile.TemporaryDirectory(prefix="dpr-upload-") as temporary:
            if self.takes_files:  # the files themselves: kept under FILE_UPLOAD_PATH when asked, as Haystack does
                directory = Path(self.file_upload_path or "file-upload") if keep_files else Path(temporary)
                directory.mkdir(parents=True, exist_ok=True)
                pairs = list(zip(*file_paths_from_upload(files, meta, directory)))
                inputs, count = {"files": pairs}, len(pairs)
            else:
                documents = documents_from_upload(files, meta, self.workspace.schema)
                inputs, count = {"corpus": documents}, len(documents)
            try:
                summary = self.workspace.index(pipeline=self.indexing, duplicate_documents=policy, progress_bar=False,
                                               batch_passages=self.batch_passages, **inputs)
            except DuplicateError as error:
                raise ConflictError(str(error)) from None
        return {"documents": count, "duplicate_documents": policy, "documents_replaced": summary["documents_replaced"],
                "documents_skipped": summary["documents_refused"], **{key: summary[key] for key in (
                    "documents_unchanged", "passages_replaced", "passages_written", "passages_in_store")}}
