"""Distant supervision without a store: in-memory BM25 over passages, and answers a reader cannot learn from."""
from haystack.schema import Document

from dpr_components.evaluation.questions import Question
from dpr_components.training.build_data import build_training_examples, label_question, passage_retriever

PASSAGES = [
    {"id": "p0", "title": "Paris", "text": "Paris is the capital of France (and its largest city)."},
    {"id": "p1", "title": "Berlin", "text": "Berlin is the capital of Germany."},
    {"id": "p2", "title": "Thames", "text": "The Thames flows through London."},
]


def test_passage_retriever_ranks_by_bm25_with_titles():
    retrieve = passage_retriever(PASSAGES, top_k=2)
    (paris, thames) = retrieve(["capital of france", "which river flows through london"])
    assert [d.id for d in paris] == ["p0", "p1"]  # both say "capital"; only one says "France"
    assert paris[0].meta == {"name": "Paris"} and paris[0].score > paris[1].score > 0
    assert [d.id for d in thames] == ["p2"]  # documents without any query term are not returned

    examples, stats = build_training_examples([Question("q", "what is the capital of france?", ["Paris"])], retrieve)
    assert stats.written == 1 and [c.passage_id for c in examples[0].positive_ctxs] == ["p0"]
    assert [c.passage_id for c in examples[0].hard_negative_ctxs] == ["p1"]


def test_answers_without_a_letter_or_digit_are_ignored():
    documents = [Document(p["text"], id=p["id"], meta={"name": p["title"]}) for p in PASSAGES]
    assert label_question(Question("q", "how many episodes", ["("]), documents) is None
    example = label_question(Question("q", "which city", ["(", "Paris"]), documents)
    assert example.answers == ("Paris",) and [c.passage_id for c in example.positive_ctxs] == ["p0"]
