"""Turn the exceptions people meet into one line that names the problem and the fix.

Haystack wraps failures of a node's ``__init__`` or ``run`` in its own exceptions ("Failed loading pipeline
component 'Retriever'. See the stacktrace above"); the helpful message is further down the chain. This module
finds it, keeps the component's name for context, and leaves tracebacks to ``--debug``.

Usage::

    try:
        loaded = load_pipeline("dense_qa")
    except Exception as error:
        message = explain(error)
        if message is None:
            raise          # a bug, not a user error: show the traceback
        print("error:", message)
"""
import re
from typing import Iterator, Optional

from dpr_components.errors import DPRComponentsError

_COMPONENT = re.compile(r"(?:component|node) '([^']+)'")


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and the exceptions it was raised from, outermost first."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or (None if error.__suppress_context__ else error.__context__)


def explain(error: BaseException) -> Optional[str]:
    """One line for a user error (ours, Haystack's config errors, missing files, offline models), else None."""
    from haystack.errors import DocumentStoreError, PipelineError

    chain = list(causes(error))
    component = next((m.group(1) for e in chain for m in [_COMPONENT.search(str(e))] if m), None)
    prefix = f"{component}: " if component else ""

    ours = [e for e in chain if isinstance(e, DPRComponentsError)]
    if ours:
        return _one_line(ours[-1], prefix if component and component not in str(ours[-1]) else "")
    model_missing = [e for e in chain if isinstance(e, OSError) and _looks_like_missing_model(str(e))]
    if model_missing:
        return (
            f"{prefix}a model could not be loaded ({_first_line(model_missing[-1])}). Give a local directory "
            "that holds the checkpoint (--param COMPONENT.PARAM=/path), or enable network access to the model "
            "hub (unset HF_HUB_OFFLINE)."
        )
    for kind in (FileNotFoundError, DocumentStoreError, PipelineError):
        found = [e for e in chain if isinstance(e, kind)]
        if found:
            return _one_line(found[-1], prefix if kind is not PipelineError else "")
    return None


def _looks_like_missing_model(message: str) -> bool:
    markers = ("huggingface.co", "couldn't connect", "is not a local folder", "does not appear to have a file")
    return any(marker in message for marker in markers)


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "message", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _one_line(error: BaseException, prefix: str = "") -> str:
    text = _first_line(error).replace(" See the stacktrace for more information.", "")
    text = text.replace(" See the stacktrace above for more information.", "")
    return prefix + text
