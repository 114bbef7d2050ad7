"""DPRSpanReader inside real Haystack pipelines: after BM25Retriever or DPRRetriever, in Python and from YAML."""
from pathlib import Path

from haystack import Pipeline
from haystack.document_stores import InMemoryDocumentStore
from haystack.nodes import BM25Retriever
from haystack.schema import Document
from tiny_models import bm25_reader_yaml

from dpr_components.readers.answers import AnswerScoring
from dpr_components.readers.dpr_span_reader import DPRSpanReader
from dpr_components.retrievers.dpr_retriever import DPRRetriever

PASSAGES = [
    ("Paris", "Paris is the capital and largest city of France; the king was born in Paris."),
    ("Berlin", "Berlin is the capital of Germany and its largest city by population."),
    ("London", "London is the capital of England, on the river Thames."),
    ("Music", "The music of the world is called world music by many people."),
]
QUESTION = "what is the capital of france"


def documents():
    return [Document(text, meta={"name": title}) for title, text in PASSAGES]


def check_result(result, top_k):
    answers = result["answers"]
    assert 0 < len(answers) <= top_k and result["no_answer"] is False
    contents = {d.id: d.content for d in documents()}
    for answer in answers:
        span = answer.offsets_in_document[0]
        assert contents[answer.document_ids[0]][span.start:span.end] == answer.answer
        assert answer.meta["name"] in dict(PASSAGES)  # document meta added by BaseReader.run
    assert {d.id for d in result["documents"]} <= set(contents)
    assert [d.meta["relevance_rank"] for d in result["documents"]] == list(range(1, len(result["documents"]) + 1))


def test_bm25_then_reader_pipeline(tiny_reader):
    store = InMemoryDocumentStore(use_bm25=True)
    store.write_documents(documents())
    pipeline = Pipeline()
    pipeline.add_node(BM25Retriever(document_store=store, top_k=3), name="Retriever", inputs=["Query"])
    pipeline.add_node(DPRSpanReader(tiny_reader, max_seq_len=128, top_k=4, return_documents=True),
                      name="Reader", inputs=["Retriever"])

    result = pipeline.run(query=QUESTION)
    check_result(result, top_k=4)
    assert len(result["documents"]) == 3

    result = pipeline.run(query=QUESTION, params={"Retriever": {"top_k": 2}, "Reader": {"top_k": 1}})
    check_result(result, top_k=1)
    assert len(result["documents"]) == 2

    batch = pipeline.run_batch(queries=[QUESTION, "who was born in paris"])
    assert len(batch["answers"]) == 2 and all(answers for answers in batch["answers"])
    assert batch["no_answer"] == [False, False]


def test_pipeline_from_yaml(tiny_reader, tmp_path: Path):
    path = tmp_path / "pipeline.yml"
    path.write_text(bm25_reader_yaml({"model_name_or_path": tiny_reader, "max_seq_len": 128, "doc_stride": 32,
                                      "top_k": 3, "precision": "bf16", "answer_scoring": "marginal",
                                      "skip_question_words": True, "merge_identical_answers": True,
                                      "return_documents": True}))
    pipeline = Pipeline.load_from_yaml(path, pipeline_name="query")
    reader = pipeline.get_node("Reader")
    assert isinstance(reader, DPRSpanReader)
    assert (reader.max_seq_len, reader.doc_stride, str(reader.precision)) == (128, 32, "bf16")
    assert reader.answer_scoring is AnswerScoring.MARGINAL and reader.skip_question_words is True
    pipeline.get_document_store().write_documents(documents())

    result = pipeline.run(query=QUESTION)
    check_result(result, top_k=3)
    texts = [" ".join(a.answer.split()).casefold() for a in result["answers"]]
    assert len(texts) == len(set(texts))

    # The node's parameters survive a save/load round trip.
    saved = tmp_path / "saved.yml"
    pipeline.save_to_yaml(saved)
    loaded = Pipeline.load_from_yaml(saved).get_node("Reader")
    assert loaded.merge_identical_answers is True and loaded.answer_scoring is AnswerScoring.MARGINAL
    assert loaded.skip_question_words is True


def test_no_documents_gives_no_answer(tiny_reader):
    pipeline = Pipeline()
    pipeline.add_node(DPRSpanReader(tiny_reader, max_seq_len=128), name="Reader", inputs=["Query"])
    result = pipeline.run(query=QUESTION, documents=[])
    assert result["answers"] == [] and result["no_answer"] is True
    result = pipeline.run(query=QUESTION, documents=[Document("  ")])
    assert result["answers"] == [] and result["no_answer"] is True


def indexed_dpr_retriever(**params) -> DPRRetriever:
    store = InMemoryDocumentStore(embedding_dim=32, similarity="dot_product")
    store.write_documents(documents())
    retriever = DPRRetriever(document_store=store, **params)
    store.update_embeddings(retriever)
    return retriever


def test_dpr_retriever_then_reader_pipeline(tiny_question_encoder, tiny_context_encoder, tiny_reader):
    """Query -> DPRRetriever -> DPRSpanReader: the reader reads exactly what the retriever returned."""
    retriever = indexed_dpr_retriever(query_embedding_model=tiny_question_encoder,
                                      passage_embedding_model=tiny_context_encoder, max_seq_len_passage=64,
                                      top_k=3, progress_bar=False)
    pipeline = Pipeline()
    pipeline.add_node(retriever, name="Retriever", inputs=["Query"])
    pipeline.add_node(DPRSpanReader(tiny_reader, max_seq_len=128, top_k=5, return_documents=True),
                      name="Reader", inputs=["Retriever"])
    result = pipeline.run(query=QUESTION)
    check_result(result, top_k=5)
    retrieved = {d.id for d in retriever.retrieve(QUESTION, top_k=3)}
    assert {d.id for d in result["documents"]} == retrieved
    assert {a.document_ids[0] for a in result["answers"]} <= retrieved

    batch = pipeline.run_batch(queries=[QUESTION, "who was born in paris"], params={"Retriever": {"top_k": 2}})
    assert [len(docs) for docs in batch["documents"]] == [2, 2]
    assert all(0 < len(answers) <= 5 for answers in batch["answers"])


def test_dpr_retriever_then_reader_from_yaml(tiny_question_encoder, tiny_context_encoder, tiny_reader, tmp_path):
    path = tmp_path / "dpr_qa.yml"
    path.write_text(f"""
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
      max_seq_len_passage: 64
      top_k: 2
      progress_bar: false
  - name: Reader
    type: DPRSpanReader
    params: {{model_name_or_path: {tiny_reader}, max_seq_len: 128, top_k: 3, return_documents: true}}
pipelines:
  - name: query
    nodes:
      - {{name: Retriever, inputs: [Query]}}
      - {{name: Reader, inputs: [Retriever]}}
""")
    pipeline = Pipeline.load_from_yaml(path, pipeline_name="query")
    store = pipeline.get_document_store()
    store.write_documents(documents())
    store.update_embeddings(pipeline.get_node("Retriever"))
    result = pipeline.run(query=QUESTION)
    check_result(result, top_k=3)
    assert len(result["documents"]) == 2
