"""API key for writes and a request body size limit.

- Writes (``/file-upload``, ``/documents/delete_by_filters``) need the key whenever one is configured,
  sent as ``X-API-Key: KEY`` or ``Authorization: Bearer KEY``; it is compared in constant time.
- Bodies over ``max_body_bytes`` get 413 before they are read into memory: ``Content-Length`` is checked
  first, and a body streamed without it is counted as it arrives.

Usage::

    from dpr_components.serving.security import BodySizeLimit, check_api_key

    app.add_middleware(BodySizeLimit, max_body_bytes=20 * 1024 * 1024)
    check_api_key(expected="s3cret", headers=request.headers)   # raises UnauthorizedError
"""
import hmac
import json
from typing import Mapping, Optional

from dpr_components.serving.errors import UnauthorizedError
from dpr_components.serving.settings import API_KEY_ENV


def presented_key(headers: Mapping[str, str]) -> Optional[str]:
    key = headers.get("x-api-key")
    if key:
        return key
    scheme, _, token = (headers.get("authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def check_api_key(expected: Optional[str], headers: Mapping[str, str]) -> None:
    """Nothing when no key is configured or the right one was sent; else :class:`UnauthorizedError`."""
    if not expected:
        return
    key = presented_key(headers)
    if key is None:
        raise UnauthorizedError(f"This endpoint writes to the store and needs the API key ({API_KEY_ENV} on the "
                                "server): send it as the header `X-API-Key: KEY` or `Authorization: Bearer KEY`.")
    if not hmac.compare_digest(key.encode("utf-8"), expected.encode("utf-8")):
        raise UnauthorizedError("Wrong API key: send the server's key (its DPR_API_KEY) as `X-API-Key: KEY`.")


def _too_large_body(limit: int) -> bytes:
    message = (f"Request body over the server's limit of {limit} bytes: send smaller files or fewer at once "
               "(the limit is `dpr-components serve --max-body-mb`).")
    return json.dumps({"errors": [message]}).encode("utf-8")


class BodySizeLimit:
    """Pure ASGI middleware: 413 for bodies over ``max_body_bytes``, declared or streamed."""

    def __init__(self, app, max_body_bytes: int):
        self.app, self.limit = app, max_body_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            return await self._reject(send)
        state = {"received": 0, "too_large": False, "responded": False}

        async def counting_receive():
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > self.limit:
                    state["too_large"] = True
                    raise _BodyTooLarge()
            return message

        async def guarded_send(message):
            # The framework may turn the aborted read into its own error response: answer 413 instead.
            if state["too_large"]:
                if message["type"] == "http.response.start" and not state["responded"]:
                    state["responded"] = True
                    await self._reject(send)
                return
            if message["type"] == "http.response.start":
                state["responded"] = True
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            pass
        if state["too_large"] and not state["responded"]:
            await self._reject(send)

    async def _reject(self, send) -> None:
        body = _too_large_body(self.limit)
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})


class _BodyTooLarge(Exception):
    pass
