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
from typing import Any, Dict, List, Optional

import haystack

from dpr_components.serving import require_serve_extra

require_serve_extra()

from fastapi import Depends, FastAPI, File, Form, Request, UploadFile  # noqa: E402
from fastapi.exceptions import RequestValidationError  # noqa: E402
from fastapi.responses import JSONResponse  # noqa: E402
from starlette.exceptions import HTTPException as StarletteHTTPException  # noqa: E402

from dpr_components import __version__  # noqa: E402
from dpr_components.errors import DPRComponentsError  # noqa: E402
from dpr_components.serving.errors import InvalidRequestError, ServingError  # noqa: E402
from dpr_components.serving.schemas import (  # noqa: E402
    BatchQueryRequest, DocumentModel, ErrorResponse, FilterRequest, HealthResponse, QueryRequest, QueryResponse,
)
from dpr_components.serving.security import BodySizeLimit, check_api_key  # noqa: E402
from dpr_components.serving.service import PipelineService  # noqa: E402

logger = logging.getLogger(__name__)
ERRORS = {code: {"model": ErrorResponse} for code in (401, 413, 422, 500, 501, 503)}


def create_app(service: PipelineService) -> FastAPI:
    """A FastAPI app serving ``service``; the service's batcher runs while the app does."""
    settings = service.settings
    app = FastAPI(title="dpr-components REST API", version=__version__, debug=False,
                  description="Haystack 1.x REST API compatible endpoints over a dpr-components pipeline.",
                  on_startup=[service.start], on_shutdown=[service.stop])
    app.add_middleware(BodySizeLimit, max_body_bytes=settings.max_body_bytes)
    _add_error_handlers(app)

    def require_key(request: Request) -> None:
        check_api_key(settings.api_key, request.headers)

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
        """Many queries in one call, run together: one ``{query, answers, documents}`` per query, in order."""
        futures = service.query_batch(request.queries, request.params)
        return JSONResponse(list(await asyncio.gather(*(asyncio.wrap_future(f) for f in futures))))

    @app.post("/documents/get_by_filters", tags=["document"], response_model=List[DocumentModel],
              responses=ERRORS)
    def get_documents(filters: FilterRequest) -> JSONResponse:
        """Stored passages matching Haystack filters (all passages for ``{"filters": null}``), no embeddings."""
        return JSONResponse(service.get_by_filters(filters.filters))

    @app.post("/documents/delete_by_filters", tags=["document"], response_model=bool, responses=ERRORS,
              dependencies=[Depends(require_key)])
    def delete_documents(filters: FilterRequest) -> bool:
        """Delete the passages matching the filters (every passage for ``{"filters": null}``, as in Haystack)."""
        return service.delete_by_filters(filters.filters)

    @app.post("/file-upload", tags=["file-upload"], responses=ERRORS, dependencies=[Depends(require_key)])
    def upload_file(files: List[UploadFile] = File(...), meta: Optional[str] = Form("null")) -> Dict[str, Any]:
        """Index text, markdown, jsonl or DPR tsv files with the indexing pipeline (``meta``: a JSON object)."""
        meta_form = _meta_object(meta)
        contents = [(file.filename, file.file.read()) for file in files]
        for file in files:
            file.file.close()
        return service.upload(contents, meta_form)

    return app


def _meta_object(meta: Optional[str]) -> Dict[str, Any]:
    try:
        value = json.loads(meta or "null")
    except json.JSONDecodeError as error:
        raise InvalidRequestError(f"The `meta` form field is not valid JSON ({error.msg}); send an object, "
                                  'e.g. meta={"source": "upload"}.') from None
    if value is not None and not isinstance(value, dict):
        raise InvalidRequestError(f"The `meta` form field must be a JSON object or null, not {type(value).__name__}.")
    return value or {}


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
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
        if item.get("type") in ("json_invalid", "value_error.jsondecode"):
            detail = (item.get("ctx") or {}).get("error") or item.get("msg")
            return (f"The request body is not valid JSON ({detail}, at character {item['loc'][-1]}). "
                    'Send e.g. {"query": "who wrote hamlet?"}.')
        if item.get("type") == "value_error.extra":
            problems.append(f"unknown field {where!r}")
        else:
            problems.append(f"{where}: {item.get('msg')}")
    return "Invalid request: " + "; ".join(problems) + "."


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ServingError)
    async def serving_error(_: Request, error: ServingError) -> JSONResponse:
        return _error(error.status_code, str(error), error.headers())

    @app.exception_handler(DPRComponentsError)
    async def input_error(_: Request, error: DPRComponentsError) -> JSONResponse:
        return _error(400, str(error))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return _error(422, _validation_message(error))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return _error(error.status_code, str(error.detail), getattr(error, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, error: Exception) -> JSONResponse:
        logger.exception("unexpected error on %s", request.url.path)
        return _error(500, f"Internal error ({type(error).__name__}) while serving {request.url.path}; "
                           "the server log has the details.")
