"""Constants and helpers shared by the REST API tests (imported by conftest.py and the test modules)."""
import json
import socket
from contextlib import contextmanager
from typing import Iterator, Optional

import requests

API_KEY = "test-key"
KEY = {"X-API-Key": API_KEY}
TIMEOUT = 60
ARTICLES = {
    "Paris": "Paris is the capital and largest city of France. " * 30,
    "Berlin": "Berlin is the capital of Germany and its largest city by population. " * 25,
    "London": "London is the capital of England and the United Kingdom, on the river Thames. " * 20,
}


def tiny_params(question_encoder: str, context_encoder: str, reader: str):
    """Overrides that point the shipped YAMLs at the tiny models (128 positions)."""
    return (
        f"Retriever.query_embedding_model={question_encoder}",
        f"Retriever.passage_embedding_model={context_encoder}",
        "Retriever.max_seq_len_passage=128",
        "Retriever.max_seq_len_query=32",
        f"Reader.model_name_or_path={reader}",
        "Reader.max_seq_len=128",
        "Reader.doc_stride=32",
    )


@contextmanager
def running_server(settings) -> Iterator[tuple]:
    """(base URL, service) of a real uvicorn server on a free 127.0.0.1 port for ``settings``."""
    from dpr_components.serving import create_app, load_service
    from dpr_components.serving.server import background_server

    service = load_service(settings)
    with background_server(create_app(service)) as url:
        yield url, service


def post(url: str, path: str, session: Optional[requests.Session] = None, **kwargs) -> requests.Response:
    return (session or requests).post(url + path, timeout=TIMEOUT, **kwargs)


def error_of(response: requests.Response, status: int) -> str:
    """The one error line of a ``{"errors": [message]}`` answer with ``status``."""
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["errors"] and len(body["errors"]) == 1 and isinstance(body["errors"][0], str)
    assert "Traceback" not in response.text and "\n" not in body["errors"][0]
    return body["errors"][0]


def stored(url: str, filters=None) -> list:
    response = post(url, "/documents/get_by_filters", json={"filters": filters})
    assert response.status_code == 200, response.text
    return response.json()


def upload(url: str, name: str, data, headers=KEY, meta=None, params=None, **form) -> requests.Response:
    data = data.encode("utf-8") if isinstance(data, str) else data
    fields = {**form, **({"meta": meta if isinstance(meta, str) else json.dumps(meta)} if meta is not None else {})}
    return post(url, "/file-upload", files=[("files", (name, data, "text/plain"))], data=fields or None,
                headers=headers, params=params)


def raw_json(body: str, headers: Optional[dict] = None) -> dict:
    """Headers and body for JSON text sent as written (e.g. a lone surrogate escape, NaN, huge integers)."""
    return {"data": body.encode("utf-8"), "headers": {"Content-Type": "application/json", **(headers or {})}}


def raw_exchange(url: str, requests_bytes: list, timeout: float = 10.0) -> list:
    """Send raw HTTP/1.1 requests one after the other on ONE keep-alive socket; the status line (or the error)
    of each answer. Proves whether the server kept the connection open after an answer."""
    host, port = url.rsplit("//", 1)[1].split(":")
    answers = []
    with socket.create_connection((host, int(port)), timeout=timeout) as connection:
        stream = connection.makefile("rb")
        for request in requests_bytes:
            try:
                connection.sendall(request)
                status = stream.readline().decode("latin-1").strip()
                if not status:
                    answers.append("closed")
                    continue
                length = 0
                while (line := stream.readline().decode("latin-1").strip()):
                    name, _, value = line.partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                stream.read(length)
                answers.append(status)
            except OSError as error:
                answers.append(f"closed ({type(error).__name__})")
    return answers


def http_request(url: str, method: str, path: str, body: bytes = b"", headers: Optional[dict] = None) -> bytes:
    host = url.rsplit("//", 1)[1]
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}",
             *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
