"""Haystack 1.x metadata filters, validated and compiled to SQLite.

The syntax is Haystack's (``$and`` / ``$or`` / ``$not``, ``$eq`` / ``$ne`` / ``$in`` / ``$nin`` / ``$gt`` /
``$gte`` / ``$lt`` / ``$lte``, implicit ``$and`` between keys, a list value meaning ``$in``, a logical
operator taking a dict or a list of dicts). The semantics are those of Haystack's reference
(``haystack.document_stores.filter_utils`` ``evaluate``, which InMemoryDocumentStore applies), checked side by
side with InMemoryDocumentStore on random filters (tests/stores/test_filters_vs_haystack.py), with these
choices where the reference is inconsistent or raises:

- A list-valued field matches when *any* element does, for every operator: ``$eq`` matches a member and ``$ne``
  holds when no element equals the value (the reference compares the whole list with ``==`` / ``!=`` there, so
  ``{"tags": "a"}`` missed ``["a", "b"]`` that ``{"tags": ["a"]}`` found, and ``$ne`` disagreed with ``$nin``).
- ``$gt`` / ``$gte`` / ``$lt`` / ``$lte`` compare numbers with numbers (bools count as 0 / 1, as in Python) and
  strings with strings; None, dicts and values of the other kind never match (the reference raises TypeError).
- A missing field fails every comparison except ``$nin``. A field holding None, ``[]`` or a dict is present, so
  ``$ne`` holds for it; None is a value like any other (``{"f": [None]}`` finds ``f: None``, ``$nin: [None]``
  drops it). ``$not`` negates the OR of its conditions.
- An unknown operator or a malformed value raises :class:`FilterSyntaxError` (the reference ignores it, which
  silently widens a search), and so does a filter past the limits below.

Compilation: :func:`row_id_query` over the indexed ``(index_id, key, value, row_id)`` table of a store's
documents and :func:`json_row_id_query` over a JSON column (labels) give one SELECT of matching row ids: a flat
``WITH`` list of set operations (INTERSECT, UNION, NOT IN), fast on millions of documents, instant for rare
matches, and never nested deeper than SQLite's parser takes. Long ``$and`` / ``$or`` lists are split into
groups of SQLite's 500 compound terms; ``MAX_TERMS`` bounds the statement's parameters (SQLite takes 32,766 in
many builds) and the time to prepare it, ``MAX_DEPTH`` the nesting.

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
MAX_TERMS = 2_000  # comparisons and $and / $or / $not: at most 3 SQL parameters each; ~0.5 s to run at most
MAX_DEPTH = 100  # nested $and / $or / $not levels
COMPOUND_TERMS = 500  # SQLite's SQLITE_MAX_COMPOUND_SELECT: terms of one UNION / INTERSECT chain


class FilterSyntaxError(ConfigurationError):
    """A filter uses an unknown operator or a value of the wrong kind, or is too large."""


@dataclass(frozen=True)
class Comparison:
    field: str
    operator: str
    value: Any  # a plain value; a tuple of them for $in / $nin


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
    node = _logical("$and", filters, depth=0)
    terms = _terms(node) - 1  # not the implicit $and around it all
    if terms > MAX_TERMS:
        raise FilterSyntaxError(f"The filter holds {terms} terms (comparisons and $and / $or / $not); at most "
                                f"{MAX_TERMS} are supported. One {{'field': {{'$in': [...]}}}} takes any number of "
                                f"values of a field as one term.")
    return node


def filter_key(filters: Filters) -> Hashable:
    """A canonical, type-preserving form of ``filters``, to cache their matches by: equal keys match the same
    documents (``np.int64(2020)`` and ``2020`` share one; ``"2020"``, ``2020.5`` and ``True`` each have their own)."""
    def key(node: Node) -> Hashable:
        if isinstance(node, Comparison):
            values = node.value if isinstance(node.value, tuple) else (node.value,)
            return node.field, node.operator, tuple((type(value).__name__, value) for value in values)
        return node.operator, tuple(key(condition) for condition in node.conditions)

    node = parse_filters(filters)
    return None if node is None else key(node)


def _terms(node: Node) -> int:
    return 1 if isinstance(node, Comparison) else 1 + sum(_terms(condition) for condition in node.conditions)


def _logical(operator: str, term: Any, depth: int) -> Logical:
    if depth > MAX_DEPTH:
        raise FilterSyntaxError(f"The filter nests $and / $or / $not more than {MAX_DEPTH} levels deep, the most "
                                f"supported. Flatten it: $and and $or take lists of any length.")
    conditions: List[Node] = []
    for item in term if isinstance(term, list) else [term]:
        if not isinstance(item, dict):
            raise FilterSyntaxError(f"{operator} takes a dict or a list of dicts, got {item!r}.")
        for key, value in item.items():
            if key in LOGICAL_OPERATORS:
                conditions.append(_logical(key, value, depth + 1))
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
        return Comparison(field, operator, tuple(_plain(field, v) for v in value))
    if not _is_scalar(value):
        raise FilterSyntaxError(f"{operator} on field {field!r} needs a single plain value (str, number, bool, "
                                f"None), got {value!r}. Use $in for a list of values.")
    if operator in _RANGE_SQL and (value is None or isinstance(value, bool)):
        raise FilterSyntaxError(f"{operator} on field {field!r} needs a number or a string, got {value!r}.")
    return Comparison(field, operator, _plain(field, value))


# ----- compilation ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    """What a filter selects from: SELECTs of row ids, whose ``?`` (before ``{condition}``) take the field name or
    JSON path. ``scope``: every candidate row (the statement's first CTE); ``some``: the rows with a value of the
    field (a scalar, or a scalar element of a list, as columns ``value`` and ``type``) meeting ``{condition}``;
    ``none``: the rows holding the field (as None, [] or a dict too) with no value meeting it."""

    scope: str
    scope_params: Tuple[Any, ...]
    some: str
    none: str
    field: str = "{}"  # the field as its parameter


def row_id_query(node: Node, index_id: int, values_table: str, documents_table: str) -> Tuple[str, List[Any]]:
    """A SELECT of the row ids (maybe repeated) of index ``index_id``'s documents matching the filter tree, over
    the ``(index_id, key, value, row_id)`` rows of ``values_table`` (a field holding None, [] or a dict has a row)."""
    index = f"index_id = {int(index_id)}"  # an int from the database: inlined, to spare SQL parameters
    values = f"SELECT row_id, value, typeof(value) AS type FROM {values_table} WHERE {index} AND key = ?"
    return _compile(node, _Target(
        scope=f"SELECT row_id FROM {documents_table} WHERE {index}", scope_params=(),
        some=f"SELECT row_id FROM ({values}) WHERE {{condition}}",
        none=f"SELECT row_id FROM ({values}) GROUP BY row_id HAVING NOT max({{condition}})"))


def json_row_id_query(node: Node, table: str, column: str, where: str, params: List[Any]) -> Tuple[str, List[Any]]:
    """A SELECT of the rowids of ``table``'s rows (those meeting ``where`` with ``params``) whose JSON object
    ``column`` matches the filter tree. Rows holding malformed JSON (written by hand, or NaN by an old version)
    match no filter instead of failing every query."""
    scalars = "e.type NOT IN ('object', 'array') AND typeof(e.key) != 'text'"  # not a list or a dict's members
    return _compile(node, _Target(
        scope=f"SELECT rowid AS row_id, {column} AS object FROM {table} WHERE ({where}) AND json_valid({column})",
        scope_params=tuple(params),
        some=f"SELECT s.row_id FROM scope AS s, json_each(s.object, ?) AS e WHERE {scalars} AND ({{condition}})",
        none=f"SELECT row_id FROM scope AS s WHERE json_type(s.object, ?) IS NOT NULL AND NOT EXISTS "
             f"(SELECT 1 FROM json_each(s.object, ?) AS e WHERE {scalars} AND ({{condition}}))", field='$."{}"'))


_Select = Tuple[str, List[Any]]  # a simple (not compound) SELECT of row ids and its parameters


def _compile(node: Node, target: _Target) -> _Select:
    """Every SELECT the tree gives is a leaf (one comparison, at most two subqueries deep) or a reference to a
    CTE: a compound of at most COMPOUND_TERMS of them, or the negation of one. So nothing nests past a constant
    depth, and CTEs, which SQLite looks up by a linear search, stay few (one per $not and per multi-part
    $and / $or)."""
    ctes = [f"scope AS ({target.scope})"]
    params: List[Any] = list(target.scope_params)
    everything: _Select = ("SELECT row_id FROM scope", [])

    def define(sql: str, sql_params: List[Any]) -> _Select:
        name = f"f{len(ctes)}"
        ctes.append(f"{name}(row_id) AS ({sql})")
        params.extend(sql_params)
        return f"SELECT row_id FROM {name}", []

    def combine(keyword: str, parts: List[_Select]) -> _Select:
        """One SELECT of the parts joined by ``keyword`` (UNION or INTERSECT), in groups SQLite takes."""
        while len(parts) > 1:
            groups = [parts[start:start + COMPOUND_TERMS] for start in range(0, len(parts), COMPOUND_TERMS)]
            parts = [group[0] if len(group) == 1 else define(f" {keyword} ".join(sql for sql, _ in group),
                                                             [p for _, group_params in group for p in group_params])
                     for group in groups]
        return parts[0]

    def negated(excluded: _Select) -> _Select:
        return f"SELECT row_id FROM scope WHERE row_id NOT IN ({excluded[0]})", excluded[1]

    def field(template: str, comparison: Comparison, condition: str, condition_params: List[Any]) -> _Select:
        name = target.field.format(comparison.field)
        return template.format(condition=condition), [name] * template.count("?") + condition_params

    def render(node: Node) -> _Select:
        if isinstance(node, Comparison):
            operator, value = node.operator, node.value
            if operator in ("$in", "$nin"):
                listed = [v for v in value if v is not None]
                condition = " OR ".join((["value IN (SELECT value FROM json_each(?))"] if listed else []) +
                                        (["value IS NULL"] if None in value else [])) or "0"
                matching = field(target.some, node, condition, [json.dumps(listed)] if listed else [])
                return negated(matching) if operator == "$nin" else matching
            if operator in ("$eq", "$ne"):
                return field(target.some if operator == "$eq" else target.none, node, "value IS ?", [value])
            # Only compare like with like: SQLite would otherwise order every number before every string.
            kinds = "('integer', 'real', 'true', 'false')" if isinstance(value, numbers.Number) else "('text')"
            return field(target.some, node, f"type IN {kinds} AND value {_RANGE_SQL[operator]} ?", [value])
        parts = [render(condition) for condition in node.conditions]
        if not parts:  # all([]) is true, any([]) is false, and $not negates any()
            return everything if node.operator != "$or" else ("SELECT row_id FROM scope WHERE 0", [])
        if node.operator == "$not":
            return define(*negated(combine("UNION", parts)))
        return combine("INTERSECT" if node.operator == "$and" else "UNION", parts)

    final_sql, final_params = render(node)
    return f"WITH {', '.join(ctes)} {final_sql}", params + final_params


def _plain(field: str, value: Any) -> Any:
    """numpy scalars (np.int64, np.float32...) as the Python numbers SQLite and json can take."""
    value = value.item() if isinstance(value, numbers.Number) and hasattr(value, "item") else value
    problem = storage_problem(value)
    if problem:
        raise FilterSyntaxError(f"A filter value holds {problem}, which no stored document can hold "
                                f"(field {field!r}).")
    return value


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, bool, numbers.Number))
