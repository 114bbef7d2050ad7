"""``dpr-components serve``: load the pipelines, check the settings are safe, run uvicorn.

Usage::

    from dpr_components.serving.server import serve
    from dpr_components.serving.settings import ServeSettings

    serve(ServeSettings(pipeline="hybrid_qa", store="my_store", port=8000))   # blocks until Ctrl-C

    with background_server(app) as url:      # a free 127.0.0.1 port, in a thread (tests, benchmarks)
        ...
"""
import logging
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from dpr_components.serving.settings import ServeSettings

logger = logging.getLogger(__name__)


def serve(settings: ServeSettings, log_level: str = "warning") -> None:
    """Refuse unsafe binds before loading anything, then serve until interrupted."""
    settings.check_bind_safety()
    from dpr_components.serving import require_serve_extra

    require_serve_extra()
    import uvicorn

    from dpr_components.serving.app import create_app
    from dpr_components.serving.service import freeze_loaded, load_service

    service = load_service(settings)
    freeze_loaded()
    app = create_app(service)
    writes = "off" if settings.read_only else "need the API key" if settings.api_key else "open (loopback only)"
    print(f"Serving {settings.pipeline} on http://{settings.host}:{settings.port} (OpenAPI page: /docs); "
          f"writes {writes}.", flush=True)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level, access_log=False)


@contextmanager
def background_server(app, host: str = "127.0.0.1", port: int = 0, start_timeout_s: float = 60.0) -> Iterator[str]:
    """Run ``app`` with uvicorn in a thread (port 0: a free one) and yield its base URL; stop it on exit.

    For tests, benchmarks and notebooks::

        with background_server(create_app(service)) as url:
            requests.post(f"{url}/query", json={"query": "who wrote hamlet?"}).json()
    """
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, name="dpr-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"The REST server did not start on {host}:{port} within {start_timeout_s:.0f} s.")
        time.sleep(0.02)
    bound_port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://{host}:{bound_port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
