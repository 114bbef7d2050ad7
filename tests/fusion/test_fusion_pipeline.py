"""HybridFusion inside real Haystack pipelines (two BM25 engines over in-memory stores, YAML and Python)."""
from pathlib import Path

import pytest
import yaml
from haystack import Document, Pipeline
from haystack.document_stores import InMemoryDocumentStore
from haystack.nodes import BM25Retriever, JoinDocuments
from haystack.pipelines.config import validate_config

from dpr_components.errors import ConfigurationError
from dpr_components.fusion.hybrid_fusion import HybridFusion
from dpr_components.fusion.methods import fuse

YAML_PATH = Path(__file__).with_name("two_bm25_fusion.yml")
TEXTS = [
    "Paris is the capital and largest city of France",
    "Berlin is the capital of Germany and its largest city",
    "London is the capital of England and the United Kingdom",
    "The Seine river flows through Paris to the English Channel",
    "The Thames flows through London",
    "France borders Germany, Belgium, Spain and Italy",
    "The river Rhine forms part of the border between France and Germany",
]
DOCUMENTS = [Document(content=text, id=f"doc{i}") for i, text in enumerate(TEXTS)]
QUERIES = ["capital of France", "river through London", "border of Germany"]


def bm25(algorithm: str) -> BM25Retriever:
    store = InMemoryDocumentStore(use_bm25=True, bm25_algorithm=algorithm, progress_bar=False)
    store.write_documents(DOCUMENTS)
    return BM25Retriever(store, top_k=5, scale_score=False)


def ranked(retriever: BM25Retriever, query: str):
    return [(doc.id, doc.score) for doc in retriever.retrieve(query)]


def expected(okapi: BM25Retriever, plus: BM25Retriever, query: str, top_k: int = 4):
    return fuse([ranked(okapi, query), ranked(plus, query)], "linear", [1.3, 1.0], "centered")[:top_k]


@pytest.fixture
def yaml_pipeline() -> Pipeline:
    pipeline = Pipeline.load_from_yaml(YAML_PATH, pipeline_name="query")
    for name in ("Okapi", "Plus"):
        pipeline.get_node(name).document_store.write_documents(DOCUMENTS)
    return pipeline


def test_yaml_pipeline_fuses_both_retrievers(yaml_pipeline):
    okapi, plus = yaml_pipeline.get_node("Okapi"), yaml_pipeline.get_node("Plus")
    for query in QUERIES:
        documents = yaml_pipeline.run(query=query)["documents"]
        assert [(d.id, pytest.approx(d.score)) for d in documents] == expected(okapi, plus, query)
        top = documents[0]
        for name, retriever in (("Okapi", okapi), ("Plus", plus)):
            own = ranked(retriever, query)
            rank = [doc_id for doc_id, _ in own].index(top.id) + 1
            assert top.meta["fusion"][name] == {"score": pytest.approx(own[rank - 1][1]), "rank": rank}
    assert yaml_pipeline.run(query=QUERIES[0], params={"Fusion": {"top_k_join": 2}})["documents"][1].id == \
        expected(okapi, plus, QUERIES[0])[1][0]


def test_yaml_pipeline_run_batch_matches_run(yaml_pipeline):
    batched = yaml_pipeline.run_batch(queries=QUERIES)["documents"]
    assert len(batched) == len(QUERIES)
    for query, documents in zip(QUERIES, batched):
        single = yaml_pipeline.run(query=query)["documents"]
        assert [(d.id, d.score, d.meta["fusion"]) for d in documents] == \
            [(d.id, d.score, d.meta["fusion"]) for d in single]


def test_weights_follow_source_names_not_the_order_haystack_delivers_inputs():
    okapi, plus = bm25("BM25Okapi"), bm25("BM25Plus")
    query = "capital of France"

    def pipeline_listing_plus_first(fusion: HybridFusion) -> Pipeline:
        pipeline = Pipeline()
        pipeline.add_node(plus, name="Plus", inputs=["Query"])  # runs first, so its list arrives first
        pipeline.add_node(okapi, name="Okapi", inputs=["Query"])
        pipeline.add_node(fusion, name="Fusion", inputs=["Okapi", "Plus"])
        return pipeline

    named = pipeline_listing_plus_first(HybridFusion("linear", [1.3, 1.0], "centered", source_names=["Okapi", "Plus"]))
    reference = expected(okapi, plus, query, top_k=None)
    assert [(d.id, pytest.approx(d.score)) for d in named.run(query=query)["documents"]] == reference

    # Without source_names the weights follow arrival order: Plus gets 1.3 here (documented behaviour).
    by_arrival = pipeline_listing_plus_first(HybridFusion("linear", [1.3, 1.0], "centered"))
    swapped = fuse([ranked(plus, query), ranked(okapi, query)], "linear", [1.3, 1.0], "centered")
    assert [score for _, score in swapped] != pytest.approx([score for _, score in reference])
    assert [(d.id, pytest.approx(d.score)) for d in by_arrival.run(query=query)["documents"]] == swapped


def test_inputs_are_named_even_when_one_waited_behind_another_node():
    okapi, plus = bm25("BM25Okapi"), bm25("BM25Plus")
    pipeline = Pipeline()
    pipeline.add_node(okapi, name="Okapi", inputs=["Query"])
    pipeline.add_node(plus, name="Plus", inputs=["Query"])
    pipeline.add_node(JoinDocuments(), name="PlusPassThrough", inputs=["Plus"])
    # Haystack renames the waiting Okapi input after the fusion node itself; source_names recovers it.
    pipeline.add_node(HybridFusion(mode="rrf", source_names=["Okapi", "PlusPassThrough"], weights=[2.0, 1.0]),
                      name="Fusion", inputs=["Okapi", "PlusPassThrough"])
    with pytest.warns(UserWarning, match="only one input"):
        documents = pipeline.run(query="river through London")["documents"]
    assert set(documents[0].meta["fusion"]) == {"Okapi", "PlusPassThrough"}
    reference = fuse([ranked(okapi, "river through London"), ranked(plus, "river through London")], "rrf", [2.0, 1.0])
    assert [(d.id, d.score) for d in documents] == reference


def test_pipeline_yaml_round_trip_keeps_the_fusion_params(tmp_path, yaml_pipeline):
    saved = tmp_path / "saved.yml"
    yaml_pipeline.save_to_yaml(saved)
    reloaded = Pipeline.load_from_yaml(saved, pipeline_name="query").get_node("Fusion")
    original = yaml_pipeline.get_node("Fusion")
    assert isinstance(reloaded, HybridFusion)
    assert (reloaded.mode, reloaded.normalization, reloaded.weights, reloaded.source_names, reloaded.top_k_join) == \
        (original.mode, original.normalization, [1.3, 1.0], ["Okapi", "Plus"], 4)


def test_yaml_with_an_unknown_mode_names_the_valid_ones(tmp_path):
    config = yaml.safe_load(YAML_PATH.read_text())
    next(c for c in config["components"] if c["name"] == "Fusion")["params"]["mode"] = "weighted_sum"
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(Exception, match="'Fusion'") as raised:  # Haystack wraps the node's own error
        Pipeline.load_from_yaml(path, pipeline_name="query")
    assert isinstance(raised.value.__cause__, ConfigurationError)
    assert "Valid values: 'linear', 'rrf', 'dbsf'" in str(raised.value.__cause__)


def test_bm25_and_dpr_fused_in_a_yaml_pipeline(tiny_question_encoder, tiny_context_encoder):
    config = yaml.safe_load(YAML_PATH.with_name("bm25_dpr_fusion.yml").read_text())
    validate_config(config, strict_version_check=True)
    params = {c["name"]: c["params"] for c in config["components"]}
    params["Store"]["embedding_dim"] = 32
    params["DPR"].update(query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
                         max_seq_len_passage=128)  # the tiny models have 128 positions
    pipeline = Pipeline.load_from_config(config, pipeline_name="query")
    bm25_node, dpr = pipeline.get_node("BM25"), pipeline.get_node("DPR")
    store = dpr.document_store
    assert bm25_node.document_store is store
    store.write_documents(DOCUMENTS)
    store.update_embeddings(dpr)

    query = "capital of France"
    fused = pipeline.run(query=query)["documents"]
    dense = ranked(dpr, query)
    reference = fuse([ranked(bm25_node, query), dense], "linear", [1.2, 1.0], "centered")
    assert [(d.id, pytest.approx(d.score)) for d in fused] == reference
    assert len(fused) > 5  # the union of two top-5 lists that differ
    # DPR's scores reach the fusion raw: the dot products of its own embeddings
    question = dpr.embed_queries([query])[0]
    passages = dict(zip([d.id for d in DOCUMENTS], dpr.embed_documents(DOCUMENTS)))
    for doc in fused:
        if "DPR" in doc.meta["fusion"]:
            assert doc.meta["fusion"]["DPR"]["score"] == pytest.approx(float(question @ passages[doc.id]), rel=1e-5)


def test_project_hybrid_retrieval_yaml_runs(tmp_path, tiny_question_encoder, tiny_context_encoder):
    """pipelines/hybrid_retrieval.yml (BM25 + DPRRetriever on HybridDocumentStore, fused), with tiny encoders."""
    path = Path(__file__).resolve().parents[2] / "pipelines" / "hybrid_retrieval.yml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    components = {c["name"]: c for c in config["components"]}
    by_type = {c["type"]: c for c in config["components"]}
    by_type["HybridDocumentStore"].setdefault("params", {})["path"] = str(tmp_path / "store")
    by_type["DPRRetriever"]["params"].update(query_embedding_model=tiny_question_encoder,
                                             passage_embedding_model=tiny_context_encoder, progress_bar=False,
                                             max_seq_len_passage=128)  # the tiny models have 128 positions
    fusion_name = by_type["HybridFusion"]["name"]
    nodes = {n["name"]: n["inputs"] for n in next(p for p in config["pipelines"] if p["name"] == "query")["nodes"]}
    sources = nodes[fusion_name]
    assert {components[name]["type"] for name in sources} == {"BM25Retriever", "DPRRetriever"}

    pipeline = Pipeline.load_from_config(config, pipeline_name="query")
    dpr = pipeline.get_node(by_type["DPRRetriever"]["name"])
    dpr.document_store.write_documents(DOCUMENTS)
    dpr.document_store.update_embeddings(dpr)

    fusion = pipeline.get_node(fusion_name)
    query = "capital of France"
    documents = pipeline.run(query=query, params={fusion_name: {"top_k_join": 100}})["documents"]
    lists = [ranked(pipeline.get_node(name), query) for name in sources]
    expected_order = fuse(lists, fusion.mode, fusion.weights, fusion.normalization, fusion.rrf_k)
    assert [(d.id, pytest.approx(d.score)) for d in documents] == expected_order
    assert {name for d in documents for name in d.meta["fusion"]} == set(sources)
