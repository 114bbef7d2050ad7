import json

import pytest

from dpr_components.errors import ConfigurationError
from dpr_components.preprocessing.corpus import count_documents, markdown_to_text, read_corpus


def test_dpr_tsv_keeps_ids_titles_and_quoted_text(tmp_path):
    corpus = tmp_path / "psgs_w100.tsv"
    corpus.write_text(
        'id\ttext\ttitle\n'
        '1\t"Aaron is a prophet, ""high priest"" and brother of Moses."\tAaron\n'
        '2\tHis sister was Miriam.\tAaron\n',
        encoding="utf-8",
    )
    documents = list(read_corpus(corpus))
    assert [d.meta["source_id"] for d in documents] == ["1", "2"]
    assert documents[0].content == 'Aaron is a prophet, "high priest" and brother of Moses.'
    assert documents[0].meta["name"] == "Aaron"
    assert count_documents(corpus) == 2


def test_dpr_tsv_without_header_is_refused_with_the_expected_columns(tmp_path):
    corpus = tmp_path / "passages.tsv"
    corpus.write_text("1\tsome text\tTitle\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="id, text, title"):
        list(read_corpus(corpus))


def test_jsonl_ids_default_to_file_and_line(tmp_path):
    corpus = tmp_path / "docs.jsonl"
    lines = [{"id": 7, "title": "Paris", "text": "Paris is the capital of France."}, {"text": "No title here."}]
    corpus.write_text("\n".join(json.dumps(line) for line in lines) + "\n\n", encoding="utf-8")
    documents = list(read_corpus(corpus))
    assert [(d.meta["source_id"], d.meta["name"]) for d in documents] == [("7", "Paris"), ("docs.jsonl:2", "")]
    assert documents[1].content == "No title here."
    assert count_documents(corpus) == 2


def test_jsonl_errors_name_the_line(tmp_path):
    corpus = tmp_path / "bad.jsonl"
    corpus.write_text('{"text": "fine"}\n{"title": "no text"}\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="line 2"):
        list(read_corpus(corpus))
    corpus.write_text('{"text": "fine"\n', encoding="utf-8")
    with pytest.raises(ConfigurationError, match="line 1 is not valid JSON"):
        list(read_corpus(corpus))


def test_text_and_markdown_files_of_a_directory(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "berlin_city.txt").write_text("Berlin is the capital of Germany.", encoding="utf-8")
    (tmp_path / "sub" / "paris.md").write_text(
        "# Paris\n\nParis is the **capital** of [France](https://fr.example).\n\n- a list item\n", encoding="utf-8"
    )
    (tmp_path / "ignored.bin").write_bytes(b"\x00")
    documents = list(read_corpus(tmp_path))
    assert [d.meta["source_id"] for d in documents] == ["berlin_city.txt", "sub/paris.md"]
    assert documents[0].meta["name"] == "berlin city"
    assert documents[1].meta["name"] == "Paris"
    assert documents[1].content.split() == "Paris is the capital of France. a list item".split()
    assert count_documents(tmp_path) == 2


def test_format_can_be_forced_and_unknown_extensions_are_explained(tmp_path):
    corpus = tmp_path / "notes.data"
    corpus.write_text("plain words", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="--format"):
        list(read_corpus(corpus))
    assert [d.content for d in read_corpus(corpus, corpus_format="text")] == ["plain words"]
    with pytest.raises(ConfigurationError, match="Valid values"):
        list(read_corpus(corpus, corpus_format="pdf"))


def test_missing_corpus_path(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        list(read_corpus(tmp_path / "nope.jsonl"))


def test_markdown_to_text_keeps_words_of_code_and_images():
    text = markdown_to_text("## Use\n```python\nprint(1)\n```\n![logo](x.png) `code` and _it_")
    assert text.split() == ["Use", "print(1)", "logo", "code", "and", "it"]
