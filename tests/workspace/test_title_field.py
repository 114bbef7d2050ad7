"""Issue 27.7: the passage schema is one setting. ``title_field: heading`` on the store reaches the corpus reader,
the splitter, the retriever (titles embedded), the reader and the printed results (main: the reader wrote
meta["name"], so every passage was embedded with an empty title and printed "(untitled)")."""
import json

import numpy as np
import pytest
from haystack import Document

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.retrievers.dpr_retriever import DPRRetriever
from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from dpr_components.workspace import Workspace

ARTICLES = [
    {"id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France. " * 25},
    {"id": "thames", "title": "Thames", "text": "The river Thames flows through London in England. " * 12},
]


@pytest.fixture
def heading_store(tmp_path, tiny_retriever_overrides, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    store = tmp_path / "store"
    tiny = [arg for key, value in tiny_retriever_overrides.items() for arg in ("-p", f"{key}={value}")]
    # what a user of main wrote: the title field on every node that takes one
    heading = ["-p", "DocumentStore.title_field=heading", "-p", "Splitter.title_field=heading",
               "-p", "Retriever.title_field=heading"]
    assert main(["index", str(corpus), "--store", str(store), "--no-progress", *tiny, *heading]) == EXIT_OK
    capsys.readouterr()
    return store


def test_titles_are_stored_embedded_and_printed(heading_store, tiny_question_encoder, tiny_context_encoder,
                                                tiny_reader, capsys):
    store = HybridDocumentStore(path=str(heading_store), progress_bar=False)  # no title_field: the recorded one
    passages = store.get_all_documents(return_embedding=True)
    store.close()
    assert store.title_field == "heading"
    assert {p.meta["heading"] for p in passages} == {"Paris", "Thames"} and not any("name" in p.meta for p in passages)
    retriever = DPRRetriever(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
                             max_seq_len_passage=128, title_field="heading", progress_bar=False)
    untitled = [Document(p.content, meta={"heading": ""}) for p in passages]
    assert np.allclose(np.stack([p.embedding for p in passages]), retriever.embed_documents(passages), atol=1e-5)
    assert not np.allclose(np.stack([p.embedding for p in passages]), retriever.embed_documents(untitled), atol=1e-3)

    # later commands name no title field: the store gives it to the retriever, the reader and the results
    assert main(["retrieve", "capital of France", "--store", str(heading_store), "--top-k", "2"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "(untitled)" not in text and "Paris  [id paris-" in text
    reader = ["-p", f"Reader.model_name_or_path={tiny_reader}", "-p", "Reader.max_seq_len=128",
              "-p", "Reader.doc_stride=32"]
    argv = ["ask", "where does the Thames flow?", "--pipeline", "hybrid_qa", "--store", str(heading_store), *reader]
    assert main([*argv, "--json"]) == EXIT_OK
    answers = json.loads(capsys.readouterr().out)[0]["answers"]
    assert answers and all(answer["title"] in {"Paris", "Thames"} for answer in answers)
    with Workspace(heading_store, read_only=True) as workspace:
        loaded = workspace.query_pipeline("hybrid_qa", reader[1::2])
        assert {node.title_field for node in loaded.nodes.values() if hasattr(node, "title_field")} == {"heading"}


def test_a_node_set_to_another_title_field_is_one_clear_error(heading_store, capsys):
    argv = ["retrieve", "capital", "--store", str(heading_store), "-p", "Retriever.title_field=name"]
    assert main(argv) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Retriever.title_field is 'name'" in error
    assert "DocumentStore.title_field" in error
    assert main(["retrieve", "capital", "--store", str(heading_store), "-p", "DocumentStore.title_field=name"]) == 2
    assert "not title_field 'name'" in capsys.readouterr().err  # the store keeps the field its passages have
