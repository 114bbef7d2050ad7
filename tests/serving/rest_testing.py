"""Constants and helpers shared by the REST API tests (imported by conftest.py and the test modules)."""

API_KEY = "test-key"
ARTICLES = {
    "Paris": "Paris is the capital and largest city of France. " * 30,
    "Berlin": "Berlin is the capital of Germany and its largest city by population. " * 25,
    "London": "London is the capital of England and the United Kingdom, on the river Thames. " * 20,
}


def tiny_params(question_encoder: str, context_encoder: str, reader: str):
    """Overrides that point the shipped YAMLs at the tiny models (128 positions)."""
    return (
        f"Retriever.query_embedding_model={question_encoder}",
        f"Retriever.passage_embedding_model={context_encoder}",
        "Retriever.max_seq_len_passage=128",
        "Retriever.max_seq_len_query=32",
        f"Reader.model_name_or_path={reader}",
        "Reader.max_seq_len=128",
        "Reader.doc_stride=32",
    )
