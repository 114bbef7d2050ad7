"""Values SQLite cannot hold (lone surrogates, integers beyond 64 bits) and bad numbers: one-line errors,
nothing already stored lost. Before, these surfaced mid-write as UnicodeEncodeError / OverflowError."""
import re

import numpy as np
import pytest
from haystack.schema import Document

from dpr_components.errors import ConfigurationError, StoreError


@pytest.mark.parametrize("document, where", [
    (Document(content="bad \ud800 text", id="a"), "content text with a lone surrogate"),
    (Document(content="ok", meta={"name": "x\udc00"}, id="b"), "meta['name'] text with a lone surrogate"),
    (Document(content="ok", meta={"views": 2**70}, id="c"), "meta['views'] the integer 1180591620717411303424 beyond"),
    (Document(content="ok", meta={"ids": [1, -2**64]}, id="d"), "meta['ids'] the integer"),
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
    assert store.get_document_by_id("kept").meta == {}


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
