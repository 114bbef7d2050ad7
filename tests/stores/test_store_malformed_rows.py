"""One malformed row never breaks every query (issue 29.2): a store holding a row whose meta JSON has NaN (as
older versions wrote it) or is not JSON at all (written by hand), or a label with NaN, still answers BM25, dense,
filtered and label queries; the NaN row keeps its title and filters, the unreadable one reads as {} with a warning
naming it and can be deleted or written again. Before, every BM25 query failed with SQLite's "malformed JSON"."""
import json
import logging
import math
import sqlite3

import numpy as np
from haystack.schema import Document, Label

from dpr_components.stores.hybrid_document_store import DATABASE_FILE


def insert_raw_rows(store_path, label: Label) -> None:
    """What an older version (NaN meta, NaN label) or a hand edit (not JSON) left in the database."""
    connection = sqlite3.connect(str(store_path / DATABASE_FILE), isolation_level=None)
    (index_id,) = connection.execute("SELECT index_id FROM indexes WHERE name = 'document'").fetchone()
    for doc_id, content, meta in [("nan-row", "stripes in the savanna", '{"name": "Zebra", "x": NaN}'),
                                  ("garbage-row", "stripes by hand", '{"name": "Broken", "x": ')]:
        cursor = connection.execute("INSERT INTO documents (index_id, id, content, content_type, meta) "
                                    "VALUES (?, ?, ?, 'text', ?)", (index_id, doc_id, content, meta))
        if doc_id == "nan-row":  # the older version indexed its meta values too (NaN binds as NULL)
            connection.executemany("INSERT INTO meta_values VALUES (?, ?, ?, ?)",
                                   [(index_id, "name", "Zebra", cursor.lastrowid),
                                    (index_id, "x", None, cursor.lastrowid)])
    connection.execute("UPDATE indexes SET text_generation = text_generation + 1 WHERE index_id = ?", (index_id,))
    nan_label = {**label.to_dict(), "id": "nan-label", "meta": {"score": math.nan}}
    connection.execute("INSERT INTO labels VALUES ('label', 'nan-label', ?)", (json.dumps(nan_label),))
    connection.close()


def test_a_malformed_row_fails_no_query(open_store, store_path, caplog):
    store = open_store()
    store.write_documents([Document(content=f"passage {i} about stripes", meta={"name": f"Title {i}"},
                                    embedding=np.full(4, i + 1, dtype=np.float32)) for i in range(3)])
    label = Label(query="q", document=Document(content="passage"), answer=None, is_correct_answer=True,
                  is_correct_document=True, origin="gold-label", id="good-label")
    store.write_labels([label])
    store.close()
    insert_raw_rows(store_path, label)

    store = open_store()
    with caplog.at_level(logging.WARNING):
        assert [d.id for d in store.query("zebra")] == ["nan-row"]  # found by its title, despite the NaN
        assert len(store.query("stripes", top_k=10)) == 5
        assert len(store.query_by_embedding(np.ones(4, dtype=np.float32), top_k=10)) == 3
        assert [d.id for d in store.get_all_documents(filters={"name": "Zebra"})] == ["nan-row"]
        assert store.get_document_count(filters={"x": None}) == 1
        stored = {d.id: d.meta for d in store.get_all_documents()}
    assert math.isnan(stored["nan-row"]["x"]) and stored["garbage-row"] == {}
    assert "'garbage-row' holds a malformed meta JSON" in caplog.text
    # Filtered label reads skip the malformed label (SQLite cannot read it); unfiltered ones return it.
    assert [lab.id for lab in store.get_all_labels(filters={"query": "q"})] == ["good-label"]
    assert [lab.id for lab in store.get_all_labels()] == ["good-label", "nan-label"]

    store.write_documents([Document(content="stripes in the savanna", meta={"name": "Zebra", "x": 1}, id="nan-row")])
    store.delete_documents(ids=["garbage-row"])
    assert store.get_document_by_id("nan-row").meta == {"name": "Zebra", "x": 1}
    assert [d.id for d in store.query("zebra")] == ["nan-row"] and store.get_document_count() == 4
