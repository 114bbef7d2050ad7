"""HybridDocumentStore's filters side by side with Haystack's reference, InMemoryDocumentStore, on random filters
over random documents (seeded and bounded; issue 27.4): ``get_all_documents``, ``get_document_count`` and the
documents BM25 and dense search may return agree, and so does the JSON-column compilation used for labels.

The documented choices of :mod:`dpr_components.stores.filters` are written in the reference's own syntax before
it evaluates a filter: ``$eq: v`` (any element of a list equals v) is the reference's ``$in: [v]``, and
``$ne: v`` (present, and no element equals v) is ``$ne: <a value no document holds>`` (present) with
``$nin: [v]``. Where the reference raises (a range comparison of None, a dict or another kind of value), the
document is left out of that filter's comparison: the store's rule there (no match) is pinned in
test_store_filters.py.
"""
import json
import sqlite3

import numpy as np
import pytest
from haystack.document_stores import InMemoryDocumentStore
from haystack.document_stores.filter_utils import LogicalFilterClause
from haystack.schema import Document

from dpr_components.stores.filters import json_row_id_query, parse_filters

FIELDS = ["a", "b", "c", "d"]
SCALARS = [None, 0, 1, 2, 2.5, -1, True, False, "", "x", "y", "2"]
ABSENT = "<no document holds this>"
DOCUMENTS, FILTERS, DIM = 60, 150, 4


def random_value(rng):
    kind = rng.random()
    if kind < 0.6:
        return SCALARS[rng.integers(len(SCALARS))]
    if kind < 0.9:
        return [SCALARS[i] for i in rng.integers(len(SCALARS), size=rng.integers(0, 4))]
    return {} if kind < 0.95 else {"inner": 1}


def random_documents(rng):
    documents = []
    for i in range(DOCUMENTS):
        meta = {field: random_value(rng) for field in FIELDS if rng.random() < 0.75}
        documents.append(Document(content=f"common word{i}", meta=meta, id=f"doc{i}",
                                  embedding=rng.standard_normal(DIM).astype(np.float32)))
    return documents


def random_comparison(rng):
    field = FIELDS[rng.integers(len(FIELDS))]
    values = [SCALARS[i] for i in rng.integers(len(SCALARS), size=rng.integers(0, 4))]
    scalar = SCALARS[rng.integers(len(SCALARS))]
    operator = ["$eq", "$ne", "$in", "$nin", "$gt", "$gte", "$lt", "$lte", "implicit", "implicit list"][
        rng.integers(10)]
    if operator == "implicit":
        return {field: scalar}
    if operator == "implicit list":
        return {field: values}
    if operator in ("$in", "$nin"):
        return {field: {operator: values}}
    if operator.startswith(("$g", "$l")):  # None and bools are refused in ranges (FilterSyntaxError)
        scalar = [0, 1, 2, 2.5, -1, "", "x", "2"][rng.integers(8)]
    return {field: {operator: scalar}}


def random_filter(rng, depth=3):
    if depth == 0 or rng.random() < 0.4:
        return random_comparison(rng)
    operator = ["$and", "$or", "$not"][rng.integers(3)]
    conditions = [random_filter(rng, depth - 1) for _ in range(rng.integers(0, 4))]
    keys = [key for condition in conditions for key in condition]
    if rng.random() < 0.5 and len(set(keys)) == len(keys):  # the dict form, when keys do not repeat
        return {operator: {key: value for condition in conditions for key, value in condition.items()}}
    return {operator: conditions}


def as_reference(filters):
    """The filter in the reference's syntax, with the store's documented choices for $eq and $ne spelt out. Each
    dict becomes a list of one-key dicts (the same conditions), so that a spelt-out $ne stays one condition."""
    items = []
    for item in filters if isinstance(filters, list) else [filters]:
        for key, value in item.items():
            if key.startswith("$"):
                items.append({key: as_reference(value)})
                continue
            clause = value if isinstance(value, dict) else {"$in" if isinstance(value, list) else "$eq": value}
            for operator, operand in clause.items():
                if operator == "$eq":
                    items.append({key: {"$in": [operand]}})
                elif operator == "$ne":
                    items.append({"$and": [{key: {"$ne": ABSENT}}, {key: {"$nin": [operand]}}]})
                else:
                    items.append({key: {operator: operand}})
    return items


def reference_matches(documents, filters):
    """Ids the reference matches, and the ids of documents it cannot evaluate (it raises TypeError)."""
    clause = LogicalFilterClause.parse(as_reference(filters))
    matched, undefined = [], set()
    for document in documents:
        try:
            if clause.evaluate(document.meta):
                matched.append(document.id)
        except TypeError:
            undefined.add(document.id)
    return matched, undefined


def json_column(documents):
    """The documents' metas as rows of a JSON column, as labels are stored, beside rows of another scope."""
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE labels (index_name TEXT, label TEXT)")
    for index in ("other", "mine"):  # rows outside the scope never match
        connection.executemany("INSERT INTO labels VALUES (?, ?)", [(index, json.dumps(d.meta)) for d in documents])
    return connection


def json_column_matches(connection, documents, filters):
    sql, params = json_row_id_query(parse_filters(filters), "labels", "label", "index_name = ?", ["mine"])
    return {documents[row_id - 1 - len(documents)].id for (row_id,) in connection.execute(sql, params)}


@pytest.mark.parametrize("seed", [0, 1])
def test_random_filters_agree_with_haystack_in_memory_store(open_store, seed):
    rng = np.random.default_rng(seed)
    documents = random_documents(rng)
    store, reference = open_store(), InMemoryDocumentStore(embedding_dim=DIM, use_bm25=True, progress_bar=False)
    store.write_documents(documents)
    reference.write_documents(documents)
    query, labels = rng.standard_normal(DIM).astype(np.float32), json_column(documents)
    compared = undefined_total = 0
    for _ in range(FILTERS):
        filters = random_filter(rng)
        expected, undefined = reference_matches(documents, filters)
        undefined_total += len(undefined)
        ours = [d.id for d in store.get_all_documents(filters=filters)]
        assert [i for i in ours if i not in undefined] == expected, filters
        assert store.get_document_count(filters=filters) == len(ours), filters
        assert {d.id for d in store.query("common", filters=filters, top_k=DOCUMENTS)} == set(ours), filters
        dense = store.query_by_embedding(query, filters=filters, top_k=DOCUMENTS)
        assert {d.id for d in dense} == set(ours), filters
        assert json_column_matches(labels, documents, filters) == set(ours), filters
        if not undefined:  # the reference store itself, where it can answer
            reference_filters = as_reference(filters)
            assert [d.id for d in reference.get_all_documents(filters=reference_filters)] == ours, filters
            assert reference.get_document_count(filters=reference_filters) == len(ours), filters
            reference_dense = reference.query_by_embedding(query, filters=reference_filters, top_k=DOCUMENTS)
            assert {d.id for d in reference_dense} == set(ours), filters
            compared += 1
    assert compared > FILTERS // 2 and undefined_total < FILTERS * DOCUMENTS // 5  # the comparison has teeth
