"""Two documents with one id never silently become one passage: refused where ids are made, named by line."""
import json

import pytest
from haystack.errors import DuplicateDocumentError
from haystack.schema import Document

from dpr_components.errors import ConfigurationError
from dpr_components.preprocessing.corpus import read_corpus
from dpr_components.preprocessing.passages import DPRPassageSplitter
from dpr_components.stores.hybrid_document_store import HybridDocumentStore


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


@pytest.mark.parametrize("second_id", ["1", 1])
def test_same_id_or_1_and_quoted_1_in_a_corpus_are_refused_naming_both_lines(tmp_path, second_id):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": 1, "title": "A", "text": "first passage"},
                                                     {"id": 2, "title": "B", "text": "other"},
                                                     {"id": second_id, "title": "C", "text": "second passage"}])
    with pytest.raises(ConfigurationError, match=r"corpus.jsonl' line 1 and .*corpus.jsonl' line 3 both have the "
                                                 r"id '1'.*unique id"):
        list(read_corpus(corpus))


def test_ids_colliding_across_files_of_a_directory_are_refused(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "text": "one"}])
    (tmp_path / "b.tsv").write_text("id\ttext\ttitle\nx\ttwo\tT\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"a.jsonl' line 1 and .*b.tsv' line 2 both have the id 'x'"):
        list(read_corpus(tmp_path))
    assert len(list(read_corpus(tmp_path / "a.jsonl"))) == 1


def test_the_splitter_refuses_two_documents_with_one_id():
    splitter = DPRPassageSplitter()
    with pytest.raises(ConfigurationError, match="two documents with the id '7'"):
        splitter.split([Document(content="a b c", id="7"), Document(content="d e f", id="7")])


def test_the_store_follows_its_policy_within_one_call_and_says_so(tmp_path, caplog):
    store = HybridDocumentStore(path=str(tmp_path / "store"), progress_bar=False)
    first, second = Document(id="same", content="first"), Document(id="same", content="second")
    with pytest.raises(DuplicateDocumentError, match="share an id .*'same'.*nothing was written"):
        store.write_documents([first, second], duplicate_documents="fail")
    assert store.get_document_count() == 0
    store.write_documents([first, second])
    assert store.get_document_by_id("same").content == "second" and "keeps the last copy" in caplog.text
    twin = Document(id="twin", content="one text")
    store.write_documents([twin, Document(id="twin", content="one text")], duplicate_documents="fail")  # identical
    assert store.get_document_by_id("twin").content == "one text"
    store.close()


def test_indexing_a_corpus_with_colliding_ids_stores_nothing_silently(tmp_path, tiny_question_encoder,
                                                                       tiny_context_encoder):
    from dpr_components.pipelines import index_corpus

    corpus = write_jsonl(tmp_path / "corpus.jsonl", [{"id": 1, "text": "paris is in france"},
                                                     {"id": "1", "text": "berlin is in germany"}])
    params = [f"Retriever.query_embedding_model={tiny_question_encoder}",
              f"Retriever.passage_embedding_model={tiny_context_encoder}", "Retriever.max_seq_len_passage=128"]
    with pytest.raises(ConfigurationError, match="both have the id '1'"):
        index_corpus(str(corpus), store=str(tmp_path / "store"), overrides=params, progress_bar=False)
