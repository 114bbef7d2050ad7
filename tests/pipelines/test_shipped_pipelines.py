"""Every shipped YAML loads with Haystack's own ``Pipeline.load_from_yaml`` and answers a query.

Models are the tiny random DPR checkpoints of tests/conftest.py, set the way a user would: model paths through
Haystack's ``<COMPONENT>_PARAMS_<PARAM>`` environment variables, lengths by editing a copy of the file (the
tiny models have 128 positions).
"""
from pathlib import Path

import pytest
import yaml
from haystack import Document, Pipeline

import dpr_components  # noqa: F401  (registers the nodes, as users must before load_from_yaml)
from dpr_components.readers.answers import question_words, repeats_question

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"
ARTICLES = {
    "Paris": "Paris is the capital and largest city of France. " * 30,
    "Berlin": "Berlin is the capital of Germany and its largest city by population. " * 25,
    "London": "London is the capital of England and the United Kingdom, on the river Thames. " * 20,
}
TINY_LENGTHS = {
    "Retriever": {"max_seq_len_passage": 128, "max_seq_len_query": 32},
    "Reader": {"max_seq_len": 128, "doc_stride": 32},
}


def tiny_copy(name: str, tmp_path: Path, store: Path) -> Path:
    """The shipped YAML with the store path and the tiny models' lengths changed, written to tmp_path."""
    config = yaml.safe_load((PIPELINES / name).read_text(encoding="utf-8"))
    for component in config["components"]:
        params = component.setdefault("params", {})
        if component["type"] == "HybridDocumentStore":
            params["path"] = str(store)
        params.update(TINY_LENGTHS.get(component["name"], {}))
    path = tmp_path / name
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def tiny_models_env(monkeypatch, tiny_question_encoder, tiny_context_encoder, tiny_reader):
    monkeypatch.setenv("RETRIEVER_PARAMS_QUERY_EMBEDDING_MODEL", tiny_question_encoder)
    monkeypatch.setenv("RETRIEVER_PARAMS_PASSAGE_EMBEDDING_MODEL", tiny_context_encoder)
    monkeypatch.setenv("READER_PARAMS_MODEL_NAME_OR_PATH", tiny_reader)


@pytest.fixture
def indexed_store(tmp_path, tiny_models_env):
    store = tmp_path / "store"
    indexing = Pipeline.load_from_yaml(tiny_copy("indexing.yml", tmp_path, store))
    indexing.run(documents=[Document(text, meta={"name": title}) for title, text in ARTICLES.items()])
    return store, indexing.get_document_store()


def test_indexing_yml_writes_titled_100_word_passages_with_embeddings(indexed_store):
    _, store = indexed_store
    passages = store.get_all_documents(return_embedding=True)
    words = {title: len(text.split()) for title, text in ARTICLES.items()}
    assert len(passages) == sum(-(-n // 100) for n in words.values())  # ceil(words / 100) per article
    assert {p.meta["name"] for p in passages} == set(ARTICLES)
    assert all(len(p.content.split()) <= 100 for p in passages)
    assert all(p.embedding is not None and p.embedding.shape == (32,) for p in passages)
    assert store.query("Thames", top_k=1)[0].meta["name"] == "London"  # BM25 side of the store


@pytest.mark.parametrize("name", ["dense_retrieval.yml", "hybrid_retrieval.yml", "bm25_retrieval.yml"])
def test_retrieval_pipelines_return_stored_passages(name, tmp_path, indexed_store):
    store_path, store = indexed_store
    pipeline = Pipeline.load_from_yaml(tiny_copy(name, tmp_path, store_path))
    documents = pipeline.run(query="capital of Germany")["documents"]
    stored_ids = {d.id for d in store.get_all_documents()}
    assert documents and {d.id for d in documents} <= stored_ids
    assert all(d.score is not None for d in documents)
    if name != "dense_retrieval.yml":
        assert documents[0].meta["name"] == "Berlin"  # BM25 finds "Germany"; random dense scores can't hide it
    if name == "hybrid_retrieval.yml":
        assert all("fusion" in d.meta for d in documents)


def test_dense_retrieval_scores_are_the_encoders_inner_products(tmp_path, indexed_store):
    import numpy as np

    store_path, store = indexed_store
    pipeline = Pipeline.load_from_yaml(tiny_copy("dense_retrieval.yml", tmp_path, store_path))
    retriever = pipeline.get_node("Retriever")
    documents = pipeline.run(query="capital of Germany", params={"Retriever": {"top_k": 50}})["documents"]
    query_vector = retriever.embed_queries(["capital of Germany"])[0]
    by_id = {d.id: d for d in store.get_all_documents(return_embedding=True)}
    expected = sorted((float(np.dot(query_vector, d.embedding)) for d in by_id.values()), reverse=True)
    assert [d.score for d in documents] == pytest.approx(expected, rel=1e-4, abs=1e-4)


@pytest.mark.parametrize("name", ["dense_qa.yml", "hybrid_qa.yml"])
def test_qa_pipelines_return_answers_from_retrieved_passages(name, tmp_path, indexed_store):
    store_path, _ = indexed_store
    pipeline = Pipeline.load_from_yaml(tiny_copy(name, tmp_path, store_path))
    assert pipeline.get_node("Reader").skip_question_words is True  # the shipped setting (dev questions chose it)
    question = "what is the capital of France?"
    result = pipeline.run(query=question)
    assert result["answers"], "a reader always proposes spans"
    assert not any(repeats_question(a.answer, question_words(question)) for a in result["answers"])
    contents = {d.id: d.content for d in result["documents"]}
    for answer in result["answers"]:
        assert answer.document_ids and answer.document_ids[0] in contents
        assert answer.answer and answer.answer.lower() in contents[answer.document_ids[0]].lower()
