"""One loaded pipeline shared by every request: micro-batched queries, serialised writes, no torn reads.

Queries go through a :class:`~dpr_components.serving.batcher.MicroBatcher` whose single worker runs them
with the pipeline's ``run_batch`` while holding the read side of a :class:`ReadWriteLock`; uploads and
deletes take the write side, one at a time, so a query sees the store before or after a write, never during.
Everything here is plain Python: :mod:`dpr_components.serving.app` is the HTTP shell around it.

Usage::

    from dpr_components.serving import ServeSettings, load_service

    service = load_service(ServeSettings(pipeline="hybrid_qa", store="my_store"))
    body = service.query("who wrote hamlet?", params={"Retriever": {"top_k": 5}}).result()
    service.upload([("notes.txt", b"Hamlet was written by William Shakespeare.")])   # what was written
    service.delete_by_filters({"name": ["notes"]})                                    # how many were deleted
    service.feedback.metrics(None)                                                    # labels: .feedback
    service.stop()
"""
import logging
from concurrent.futures import Future
from typing import Any, Dict, List, Mapping, Optional, Union

from dpr_components.serving.batcher import MicroBatcher
from dpr_components.serving.checks import checked_query
from dpr_components.serving.errors import NotConfiguredError, ServingError
from dpr_components.serving.feedback import Feedback
from dpr_components.serving.loading import LoadedPipelines, load_pipelines
from dpr_components.serving.params import QueryParams
from dpr_components.serving.schemas import document_json, query_response
from dpr_components.serving.settings import ServeSettings
from dpr_components.serving.uploads import Upload
from dpr_components.serving.writes import StoreWriter

logger = logging.getLogger(__name__)


class PipelineService:
    """The query, indexing and store operations behind the REST endpoints."""

    def __init__(self, pipelines: LoadedPipelines, settings: ServeSettings):
        self.pipelines, self.settings = pipelines, settings
        self.rules = QueryParams.of(pipelines.query)
        self.lock = pipelines.workspace.lock  # the workspace's: the CLI and the REST API write under one lock
        self.batcher = MicroBatcher(run_batch=self._run_batch, run_one=self._run_one,
                                    window_s=settings.batch_window_ms / 1000, max_batch_size=settings.max_batch_size,
                                    max_queue=settings.max_queue)
        self.feedback = Feedback(pipelines.store)
        self.writer = None if pipelines.indexing is None else StoreWriter(
            pipelines.workspace, pipelines.indexing, file_upload_path=settings.file_upload_path)

    def start(self) -> None:
        self.batcher.start()

    def stop(self) -> None:
        self.batcher.stop()  # (every write built and saved the store's indexes already)

    # ----- queries ------------------------------------------------------------------------------------------

    def query(self, query: str, params: Optional[Mapping[str, Any]] = None, debug: bool = False) -> Future:
        """Queue one query; the future resolves to Haystack's ``{query, answers, documents}`` JSON."""
        return self.batcher.submit(checked_query(query), self.rules.check(params, debug))

    def query_batch(self, queries: List[Any], params: Optional[Mapping[str, Any]] = None
                    ) -> List[Union[Future, ServingError]]:
        """Queue many queries at once (the batcher runs them together); a bad question gets its own error in
        its place, and the others still run."""
        checked = self.rules.check(params)
        answers: List[Union[Future, ServingError]] = []
        try:
            for position, query in enumerate(queries):
                try:
                    answers.append(self.batcher.submit(checked_query(query, f"queries[{position}]"), checked))
                except ServingError as error:
                    if error.status_code == 503:
                        raise
                    answers.append(error)
        except Exception:
            for answer in answers:
                if isinstance(answer, Future):
                    answer.cancel()
            raise
        return answers

    def _run_batch(self, queries: List[str], params: Dict[str, Any]) -> List[Dict[str, Any]]:
        if len(queries) == 1 or self.rules.debugging(params):  # Haystack's _debug is per run: one at a time
            return [self._run_one([query], params)[0] for query in queries]
        with self.lock.reading():
            result = self.pipelines.query.run_batch(queries=queries, params=params or None)
        answers, documents = result.get("answers"), result.get("documents")
        return [
            query_response({
                "query": query,
                "answers": answers[i] if answers is not None else [],
                "documents": documents[i] if documents is not None else [],
            })
            for i, query in enumerate(queries)
        ]

    def _run_one(self, queries: List[str], params: Dict[str, Any]) -> List[Dict[str, Any]]:
        with self.lock.reading():
            result = self.pipelines.query.run(query=queries[0], params=params or None)
        return [query_response(result)]

    # ----- store --------------------------------------------------------------------------------------------

    def get_by_filters(self, filters: Optional[Dict[str, Any]], index: Optional[str] = None) -> List[Dict[str, Any]]:
        with self.lock.reading():
            documents = self.pipelines.store.get_all_documents(filters=filters or None, index=index,
                                                               return_embedding=False)
        return [document_json(document) for document in documents]

    def delete_by_filters(self, filters: Optional[Dict[str, Any]], index: Optional[str] = None) -> int:
        """Delete the passages matching ``filters`` (all for None or ``{}``, as in Haystack); how many."""
        return self._writable().delete(filters, index)

    def upload(self, files: List[Upload], meta: Optional[Mapping[str, Any]] = None,
               duplicate_documents: Optional[str] = None, keep_files: bool = False) -> Dict[str, Any]:
        """Index uploaded files with the indexing pipeline (see :mod:`.writes`); what was written and replaced."""
        return self._writable().upload(files, meta, duplicate_documents, keep_files)

    def _writable(self) -> StoreWriter:
        if self.writer is None:
            raise NotConfiguredError("Indexing Pipeline is not configured: this server runs read-only, so uploads "
                                     "and deletes are off (start it without --read-only to allow them).")
        return self.writer


def load_service(settings: ServeSettings) -> PipelineService:
    """Load the pipelines ``settings`` name and wrap them in a service (its batcher starts with the first query)."""
    return PipelineService(load_pipelines(settings), settings)


def freeze_loaded() -> None:
    """For a process that serves until it exits, once everything is loaded: keep what is loaded (libraries,
    models, pipelines: ~500k Python objects) out of the garbage collector's full collections.

    A batch of questions keeps thousands of documents alive at once, so Python ran a full collection every
    few batches, each walking every loaded object: ~0.3 s, 40% of a batched question's CPU time on the demo
    store (one question at a time keeps too few alive to trigger one). Frozen objects are never collected,
    hence once, after loading, in the server's own process (``dpr-components serve``).
    """
    import gc

    gc.collect()
    gc.freeze()
