"""Turn the exceptions people meet into one line that names the problem and the fix.

Haystack wraps failures of a node's ``__init__`` or ``run`` in its own exceptions ("Failed loading pipeline
component 'Retriever'. See the stacktrace above"); the helpful message is further down the chain. This module
finds it, keeps the component's name for context, and leaves tracebacks to ``--debug``. The library names its
parameters (``top_k``) and gives Python calls as fixes; here a parameter the user typed as a flag is named by
the flag (``--top-k``) and an error's ``cli_message`` (the fix as a command) replaces the Python one.

Usage::

    try:
        loaded = load_pipeline("dense_qa")
    except Exception as error:
        message = explain(error, argv)
        if message is None:
            raise          # a bug, not a user error: show the traceback
        print("error:", message)
"""
import os
import re
from typing import Iterator, Optional, Sequence

from dpr_components.errors import DPRComponentsError

_COMPONENT = re.compile(r"(?:component|node) '([^']+)'")


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and the exceptions it was raised from, outermost first."""
    seen = set()
    current: Optional[BaseException] = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)


def explain(error: BaseException, argv: Sequence[str] = ()) -> Optional[str]:
    """One line for a user error (ours, Haystack's config errors, missing files, offline models), else None;
    ``argv``: the command line, whose flags name the parameters the user gave."""
    from haystack.errors import DocumentStoreError, PipelineError

    chain = list(causes(error))
    component = next((m.group(1) for e in chain for m in [_COMPONENT.search(str(e))] if m), None)
    prefix = f"{component}: " if component else ""

    ours = [e for e in chain if isinstance(e, DPRComponentsError)]
    if ours:
        return _with_flag(_one_line(ours[-1], prefix if component and component not in str(ours[-1]) else ""),
                          ours[-1], argv)
    model_missing = [e for e in chain if isinstance(e, OSError) and _looks_like_missing_model(str(e))]
    if model_missing:
        return (
            f"{prefix}a model could not be loaded ({_first_line(model_missing[-1])}). Give a local directory "
            f"that holds the checkpoint (--param COMPONENT.PARAM=/path), {_hub_advice()}."
        )
    for kind in (FileNotFoundError, DocumentStoreError, PipelineError):
        found = [e for e in chain if isinstance(e, kind)]
        if found:
            return _one_line(found[-1], prefix if kind is not PipelineError else "")
    return None


def _with_flag(message: str, error: DPRComponentsError, argv: Sequence[str]) -> str:
    """The CLI's wording: its ``cli_message``, and the flag the user typed for the parameter it names."""
    if error.cli_message:
        message = message.replace(_first_line(error), error.cli_message.splitlines()[0])
    name = error.parameter
    flag = "--" + name.replace("_", "-") if name else None
    if name and flag and any(arg == flag or arg.startswith(flag + "=") for arg in argv):
        # snake_case names are replaced wherever they stand; a plain word ("store") only where it leads
        pattern = rf"(?<![\w.-]){re.escape(name)}\b" if "_" in name else rf"^((?:\w+: )?){re.escape(name)}\b"
        message = re.sub(pattern, lambda match: match.group(0).replace(name, flag), message)
    return message


def _hub_advice() -> str:
    """How to reach the model hub, told only as far as the user's own settings go."""
    from dpr_components.utils import hub

    if hub.switched_offline:  # this command found the hub unreachable and went offline itself
        return "or run where the model hub (huggingface.co) can be reached"
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return "or allow downloads from the model hub (unset HF_HUB_OFFLINE)"
    return "or enable network access to the model hub"


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
