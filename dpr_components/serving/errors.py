"""Errors the REST API answers with: each carries its HTTP status and a message that names the fix.

They are :class:`~dpr_components.errors.DPRComponentsError` subclasses, so the library and the CLI treat them
like any other input problem; :mod:`dpr_components.serving.app` turns them into ``{"errors": [message]}``
(the body Haystack's REST API sends) with their ``status_code``.
"""
from typing import Dict

from dpr_components.errors import ConfigurationError, DPRComponentsError


class ServingError(DPRComponentsError):
    """A request the server will not carry out; ``status_code`` is the HTTP status to answer with."""

    status_code = 400

    def headers(self) -> Dict[str, str]:
        return {}


class InvalidRequestError(ServingError, ValueError):
    """The request body or its ``params`` do not fit the pipeline (unknown node, parameter or value)."""

    status_code = 422


class UnauthorizedError(ServingError):
    """A write or delete without the right API key."""

    status_code = 401

    def headers(self) -> Dict[str, str]:
        return {"WWW-Authenticate": "Bearer"}


class ConflictError(ServingError):
    """A write the store's duplicate policy (``duplicate_documents: fail``) refuses: nothing was written."""

    status_code = 409


class PayloadTooLargeError(ServingError):
    """A request body over the configured limit."""

    status_code = 413


class NotConfiguredError(ServingError):
    """The endpoint needs a pipeline the server was not started with (e.g. no indexing pipeline)."""

    status_code = 501


class OverloadedError(ServingError):
    """The query queue is full; the client should retry after ``retry_after`` seconds."""

    status_code = 503

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message)
        self.retry_after = retry_after

    def headers(self) -> Dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class UnsafeBindError(ConfigurationError):
    """Refused at start-up: a non-loopback address with write endpoints open and no API key."""
