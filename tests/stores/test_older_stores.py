"""Stores written before fields holding ``[]`` or a dict got their ``meta_values`` row (issue 27.4) are brought up
to date at their first writable open, once: ``$ne`` then holds for such a field, as for one written today.
Rows a hand wrote (not JSON, not an object) add nothing and fail nothing."""
import sqlite3

import numpy as np
from haystack.schema import Document

from dpr_components.stores.hybrid_document_store import DATABASE_FILE

METAS = {"empty": {"category": []}, "dict": {"category": {"a": 1}}, "nested": {"category": [[1], {"b": 2}]},
         "news": {"category": "news"}, "missing": {}}
NOT_NEWS = {"filters": {"category": {"$ne": "news"}}}


def make_it_older(store_path) -> None:
    """What an older version left: no row for fields without a scalar, no marker; and two hand-written rows."""
    connection = sqlite3.connect(str(store_path / DATABASE_FILE), isolation_level=None)
    connection.execute("DELETE FROM meta_values WHERE value = X''")
    connection.execute("DELETE FROM store_info WHERE key = 'meta_present_rows'")
    for doc_id, meta in (("garbage", '{"category": '), ("array", '[{"category": []}]')):
        connection.execute("INSERT INTO documents (index_id, id, content, content_type, meta) "
                           "VALUES (1, ?, 'common by hand', 'text', ?)", (doc_id, meta))
    connection.close()


def found(store):
    return ({d.id for d in store.get_all_documents(**NOT_NEWS)}, {d.id for d in store.query("common", top_k=10,
                                                                                            **NOT_NEWS)})


def test_an_older_store_gets_the_rows_of_fields_holding_no_scalar_once(open_store, store_path):
    store = open_store()
    store.write_documents([Document(content=f"common {doc_id}", id=doc_id, meta=meta,
                                    embedding=np.ones(4, dtype=np.float32)) for doc_id, meta in METAS.items()])
    assert found(store) == ({"empty", "dict", "nested"},) * 2
    store.close()
    make_it_older(store_path)
    assert found(open_store(read_only=True)) == (set(), set())  # as the older version answered
    writer = open_store()  # main: no upgrade, `$ne` still took [] and dicts for missing fields
    assert found(writer) == ({"empty", "dict", "nested"},) * 2
    writer.close()
    rows = sqlite3.connect(str(store_path / DATABASE_FILE)).execute("SELECT COUNT(*) FROM meta_values").fetchone()
    open_store().close()  # once: the marker says it is done
    assert sqlite3.connect(str(store_path / DATABASE_FILE)).execute("SELECT COUNT(*) FROM meta_values").fetchone() \
        == rows == (4,)
