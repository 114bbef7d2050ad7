"""Haystack's own evaluation runs on a pipeline of our nodes (issue 27): labels written to and read back from
HybridDocumentStore, ``Pipeline.eval`` over Haystack's BM25Retriever and our DPRRetriever, HybridFusion and
DPRSpanReader (tiny random models), then ``EvaluationResult.calculate_metrics``. Haystack's context matching
needs rapidfuzz, which the dev extra installs (its ``metrics`` extra would also pull mlflow and downgrade
pandas, protobuf and rapidfuzz)."""
import pytest
from haystack import Pipeline
from haystack.nodes import BM25Retriever
from haystack.schema import Answer, Document, Label, Span

from dpr_components import DPRRetriever, DPRSpanReader, HybridFusion

PASSAGES = {
    "paris": ("Paris", "paris is the capital city of france and its largest city"),
    "berlin": ("Berlin", "berlin is the capital of germany on a river"),
    "london": ("London", "london is the capital of england where the king was born"),
    "music": ("Music", "music and film are the language of the world people"),
    "university": ("University", "the first university was new in that year"),
}
QUESTIONS = {"paris": ("what is the capital of france", "paris"), "berlin": ("which river is in germany", "berlin"),
             "london": ("who was born in england", "king")}


@pytest.fixture
def store_with_labels(open_store):
    store = open_store(embedding_dim=32)
    documents = [Document(content=text, id=key, meta={"name": title}) for key, (title, text) in PASSAGES.items()]
    store.write_documents(documents)
    labels = []
    for key, (question, answer) in QUESTIONS.items():
        start = PASSAGES[key][1].index(answer)
        labels.append(Label(query=question, document=documents[list(PASSAGES).index(key)], is_correct_answer=True,
                            is_correct_document=True, origin="gold-label",
                            answer=Answer(answer=answer, context=PASSAGES[key][1], document_ids=[key],
                                          offsets_in_document=[Span(start, start + len(answer))],
                                          offsets_in_context=[Span(start, start + len(answer))])))
    store.write_labels(labels)
    return store


def test_pipeline_eval_and_metrics_on_our_nodes(store_with_labels, tiny_question_encoder, tiny_context_encoder,
                                                 tiny_reader):
    store = store_with_labels
    dense = DPRRetriever(document_store=store, query_embedding_model=tiny_question_encoder,
                         passage_embedding_model=tiny_context_encoder, max_seq_len_passage=64, progress_bar=False)
    store.update_embeddings(dense)
    pipeline = Pipeline()
    pipeline.add_node(BM25Retriever(document_store=store, top_k=3), name="BM25", inputs=["Query"])
    pipeline.add_node(dense, name="Dense", inputs=["Query"])
    pipeline.add_node(HybridFusion(mode="rrf", top_k_join=3), name="Fusion", inputs=["BM25", "Dense"])
    pipeline.add_node(DPRSpanReader(model_name_or_path=tiny_reader, top_k=2, max_seq_len=64), name="Reader",
                      inputs=["Fusion"])

    labels = store.get_all_labels_aggregated(drop_negative_labels=True, drop_no_answers=True)
    assert [label.query for label in labels] == [question for question, _ in QUESTIONS.values()]
    result = pipeline.eval(labels=labels, params={"Dense": {"top_k": 3}}, context_matching_min_length=20)
    metrics = result.calculate_metrics(document_scope="document_id")

    # Each question names words of its passage only: BM25 ranks the gold passage first, matched by id and, through
    # rapidfuzz, by context.
    assert metrics["BM25"]["recall_single_hit"] == metrics["BM25"]["mrr"] == 1.0
    assert result.calculate_metrics(document_scope="context")["BM25"]["mrr"] == 1.0
    assert set(result["BM25"]["document_id"]) <= set(PASSAGES)
    for node in ("Dense", "Fusion"):
        assert {"recall_single_hit", "mrr", "map", "ndcg"} <= set(metrics[node])
        assert all(0.0 <= value <= 1.0 for value in metrics[node].values())
    assert 0.0 <= metrics["Reader"]["exact_match"] <= 1.0 and 0.0 <= metrics["Reader"]["f1"] <= 1.0
    assert len(result["Reader"]) > 0 and set(result["Reader"]["query"]) == {q for q, _ in QUESTIONS.values()}
