"""The filter-match cache (issue 27.1) keys a filter on a canonical, type-preserving form: a filter on the number
2020 and one on the string "2020" match different documents and never share a cache entry."""
import numpy as np
from haystack.schema import Document

from dpr_components.stores.filters import filter_key
from dpr_components.stores.index_caches import EXACT_SEARCH_MAX


def test_the_key_tells_value_types_apart_and_ignores_numpy_wrappers():
    assert filter_key({"year": np.int64(2020)}) == filter_key({"year": 2020}) == filter_key({"year": {"$eq": 2020}})
    keys = [filter_key(f) for f in ({"year": 2020}, {"year": "2020"}, {"year": 2020.5}, {"year": True},
                                    {"year": [2020]}, {"year": ["2020"]}, {"year": None}, {"year": [None]})]
    assert len(set(keys)) == len(keys)
    assert filter_key(None) == filter_key({}) is None


def test_bm25_search_never_answers_from_another_types_matches(open_store):
    store = open_store()
    store.write_documents([Document(content=f"paris {i}", meta={"year": 2020 if i % 2 else "2020"}) for i in range(10)])
    as_number = store.query("paris", top_k=10, filters={"year": np.int64(2020)})
    as_text = store.query("paris", top_k=10, filters={"year": "2020"})
    assert {d.meta["year"] for d in as_number} == {2020} and len(as_number) == 5
    assert {d.meta["year"] for d in as_text} == {"2020"} and len(as_text) == 5


def test_dense_search_never_answers_from_another_types_matches(open_store):
    store = open_store()
    many = EXACT_SEARCH_MAX + 10  # more matches than the exact path takes: the search uses the cached matches
    rng = np.random.default_rng(0)
    store.write_documents([Document(content=f"doc {i}", meta={"year": 2020 if i < many else "2020"},
                                    embedding=rng.standard_normal(4).astype(np.float32)) for i in range(many + 5)])
    query = np.ones(4, dtype=np.float32)
    assert len(store.query_by_embedding(query, top_k=many, filters={"year": np.int64(2020)})) == many
    as_text = store.query_by_embedding(query, top_k=50, filters={"year": "2020"})
    assert len(as_text) == 5 and {d.meta["year"] for d in as_text} == {"2020"}
