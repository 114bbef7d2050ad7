"""Checks for user-supplied numbers, written once and used by every node, command and trainer.

Each raises :class:`ConfigurationError` with a message that names the parameter, the value and what it takes.

Example::

    from dpr_components.utils.validation import positive_int, finite_float
    top_k = positive_int("top_k", 5)             # 5
    k1 = finite_float("bm25_k1", 0.9, minimum=0)  # 0.9
    positive_int("top_k", 3.5)                    # ConfigurationError: top_k must be a positive integer ...
"""
import math
import numbers
from typing import Any, Optional

from dpr_components.errors import ConfigurationError


def positive_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int >= ``minimum``; bools, floats (3.5 and 3.0 alike), strings and None are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ConfigurationError(f"{name} must be {what}, got {value!r}.", parameter=name)
    return int(value)


def optional_positive_int(name: str, value: Any, minimum: int = 1) -> Optional[int]:
    """Like :func:`positive_int`, but None (meaning "no limit" / "the default") passes through."""
    return None if value is None else positive_int(name, value, minimum)


def finite_float(name: str, value: Any, minimum: Optional[float] = None, maximum: Optional[float] = None) -> float:
    """``value`` as a finite float within [minimum, maximum]; NaN, inf, bools and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise ConfigurationError(f"{name} must be a finite number, got {value!r}.", parameter=name)
    number = float(value)
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = f"between {minimum} and {maximum}" if minimum is not None and maximum is not None else (
            f">= {minimum}" if minimum is not None else f"<= {maximum}")
        raise ConfigurationError(f"{name} must be {bounds}, got {value!r}.", parameter=name)
    return number


def unicode_problem(text: str) -> Optional[str]:
    """Why ``text`` is not valid Unicode (a lone surrogate, which UTF-8, SQLite and tokenizers refuse), or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return (f"a lone surrogate {text[error.start]!r} at character {error.start} (not valid Unicode; decode the "
                "source with errors='replace' or fix it)")
    return None
