"""A batch of searches answers exactly what the searches one by one answer (issue 29's micro-batching reads the
hits of all questions at once, and keeps parsed rows while the database is unchanged), every document returned
is its own object, and nothing kept goes stale: a write by this store or by another process is seen at once."""
import numpy as np
from haystack.schema import Document
from store_testing import make_documents

QUESTIONS = ["paris france", "berlin topic3", "germany", "nothing matches this", "", "topic1 paris"]
FILTERS = [None, {"genre": "news"}, {"tags": ["odd"]}, None, None, {"year": {"$gte": 2005}}]


def fields(documents):
    return [(d.id, d.score, d.meta, d.content, d.id_hash_keys) for d in documents]


def test_batches_answer_as_one_search_at_a_time(open_store):
    store = open_store()
    store.write_documents(make_documents(120))
    vectors = list(np.random.default_rng(7).standard_normal((len(QUESTIONS), 8)).astype(np.float32))
    for options in ({}, {"scale_score": False}, {"all_terms_must_match": True}):
        one_by_one = [fields(store.query(q, filters=f, top_k=15, **options)) for q, f in zip(QUESTIONS, FILTERS)]
        assert [fields(d) for d in store.query_batch(QUESTIONS, filters=FILTERS, top_k=15, **options)] == one_by_one
        shared = [fields(store.query(q, filters={"genre": "blog"}, top_k=15, **options)) for q in QUESTIONS]
        assert [fields(d) for d in store.query_batch(QUESTIONS, filters={"genre": "blog"}, top_k=15, **options)] \
            == shared
    assert [fields(d) for d in store.query_batch([None, "paris"], top_k=3)] == \
        [fields(store.get_all_documents()[:3]), fields(store.query("paris", top_k=3))]  # None: match all
    for filters in (FILTERS, {"genre": "paper"}, None):
        each = filters if isinstance(filters, list) else [filters] * len(vectors)
        one_by_one = [store.query_by_embedding(v, filters=f, top_k=12) for v, f in zip(vectors, each)]
        batched = store.query_by_embedding_batch(vectors, filters=filters, top_k=12)
        # one matrix product for all vectors: the same hits, scores equal up to float rounding
        assert [[row[:1] + row[2:] for row in fields(d)] for d in batched] == \
            [[row[:1] + row[2:] for row in fields(d)] for d in one_by_one]
        assert np.allclose([d.score for hits in batched for d in hits], [d.score for hits in one_by_one for d in hits],
                           rtol=1e-6, atol=1e-6)
    with_vectors = store.query_by_embedding_batch(vectors[:2], top_k=4, return_embedding=True)
    assert all(d.embedding is not None and d.embedding.shape == (8,) for hits in with_vectors for d in hits)


def test_each_document_returned_is_its_own(open_store):
    store = open_store()
    store.write_documents(make_documents(40))
    first, second = store.query_batch(["paris", "paris france"], top_k=40)
    shared = {d.id for d in first} & {d.id for d in second}
    assert shared
    for document in first:
        document.meta["name"] = "changed"
        document.meta["tags"].append("mutated")
        document.id_hash_keys.append("meta")
    again = {d.id: d for d in store.query("paris", top_k=40)}
    assert all(d.meta["name"] != "changed" and "mutated" not in d.meta["tags"] and d.id_hash_keys == ["content"]
               for d in again.values())
    assert all(d.meta["name"] != "changed" for d in second)


def test_what_is_kept_parsed_follows_every_write(open_store, store_path):
    store = open_store()
    store.write_documents(make_documents(30, embed=False))
    target = store.query("topic3", top_k=1)[0]
    store.update_document_meta(target.id, {"genre": "updated"})
    assert store.query("topic3", top_k=1)[0].meta["genre"] == "updated"
    store.write_documents([Document(content=f"{target.content} rewritten", id=target.id, meta={"name": "New"})])
    assert store.query("topic3", top_k=1)[0].content.endswith("rewritten")
    other = open_store()  # another connection, as another process writes
    other.write_documents([Document(content=target.content, id=target.id, meta={"name": "Other"})])
    assert store.query("topic3", top_k=1)[0].meta == {"name": "Other"}
    other.delete_documents(ids=[target.id])
    assert target.id not in {d.id for d in store.query("topic3", top_k=30)}
