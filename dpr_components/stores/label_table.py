"""Haystack labels (evaluation data) of a store, kept as JSON rows of its SQLite file.

Label filters use Haystack's syntax over the label's top-level fields (``query``, ``origin``, ...).

Example::

    label_table.write(database, "label", [label])
    label_table.read(database, "label", {"origin": "gold-label"})
"""
import json
from typing import List, Optional, Union

from haystack.schema import FilterType, Label

from dpr_components.stores.filters import json_condition, parse_filters
from dpr_components.stores.sqlite_documents import DocumentDatabase


def write(database: DocumentDatabase, index: str, labels: Union[List[Label], List[dict]]) -> None:
    """Insert or replace (by id) the labels; a replaced label keeps its place in the written order."""
    labels = [Label.from_dict(label) if isinstance(label, dict) else label for label in labels]
    with database.transaction() as connection:  # an upsert keeps the rowid, which orders reads
        connection.executemany("INSERT INTO labels VALUES (?, ?, ?) ON CONFLICT (index_name, id) DO UPDATE "
                               "SET label = excluded.label", [(index, label.id, label.to_json()) for label in labels])


def read(database: DocumentDatabase, index: str, filters: Optional[FilterType]) -> List[Label]:
    """The labels matching ``filters``, in the order they were first written (as Haystack's stores return them)."""
    sql, params = json_condition(parse_filters(filters), "label")
    rows = database.query(f"SELECT label FROM labels WHERE index_name = ? AND {sql} ORDER BY rowid", [index, *params])
    return [Label.from_json(label) for (label,) in rows]


def count(database: DocumentDatabase, index: str) -> int:
    return database.query("SELECT COUNT(*) FROM labels WHERE index_name = ?", (index,))[0][0]


def delete(database: DocumentDatabase, index: str, ids: Optional[List[str]], filters: Optional[FilterType]) -> None:
    sql, params = json_condition(parse_filters(filters), "label")
    if ids is not None:
        sql, params = f"{sql} AND id IN (SELECT value FROM json_each(?))", [*params, json.dumps(list(ids))]
    with database.transaction() as connection:
        connection.execute(f"DELETE FROM labels WHERE index_name = ? AND {sql}", [index, *params])
