"""The API key for writes: needed whenever one is configured, sent as ``X-API-Key: KEY`` or
``Authorization: Bearer KEY``, compared in constant time (:class:`~dpr_components.serving.door.Door` checks it
before a write's body is read).

Usage::

    from dpr_components.serving.security import check_api_key

    check_api_key(expected="s3cret", headers={"x-api-key": "s3cret"})   # else raises UnauthorizedError
"""
import hmac
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
