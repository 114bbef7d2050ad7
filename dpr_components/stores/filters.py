"""Haystack 1.x metadata filters compiled to one SQLite expression over a JSON column.

The syntax is Haystack's (``$and`` / ``$or`` / ``$not``, ``$eq`` / ``$ne`` / ``$in`` / ``$nin`` / ``$gt`` /
``$gte`` / ``$lt`` / ``$lte``, implicit ``$and`` between keys, a list value meaning ``$in``, a logical
operator taking a dict or a list of dicts). Semantics follow Haystack's reference implementation
(``haystack.document_stores.filter_utils`` ``evaluate``) with one documented choice for list-valued
fields: a comparison holds when it holds for *any* element, so ``$eq`` on a list matches a member, and
``$ne`` / ``$nin`` hold when *no* element matches. A missing field fails every comparison except
``$nin``. ``$not`` negates the OR of its conditions, as in Haystack.

Unlike Haystack's parser, an unknown operator or a malformed value raises :class:`FilterSyntaxError`
instead of being ignored, so a typo never silently widens a search.

Example::

    sql, params = compile_filters({"genre": ["news", "blog"], "year": {"$gte": 2015}}, "d.meta")
    rows = connection.execute(f"SELECT id FROM documents d WHERE {sql}", params)
"""
import json
import numbers
from typing import Any, Dict, List, Optional, Tuple, Union

from dpr_components.errors import ConfigurationError

Filters = Optional[Union[Dict[str, Any], List[Dict[str, Any]]]]

LOGICAL_OPERATORS = ("$and", "$or", "$not")
COMPARISON_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte")
_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


class FilterSyntaxError(ConfigurationError):
    """A filter uses an unknown operator or a value of the wrong kind."""


def compile_filters(filters: Filters, json_column: str) -> Tuple[str, List[Any]]:
    """SQL boolean expression (with ``?`` placeholders) and its parameters; ``("1", [])`` for no filter."""
    if not filters:
        return "1", []
    if not isinstance(filters, (dict, list)):
        raise FilterSyntaxError(f"Filters must be a dict (or a list of dicts), got {type(filters).__name__}: "
                                f"{filters!r}. Example: {{'genre': ['news'], 'year': {{'$gte': 2015}}}}.")
    params: List[Any] = []
    return _logical("$and", filters, json_column, params), params


def _logical(operator: str, term: Any, column: str, params: List[Any]) -> str:
    items = term if isinstance(term, list) else [term]
    conditions: List[str] = []
    for item in items:
        if not isinstance(item, dict):
            raise FilterSyntaxError(f"{operator} takes a dict or a list of dicts, got {item!r}.")
        for key, value in item.items():
            if key in LOGICAL_OPERATORS:
                conditions.append(_logical(key, value, column, params))
            elif isinstance(key, str) and key.startswith("$"):
                raise FilterSyntaxError(
                    f"Unknown filter operator {key!r}. Logical operators: {', '.join(LOGICAL_OPERATORS)}; "
                    f"comparison operators (inside a field): {', '.join(COMPARISON_OPERATORS)}."
                )
            else:
                conditions.extend(_field(key, value, column, params))
    if not conditions:
        return "1" if operator != "$or" else "0"
    if operator == "$not":
        return f"NOT ({' OR '.join(conditions)})"
    joiner = " AND " if operator == "$and" else " OR "
    return "(" + joiner.join(conditions) + ")"


def _field(field: Any, clause: Any, column: str, params: List[Any]) -> List[str]:
    if not isinstance(field, str) or not field or '"' in field:
        raise FilterSyntaxError(f"Filter field names must be non-empty strings without '\"', got {field!r}.")
    if isinstance(clause, dict):
        if not clause:
            raise FilterSyntaxError(f"Empty condition for field {field!r}; give a value or e.g. {{'$eq': ...}}.")
        return [_comparison(field, operator, value, column, params) for operator, value in clause.items()]
    if isinstance(clause, list):
        return [_comparison(field, "$in", clause, column, params)]
    return [_comparison(field, "$eq", clause, column, params)]


def _comparison(field: str, operator: str, value: Any, column: str, params: List[Any]) -> str:
    if operator not in COMPARISON_OPERATORS:
        raise FilterSyntaxError(f"Unknown comparison operator {operator!r} for field {field!r}. "
                                f"Valid: {', '.join(COMPARISON_OPERATORS)}.")
    # json_each yields one row per element of a list and one row for a scalar, none when the field is absent.
    value = [_plain(v) for v in value] if isinstance(value, list) else _plain(value)
    elements = f"SELECT 1 FROM json_each({column}, ?) AS e WHERE "
    path = f'$."{field}"'
    if operator in ("$in", "$nin"):
        if not isinstance(value, list) or not all(_is_scalar(v) for v in value):
            raise FilterSyntaxError(f"{operator} on field {field!r} needs a list of plain values, got {value!r}.")
        params.extend([path, json.dumps(value)])
        test = f"EXISTS ({elements}e.value IN (SELECT value FROM json_each(?)))"
        return test if operator == "$in" else f"NOT {test}"
    if not _is_scalar(value):
        raise FilterSyntaxError(f"{operator} on field {field!r} needs a single plain value (str, number, bool, "
                                f"None), got {value!r}. Use $in for a list of values.")
    if operator == "$eq":
        params.extend([path, value])
        return f"EXISTS ({elements}e.value IS ?)"
    if operator == "$ne":
        params.extend([path, path, value])
        return f"(EXISTS ({elements}1) AND NOT EXISTS ({elements}e.value IS ?))"
    if value is None or isinstance(value, bool):
        raise FilterSyntaxError(f"{operator} on field {field!r} needs a number or a string, got {value!r}.")
    # Only compare like with like: SQLite would otherwise order every number before every string.
    kinds = "('integer', 'real')" if isinstance(value, numbers.Number) else "('text')"
    params.extend([path, value])
    return f"EXISTS ({elements}e.type IN {kinds} AND e.value {_RANGE_SQL[operator]} ?)"


def _plain(value: Any) -> Any:
    """numpy scalars (np.int64, np.float32...) as the Python numbers SQLite and json can take."""
    return value.item() if isinstance(value, numbers.Number) and hasattr(value, "item") else value


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, numbers.Number))
