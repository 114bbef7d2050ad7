import json
import os
import shutil

import numpy as np
import pytest
import torch
from haystack import Pipeline
from haystack.document_stores import InMemoryDocumentStore
from haystack.nodes import DensePassageRetriever
from haystack.schema import Document
from scipy.special import expit
from transformers import AutoTokenizer, DPRContextEncoder, DPRQuestionEncoder

from dpr_components.encoders.signature import EncoderSignature
from dpr_components.errors import ConfigurationError, EmbeddingDimensionError, StoreError
from dpr_components.retrievers.dpr_retriever import DPRRetriever
from dpr_components.stores import encoder_records
from dpr_components.stores.hybrid_document_store import HybridDocumentStore

QUESTIONS = ["who was born in paris", "what is the capital of germany", "when was the first war in england"]
DOCUMENTS = [
    ("paris", "paris is the capital and largest city of france", "city"),
    ("berlin", "berlin is the capital of germany and its largest city", "city"),
    ("london", "london is the capital of england on the river", "city"),
    ("war", "the first war of the king and queen of england", "history"),
    ("music", "music and film of the new world", "culture"),
    (None, "the university was called the first university of the country", "history"),
]


def make_documents():
    documents = []
    for title, text, kind in DOCUMENTS:
        meta = {"kind": kind}
        if title is not None:
            meta["name"] = title
        documents.append(Document(content=text, meta=meta))
    return documents


@pytest.fixture(scope="module")
def retriever(tiny_question_encoder, tiny_context_encoder):
    return DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
                        max_seq_len_passage=48, batch_size=4, progress_bar=False)


@pytest.fixture
def store(retriever):
    store = InMemoryDocumentStore(embedding_dim=32, similarity="dot_product")
    store.write_documents(make_documents())
    store.update_embeddings(retriever)
    return store


def reference_vectors(model_class, path, inputs, max_length):
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = model_class.from_pretrained(path).eval()
    vectors = []
    with torch.no_grad():
        for item in inputs:
            first, second = item if isinstance(item, tuple) else (item, None)
            ids = tokenizer(first, second, truncation=True, max_length=max_length, return_tensors="pt")["input_ids"]
            vectors.append(model(input_ids=ids).pooler_output[0].numpy())  # segment ids default to 0, as in DPR
    return np.stack(vectors)


def test_embeddings_equal_transformers_reference(retriever, tiny_question_encoder, tiny_context_encoder):
    queries = retriever.embed_queries(QUESTIONS)
    expected = reference_vectors(DPRQuestionEncoder, tiny_question_encoder, QUESTIONS, 64)
    np.testing.assert_allclose(queries, expected, atol=1e-4, rtol=0)

    passages = retriever.embed_documents(make_documents())
    pairs = [("" if title is None else title, text) for title, text, _ in DOCUMENTS]
    expected = reference_vectors(DPRContextEncoder, tiny_context_encoder, pairs, 48)
    assert passages.dtype == np.float32 and passages.shape == (len(DOCUMENTS), 32)
    np.testing.assert_allclose(passages, expected, atol=1e-4, rtol=0)


def test_embed_title_off_and_title_field(tiny_question_encoder, tiny_context_encoder):
    documents = [Document(content=text, meta={"heading": title or "", "name": "music"}) for title, text, _ in DOCUMENTS]
    texts_only = DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
                              embed_title=False, max_seq_len_passage=128, progress_bar=False).embed_documents(documents)
    expected = reference_vectors(DPRContextEncoder, tiny_context_encoder, [text for _, text, _ in DOCUMENTS], 128)
    np.testing.assert_allclose(texts_only, expected, atol=1e-4, rtol=0)

    headings = DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
                            title_field="heading", max_seq_len_passage=128,
                            progress_bar=False).embed_documents(documents)
    pairs = [(title or "", text) for title, text, _ in DOCUMENTS]
    np.testing.assert_allclose(headings, reference_vectors(DPRContextEncoder, tiny_context_encoder, pairs, 128),
                               atol=1e-4, rtol=0)


def test_embeddings_equal_haystack_dense_passage_retriever(retriever, tiny_question_encoder, tiny_context_encoder):
    haystack_dpr = DensePassageRetriever(query_embedding_model=tiny_question_encoder,
                                         passage_embedding_model=tiny_context_encoder, max_seq_len_passage=48,
                                         use_gpu=False, progress_bar=False)
    documents = make_documents()
    np.testing.assert_allclose(retriever.embed_documents(documents), haystack_dpr.embed_documents(documents),
                               atol=1e-4, rtol=0)
    np.testing.assert_allclose(retriever.embed_queries(QUESTIONS), haystack_dpr.embed_queries(QUESTIONS),
                               atol=1e-4, rtol=0)


def test_signature_and_dimension(retriever, tiny_question_encoder, tiny_context_encoder):
    assert retriever.embedding_dim == 32
    signature = retriever.encoder_signature
    assert isinstance(signature, EncoderSignature) and signature.complete
    assert (signature.query_architecture, signature.passage_architecture) == ("DPRQuestionEncoder", "DPRContextEncoder")
    assert (signature.pooling, signature.normalize, signature.embedding_dim) == ("pooler_output", False, 32)
    assert (signature.max_seq_len_query, signature.max_seq_len_passage) == (64, 48)
    assert (signature.query_source, signature.passage_source) == (tiny_question_encoder, tiny_context_encoder)


def test_max_seq_len_beyond_the_model_positions_is_a_one_line_error(tiny_question_encoder, tiny_context_encoder):
    for side in ("max_seq_len_query", "max_seq_len_passage"):
        with pytest.raises(ConfigurationError, match=f"{side}=512 exceeds .*max_position_embeddings=128.*<= 128"):
            DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
                         **{"max_seq_len_passage": 128, side: 512})


def test_retrieve_ranks_by_raw_dot_product(retriever, store):
    query = retriever.embed_queries(QUESTIONS[:1])[0]
    stored = {doc.id: doc.embedding for doc in store.get_all_documents(return_embedding=True)}
    expected = sorted(stored, key=lambda doc_id: -float(np.dot(query, stored[doc_id])))

    documents = retriever.retrieve(QUESTIONS[0], top_k=3, document_store=store)
    assert [doc.id for doc in documents] == expected[:3]
    for doc in documents:
        assert doc.score == pytest.approx(float(np.dot(query, stored[doc.id])), abs=1e-4)
    # The default top_k=10 exceeds the 6 documents: all come back.
    assert len(retriever.retrieve(QUESTIONS[0], document_store=store)) == len(DOCUMENTS)

    scaled = retriever.retrieve(QUESTIONS[0], top_k=1, scale_score=True, document_store=store)[0]
    assert scaled.score == pytest.approx(float(expit(np.dot(query, stored[scaled.id]) / 100)), abs=1e-4)


def test_retrieve_applies_filters(retriever, store):
    documents = retriever.retrieve(QUESTIONS[1], filters={"kind": "history"}, top_k=10, document_store=store)
    assert len(documents) == 2 and {doc.meta["kind"] for doc in documents} == {"history"}
    documents = retriever.retrieve(QUESTIONS[1], filters={"kind": {"$in": ["culture", "city"]}}, top_k=2,
                                   document_store=store)
    assert len(documents) == 2 and all(doc.meta["kind"] in ("culture", "city") for doc in documents)


def test_retrieve_batch_matches_single_retrieval(retriever, store):
    batch = retriever.retrieve_batch(QUESTIONS, top_k=2, batch_size=2, document_store=store)
    assert [[doc.id for doc in docs] for docs in batch] == [
        [doc.id for doc in retriever.retrieve(question, top_k=2, document_store=store)] for question in QUESTIONS
    ]
    per_query = retriever.retrieve_batch(QUESTIONS[:2], filters=[{"kind": "culture"}, {"kind": "history"}],
                                         document_store=store)
    assert [{doc.meta["kind"] for doc in docs} for docs in per_query] == [{"culture"}, {"history"}]


def test_yaml_query_pipeline(tmp_path, retriever, tiny_question_encoder, tiny_context_encoder):
    config = tmp_path / "pipeline.yml"
    config.write_text(f"""
version: 1.26.4.post0
components:
  - name: Store
    type: InMemoryDocumentStore
    params: {{embedding_dim: 32, similarity: dot_product}}
  - name: Retriever
    type: DPRRetriever
    params:
      document_store: Store
      query_embedding_model: {tiny_question_encoder}
      passage_embedding_model: {tiny_context_encoder}
      max_seq_len_passage: 48
      top_k: 2
      progress_bar: false
      precision: auto
      use_gpu: false
      devices: [cpu]
pipelines:
  - name: query
    nodes: [{{name: Retriever, inputs: [Query]}}]
""")
    pipeline = Pipeline.load_from_yaml(config, pipeline_name="query")
    yaml_retriever = pipeline.get_node("Retriever")
    assert isinstance(yaml_retriever, DPRRetriever)
    assert yaml_retriever.devices == [torch.device("cpu")] and yaml_retriever.precision.value == "fp32"
    yaml_retriever.document_store.write_documents(make_documents())
    yaml_retriever.document_store.update_embeddings(yaml_retriever)

    result = pipeline.run(query=QUESTIONS[2])
    assert [doc.id for doc in result["documents"]] == [doc.id for doc in
                                                       _retrieve_from_fresh_store(retriever, QUESTIONS[2], top_k=2)]
    batch = pipeline.run_batch(queries=QUESTIONS[:2], params={"Retriever": {"top_k": 1}})
    assert [len(docs) for docs in batch["documents"]] == [1, 1]


def _retrieve_from_fresh_store(retriever, question, top_k):
    store = InMemoryDocumentStore(embedding_dim=32, similarity="dot_product")
    store.write_documents(make_documents())
    store.update_embeddings(retriever)
    return retriever.retrieve(question, top_k=top_k, document_store=store)


def test_indexing_pipeline_embeds_and_writes_documents(retriever):
    store = InMemoryDocumentStore(embedding_dim=32, similarity="dot_product")
    indexing = Pipeline()
    indexing.add_node(retriever, name="Retriever", inputs=["File"])
    indexing.add_node(store, name="Store", inputs=["Retriever"])
    indexing.run(documents=make_documents())

    stored = store.get_all_documents(return_embedding=True)
    assert len(stored) == len(DOCUMENTS)
    expected = retriever.embed_documents(make_documents())
    by_content = {doc.content: doc.embedding for doc in stored}
    for (_, text, _), vector in zip(DOCUMENTS, expected):
        np.testing.assert_allclose(by_content[text], vector, atol=1e-5)
    assert retriever.retrieve(QUESTIONS[0], top_k=2, document_store=store)


def test_embed_documents_is_pure_and_the_signature_travels_with_the_indexing_output(retriever, tmp_path):
    store = HybridDocumentStore(path=str(tmp_path / "store"), progress_bar=False)
    retriever.embed_documents(make_documents())
    assert store.get_document_count() == 0 and store._database.index_info("document").encoder is None

    output, _ = retriever.run(root_node="File", documents=make_documents())
    assert output["encoder_signature"] == retriever.encoder_signature
    indexing = Pipeline()
    indexing.add_node(retriever, name="Retriever", inputs=["File"])
    indexing.add_node(store, name="Store", inputs=["Retriever"])
    indexing.run(documents=make_documents())  # Haystack passes encoder_signature on to the store's run
    assert encoder_records.recorded(store._database.index_info("document")) == retriever.encoder_signature
    with store._database.transaction():
        store._database.set_index_fields(store._database.index_info("document"), encoder=None)
    indexing.run_batch(documents=make_documents())  # and to run_batch
    assert store.recorded_encoder() == retriever.encoder_signature
    assert retriever.retrieve(QUESTIONS[0], top_k=2, document_store=store)
    store.close()


def test_the_same_checkpoint_elsewhere_is_accepted_and_another_refused(retriever, tiny_question_encoder,
                                                                      tiny_context_encoder, tmp_path, monkeypatch):
    store = HybridDocumentStore(path=str(tmp_path / "store"), progress_bar=False)
    store.write_documents(make_documents())
    store.update_embeddings(retriever)
    moved = tmp_path / "moved"
    shutil.copytree(tiny_question_encoder, moved / "question")
    shutil.copytree(tiny_context_encoder, moved / "context")
    monkeypatch.chdir(tmp_path)
    same = DPRRetriever(store, "moved/question/", "./moved/context", max_seq_len_passage=48, progress_bar=False)
    assert [d.id for d in same.retrieve(QUESTIONS[1])] == [d.id for d in retriever.retrieve(QUESTIONS[1],
                                                                                          document_store=store)]
    swapped = DPRRetriever(store, tiny_context_encoder, tiny_question_encoder, max_seq_len_passage=48,
                           progress_bar=False)
    with pytest.raises(StoreError, match="holds vectors of another encoder .*query_architecture"):
        swapped.retrieve(QUESTIONS[0])
    store.close()


def test_old_stores_recorded_paths_are_read_and_upgraded(retriever, tiny_context_encoder, tmp_path):
    store = HybridDocumentStore(path=str(tmp_path / "store"), progress_bar=False)
    store.write_documents(make_documents())
    store.update_embeddings(retriever)
    info = store._database.index_info("document")
    legacy = {"query_model": "/old/venv/q", "passage_model": "/old/venv/c", "pooling": "pooler_output",
              "normalize": False, "embedding_dim": 32}
    with store._database.transaction():
        store._database.set_index_fields(info, encoder=json.dumps(legacy))
    assert retriever.retrieve(QUESTIONS[0], document_store=store)  # compared on what the old record holds
    store.write_documents([Document(content="more", embedding=retriever.embed_documents([Document("more")])[0])],
                          encoder_signature=retriever.encoder_signature)
    assert encoder_records.recorded(store._database.index_info("document")) == retriever.encoder_signature
    store.close()


def test_dimension_mismatch_is_refused(tiny_question_encoder, tiny_context_encoder):
    store = InMemoryDocumentStore(similarity="dot_product")  # Haystack's default: 768 dims
    store.write_documents(make_documents())
    retriever = DPRRetriever(store, tiny_question_encoder, tiny_context_encoder, max_seq_len_passage=128,
                             progress_bar=False)
    # Haystack's own store checks the vectors it gets
    with pytest.raises(RuntimeError, match="model \\(32\\) .* store \\(768\\)"):
        store.update_embeddings(retriever)
    assert store.get_document_count() == len(DOCUMENTS)
    assert all(doc.embedding is None for doc in store.get_all_documents(return_embedding=True))
    with pytest.raises(EmbeddingDimensionError, match="768-dim.*32-dim.*embedding_dim=32"):
        retriever.retrieve(QUESTIONS[0])  # refused before the question is encoded


@pytest.mark.slow
def test_encoders_of_different_sizes_are_refused(tiny_question_encoder, minilm_path):
    with pytest.raises(ConfigurationError, match="32-dim.*384"):
        DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=minilm_path)


def test_empty_question_list_is_refused(retriever, store):
    for call in (lambda: retriever.retrieve_batch([]), lambda: retriever.embed_queries([]),
                 lambda: retriever.retrieve_batch("who was born in paris")):
        with pytest.raises(ConfigurationError, match="non-empty list of questions"):
            call()


def test_missing_store_and_bad_settings_are_refused(retriever, tiny_question_encoder, tmp_path):
    with pytest.raises(ConfigurationError, match="no document store"):
        retriever.retrieve(QUESTIONS[0])
    with pytest.raises(ConfigurationError, match="batch_size must be a positive integer"):
        DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_question_encoder,
                     batch_size=0)
    with pytest.raises(ConfigurationError, match="Unknown Precision 'fp8'"):
        DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_question_encoder,
                     precision="fp8")


def test_missing_model_and_reader_checkpoint_are_refused(tiny_question_encoder, tiny_reader, tmp_path):
    from dpr_components.errors import ModelLoadError

    with pytest.raises(ModelLoadError, match="passage_model_here.*does not exist"):
        DPRRetriever(query_embedding_model=tiny_question_encoder,
                     passage_embedding_model=str(tmp_path / "passage_model_here"))
    with pytest.raises(ModelLoadError, match="DPRReader"):
        DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_reader)


@pytest.mark.elasticsearch
def test_elasticsearch_document_store(retriever):
    url = os.environ.get("DPR_TEST_ELASTICSEARCH_URL")
    if not url:
        pytest.skip("DPR_TEST_ELASTICSEARCH_URL is not set: no Elasticsearch server to test against")
    from urllib.parse import urlparse

    from haystack.document_stores import ElasticsearchDocumentStore

    parsed = urlparse(url)
    try:
        store = ElasticsearchDocumentStore(host=parsed.hostname, port=parsed.port or 9200,
                                           scheme=parsed.scheme or "http",
                                           username=parsed.username or "", password=parsed.password or "",
                                           index="dpr_retriever_test", embedding_dim=32, similarity="dot_product",
                                           recreate_index=True)
    except Exception as error:  # noqa: BLE001 -- connection refused, auth, product check...: skip
        pytest.skip(f"Elasticsearch at {url} is unreachable: {error}")
    try:
        store.write_documents(make_documents())
        store.update_embeddings(retriever)
        expected = [doc.id for doc in _retrieve_from_fresh_store(retriever, QUESTIONS[0], top_k=3)]
        assert [doc.id for doc in retriever.retrieve(QUESTIONS[0], top_k=3, document_store=store)] == expected
        history = retriever.retrieve(QUESTIONS[0], filters={"kind": "history"}, document_store=store)
        assert {doc.meta["kind"] for doc in history} == {"history"}
    finally:
        store.delete_index("dpr_retriever_test")


def test_lone_surrogates_in_questions_or_passages_are_a_one_line_error(retriever):
    with pytest.raises(ConfigurationError, match=r"Text 0 given to .* has a lone surrogate '\\ud800' at character 6"):
        retriever.embed_queries(["paris \ud800"])
    with pytest.raises(ConfigurationError, match="lone surrogate"):
        retriever.embed_documents([Document(content="fine", id="1"), Document(content="x\udc00", id="2")])


@pytest.mark.parametrize("top_k", [3.5, "5", 0])
def test_bad_top_k_is_the_same_clear_error_for_dense_and_bm25_in_a_pipeline(retriever, tmp_path, top_k):
    from haystack.nodes import BM25Retriever

    store = HybridDocumentStore(path=str(tmp_path / "store"), progress_bar=False)
    store.write_documents(make_documents())
    store.update_embeddings(retriever)
    dense = DPRRetriever(store, retriever.query_encoder.model_name_or_path,
                         retriever.passage_encoder.model_name_or_path, max_seq_len_passage=48, top_k=2,
                         progress_bar=False)
    for node in (dense, BM25Retriever(store, top_k=2, scale_score=False)):
        pipeline = Pipeline()
        pipeline.add_node(node, name="Retriever", inputs=["Query"])
        # Haystack's Pipeline re-raises a node's error as a bare Exception caused by it
        with pytest.raises(Exception, match=f"top_k must be a positive integer, got {top_k!r}") as error:
            pipeline.run(query="capital of germany", params={"Retriever": {"top_k": top_k}})
        cause = error.value if isinstance(error.value, ConfigurationError) else error.value.__cause__
        assert isinstance(cause, ConfigurationError)
        # None means "the node's default" for both
        assert len(pipeline.run(query="capital of germany", params={"Retriever": {"top_k": None}})["documents"]) == 2
    store.close()
