"""A REST API over any shipped pipeline, with Haystack 1.x ``rest_api``'s paths and JSON shapes.

Start it from the command line (``pip install "dpr-components[serve]"`` first)::

    dpr-components serve --pipeline hybrid_qa --store my_store            # http://127.0.0.1:8000/docs

or from Python::

    from dpr_components.serving import ServeSettings, create_app, load_service

    service = load_service(ServeSettings(pipeline="hybrid_qa", store="my_store"))
    app = create_app(service)          # a FastAPI app: run it with uvicorn, or use its TestClient

Modules: :mod:`.settings` (what can be configured, and the safety checks on it), :mod:`.loading` (the one
place pipelines are loaded), :mod:`.service` (one loaded pipeline shared by every request: micro-batched
queries, serialised writes, the workspace's readers-writer lock between them), :mod:`.batcher`,
:mod:`.params` (what ``/query`` params may say), :mod:`.schemas` (request and response JSON),
:mod:`.uploads`, :mod:`.security` (API key, body size limit), :mod:`.app` (the routes), :mod:`.server`.
"""
import importlib
from typing import Any

EXTRA_HINT = 'pip install "dpr-components[serve]"'
_EXPORTS = {
    "create_app": "dpr_components.serving.app",
    "PipelineService": "dpr_components.serving.service",
    "load_service": "dpr_components.serving.service",
    "ServeSettings": "dpr_components.serving.settings",
}
__all__ = sorted(_EXPORTS)


def require_serve_extra() -> None:
    """Import FastAPI, uvicorn and python-multipart, or say which extra installs them."""
    for module in ("fastapi", "uvicorn", "python_multipart"):
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise ImportError(f"The REST API needs FastAPI, uvicorn and python-multipart ({module} is missing): "
                              f"{EXTRA_HINT}") from error


def __getattr__(name: str) -> Any:  # lazy, so `dpr-components --help` works without the extra
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
