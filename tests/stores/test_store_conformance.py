"""HybridDocumentStore honours Haystack's BaseDocumentStore contract: write, read, count, delete, duplicates."""
import numpy as np
import pandas as pd
import pytest
from haystack.errors import DuplicateDocumentError
from haystack.schema import Answer, Document, Label
from store_testing import make_documents

from dpr_components.errors import ConfigurationError, EmbeddingDimensionError, StoreError
from dpr_components.stores.filters import FilterSyntaxError


def vector_ids_agree_with_database(store, index=None):
    """The FAISS index holds exactly one vector per stored document that has an embedding."""
    vectors = store._caches.vectors(index or store.index)
    info = store._database.index_info(index or store.index)
    expected = store._database.row_ids(info, embedding=True)
    return vectors is None and len(expected) == 0 or np.array_equal(np.sort(vectors.ids()), expected)


def test_write_and_read_back_documents_with_meta_and_embeddings(open_store):
    store = open_store()
    documents = make_documents(20)
    store.write_documents(documents)
    assert store.get_document_count() == 20 and store.get_embedding_count() == 20
    stored = store.get_all_documents(return_embedding=True)
    assert [d.id for d in stored] == [d.id for d in documents]
    for original, copy in zip(documents, stored):
        assert copy.content == original.content and copy.meta == original.meta
        np.testing.assert_array_equal(copy.embedding, original.embedding)
    assert store.get_all_documents()[0].embedding is None  # return_embedding defaults to False
    assert store.get_document_by_id(documents[3].id).meta["name"] == "Title 3"
    assert store.get_document_by_id("no-such-id") is None
    wanted = [documents[5].id, "missing", documents[1].id]
    assert [d.id for d in store.get_documents_by_id(wanted)] == [documents[5].id, documents[1].id]
    assert len(list(store.get_all_documents_generator(batch_size=3))) == 20


def test_dict_input_table_content_and_custom_embedding_field(open_store):
    store = open_store(embedding_field="vector")
    table = pd.DataFrame({"city": ["Paris", "Berlin"], "country": ["France", "Germany"]})
    store.write_documents([{"content": "plain text", "meta": {"name": "A"}, "vector": np.ones(4, np.float32)},
                           Document(content=table, content_type="table")])
    text, stored_table = store.get_all_documents(return_embedding=True)
    assert text.content == "plain text" and text.embedding.tolist() == [1, 1, 1, 1]
    assert stored_table.content_type == "table" and stored_table.content.equals(table)
    assert store.run(documents=[{"content": "written by a pipeline"}]) == ({}, "output_1")  # indexing node
    assert store.get_document_count() == 3


def test_filters_in_get_count_and_delete(open_store):
    store = open_store()
    store.write_documents(make_documents(40))
    news = {"genre": "news", "year": {"$gte": 2004}}
    expected = [d.id for d in make_documents(40) if d.meta["genre"] == "news" and d.meta["year"] >= 2004]
    assert [d.id for d in store.get_all_documents(filters=news)] == expected
    assert store.get_document_count(filters=news) == store.get_embedding_count(filters=news) == len(expected)
    assert store.get_document_count(filters={"tags": "odd"}) == 20
    store.delete_documents(filters={"tags": "odd"})
    assert store.get_document_count() == 20 and store.get_document_count(filters={"tags": "odd"}) == 0
    store.delete_documents(ids=[expected[0]])
    assert store.get_document_by_id(expected[0]) is None and store.get_document_count() == 19
    store.delete_all_documents()
    assert store.get_document_count() == 0 and vector_ids_agree_with_database(store)
    with pytest.raises(FilterSyntaxError, match=r"\$regex"):
        store.get_all_documents(filters={"genre": {"$regex": "n"}})


def test_two_stores_on_one_directory_see_each_others_writes(open_store):
    reader, writer = open_store(), open_store()
    writer.write_documents(make_documents(10))
    query = np.ones(8, np.float32)
    assert len(reader.query_by_embedding(query, top_k=20, filters={"genre": "news"})) == 3
    assert len(reader.query("paris", top_k=20, filters={"genre": "blog"})) == 3
    writer.write_documents(make_documents(10, start=10, seed=1))
    writer.delete_documents(ids=[make_documents(1)[0].id])  # a "news" document
    assert len(reader.query_by_embedding(query, top_k=20, filters={"genre": "news"})) == 4
    assert len(reader.query("paris", top_k=20, filters={"genre": "blog"})) == 5
    reader.write_documents(make_documents(1, start=40))  # the reader's own write, news again
    assert len(reader.query_by_embedding(query, top_k=20, filters={"genre": "news"})) == 5
    assert vector_ids_agree_with_database(reader) and vector_ids_agree_with_database(writer)


def test_duplicate_policies(open_store):
    store = open_store()
    original = make_documents(3)
    store.write_documents(original)
    changed = [Document(content=d.content, meta={**d.meta, "name": "changed"}, embedding=d.embedding * 2)
               for d in original]
    assert [d.id for d in changed] == [d.id for d in original]  # id = hash of content

    with pytest.raises(DuplicateDocumentError, match="3 document"):
        store.write_documents(make_documents(2, start=100) + changed, duplicate_documents="fail", batch_size=2)
    assert store.get_document_count() == 3  # the new documents of the failed call were not written either

    store.write_documents(changed, duplicate_documents="skip")
    assert {d.meta["name"] for d in store.get_all_documents()} == {"Title 0", "Title 1", "Title 2"}

    store.write_documents(changed)  # the store's default policy: overwrite
    stored = store.get_all_documents(return_embedding=True)
    assert {d.meta["name"] for d in stored} == {"changed"} and store.get_document_count() == 3
    np.testing.assert_array_equal(stored[0].embedding, original[0].embedding * 2)
    with pytest.raises(ConfigurationError, match="Unknown duplicate_documents 'replace'"):
        store.write_documents(changed, duplicate_documents="replace")


def test_overwrite_leaves_no_stale_vector(open_store):
    store = open_store(similarity="cosine")
    documents = make_documents(10)
    store.write_documents(documents)
    query = documents[4].embedding
    assert store.query_by_embedding(query, top_k=1)[0].id == documents[4].id
    moved = Document(content=documents[4].content, meta=documents[4].meta, embedding=-documents[4].embedding)
    store.write_documents([moved])
    without_vector = Document(content=documents[5].content, meta=documents[5].meta)
    store.write_documents([without_vector])
    hits = store.query_by_embedding(query, top_k=10, scale_score=False)
    assert len(hits) == 9 and documents[5].id not in [d.id for d in hits]
    assert hits[-1].id == documents[4].id and hits[-1].score == pytest.approx(-1.0, abs=1e-5)
    assert store.get_embedding_count() == 9 and vector_ids_agree_with_database(store)


def test_duplicates_within_one_call(open_store):
    store = open_store()
    first, second = (Document(id="same", content=text, meta={"name": text}) for text in ("first", "second"))
    store.write_documents([first, second])
    assert store.get_document_by_id("same").content == "second"  # overwrite: the last copy wins
    store.write_documents([Document(id="other", content="a"), Document(id="other", content="b")],
                          duplicate_documents="skip")
    assert store.get_document_by_id("other").content == "a"


def test_wrong_vector_size_writes_nothing(open_store):
    store = open_store()
    store.write_documents(make_documents(5, dim=8))
    batch = make_documents(5, dim=8, start=50) + make_documents(1, dim=6, start=99)
    with pytest.raises(EmbeddingDimensionError, match="size 6 but index 'document' holds 8-dim"):
        store.write_documents(batch, batch_size=2)  # one transaction for all batches of the call
    assert store.get_document_count() == 5
    with pytest.raises(EmbeddingDimensionError, match="size 6"):
        store.query_by_embedding(np.ones(6, np.float32))
    nan = make_documents(1, start=200)[0]
    nan.embedding[0] = np.nan
    with pytest.raises(StoreError, match="NaN"):
        store.write_documents([nan])
    with pytest.raises(StoreError, match="cannot be stored as JSON"):
        store.write_documents([Document(content="x", meta={"when": object()})])
    assert store.get_document_count() == 5


def test_documents_without_embeddings_and_update_meta(open_store):
    store = open_store()
    store.write_documents(make_documents(4, embed=False) + make_documents(2, start=10))
    assert store.get_document_count() == 6 and store.get_embedding_count() == 2
    assert store.get_document_count(only_documents_without_embedding=True) == 4
    target = make_documents(1)[0].id
    store.update_document_meta(target, {"genre": "poem", "extra": 1})
    updated = store.get_document_by_id(target)
    assert updated.meta["genre"] == "poem" and updated.meta["extra"] == 1 and updated.meta["name"] == "Title 0"
    with pytest.raises(StoreError, match="No document with id 'nope'"):
        store.update_document_meta("nope", {"a": 1})


def test_named_indexes_are_separate(open_store):
    store = open_store()
    store.write_documents(make_documents(3, dim=8))
    store.write_documents(make_documents(2, dim=4, start=10), index="small")
    assert store.get_document_count() == 3 and store.get_document_count(index="small") == 2
    assert len(store.query_by_embedding(np.ones(4, np.float32), index="small", top_k=5)) == 2
    store.delete_index("small")
    assert store.get_document_count(index="small") == 0 and store.get_document_count() == 3
    assert store.get_all_documents(index="never-created") == []


def test_labels_round_trip(open_store):
    store = open_store()
    document = make_documents(1)[0]
    labels = [Label(query=q, document=document, is_correct_answer=True, is_correct_document=True,
                    origin="gold-label", answer=Answer(answer="Paris")) for q in ("q1", "q2")]
    store.write_labels(labels)
    assert store.get_label_count() == 2
    assert {label.query for label in store.get_all_labels()} == {"q1", "q2"}
    assert [label.query for label in store.get_all_labels(filters={"query": "q2"})] == ["q2"]
    store.delete_labels(ids=[labels[0].id])
    assert [label.query for label in store.get_all_labels()] == ["q2"]


def test_constructor_rejects_bad_settings(open_store):
    with pytest.raises(ConfigurationError, match="Unknown Similarity 'manhattan'"):
        open_store(similarity="manhattan")
    with pytest.raises(ConfigurationError, match="bm25_b must be between 0 and 1, got 1.5"):
        open_store(bm25_b=1.5)
    with pytest.raises(ConfigurationError, match="bm25_k1 must be a finite number, got nan"):
        open_store(bm25_k1=float("nan"))
    with pytest.raises(ConfigurationError, match="faiss cannot build index 'IVF10,PQ7'"):
        open_store(embedding_dim=16, faiss_index_factory_str="IVF10,PQ7")
