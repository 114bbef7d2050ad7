"""The one place request content is checked, before anything runs: every endpoint's values go through here.

The rules are the store's own (:func:`~dpr_components.stores.document_rows.storage_problem`: lone surrogates,
integers beyond 64 bits, NaN and infinities; :func:`~dpr_components.stores.filters.parse_filters`: filter
syntax and limits), called here so a client's mistake is a 422 naming the field instead of a failure halfway
through a pipeline. Each check raises :class:`InvalidRequestError` with the field's path (``meta.year``,
``params.Retriever.filters``).

Usage::

    from dpr_components.serving.checks import checked_filters, checked_query, checked_values

    checked_values({"meta": {"year": 2020}}, "body")           # returns it; NaN, 2**70, "\\ud800" raise
    checked_filters({"name": ["Paris"]}, "filters")           # the store's parser: $regex etc. raise
    checked_query("who wrote hamlet?", "query")
"""
from typing import Any, Dict, Optional

from dpr_components.errors import ConfigurationError
from dpr_components.serving.errors import InvalidRequestError

MAX_QUERY_CHARS = 10_000
FILTERS_EXAMPLE = '{"filters": {"name": ["Paris"], "_split_id": {"$lte": 3}}}'


def checked_values(value: Any, where: str) -> Any:
    """``value`` (parsed JSON) unchanged when every string, number and key in it can be stored and searched."""
    from dpr_components.stores.document_rows import storage_problem

    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, child in item.items():
                problem = storage_problem(key)
                if problem:
                    raise InvalidRequestError(f"A key of {path} holds {problem}.")
                stack.append((child, f"{path}.{key}"))
        elif isinstance(item, (list, tuple)):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        else:
            problem = storage_problem(item)
            if problem:
                raise InvalidRequestError(f"{path} holds {problem}.")
    return value


def checked_filters(filters: Any, where: str = "filters") -> Optional[Dict[str, Any]]:
    """Haystack filters as the store will read them (None or ``{}``: no filter), or the store's reason why not."""
    from dpr_components.stores.filters import parse_filters

    if filters is None:
        return None
    if not isinstance(filters, dict):
        raise InvalidRequestError(f"{where} must be an object of Haystack filters or null, not "
                                  f"{_json_type(filters)}; e.g. {FILTERS_EXAMPLE}.")
    checked_values(filters, where)
    try:
        parse_filters(filters)
    except ConfigurationError as error:
        raise InvalidRequestError(f"{where}: {error}") from None
    return filters


def checked_query(query: Any, where: str = "query") -> str:
    """A question the pipeline can run: a non-empty string of valid Unicode, at most 10,000 characters."""
    if not isinstance(query, str) or not query.strip():
        raise InvalidRequestError(f'{where} must be a non-empty string, e.g. "who wrote hamlet?"; got '
                                  f"{_json_type(query) if not isinstance(query, str) else 'an empty one'}.")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidRequestError(f"{where} has {len(query)} characters; at most {MAX_QUERY_CHARS} are accepted.")
    checked_values(query, where)
    return query


def _json_type(value: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__)
