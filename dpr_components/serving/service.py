"""One loaded pipeline shared by every request: micro-batched queries, serialised writes, no torn reads.

Queries go through a :class:`~dpr_components.serving.batcher.MicroBatcher` whose single worker runs them
with the pipeline's ``run_batch`` while holding the read side of a :class:`ReadWriteLock`; uploads and
deletes take the write side, one at a time, so a query sees the store before or after a write, never during.
Everything here is plain Python: :mod:`dpr_components.serving.app` is the HTTP shell around it.

Usage::

    from dpr_components.serving import ServeSettings, load_service

    service = load_service(ServeSettings(pipeline="hybrid_qa", store="my_store"))
    service.start()
    body = service.query("who wrote hamlet?", params={"Retriever": {"top_k": 5}}).result()
    service.upload([("notes.txt", b"Hamlet was written by William Shakespeare.")])
    service.delete_by_filters({"name": ["notes"]})
    service.stop()
"""
import logging
from concurrent.futures import Future
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from dpr_components.serving.batcher import MicroBatcher
from dpr_components.serving.errors import InvalidRequestError, NotConfiguredError
from dpr_components.serving.loading import LoadedPipelines, load_pipelines
from dpr_components.serving.locks import ReadWriteLock
from dpr_components.serving.params import QueryParams
from dpr_components.serving.schemas import document_json, query_response
from dpr_components.serving.settings import ServeSettings
from dpr_components.serving.uploads import documents_from_upload

logger = logging.getLogger(__name__)


class PipelineService:
    """The query, indexing and store operations behind the REST endpoints."""

    def __init__(self, pipelines: LoadedPipelines, settings: ServeSettings):
        self.pipelines, self.settings = pipelines, settings
        self.rules = QueryParams.of(pipelines.query)
        self.lock = ReadWriteLock()
        self.batcher = MicroBatcher(run_batch=self._run_batch, run_one=self._run_one,
                                    window_s=settings.batch_window_ms / 1000, max_batch_size=settings.max_batch_size,
                                    max_queue=settings.max_queue)

    def start(self) -> None:
        self.batcher.start()

    def stop(self) -> None:
        self.batcher.stop()
        with self.lock.writing():
            if hasattr(self.pipelines.store, "save"):
                self.pipelines.store.save()

    # ----- queries ------------------------------------------------------------------------------------------

    def query(self, query: str, params: Optional[Mapping[str, Any]] = None, debug: bool = False) -> Future:
        """Queue one query; the future resolves to Haystack's ``{query, answers, documents}`` JSON."""
        checked = self.rules.check(params)
        if debug:
            checked = {**checked, "debug": True}
        return self.batcher.submit(_checked_query(query), checked)

    def _run_batch(self, queries: List[str], params: Dict[str, Any]) -> List[Dict[str, Any]]:
        if len(queries) == 1 or params.get("debug"):  # Haystack's _debug is per query: no batch for it
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
        debug = bool(params.get("debug"))
        node_params = {k: v for k, v in params.items() if k != "debug"}
        with self.lock.reading():
            result = self.pipelines.query.run(query=queries[0], params=node_params or None, debug=debug or None)
        return [query_response(result)]

    def query_batch(self, queries: List[str], params: Optional[Mapping[str, Any]] = None) -> List[Future]:
        """Queue many queries at once: the batcher runs them together (one encoder and one reader pass)."""
        checked = self.rules.check(params)
        futures: List[Future] = []
        try:
            for query in queries:
                futures.append(self.batcher.submit(_checked_query(query), checked))
        except Exception:
            for future in futures:
                future.cancel()
            raise
        return futures

    # ----- store --------------------------------------------------------------------------------------------

    def get_by_filters(self, filters: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
        with self.lock.reading():
            documents = self.pipelines.store.get_all_documents(filters=filters or None, return_embedding=False)
        return [document_json(document) for document in documents]

    def delete_by_filters(self, filters: Optional[Dict[str, Any]]) -> bool:
        self._check_writable()
        with self.lock.writing():
            self.pipelines.store.delete_documents(filters=filters or None)
            self._save()
        return True

    def upload(self, files: Iterable[Tuple[Optional[str], bytes]], meta: Optional[Mapping[str, Any]] = None
               ) -> Dict[str, Any]:
        """Index uploaded files with the indexing pipeline; returns how many documents and passages."""
        self._check_writable()
        documents = [d for d in documents_from_upload(files, meta) if d.content.strip()]
        with self.lock.writing():
            before = self.pipelines.store.get_document_count()
            self.pipelines.indexing.run(documents=documents)
            self._save()
            after = self.pipelines.store.get_document_count()
        return {"documents": len(documents), "passages_written": after - before, "passages_in_store": after}

    def _check_writable(self) -> None:
        if self.pipelines.indexing is None:
            raise NotConfiguredError("Indexing Pipeline is not configured: this server runs read-only, so uploads "
                                     "and deletes are off (start it without --read-only to allow them).")

    def _save(self) -> None:
        if hasattr(self.pipelines.store, "save"):
            self.pipelines.store.save()


def _checked_query(query: str) -> str:
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError('`query` must be a non-empty string, e.g. {"query": "who wrote hamlet?"}.')
    return query


def load_service(settings: ServeSettings) -> PipelineService:
    """Load the pipelines ``settings`` name and wrap them in a (not yet started) service."""
    return PipelineService(load_pipelines(settings), settings)
