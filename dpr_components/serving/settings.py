"""What ``dpr-components serve`` can be told, read from arguments or Haystack's environment variables.

Usage::

    from dpr_components.serving.settings import ServeSettings

    settings = ServeSettings(pipeline="hybrid_qa", store="my_store", port=8000)
    settings = ServeSettings.from_environment()   # PIPELINE_YAML_PATH, QUERY_PIPELINE_NAME, ...
    settings.check_bind_safety()                  # refuses 0.0.0.0 with open writes and no API key

Haystack's REST API variables, so a Haystack deployment switches by changing the YAML:
``PIPELINE_YAML_PATH`` (one file holding both pipelines), ``QUERY_PIPELINE_NAME`` (default ``query``),
``INDEXING_PIPELINE_NAME`` (default ``indexing``), ``FILE_UPLOAD_PATH`` (where ``keep_files=true`` uploads are
kept; default ``file-upload`` in the working directory). The API key is read from ``DPR_API_KEY``.
"""
import ipaddress
import os
from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping, Optional, Tuple

from dpr_components.serving.errors import UnsafeBindError

API_KEY_ENV = "DPR_API_KEY"
DEFAULT_QUERY_PIPELINE, DEFAULT_INDEXING_PIPELINE = "query", "indexing"


@dataclass(frozen=True)
class ServeSettings:
    """Pipelines, address, limits and batching of one server process.

    ``indexing_pipeline`` is the YAML (path or bundled name) whose ``indexing_pipeline_name`` pipeline
    ``/file-upload`` runs; ``None`` means: the query YAML's pipeline of that name when it has one, else the
    bundled ``indexing`` pipeline. ``read_only`` turns upload and delete off (501).
    """

    pipeline: str = "hybrid_qa"
    query_pipeline_name: Optional[str] = None
    indexing_pipeline: Optional[str] = None
    indexing_pipeline_name: str = DEFAULT_INDEXING_PIPELINE
    store: Optional[str] = None
    params: Tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: Optional[str] = None
    read_only: bool = False
    max_body_bytes: int = 20 * 1024 * 1024
    batch_window_ms: float = 5.0
    max_batch_size: int = 32
    max_queue: int = 256
    file_upload_path: Optional[str] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", tuple(self.params))
        for name in ("max_body_bytes", "max_batch_size", "max_queue"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.batch_window_ms < 0:
            raise ValueError(f"batch_window_ms must be >= 0, got {self.batch_window_ms}.")

    @classmethod
    def from_environment(cls, environ: Optional[Mapping[str, str]] = None, **overrides) -> "ServeSettings":
        """Settings from Haystack's REST API variables and ``DPR_API_KEY``; ``overrides`` win over them."""
        environ = os.environ if environ is None else environ
        values: Dict[str, Any] = {"api_key": environ.get(API_KEY_ENV) or None,
                                  "file_upload_path": environ.get("FILE_UPLOAD_PATH")}
        if environ.get("PIPELINE_YAML_PATH"):
            values.update(
                pipeline=environ["PIPELINE_YAML_PATH"],
                query_pipeline_name=environ.get("QUERY_PIPELINE_NAME") or DEFAULT_QUERY_PIPELINE,
                indexing_pipeline_name=environ.get("INDEXING_PIPELINE_NAME") or DEFAULT_INDEXING_PIPELINE,
            )
        values.update({key: value for key, value in overrides.items() if value is not None})
        return cls(**values)

    def with_changes(self, **changes) -> "ServeSettings":
        return replace(self, **changes)

    @property
    def writes_open(self) -> bool:
        """Upload and delete endpoints answer without a key."""
        return not self.read_only and not self.api_key

    def check_bind_safety(self) -> None:
        """Refuse a non-loopback address while anyone reaching it could write or delete."""
        if self.writes_open and not is_loopback(self.host):
            raise UnsafeBindError(
                f"Refusing to serve on {self.host} with write and delete endpoints open to the network. "
                f"Set an API key (export {API_KEY_ENV}=...), or pass --read-only, or bind 127.0.0.1."
            )


def is_loopback(host: str) -> bool:
    """``127.0.0.1``, ``::1``, ``localhost``: addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name other than localhost may resolve to anything
