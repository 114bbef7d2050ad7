"""Filters compiled to SQL agree with Haystack's reference evaluation, and reject what Haystack ignores."""
import json
import re
import sqlite3

import pytest
from haystack.document_stores.filter_utils import LogicalFilterClause

from dpr_components.stores.document_rows import meta_values
from dpr_components.stores.filters import FilterSyntaxError, json_row_id_query, parse_filters, row_id_query

METAS = [
    {"genre": "news", "year": 2001, "rating": 4.5, "published": True, "publisher": "nytimes"},
    {"genre": "blog", "year": 2015, "rating": 2.0, "published": False},
    {"genre": "paper", "year": 2020, "rating": 3.0, "publisher": "acl", "date": "2020-05-01"},
    {"genre": "news", "year": 1999, "date": "1999-12-31", "publisher": "guardian"},
    {"year": 2010, "rating": 5.0, "date": "2010-01-01"},
    {"genre": "book", "year": 2021, "rating": None, "published": True},
]

# Filters on scalar fields, where our semantics are Haystack's exactly.
SCALAR_FILTERS = [
    {"genre": "news"},
    {"genre": ["news", "paper"]},
    {"genre": {"$ne": "news"}},
    {"genre": {"$nin": ["news", "blog"]}},
    {"year": {"$gte": 2010, "$lt": 2021}},
    {"year": {"$gt": 2015}},
    {"rating": {"$lte": 3.0}},
    {"date": {"$gte": "2000-01-01"}},
    {"published": True},
    {"$or": {"genre": "blog", "year": {"$lt": 2000}}},
    {"$and": {"genre": ["news", "paper"], "$or": {"publisher": "acl", "year": 1999}}},
    {"$not": {"genre": "news"}},
    {"$not": {"genre": "news", "year": 2010}},
    {"$or": [{"$and": {"genre": "news", "year": {"$lt": 2000}}}, {"$and": {"genre": "paper"}}]},
    {"genre": "news", "$not": {"publisher": "guardian"}},
    {"publisher": {"$nin": ["acl"]}, "rating": {"$gt": 1}},
    {"$or": []},
    {"$not": []},
    {"$and": [{"$or": []}, {"genre": "news"}]},
    {"$not": {"$or": {"genre": "news", "year": {"$gte": 2020}}}},
]


def matching(filters, metas=METAS):
    """Documents matched through the indexed key/value table; the JSON-column compilation must agree."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE d (row_id INTEGER, index_id INTEGER, meta TEXT)")
    connection.execute("CREATE TABLE meta_values (index_id INTEGER, key TEXT, value, row_id INTEGER)")
    for index_id in (1, 2):  # documents of another index must never match
        for i, meta in enumerate(metas):
            row_id = i + 100 * index_id
            connection.execute("INSERT INTO d VALUES (?, ?, ?)", (row_id, index_id, json.dumps(meta)))
            connection.executemany("INSERT INTO meta_values VALUES (?, ?, ?, ?)",
                                   [(index_id, key, value, row_id) for key, value in meta_values(json.dumps(meta))])
    node = parse_filters(filters)
    sql, params = row_id_query(node, 1, "meta_values", "d") if node else ("SELECT row_id FROM d WHERE index_id = 1", [])
    by_table = {row_id - 100 for (row_id,) in connection.execute(sql, params)}
    if node:
        sql, params = json_row_id_query(node, "d", "meta", "index_id = ?", [1])
        assert by_table == {row_id - 1 for (row_id,) in connection.execute(sql, params)}  # rowids count from 1
    return by_table


@pytest.mark.parametrize("filters", SCALAR_FILTERS, ids=[json.dumps(f) for f in SCALAR_FILTERS])
def test_filters_match_haystack_reference(filters):
    reference = LogicalFilterClause.parse(filters)

    def holds(meta):
        try:
            return reference.evaluate(meta)
        except TypeError:  # Haystack crashes comparing None with a number; the store treats it as no match
            return False

    assert matching(filters) == {i for i, meta in enumerate(METAS) if holds(meta)}


def test_no_filter_matches_everything():
    assert matching(None) == matching({}) == set(range(len(METAS)))


def test_list_valued_fields_match_any_element():
    metas = [{"tags": ["a", "b"]}, {"tags": ["c"]}, {"tags": "a"}, {}, {"tags": [1, 5]}]
    assert matching({"tags": "a"}, metas) == {0, 2}
    assert matching({"tags": ["b", "c"]}, metas) == {0, 1}
    assert matching({"tags": {"$nin": ["a"]}}, metas) == {1, 3, 4}
    assert matching({"tags": {"$ne": "a"}}, metas) == {1, 4}  # a missing field fails $ne, as in Haystack
    assert matching({"tags": {"$gt": 3}}, metas) == {4}


def test_numbers_and_strings_are_not_compared_across_types():
    metas = [{"year": 2001}, {"year": "2001"}, {"year": "abc"}]
    assert matching({"year": {"$gte": 2000}}, metas) == {0}
    assert matching({"year": {"$gte": "2000"}}, metas) == {1, 2}
    assert matching({"year": 2001}, metas) == {0}


@pytest.mark.parametrize("filters, message", [
    ({"genre": {"$regex": "n.*"}}, "Unknown comparison operator '$regex'"),
    ({"$xor": {"genre": "news"}}, "Unknown filter operator '$xor'"),
    ({"genre": {"$in": "news"}}, "$in on field 'genre' needs a list"),
    ({"year": {"$gt": [1, 2]}}, "needs a single plain value"),
    ({"year": {"$gt": None}}, "needs a number or a string"),
    ({"genre": {}}, "Empty condition for field 'genre'"),
    ("genre = news", "Filters must be a dict"),
])
def test_bad_filters_raise_clear_errors(filters, message):
    with pytest.raises(FilterSyntaxError, match=re.escape(message)):
        parse_filters(filters)
