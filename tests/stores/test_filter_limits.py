"""Filters past SQLite's limits (issue 31): more than 500 $or / $and terms (compound SELECT terms), deep nesting
(parser stack) and many comparisons (host parameters) are evaluated correctly up to the documented limits and
refused past them with a FilterSyntaxError naming the limit, by every path: get_all_documents, count, delete,
BM25 and dense search (labels too). Before, 501 terms or 12 nested levels failed as a raw OperationalError."""
import sqlite3

import numpy as np
import pytest
from haystack.document_stores.filter_utils import LogicalFilterClause
from haystack.schema import Document, Label

from dpr_components.stores.filters import MAX_DEPTH, MAX_TERMS, FilterSyntaxError, parse_filters

DOCUMENTS = 40


def nested(depth):
    """``depth`` nested levels of $and / $or / $not."""
    filters = {"i": {"$lt": 20}}
    for level in range(depth):
        operator = ["$and", "$or", "$not"][level % 3]
        filters = {operator: [filters, {"i": {"$lt": 15 - level % 7}}, {"g": "a"}][:1 + level % 3]}
    return filters


def reference(filters):
    """The ids Haystack's reference evaluation matches (scalar fields only here, where semantics agree)."""
    clause = LogicalFilterClause.parse(filters)
    return {str(i) for i in range(DOCUMENTS) if clause.evaluate({"i": i, "g": "a" if i % 4 else "b"})}


def every_path(store, filters):
    """The matching ids as each filtering path of the store sees them (all equal, or an error)."""
    query = np.ones(4, dtype=np.float32)
    found = [{d.id for d in store.get_all_documents(filters=filters)},
             {d.id for d in store.query("common", filters=filters, top_k=DOCUMENTS)},
             {d.id for d in store.query_by_embedding(query, filters=filters, top_k=DOCUMENTS)}]
    assert found[0] == found[1] == found[2] and store.get_document_count(filters=filters) == len(found[0])
    return found[0]


@pytest.fixture
def store(open_store):
    store = open_store()
    store.write_documents([Document(content=f"common {i}", id=str(i), meta={"i": i, "g": "a" if i % 4 else "b"},
                                    embedding=np.full(4, i, dtype=np.float32)) for i in range(DOCUMENTS)])
    # Many SQLite builds take 32,766 host parameters (Debian's 250,000): hold the store to the smaller one.
    store._database.connection.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 32766)
    return store


def test_long_and_or_lists_and_deep_nesting_are_evaluated(store):
    assert every_path(store, {"$or": [{"i": k} for k in range(MAX_TERMS - 1)]}) == {str(i) for i in range(DOCUMENTS)}
    assert every_path(store, {"$and": [{"i": {"$ne": k}} for k in range(1_200)] + [{"g": "b"}]}) == set()
    assert every_path(store, {"$not": [{"i": {"$gte": 3}} for _ in range(600)]}) == {"0", "1", "2"}
    deepest = nested(MAX_DEPTH)
    expected = reference(deepest)
    assert every_path(store, deepest) == expected and 0 < len(expected) < DOCUMENTS
    store.delete_documents(filters=deepest)
    assert store.get_document_count() == DOCUMENTS - len(expected)


def test_the_largest_filter_accepted_works_on_every_path(store):
    # MAX_TERMS terms, all $ne comparisons: the most SQL parameters a filter can take.
    largest = {"$and": [{"i": {"$ne": -k}} for k in range(1, MAX_TERMS - 1)] + [{"g": "b"}]}
    assert every_path(store, largest) == {str(i) for i in range(0, DOCUMENTS, 4)}
    store.delete_documents(filters=largest)
    assert store.get_document_count() == DOCUMENTS - DOCUMENTS // 4
    store.write_labels([Label(query="q", document=Document(content="x"), answer=None, is_correct_answer=True,
                              is_correct_document=True, origin="gold-label")])
    largest_on_labels = {"$and": [{"query": {"$ne": str(k)}} for k in range(MAX_TERMS - 1)]}
    assert len(store.get_all_labels(filters=largest_on_labels)) == 1


@pytest.mark.parametrize("filters, limit", [
    ({"$or": [{"i": k} for k in range(MAX_TERMS)]}, f"holds {MAX_TERMS + 1} terms .* at most {MAX_TERMS} are"),
    (nested(MAX_DEPTH + 1), f"more than {MAX_DEPTH} levels deep"),
])
def test_past_the_limits_every_path_refuses_clearly_and_deletes_nothing(store, filters, limit):
    query = np.ones(4, dtype=np.float32)
    for call in (lambda: store.get_all_documents(filters=filters), lambda: store.get_document_count(filters=filters),
                 lambda: store.delete_documents(filters=filters), lambda: store.query("common", filters=filters),
                 lambda: store.query_by_embedding(query, filters=filters),
                 lambda: store.get_all_labels(filters=filters), lambda: parse_filters(filters)):
        with pytest.raises(FilterSyntaxError, match=limit):
            call()
    assert store.get_document_count() == DOCUMENTS
