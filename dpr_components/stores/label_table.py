"""Haystack labels (evaluation data) of a store, kept as JSON rows of its SQLite file.

Label filters use Haystack's syntax over the label's top-level fields (``query``, ``origin``, ...), with the
semantics of :mod:`dpr_components.stores.filters`.

Example::

    label_table.write(database, "label", [label])
    label_table.read(database, "label", {"origin": "gold-label"})
"""
import json
from typing import Any, List, Optional, Tuple, Union

from haystack.schema import FilterType, Label

from dpr_components.stores.document_rows import refuse_unstorable
from dpr_components.stores.filters import json_row_id_query, parse_filters
from dpr_components.stores.sqlite_documents import DocumentDatabase


def write(database: DocumentDatabase, index: str, labels: Union[List[Label], List[dict]]) -> None:
    """Insert or replace (by id) the labels; a replaced label keeps its place in the written order. A label
    holding a value SQLite cannot hold (NaN, a lone surrogate...) is refused before any is written."""
    parsed = [Label.from_dict(label) if isinstance(label, dict) else label for label in labels]
    for label in parsed:
        refuse_unstorable(f"Label {label.id!r}", label.to_dict())
    with database.transaction() as connection:  # an upsert keeps the rowid, which orders reads
        connection.executemany("INSERT INTO labels VALUES (?, ?, ?) ON CONFLICT (index_name, id) DO UPDATE "
                               "SET label = excluded.label", [(index, label.id, label.to_json()) for label in parsed])


def read(database: DocumentDatabase, index: str, filters: Optional[FilterType]) -> List[Label]:
    """The labels matching ``filters``, in the order they were first written (as Haystack's stores return them)."""
    where, params = _where(index, None, filters)
    rows = database.query(f"SELECT label FROM labels WHERE {where} ORDER BY rowid", params)
    return [Label.from_json(label) for (label,) in rows]


def count(database: DocumentDatabase, index: str) -> int:
    return database.query("SELECT COUNT(*) FROM labels WHERE index_name = ?", (index,))[0][0]


def delete(database: DocumentDatabase, index: str, ids: Optional[List[str]], filters: Optional[FilterType]) -> None:
    where, params = _where(index, ids, filters)
    with database.transaction() as connection:
        connection.execute(f"DELETE FROM labels WHERE {where}", params)


def _where(index: str, ids: Optional[List[str]], filters: Optional[FilterType]) -> Tuple[str, List[Any]]:
    where, params = "index_name = ?", [index]
    node = parse_filters(filters)
    if node is not None:
        sql, filter_params = json_row_id_query(node, "labels", "label", "index_name = ?", [index])
        where, params = f"{where} AND rowid IN ({sql})", [*params, *filter_params]
    if ids is not None:
        where, params = f"{where} AND id IN (SELECT value FROM json_each(?))", [*params, json.dumps(list(ids))]
    return where, params
