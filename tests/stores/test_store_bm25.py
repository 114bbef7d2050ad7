"""BM25 inside HybridDocumentStore: Lucene BM25 scores with configurable k1/b, titles, filters, Haystack nodes."""
import math
from collections import Counter

import bm25s
import numpy as np
import pytest
import Stemmer
from haystack import Pipeline
from haystack.document_stores import KeywordDocumentStore
from haystack.nodes import BM25Retriever
from haystack.schema import Document
from store_testing import make_documents

from dpr_components.errors import ConfigurationError

CORPUS = [
    ("Paris", "Paris is the capital and most populous city of France."),
    ("Berlin", "Berlin is the capital of Germany and its largest city by population."),
    ("Seine", "The Seine is a river that flows through Paris before reaching the English Channel."),
    ("Rhine", "The Rhine flows through Germany and the Netherlands into the North Sea."),
    ("Louvre", "The Louvre in Paris is the most visited art museum in the world, a museum of museums."),
    ("Danube", "The Danube is the second longest river in Europe after the Volga."),
]


def corpus_documents():
    return [Document(content=text, meta={"name": title, "country": "fr" if i in (0, 2, 4) else "other"})
            for i, (title, text) in enumerate(CORPUS)]


def lucene_bm25(query, k1, b):
    """Reference scores: Lucene's BM25 over title + text, tokenised the way the store's engine does."""
    stemmer = Stemmer.Stemmer("english")

    def tokens(text):
        return bm25s.tokenize([text], stopwords="en", stemmer=stemmer, return_ids=False, show_progress=False)[0]

    documents = [Counter(tokens(f"{title} {text}")) for title, text in CORPUS]
    average_length = sum(sum(d.values()) for d in documents) / len(documents)
    scores = []
    for counts in documents:
        length, score = sum(counts.values()), 0.0
        for term in set(tokens(query)):
            frequency = sum(term in d for d in documents)
            if counts[term]:
                idf = math.log(1 + (len(documents) - frequency + 0.5) / (frequency + 0.5))
                score += idf * counts[term] / (counts[term] + k1 * (1 - b + b * length / average_length))
        scores.append(score)
    return scores


@pytest.mark.parametrize("k1, b", [(0.9, 0.4), (1.2, 0.75), (2.0, 0.0)])
def test_scores_are_lucene_bm25_with_the_configured_k1_and_b(open_store, k1, b):
    store = open_store(bm25_k1=k1, bm25_b=b)
    store.write_documents(corpus_documents())
    query = "museum river in Paris"
    expected = lucene_bm25(query, k1, b)
    hits = store.query(query, top_k=10, scale_score=False)
    by_title = {d.meta["name"]: d.score for d in hits}
    assert by_title == pytest.approx({CORPUS[i][0]: s for i, s in enumerate(expected) if s > 0}, rel=1e-5)
    assert [d.score for d in hits] == sorted(by_title.values(), reverse=True)


def test_k1_and_b_change_the_ranking_as_bm25_says(open_store, tmp_path):
    long_doc = Document(content="river " * 3 + "filler words " * 40, meta={"name": "long"})
    short_doc = Document(content="river river in a valley", meta={"name": "short"})
    for b, first in ((0.0, "long"), (1.0, "short")):  # b=0 ignores length, b=1 fully normalises it
        store = open_store(path=str(tmp_path / f"b{b}"), bm25_b=b)
        store.write_documents([long_doc, short_doc, Document(content="unrelated text", meta={"name": "x"})])
        assert store.query("river", top_k=1)[0].meta["name"] == first


def test_titles_are_indexed_and_results_follow_writes_and_deletes(open_store):
    store = open_store()
    store.write_documents(corpus_documents())
    assert store.query("Louvre", top_k=3)[0].meta["name"] == "Louvre"
    assert store.query("Volga", top_k=3)[0].meta["name"] == "Danube"
    danube = store.query("Volga", top_k=1)[0]
    store.delete_documents(ids=[danube.id])
    assert store.query("Volga", top_k=3) == []
    store.write_documents([Document(content="The Volga flows into the Caspian Sea.", meta={"name": "Volga"})])
    assert [d.meta["name"] for d in store.query("Volga")] == ["Volga"]
    store.update_document_meta(store.query("Volga")[0].id, {"name": "Caspian basin"})
    assert [d.meta["name"] for d in store.query("basin")] == ["Caspian basin"]


def test_filters_apply_inside_bm25_and_rare_matches_fill_top_k(open_store):
    store = open_store()
    documents = make_documents(300, embed=False)  # "passage i about paris france|berlin germany and topic<k>"
    store.write_documents(documents)
    hits = store.query("paris topic3", top_k=5, filters={"year": 2003, "genre": "book"})
    expected = {d.id for d in documents if d.meta["year"] == 2003 and d.meta["genre"] == "book"}
    assert len(hits) == 5 and {d.id for d in hits} <= expected
    rare = store.query("paris", top_k=10, filters={"name": ["Title 7", "Title 9"]})
    assert sorted(d.meta["name"] for d in rare) == ["Title 7", "Title 9"]


def test_all_terms_must_match_scaling_and_unsupported_custom_query(open_store):
    store = open_store()
    store.write_documents(corpus_documents())
    any_term = {d.meta["name"] for d in store.query("capital river", top_k=10)}
    all_terms = {d.meta["name"] for d in store.query("capital river", top_k=10, all_terms_must_match=True)}
    assert any_term == {"Paris", "Berlin", "Seine", "Danube"} and all_terms == set()
    assert {d.meta["name"] for d in store.query("capital city", all_terms_must_match=True)} == {"Paris", "Berlin"}
    raw = store.query("Louvre", top_k=1, scale_score=False)[0].score
    assert store.query("Louvre", top_k=1)[0].score == pytest.approx(1 / (1 + np.exp(-raw / 8)))
    assert store.query("zzzunknownword") == []
    with pytest.raises(ConfigurationError, match="custom_query"):
        store.query("Paris", custom_query='{"match_all": {}}')


def test_haystack_bm25_retriever_works_unchanged(open_store):
    store = open_store()
    assert isinstance(store, KeywordDocumentStore)
    store.write_documents(corpus_documents())
    retriever = BM25Retriever(document_store=store, top_k=2)
    pipeline = Pipeline()
    pipeline.add_node(retriever, name="BM25", inputs=["Query"])
    result = pipeline.run(query="Which river flows through Paris?", params={"BM25": {"filters": {"country": "fr"}}})
    assert result["documents"][0].meta["name"] == "Seine"
    assert all(d.meta["country"] == "fr" for d in result["documents"])
    batch = retriever.retrieve_batch(["capital of Germany", "longest river"], top_k=1)
    assert [hits[0].meta["name"] for hits in batch] == ["Berlin", "Danube"]


def test_yaml_pipeline_with_the_store_and_haystack_bm25(store_path, tmp_path):
    import dpr_components

    writer = dpr_components.HybridDocumentStore(path=str(store_path), progress_bar=False)
    writer.write_documents(corpus_documents())
    writer.close()
    yaml_file = tmp_path / "bm25.yml"
    yaml_file.write_text(f"""
version: 1.26.4.post0
components:
  - name: Store
    type: HybridDocumentStore
    params: {{path: "{store_path}", bm25_k1: 1.2, bm25_b: 0.75}}
  - name: BM25
    type: BM25Retriever
    params: {{document_store: Store, top_k: 3, scale_score: false}}
pipelines:
  - name: query
    nodes: [{{name: BM25, inputs: [Query]}}]
""")
    pipeline = Pipeline.load_from_yaml(yaml_file)
    documents = pipeline.run(query="art museum")["documents"]
    assert documents[0].meta["name"] == "Louvre"
    assert documents[0].score == pytest.approx(lucene_bm25("art museum", 1.2, 0.75)[4], rel=1e-5)
    pipeline.get_document_store().close()
