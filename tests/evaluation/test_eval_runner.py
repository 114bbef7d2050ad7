"""evaluate_pipeline over real Haystack pipelines (in-memory BM25), per-question JSON, tables."""
import json

import pytest
from haystack import Document, Pipeline
from haystack.document_stores import InMemoryDocumentStore
from haystack.nodes import BM25Retriever, Docs2Answers

from dpr_components.evaluation.questions import Question
from dpr_components.evaluation.runner import (
    EvaluationResult,
    PipelineOutputError,
    evaluate_pipeline,
    results_table,
    union_answer_doc_ids,
)

DOCUMENTS = [  # meta["answer"] is what the FAQ-style QA pipeline (Docs2Answers) answers with
    Document(id="paris", content="Paris is the capital and largest city of France.",
             meta={"name": "Paris", "answer": "Paris"}),
    Document(id="berlin", content="Berlin is the capital of Germany.", meta={"name": "Berlin", "answer": "Berlin"}),
    Document(id="thames", content="The river Thames flows through London.",
             meta={"name": "London", "answer": "Thames"}),
    Document(id="rouen", content="A city on the Seine with a famous cathedral.",
             meta={"name": "Rouen", "answer": "a city"}),
]
QUESTIONS = [
    Question("q-france", "capital of France", ["Paris"]),
    Question("q-river", "which river flows through London", ["Thames"]),
    # the only passage about it names Rouen in its title alone: titles never count as hits
    Question("q-seine", "famous cathedral on the Seine", ["Rouen"]),
    # the answer is in the second-ranked passage only
    Question("q-germany", "largest city and capital of Germany", ["Berlin"]),
]


@pytest.fixture(scope="module")
def store():
    store = InMemoryDocumentStore(use_bm25=True)
    store.write_documents(DOCUMENTS)
    return store


@pytest.fixture(scope="module")
def retrieval_pipeline(store):
    pipeline = Pipeline()
    pipeline.add_node(BM25Retriever(document_store=store), name="Retriever", inputs=["Query"])
    return pipeline


def test_retrieval_metrics_from_a_real_bm25_pipeline(retrieval_pipeline, tmp_path):
    result = evaluate_pipeline(
        retrieval_pipeline, QUESTIONS, params={"Retriever": {"top_k": 3}}, batch_size=3, name="bm25",
        output_path=tmp_path / "bm25.jsonl",
    )
    by_id = {r.question.id: r for r in result.results}
    assert [r.question.id for r in result.results] == [q.id for q in QUESTIONS]  # order kept across batches
    assert by_id["q-france"].documents[0].id == "paris" and by_id["q-france"].first_hit_rank == 1
    assert by_id["q-river"].first_hit_rank == 1
    assert by_id["q-seine"].documents[0].id == "rouen"
    assert by_id["q-seine"].documents[0].title == "Rouen" and by_id["q-seine"].first_hit_rank is None
    # BM25 ranks Paris first ("largest city", "capital"), Berlin second
    assert [d.id for d in by_id["q-germany"].documents[:2]] == ["paris", "berlin"]
    assert by_id["q-germany"].first_hit_rank == 2
    assert all(len(r.documents) == 3 and r.documents[0].score >= r.documents[1].score for r in result.results)
    assert result.first_hit_ranks == [1, 1, None, 2]
    assert result.top_k[1] == 0.5 and result.top_k[5] == 0.75
    assert result.mrr == pytest.approx((1 + 1 + 0 + 0.5) / 4)
    assert result.exact_match is None and not result.has_reader

    lines = (tmp_path / "bm25.jsonl").read_text(encoding="utf-8").splitlines()
    record = json.loads(lines[3])
    assert record["id"] == "q-germany" and record["answers"] == ["Berlin"] and record["first_hit_rank"] == 2
    assert [d["id"] for d in record["documents"]][:2] == ["paris", "berlin"]
    assert [d["has_answer"] for d in record["documents"]][:2] == [False, True]
    assert "content" not in record["documents"][0]

    again = EvaluationResult.read_jsonl(tmp_path / "bm25.jsonl")
    assert again.name == "bm25" and again.summary() == result.summary()
    assert again.ranked_ids()["q-germany"][:2] == ["paris", "berlin"]
    assert again.answer_doc_ids()["q-germany"] == {"berlin"}
    assert again.ranked_lists()[3][0] == ("paris", result.results[3].documents[0].score)


def test_union_of_answer_documents_across_runs(retrieval_pipeline):
    shallow = evaluate_pipeline(retrieval_pipeline, QUESTIONS, params={"Retriever": {"top_k": 1}}, name="top1")
    deep = evaluate_pipeline(retrieval_pipeline, QUESTIONS, params={"Retriever": {"top_k": 3}}, name="top3")
    assert union_answer_doc_ids([shallow, deep]) == [{"paris"}, {"thames"}, set(), {"berlin"}]
    assert union_answer_doc_ids([shallow]) == [{"paris"}, {"thames"}, set(), set()]
    with pytest.raises(ValueError, match="different questions"):
        union_answer_doc_ids([shallow, EvaluationResult("other", shallow.results[:2])])


def test_table_lists_every_k_and_mrr(retrieval_pipeline):
    result = evaluate_pipeline(retrieval_pipeline, QUESTIONS, params={"Retriever": {"top_k": 3}}, name="bm25")
    table = result.table()
    header, rule, row = table.splitlines()
    assert header.split("|")[1:-1] == [" run ", " questions ", " top-1 ", " top-5 ", " top-10 ", " top-20 ",
                                       " top-50 ", " top-100 ", " MRR "]
    assert row.split("|")[1:-1] == [" bm25 ", " 4 ", " 50.0 ", " 75.0 ", " 75.0 ", " 75.0 ", " 75.0 ", " 75.0 ",
                                    " 0.625 "]


def test_qa_pipeline_reports_top_answer_em_and_f1(store, tmp_path):
    # A real Haystack FAQ-style QA pipeline: the answer of each document is in its meta
    pipeline = Pipeline()
    pipeline.add_node(BM25Retriever(document_store=store), name="Retriever", inputs=["Query"])
    pipeline.add_node(Docs2Answers(progress_bar=False), name="Answers", inputs=["Retriever"])
    result = evaluate_pipeline(pipeline, QUESTIONS, params={"Retriever": {"top_k": 2}}, batch_size=2, name="faq")
    predicted = {r.question.id: r.predicted_answer for r in result.results}
    assert predicted == {"q-france": "Paris", "q-river": "Thames", "q-seine": "a city", "q-germany": "Paris"}
    assert result.has_reader and result.exact_match == 0.5
    assert result.f1 == pytest.approx(0.5)
    # the retriever's documents still reach the evaluation through the reader
    assert result.first_hit_ranks == [1, 1, None, 2]
    record = result.results[0].to_dict()
    assert record["predicted_answer"] == "Paris" and record["exact_match"] == 1.0
    assert "| EM | F1 |" in results_table([result])


def test_a_pipeline_without_documents_or_answers_is_refused(store):
    from haystack.nodes import Shaper

    pipeline = Pipeline()
    shaper = Shaper(func="value_to_list", params={"value": "x", "target_list": [1]}, outputs=["questions"])
    pipeline.add_node(shaper, name="Shaper", inputs=["Query"])
    with pytest.raises(PipelineOutputError, match="needs 'documents'"):
        evaluate_pipeline(pipeline, QUESTIONS[:1])
