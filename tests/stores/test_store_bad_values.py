"""Values SQLite cannot hold (lone surrogates, integers beyond 64 bits, NaN and infinity, at any depth of the meta)
and bad numbers: one-line errors naming the document (or label) and field, nothing already stored lost. Before,
these surfaced mid-write as UnicodeEncodeError / OverflowError, or a NaN was stored and then failed every query
(issue 29.2: SQLite's JSON functions call the whole row malformed)."""
import re

import numpy as np
import pytest
from haystack.schema import Document, Label

from dpr_components.errors import ConfigurationError, StoreError


@pytest.mark.parametrize("document, where", [
    (Document(content="bad \ud800 text", id="a"), "content text with a lone surrogate"),
    (Document(content="ok", meta={"name": "x\udc00"}, id="b"), "meta['name'] text with a lone surrogate"),
    (Document(content="ok", meta={"views": 2**70}, id="c"), "meta['views'] the integer 1180591620717411303424 beyond"),
    (Document(content="ok", meta={"ids": [1, -2**64]}, id="d"), "meta['ids'][1] the integer"),
    (Document(content="ok", meta={"x": float("nan")}, id="e"), "meta['x'] the number nan (not finite"),
    (Document(content="ok", meta={"scores": [1.0, np.float32("inf")]}, id="f"), "meta['scores'][1] the number inf"),
    (Document(content="ok", meta={"deep": {"a": [{"b": -float("inf")}]}}, id="g"), "meta['deep']['a'][0]['b'] the "
                                                                                   "number -inf"),
    (Document(content="ok", meta={"deep": {"k\udc00": 1}}, id="h"), "meta['deep'] key 'k\\udc00' text with a lone"),
    (Document(content="ok", meta={"vector": np.array([1.0, np.nan])}, id="i"), "meta['vector'][1] the number nan"),
    (Document(content="ok", meta={"big": {"n": 2**64}}, id="j"), "meta['big']['n'] the integer 18446744073709551616"),
])
def test_unstorable_values_are_refused_and_nothing_is_lost(open_store, document, where):
    store = open_store()
    store.write_documents([Document(content="kept paris", id="kept")])
    with pytest.raises(StoreError, match=re.escape(f"Document '{document.id}' has in its {where}")) as error:
        store.write_documents([Document(content="also new", id="new"), document])
    assert "\n" not in str(error.value) and str(error.value).endswith("Nothing was written.")
    assert [d.id for d in store.get_all_documents()] == ["kept"] and store.query("paris")[0].id == "kept"
    with pytest.raises(StoreError, match="beyond SQLite's 64-bit range"):
        store.update_document_meta("kept", {"views": 2**64})
    with pytest.raises(StoreError, match=re.escape("Document 'kept' has in its meta['x'] the number nan")):
        store.update_document_meta("kept", {"x": float("nan")})
    assert store.get_document_by_id("kept").meta == {} and store.query("paris", filters={"x": None}) == []


def test_labels_with_values_sqlite_cannot_hold_are_refused(open_store):
    store = open_store()
    kept = Label(query="kept", document=Document(content="paris"), answer=None, is_correct_answer=True,
                 is_correct_document=True, origin="gold-label", id="kept")
    store.write_labels([kept])
    bad = Label(query="bad", document=Document(content="paris"), answer=None, is_correct_answer=True,
                is_correct_document=True, origin="gold-label", id="bad", meta={"score": float("nan")})
    with pytest.raises(StoreError, match=re.escape("Label 'bad' has in its meta['score'] the number nan")):
        store.write_labels([kept, bad])
    assert store.get_all_labels(filters={"origin": "gold-label"}) == [kept]


def test_a_non_finite_filter_value_is_a_clear_error(open_store):
    store = open_store()
    store.write_documents([Document(content="paris", meta={"x": None})])
    with pytest.raises(ConfigurationError, match=r"filter value holds the number nan .*field 'x'"):
        store.query("paris", filters={"x": float("nan")})  # SQLite would bind NaN as NULL: it matched x = None


def test_a_filter_value_beyond_64_bits_is_a_clear_error(open_store):
    store = open_store()
    store.write_documents([Document(content="paris", meta={"views": 3})])
    with pytest.raises(ConfigurationError, match="filter value holds the integer 18446744073709551616"):
        store.query("paris", filters={"views": 2**64})


@pytest.mark.parametrize("top_k", [3.5, "5", None, 0, -3, True])
def test_top_k_that_is_not_a_positive_integer_is_refused_alike_by_dense_and_bm25(open_store, top_k):
    store = open_store()
    store.write_documents([Document(content="paris", embedding=np.ones(4, dtype=np.float32))])
    with pytest.raises(ConfigurationError, match=f"top_k must be a positive integer, got {top_k!r}"):
        store.query("paris", top_k=top_k)
    with pytest.raises(ConfigurationError, match=f"top_k must be a positive integer, got {top_k!r}"):
        store.query_by_embedding(np.ones(4, dtype=np.float32), top_k=top_k)
