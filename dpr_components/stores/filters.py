"""Haystack 1.x metadata filters, validated and compiled to SQLite.

The syntax is Haystack's (``$and`` / ``$or`` / ``$not``, ``$eq`` / ``$ne`` / ``$in`` / ``$nin`` / ``$gt`` /
``$gte`` / ``$lt`` / ``$lte``, implicit ``$and`` between keys, a list value meaning ``$in``, a logical
operator taking a dict or a list of dicts). Semantics follow Haystack's reference implementation
(``haystack.document_stores.filter_utils`` ``evaluate``) with one documented choice for list-valued
fields: a comparison holds when it holds for *any* element, so ``$eq`` on a list matches a member, and
``$ne`` / ``$nin`` hold when *no* element matches. A missing field fails every comparison except
``$nin``. ``$not`` negates the OR of its conditions, as in Haystack. Numbers are never compared with
strings (Haystack would raise a TypeError).

Unlike Haystack's parser, an unknown operator or a malformed value raises :class:`FilterSyntaxError`
instead of being ignored, so a typo never silently widens a search.

Two compilations: :func:`row_id_query`, a set query (INTERSECT / UNION / EXCEPT) over an indexed
``(index_id, key, value, row_id)`` table, fast on millions of documents and instant for rare matches;
and :func:`json_condition`, a boolean expression over a JSON column, for small tables.

Example::

    node = parse_filters({"genre": ["news", "blog"], "year": {"$gte": 2015}})
    sql, params = row_id_query(node, index_id=1, values_table="meta_values", documents_table="documents")
    row_ids = [row_id for (row_id,) in connection.execute(sql, params)]
"""
import json
import numbers
from dataclasses import dataclass
from typing import Any, Dict, Hashable, List, Optional, Tuple, Union

from dpr_components.errors import ConfigurationError
from dpr_components.stores.document_rows import storage_problem

Filters = Optional[Union[Dict[str, Any], List[Dict[str, Any]]]]

LOGICAL_OPERATORS = ("$and", "$or", "$not")
COMPARISON_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte")
_RANGE_SQL = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


class FilterSyntaxError(ConfigurationError):
    """A filter uses an unknown operator or a value of the wrong kind."""


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: str
    value: Any


@dataclass(frozen=True)
class Logical:
    operator: str  # $and | $or | $not (NOR of the conditions)
    conditions: Tuple[Union["Logical", Comparison], ...]


Node = Union[Logical, Comparison]


def parse_filters(filters: Filters) -> Optional[Node]:
    """The validated filter tree, or None for no filter."""
    if not filters:
        return None
    if not isinstance(filters, (dict, list)):
        raise FilterSyntaxError(f"Filters must be a dict (or a list of dicts), got {type(filters).__name__}: "
                                f"{filters!r}. Example: {{'genre': ['news'], 'year': {{'$gte': 2015}}}}.")
    return _logical("$and", filters)


def filter_key(filters: Filters) -> Hashable:
    """A canonical, type-preserving form of ``filters``, to cache their matches by: equal keys match the same
    documents (``np.int64(2020)`` and ``2020`` share one; ``"2020"``, ``2020.5`` and ``True`` each have their own)."""
    def key(node: Node) -> Hashable:
        if isinstance(node, Comparison):
            return node.field, node.operator, type(node.value).__name__, node.value
        return node.operator, tuple(key(condition) for condition in node.conditions)

    node = parse_filters(filters)
    return None if node is None else key(node)


def _logical(operator: str, term: Any) -> Logical:
    conditions: List[Node] = []
    for item in term if isinstance(term, list) else [term]:
        if not isinstance(item, dict):
            raise FilterSyntaxError(f"{operator} takes a dict or a list of dicts, got {item!r}.")
        for key, value in item.items():
            if key in LOGICAL_OPERATORS:
                conditions.append(_logical(key, value))
            elif isinstance(key, str) and key.startswith("$"):
                raise FilterSyntaxError(
                    f"Unknown filter operator {key!r}. Logical operators: {', '.join(LOGICAL_OPERATORS)}; "
                    f"comparison operators (inside a field): {', '.join(COMPARISON_OPERATORS)}."
                )
            else:
                conditions.extend(_field(key, value))
    return Logical(operator, tuple(conditions))


def _field(field: Any, clause: Any) -> List[Comparison]:
    if not isinstance(field, str) or not field or '"' in field:
        raise FilterSyntaxError(f"Filter field names must be non-empty strings without '\"', got {field!r}.")
    if isinstance(clause, dict):
        if not clause:
            raise FilterSyntaxError(f"Empty condition for field {field!r}; give a value or e.g. {{'$eq': ...}}.")
        return [_comparison(field, operator, value) for operator, value in clause.items()]
    return [_comparison(field, "$in" if isinstance(clause, list) else "$eq", clause)]


def _comparison(field: str, operator: str, value: Any) -> Comparison:
    if operator not in COMPARISON_OPERATORS:
        raise FilterSyntaxError(f"Unknown comparison operator {operator!r} for field {field!r}. "
                                f"Valid: {', '.join(COMPARISON_OPERATORS)}.")
    if operator in ("$in", "$nin"):
        if not isinstance(value, list) or not all(_is_scalar(v) for v in value):
            raise FilterSyntaxError(f"{operator} on field {field!r} needs a list of plain values, got {value!r}.")
        return Comparison(field, operator, json.dumps([_plain(v) for v in value]))
    if not _is_scalar(value):
        raise FilterSyntaxError(f"{operator} on field {field!r} needs a single plain value (str, number, bool, "
                                f"None), got {value!r}. Use $in for a list of values.")
    if operator in _RANGE_SQL and (value is None or isinstance(value, bool)):
        raise FilterSyntaxError(f"{operator} on field {field!r} needs a number or a string, got {value!r}.")
    return Comparison(field, operator, _plain(value))


def _value_condition(comparison: Comparison, type_expression: str) -> Tuple[str, List[Any]]:
    """SQL over one value ``e.value`` (its type name from ``type_expression``) for the positive operators."""
    operator, value = comparison.operator, comparison.value
    if operator in ("$in", "$nin"):
        return "e.value IN (SELECT value FROM json_each(?))", [value]
    if operator in ("$eq", "$ne"):
        return "e.value IS ?", [value]
    # Only compare like with like: SQLite would otherwise order every number before every string.
    kinds = "('integer', 'real')" if isinstance(value, numbers.Number) else "('text')"
    return f"{type_expression} IN {kinds} AND e.value {_RANGE_SQL[operator]} ?", [value]


def row_id_query(node: Node, index_id: int, values_table: str, documents_table: str) -> Tuple[str, List[Any]]:
    """A SELECT of the row ids (distinct) of index ``index_id`` matching the filter tree."""
    everything = (f"SELECT row_id FROM {documents_table} WHERE index_id = ?", [index_id])

    def values(field: str, condition: str, params: List[Any]) -> Tuple[str, List[Any]]:
        return (f"SELECT e.row_id FROM {values_table} AS e WHERE e.index_id = ? AND e.key = ? AND {condition}",
                [index_id, field, *params])

    def combine(keyword: str, parts: List[Tuple[str, List[Any]]]) -> Tuple[str, List[Any]]:
        # SQLite gives all compound operators one precedence, left to right: wrap each operand.
        sql = f" {keyword} ".join(f"SELECT row_id FROM ({part})" for part, _ in parts)
        return sql, [param for _, params in parts for param in params]

    def render(node: Node) -> Tuple[str, List[Any]]:
        if isinstance(node, Comparison):
            condition, params = _value_condition(node, "typeof(e.value)")
            matching = values(node.field, condition, params)
            if node.operator == "$ne":
                return combine("EXCEPT", [values(node.field, "1", []), matching])
            return combine("EXCEPT", [everything, matching]) if node.operator == "$nin" else matching
        parts = [render(condition) for condition in node.conditions]
        if not parts:  # all([]) is true, any([]) is false, and $not negates any()
            return everything if node.operator != "$or" else ("SELECT NULL AS row_id WHERE 0", [])
        if node.operator == "$not":
            return combine("EXCEPT", [everything, combine("UNION", parts)])
        return combine("INTERSECT" if node.operator == "$and" else "UNION", parts)

    return render(node)


def json_condition(node: Optional[Node], column: str) -> Tuple[str, List[Any]]:
    """A boolean SQL expression over a JSON object column (``"1"`` for no filter)."""
    if node is None:
        return "1", []
    if isinstance(node, Comparison):
        # json_each yields one row per list element, one for a scalar, none when the field is missing.
        def some_value(condition: str, params: List[Any]) -> Tuple[str, List[Any]]:
            return f"EXISTS (SELECT 1 FROM json_each({column}, ?) AS e WHERE {condition})", [f'$."{node.field}"',
                                                                                             *params]

        matching = some_value(*_value_condition(node, "e.type"))
        if node.operator == "$ne":
            present = some_value("1", [])
            return f"({present[0]} AND NOT {matching[0]})", present[1] + matching[1]
        return (f"NOT {matching[0]}", matching[1]) if node.operator == "$nin" else matching
    parts = [json_condition(condition, column) for condition in node.conditions]
    if not parts:
        return ("0", []) if node.operator == "$or" else ("1", [])
    sql = (" OR " if node.operator != "$and" else " AND ").join(part for part, _ in parts)
    params = [param for _, part_params in parts for param in part_params]
    return (f"NOT ({sql})", params) if node.operator == "$not" else (f"({sql})", params)


def _plain(value: Any) -> Any:
    """numpy scalars (np.int64, np.float32...) as the Python numbers SQLite and json can take."""
    value = value.item() if isinstance(value, numbers.Number) and hasattr(value, "item") else value
    problem = storage_problem(value)
    if problem:
        raise FilterSyntaxError(f"A filter value holds {problem}; no document can match it.")
    return value


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, numbers.Number))
