"""Every bundled pipeline loads by name and runs without a warning from this project's code (issue 30.5).

The store is indexed as the demo indexes it: a normalised (cosine) encoder, whose raw scores all lie in
[0.5, 1) for an on-topic question. HybridFusion used to read that as "Haystack scaled these scores" and
told users of the shipped defaults to set ``scale_score: false``, which they already had.
"""
import json
import logging
import warnings

import pytest

from dpr_components.pipelines import bundled_pipelines, index_corpus, load_query_pipeline

ARTICLES = [
    {"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20},
    {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20},
    {"id": "it", "title": "Italy", "text": "Rome is the capital of Italy. " * 20},
]
NEEDS_A_SERVER = {"elasticsearch_hybrid"}  # an Elasticsearch server: tests/integration/test_elasticsearch.py


@pytest.fixture(scope="module")
def cosine_store(tmp_path_factory, tiny_bert_encoder):
    work = tmp_path_factory.mktemp("cosine_store")
    corpus = work / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    # one BERT encoder for both sides, mean-pooled and normalised: cosine scores, as the demo's MiniLM gives
    overrides = {"Retriever.query_embedding_model": tiny_bert_encoder, "Retriever.pooling": "mean",
                 "Retriever.passage_embedding_model": tiny_bert_encoder, "Retriever.normalize": True,
                 "Retriever.max_seq_len_passage": 128}
    index_corpus(str(corpus), store=str(work / "store"), overrides=overrides, progress_bar=False)
    return str(work / "store")


@pytest.mark.parametrize("name", sorted(set(bundled_pipelines()) - NEEDS_A_SERVER - {"indexing"}))
def test_each_bundled_query_pipeline_runs_without_warnings_from_our_code(name, cosine_store, tiny_reader, caplog):
    overrides = {"Reader.model_name_or_path": tiny_reader, "Reader.max_seq_len": 128, "Reader.doc_stride": 32}
    overrides = {key: value for key, value in overrides.items() if name.endswith("_qa")}
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        loaded = load_query_pipeline(name, store=cosine_store, overrides=overrides)
        result = loaded.pipeline.run(query="capital of France")
    assert result["documents"]
    if "Fusion" in loaded.nodes:  # the case that warned: every dense score in [0.5, 1)
        dense = [d.meta["fusion"]["Retriever"]["score"] for d in result["documents"] if "Retriever" in d.meta["fusion"]]
        assert dense and all(0.5 <= score < 1 for score in dense)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("dpr_components")]
    ours += [str(w.message) for w in caught if "dpr_components" in str(w.filename)]
    assert ours == []


def test_the_indexing_pipeline_runs_without_warnings_from_our_code(tmp_path, tiny_retriever_overrides, caplog):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        index_corpus(str(corpus), store=str(tmp_path / "store"), overrides=tiny_retriever_overrides,
                     progress_bar=False)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("dpr_components")]
    ours += [str(w.message) for w in caught if "dpr_components" in str(w.filename)]
    assert ours == []


def test_a_scaling_retriever_before_score_fusion_is_still_reported(cosine_store, caplog):
    with caplog.at_level(logging.WARNING, logger="dpr_components"):
        load_query_pipeline("hybrid_retrieval", store=cosine_store, overrides={"BM25.scale_score": True})
    reports = [r.getMessage() for r in caplog.records if r.name.startswith("dpr_components")]
    assert len(reports) == 1 and "'BM25'" in reports[0] and "scale_score" in reports[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="dpr_components"):  # rrf reads ranks only
        load_query_pipeline("hybrid_retrieval", store=cosine_store,
                            overrides={"BM25.scale_score": True, "Fusion.mode": "rrf"})
    assert not [r for r in caplog.records if r.name.startswith("dpr_components")]
