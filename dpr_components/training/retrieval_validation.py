"""Top-k retrieval accuracy of a saved bi-encoder: re-embed a corpus, retrieve, score as DPR does.

The corpus (JSONL ``{"id", "title", "text"}``, as ``dpr_components.data.wikipedia_mini`` writes it) goes into
an InMemoryDocumentStore, is embedded by :class:`DPRRetriever` loaded from the saved pair (so exactly what
users will run), and the questions go through a one-node Haystack pipeline into
:func:`dpr_components.evaluation.evaluate_pipeline` (DPR's ``has_answer``, passage text only).

Example::

    from dpr_components.training.retrieval_validation import evaluate_saved_pair
    metrics = evaluate_saved_pair("out/minilm-dpr", "data/passages.jsonl", dev_examples)
    metrics["top_20"]
"""
import json
from pathlib import Path
from typing import Dict, List, Sequence, Union

from dpr_components.errors import TrainingDataError
from dpr_components.evaluation import Question, evaluate_pipeline
from dpr_components.training.biencoder import retriever_params
from dpr_components.training.data import TrainingExample
from dpr_components.utils.text_files import utf8_lines


def read_corpus_documents(path: Union[str, Path]) -> List:
    """Haystack Documents (title in ``meta["name"]``) of a passages JSONL file; bad lines name file and line."""
    from haystack import Document

    documents = []
    for number, line in enumerate(utf8_lines(path, "dev corpus"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            documents.append(Document(id=str(record["id"]), content=record["text"],
                                      meta={"name": record.get("title") or ""}))
        except (json.JSONDecodeError, KeyError, TypeError) as error:
            raise TrainingDataError(f"{path} line {number}: expected a JSON object with id, title and text "
                                    f"({type(error).__name__}: {error}).") from None
    return documents


def evaluate_saved_pair(pair_dir: Union[str, Path], corpus: Union[str, Path, Sequence],
                        examples: Sequence[TrainingExample], batch_size: int = 32,
                        top_k: int = 100) -> Dict[str, float]:
    """``top_1 ... top_100`` and ``mrr`` (fractions) of ``examples`` retrieved from ``corpus`` by the pair."""
    from haystack import Pipeline
    from haystack.document_stores import InMemoryDocumentStore

    from dpr_components.retrievers.dpr_retriever import DPRRetriever

    documents = read_corpus_documents(corpus) if isinstance(corpus, (str, Path)) else list(corpus)
    retriever = DPRRetriever(**retriever_params(pair_dir), top_k=top_k, batch_size=batch_size, progress_bar=False)
    store = InMemoryDocumentStore(embedding_dim=retriever.embedding_dim, similarity="dot_product",
                                  progress_bar=False)
    store.write_documents(documents)
    store.update_embeddings(retriever, batch_size=1000)
    retriever.document_store = store
    pipeline = Pipeline()
    pipeline.add_node(retriever, name="Retriever", inputs=["Query"])
    questions = [Question(id=str(i), question=e.question, answers=list(e.answers)) for i, e in enumerate(examples)]
    result = evaluate_pipeline(pipeline, questions, params={"Retriever": {"top_k": top_k}}, batch_size=batch_size)
    return {key: float(value) for key, value in result.summary().items() if key.startswith("top_") or key == "mrr"}
