"""The HTTP routes: Haystack 1.x ``rest_api`` paths and JSON over a :class:`PipelineService`.

Usage::

    import uvicorn
    from dpr_components.serving import ServeSettings, create_app, load_service

    service = load_service(ServeSettings(pipeline="hybrid_qa", store="my_store"))
    uvicorn.run(create_app(service), host="127.0.0.1", port=8000)     # OpenAPI page: /docs

Every error is ``{"errors": [message]}`` (Haystack's error body) with the right status; tracebacks stay in
the server log.
"""
import asyncio
import json
import logging
import os
from concurrent.futures import Future
from typing import Any, Dict, List, Optional, Union

import haystack

from dpr_components.serving import require_serve_extra

require_serve_extra()

from fastapi import FastAPI, File, Form, Query, Request, UploadFile  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

from dpr_components import __version__  # noqa: E402
from dpr_components.serving.checks import checked_values  # noqa: E402
from dpr_components.serving.door import Door, error_status  # noqa: E402
from dpr_components.serving.errors import InvalidRequestError  # noqa: E402
from dpr_components.serving.schemas import (  # noqa: E402
    BatchQueryRequest,
    DocumentModel,
    ErrorResponse,
    FilterRequest,
    HealthResponse,
    LabelRequest,
    QueryRequest,
    QueryResponse,
)
from dpr_components.serving.service import PipelineService  # noqa: E402

logger = logging.getLogger(__name__)
ERRORS: Dict[Union[int, str], Dict[str, Any]] = {code: {"model": ErrorResponse}
                                                 for code in (401, 409, 413, 422, 500, 501, 503)}
# Every route that changes the store: they need the API key (checked before their body is read).
WRITES = {("POST", "/file-upload"), ("POST", "/documents/delete_by_filters"), ("POST", "/feedback"),
          ("DELETE", "/feedback")}
INDEX = Query(None, description="the store's index (default: the store's own)")


def create_app(service: PipelineService) -> FastAPI:
    """A FastAPI app serving ``service``; the service's batcher starts with the first query, however the app is
    run (uvicorn, or a ``TestClient`` with or without a ``with`` block)."""
    settings = service.settings
    app = FastAPI(title="dpr-components REST API", version=__version__, debug=False,
                  description="Haystack 1.x REST API compatible endpoints over a dpr-components pipeline.",
                  on_shutdown=[service.stop])
    app.add_middleware(Door, max_body_bytes=settings.max_body_bytes, api_key=settings.api_key, writes=WRITES)
    _add_error_handlers(app)

    @app.get("/initialized", tags=["search"])
    def check_status() -> bool:
        """True once the pipelines are loaded (they are loaded before the server accepts connections)."""
        return True

    @app.get("/hs_version", tags=["search"])
    def haystack_version() -> Dict[str, str]:
        return {"hs_version": haystack.__version__}

    @app.get("/health", tags=["health"], response_model=HealthResponse)
    def get_health_status() -> Dict[str, Any]:
        cpu, memory = _process_usage()
        stats = service.batcher.stats
        return {"version": haystack.__version__, "cpu": {"used": cpu}, "memory": {"used": memory}, "gpus": [],
                "queries_waiting": service.batcher.waiting, "batches_run": stats.batches,
                "queries_run": stats.queries}

    @app.post("/query", tags=["search"], response_model=QueryResponse, response_model_exclude_none=True,
              responses=ERRORS)
    async def query(request: QueryRequest) -> JSONResponse:
        """Run the query pipeline; concurrent queries are micro-batched into one pipeline pass."""
        future = service.query(request.query, request.params, debug=bool(request.debug))
        return JSONResponse(await asyncio.wrap_future(future))

    @app.post("/query_batch", tags=["search"], response_model=List[QueryResponse], responses=ERRORS)
    async def query_batch(request: BatchQueryRequest) -> JSONResponse:
        """Many queries in one call, run together: one ``{query, answers, documents}`` per query, in order; a
        question that cannot run gets ``{"errors": [message]}`` in its place."""
        answers = service.query_batch(request.queries, request.params)
        return JSONResponse(list(await asyncio.gather(*(_answer_or_error(answer) for answer in answers))))

    @app.post("/documents/get_by_filters", tags=["document"], response_model=List[DocumentModel],
              responses=ERRORS)
    def get_documents(filters: FilterRequest, index: Optional[str] = INDEX) -> JSONResponse:
        """Stored passages matching Haystack filters (all passages for ``{"filters": null}``), no embeddings."""
        return JSONResponse(service.get_by_filters(filters.filters, index))

    @app.post("/documents/delete_by_filters", tags=["document"], response_model=bool, responses=ERRORS)
    def delete_documents(filters: FilterRequest, index: Optional[str] = INDEX) -> JSONResponse:
        """Delete the passages matching the filters (every passage for ``{"filters": null}`` or ``{}``, as in
        Haystack). The body is Haystack's ``true``; the header ``X-Documents-Deleted`` says how many."""
        deleted = service.delete_by_filters(filters.filters, index)
        return JSONResponse(True, headers={"X-Documents-Deleted": str(deleted)})

    @app.post("/file-upload", tags=["file-upload"], responses=ERRORS)
    def upload_file(files: List[UploadFile] = File(...), meta: Optional[str] = Form("null"),
                    duplicate_documents: Optional[str] = Form(None), keep_files: bool = False) -> Dict[str, Any]:
        """Index files with the indexing pipeline (``meta``: a JSON object for all of them). A pipeline that starts
        with a Haystack file converter gets them as ``file_paths`` (any type it reads, e.g. PDF); otherwise text,
        markdown, jsonl or DPR tsv. ``duplicate_documents`` (overwrite, skip, fail; default: the store's) says
        what happens to a document already stored; the answer says what was replaced, skipped and written."""
        meta_form = _meta_object(meta)
        contents = [(file.filename, file.file.read()) for file in files]
        for file in files:
            file.file.close()
        return service.upload(contents, meta_form, duplicate_documents, keep_files)

    @app.post("/feedback", tags=["feedback"], responses=ERRORS)
    def post_feedback(feedback: LabelRequest, index: Optional[str] = INDEX) -> None:
        """Store a judgement of an answer as a Haystack Label in the store (origin user-feedback or gold-label)."""
        service.feedback.add(feedback.dict(), index)

    @app.get("/feedback", tags=["feedback"])
    def get_feedback(index: Optional[str] = INDEX) -> JSONResponse:
        """Every label of the store."""
        return JSONResponse(service.feedback.all(index))

    @app.delete("/feedback", tags=["feedback"], responses=ERRORS)
    def delete_feedback(index: Optional[str] = INDEX) -> JSONResponse:
        """Delete the user feedback (gold labels stay); the header ``X-Labels-Deleted`` says how many."""
        return JSONResponse(None, headers={"X-Labels-Deleted": str(service.feedback.delete_user_feedback(index))})

    @app.post("/eval-feedback", tags=["feedback"], responses=ERRORS)
    def get_feedback_metrics(filters: Optional[FilterRequest] = None, index: Optional[str] = INDEX
                             ) -> Dict[str, Any]:
        """Shares of correct answers and documents among the user feedback (filtered by label fields)."""
        return service.feedback.metrics(filters.filters if filters else None, index)

    @app.get("/export-feedback", tags=["feedback"])
    def export_feedback(context_size: int = Query(100_000, ge=1), full_document_context: bool = True,
                        only_positive_labels: bool = False, index: Optional[str] = INDEX) -> Dict[str, Any]:
        """The user feedback as SQuAD JSON (the whole document as context, or ``context_size`` characters)."""
        return service.feedback.squad(context_size, full_document_context, only_positive_labels, index)

    return app


async def _answer_or_error(answer: Any) -> Dict[str, Any]:
    if not isinstance(answer, Future):
        return {"errors": [str(answer)]}
    try:
        return await asyncio.wrap_future(answer)
    except Exception as error:
        status, message, _ = error_status(error)
        if status == 500:
            logger.exception("unexpected error in a query of /query_batch")
        return {"errors": [message]}


def _meta_object(meta: Optional[str]) -> Dict[str, Any]:
    try:
        value = json.loads(meta or "null")
    except json.JSONDecodeError as error:
        raise InvalidRequestError(f"The `meta` form field is not valid JSON ({error.msg}); send an object, "
                                  'e.g. meta={"source": "upload"}.') from None
    if value is not None and not isinstance(value, dict):
        raise InvalidRequestError(f"The `meta` form field must be a JSON object or null, not {type(value).__name__}.")
    return checked_values(value or {}, "meta")


def _process_usage():
    try:
        import psutil
    except ImportError:
        return 0.0, 0.0
    process = psutil.Process()
    return round(process.cpu_percent() / (os.cpu_count() or 1), 2), round(process.memory_percent(), 2)


def _error(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"errors": [message]}, status_code=status, headers=headers)


def _validation_message(error: RequestValidationError) -> str:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part not in ("body", "__root__")) or "body"
        if item.get("type") in ("json_invalid", "value_error.jsondecode"):
            detail = (item.get("ctx") or {}).get("error") or item.get("msg")
            return (f"The request body is not valid JSON ({detail}, at character {item['loc'][-1]}). "
                    'Send e.g. {"query": "who wrote hamlet?"}.')
        if item.get("type") == "value_error.extra":
            problems.append(f"unknown field {where!r}")
        elif item.get("type", "").startswith("value_error") and where != "body" and where in item.get("msg", ""):
            problems.append(item.get("msg"))  # our checks name the field themselves
        else:
            problems.append(f"{where}: {item.get('msg')}" if where != "body" else item.get("msg"))
    return "Invalid request: " + "; ".join(problems).rstrip(".") + "."


def _add_error_handlers(app: FastAPI) -> None:
    """Request errors of FastAPI and Starlette as ``{"errors": [message]}``; every other exception is answered by
    :class:`Door` (one place, and the connection stays usable)."""

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail), getattr(error, "headers", None))
