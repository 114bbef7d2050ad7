"""None, empty lists and dicts in filters and fields follow Haystack's reference (issue 27.4), the same through
every path that filters: get_all_documents, count, delete, BM25, dense search and labels."""
import numpy as np
import pytest
from haystack.schema import Document, Label

METAS = {"none": {"category": None}, "empty": {"category": []}, "dict": {"category": {"a": 1}},
         "news": {"category": "news"}, "missing": {}, "none-and-blog": {"category": [None, "blog"]}}
EVERY = set(METAS)


@pytest.mark.parametrize("filters, expected", [
    ({"category": [None]}, {"none", "none-and-blog"}),  # was: nothing (SQL's NULL IN (NULL) is not true)
    ({"category": None}, {"none", "none-and-blog"}),
    ({"category": {"$in": [None, "news"]}}, {"none", "none-and-blog", "news"}),
    ({"category": {"$nin": [None]}}, {"empty", "dict", "news", "missing"}),  # was: kept the None ones
    ({"category": {"$ne": None}}, {"empty", "dict", "news"}),
    ({"category": {"$ne": "news"}}, {"none", "empty", "dict", "none-and-blog"}),  # was: [] and {} as missing
    ({"category": {"$in": []}}, set()),
    ({"category": {"$nin": []}}, EVERY),
    ({"category": {"$gt": ""}}, {"news", "none-and-blog"}),
    ({"$not": {"category": {"$ne": "blog"}}}, {"missing", "none-and-blog"}),
])
def test_none_empty_lists_and_dicts_in_every_filtering_path(open_store, filters, expected):
    store = open_store()
    store.write_documents([Document(content=f"common {doc_id}", id=doc_id, meta=meta,
                                    embedding=np.ones(4, dtype=np.float32)) for doc_id, meta in METAS.items()])
    assert {d.id for d in store.get_all_documents(filters=filters)} == expected
    assert store.get_document_count(filters=filters) == len(expected)
    assert {d.id for d in store.query("common", filters=filters, top_k=10)} == expected
    assert {d.id for d in store.query_by_embedding(np.ones(4, dtype=np.float32), filters=filters, top_k=10)} == expected
    store.delete_documents(filters=filters)
    assert {d.id for d in store.get_all_documents()} == EVERY - expected


@pytest.mark.parametrize("filters, expected", [
    ({"pipeline_id": [None]}, {"none"}),
    ({"pipeline_id": {"$nin": [None]}}, {"set"}),
    ({"pipeline_id": {"$ne": "p"}}, {"none"}),
])
def test_label_filters_treat_none_alike(open_store, filters, expected):
    store = open_store()
    store.write_labels([Label(query=label_id, document=Document(content="x"), answer=None, is_correct_answer=True,
                              is_correct_document=True, origin="gold-label", id=label_id, pipeline_id=pipeline_id)
                        for label_id, pipeline_id in [("none", None), ("set", "p")]])
    assert {label.id for label in store.get_all_labels(filters=filters)} == expected
    store.delete_labels(filters=filters)
    assert {label.id for label in store.get_all_labels()} == {"none", "set"} - expected
