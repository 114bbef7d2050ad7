"""Helpers of the indexing tests: a store's contents, and comparing two stores."""
import numpy as np

from dpr_components.stores.hybrid_document_store import HybridDocumentStore


def store_contents(store_dir):
    store = HybridDocumentStore(path=str(store_dir), progress_bar=False)
    try:
        documents = store.get_all_documents(return_embedding=True)
        return {d.id: (d.content, d.meta, np.asarray(d.embedding)) for d in documents}
    finally:
        store.close()


def assert_same_store(found, expected):
    assert sorted(found) == sorted(expected)
    for passage_id, (content, meta, vector) in expected.items():
        assert found[passage_id][0] == content and found[passage_id][1] == meta
        np.testing.assert_allclose(found[passage_id][2], vector, atol=1e-6, rtol=0)
