"""DPR's 100-word passages: word counts, titles, ids, the last short block, the Haystack node."""
import pytest
from haystack import Document, Pipeline

from dpr_components.errors import ConfigurationError
from dpr_components.preprocessing.passages import DPRPassageSplitter, split_into_passages, split_words


def words(count, prefix="w"):
    return [f"{prefix}{i}" for i in range(count)]


def test_blocks_of_exactly_n_words_and_a_short_last_block():
    text = " ".join(words(250))
    passages = split_into_passages("Title", text)
    assert [len(p["text"].split()) for p in passages] == [100, 100, 50]
    assert passages[1]["text"].split()[0] == "w100"  # disjoint, in order
    assert all(p["title"] == "Title" for p in passages)
    assert " ".join(p["text"] for p in passages) == text


def test_any_whitespace_separates_words_and_is_normalised():
    # newlines, tabs and runs of spaces all separate words (Haystack's PreProcessor splits on " " only)
    text = "alpha\nbeta\t\tgamma   delta\n\nepsilon"
    assert split_words(text, words_per_passage=2) == ["alpha beta", "gamma delta", "epsilon"]


def test_empty_text_gives_no_passages():
    assert split_into_passages("T", "  \n ") == []


@pytest.mark.parametrize("bad", [0, -1, 2.5, "100", True])
def test_words_per_passage_must_be_a_positive_integer(bad):
    with pytest.raises(ConfigurationError, match="words_per_passage"):
        DPRPassageSplitter(words_per_passage=bad)


def test_node_keeps_title_and_meta_and_makes_deterministic_ids():
    splitter = DPRPassageSplitter(words_per_passage=100)
    article = Document(id="308", content=" ".join(words(230)), meta={"name": "Aristotle", "lang": "en"})
    output, edge = splitter.run(documents=[article])
    passages = output["documents"]
    assert edge == "output_1"
    assert [p.id for p in passages] == ["308-0", "308-1", "308-2"]
    assert [len(p.content.split()) for p in passages] == [100, 100, 30]
    assert all(p.meta["name"] == "Aristotle" and p.meta["lang"] == "en" for p in passages)
    assert [p.meta["_split_id"] for p in passages] == [0, 1, 2]
    assert all(p.meta["source_id"] == "308" for p in passages)
    assert article.meta == {"name": "Aristotle", "lang": "en"}  # the input is not modified
    again, _ = splitter.run(documents=[article])
    assert [p.id for p in again["documents"]] == [p.id for p in passages]


def test_title_field_is_configurable_and_missing_titles_become_empty():
    splitter = DPRPassageSplitter(words_per_passage=3, title_field="title")
    output, _ = splitter.run(documents=[Document(id="a", content="one two three four"), Document(
        id="b", content="x", meta={"title": "B", "source_id": "file-b"})])
    assert [(p.id, p.meta["title"], p.meta["source_id"]) for p in output["documents"]] == [
        ("a-0", "", "a"), ("a-1", "", "a"), ("b-0", "B", "file-b")]


def test_run_batch_flat_and_nested():
    splitter = DPRPassageSplitter(words_per_passage=2)
    documents = [Document(id="a", content="1 2 3"), Document(id="b", content="4")]
    flat, _ = splitter.run_batch(documents=documents)
    assert [p.id for p in flat["documents"]] == ["a-0", "a-1", "b-0"]
    nested, _ = splitter.run_batch(documents=[[documents[0]], [documents[1]]])
    assert [[p.id for p in group] for group in nested["documents"]] == [["a-0", "a-1"], ["b-0"]]


def test_non_text_documents_are_refused():
    table = Document(id="t", content="not really a table", content_type="table")
    with pytest.raises(ConfigurationError, match="text documents only"):
        DPRPassageSplitter().run(documents=[table])


def test_indexing_pipeline_loaded_from_yaml(tmp_path):
    import dpr_components  # noqa: F401  (registers the node)

    config = tmp_path / "split.yml"
    config.write_text(
        "version: ignore\n"
        "components:\n"
        "  - name: Splitter\n"
        "    type: DPRPassageSplitter\n"
        "    params: {words_per_passage: 2}\n"
        "pipelines:\n"
        "  - name: indexing\n"
        "    nodes:\n"
        "      - {name: Splitter, inputs: [File]}\n",
        encoding="utf-8",
    )
    pipeline = Pipeline.load_from_yaml(config, pipeline_name="indexing")
    output = pipeline.run(documents=[Document(id="d", content="a b c", meta={"name": "D"})])
    assert [(p.id, p.content, p.meta["name"]) for p in output["documents"]] == [("d-0", "a b", "D"), ("d-1", "c", "D")]
