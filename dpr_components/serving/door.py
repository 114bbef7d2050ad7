"""The server's door: what every request passes before and after the routes, as one pure ASGI middleware.

- Writes (the routes ``create_app`` marks) need the API key, checked from the headers *before* the body is
  read: a client without the key cannot make the server read a 20 MB upload first.
- Bodies over ``max_body_bytes`` get 413 before they are read into memory: ``Content-Length`` is checked
  first, and a body streamed without it is counted as it arrives.
- An exception no route handled (a bug of ours) becomes a JSON 500 here, and is not re-raised: Starlette's
  own error middleware re-raises after answering, and uvicorn then closes the keep-alive connection, so the
  client's next good request failed. A client error wrapped by Haystack's pipeline (it re-raises every node
  error as a plain ``Exception``) is answered as the client error it is.

Usage::

    from dpr_components.serving.door import Door

    app.add_middleware(Door, max_body_bytes=20 * 1024 * 1024, api_key="s3cret",
                       writes={("POST", "/file-upload"), ("POST", "/documents/delete_by_filters")})
"""
import json
import logging
from typing import Collection, Optional, Tuple

from dpr_components.errors import DPRComponentsError
from dpr_components.serving.errors import ServingError
from dpr_components.serving.security import check_api_key

logger = logging.getLogger(__name__)


def error_status(error: BaseException) -> Tuple[int, str, dict]:
    """(status, message, headers) for an exception: its own status for a request error, 400 for another input
    problem (found in the exception or the causes Haystack wrapped it in), else 500 without details."""
    cause: BaseException = error
    while True:
        if isinstance(cause, ServingError):
            return cause.status_code, str(cause), cause.headers()
        if isinstance(cause, DPRComponentsError):
            return 400, str(cause), {}
        if cause.__cause__ is None:
            break
        cause = cause.__cause__
    return 500, (f"Internal error ({type(cause).__name__}) while serving this request; the server log has the "
                 "details."), {}


class Door:
    """Pure ASGI middleware: API key before the body, body size limit, and 500s that keep the connection."""

    def __init__(self, app, max_body_bytes: int, api_key: Optional[str] = None,
                 writes: Collection[Tuple[str, str]] = ()):
        self.app, self.limit, self.api_key, self.writes = app, max_body_bytes, api_key, set(writes)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers") or []}
        if (scope["method"], scope["path"]) in self.writes:
            try:
                check_api_key(self.api_key, headers)
            except ServingError as error:
                return await _answer(send, error.status_code, str(error), error.headers(), close=True)
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            return await _answer(send, 413, _too_large(self.limit), close=True)
        state = {"received": 0, "too_large": False, "started": False}

        async def counting_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.limit:
                    state["too_large"] = True
                    raise _BodyTooLargeError()
            return message

        async def guarded_send(message):
            if state["too_large"]:  # the framework may turn the aborted read into its own answer: 413 instead
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLargeError:
            pass
        except Exception as error:
            status, message, extra = error_status(error)
            if status == 500:
                logger.exception("unexpected error on %s %s", scope["method"], scope["path"])
            if state["started"]:
                raise  # half an answer is out: nothing better can be sent
            return await _answer(send, status, message, extra)
        if state["too_large"] and not state["started"]:
            await _answer(send, 413, _too_large(self.limit), close=True)


class _BodyTooLargeError(Exception):
    pass


def _too_large(limit: int) -> str:
    return (f"Request body over the server's limit of {limit} bytes: send smaller files or fewer at once "
            "(the limit is `dpr-components serve --max-body-mb`).")


async def _answer(send, status: int, message: str, headers: Optional[dict] = None, close: bool = False) -> None:
    """``{"errors": [message]}``; ``close`` when the request's body was left unread (the connection can't go on)."""
    body = json.dumps({"errors": [message]}).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(key.lower().encode(), str(value).encode()) for key, value in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
