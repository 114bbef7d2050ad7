"""HybridFusion as a node: Documents in, fused Documents out, with per-source provenance."""
import logging
import math

import pytest
from haystack import Document

from dpr_components.errors import ConfigurationError
from dpr_components.fusion.hybrid_fusion import HybridFusion
from dpr_components.fusion.methods import FusionInputError, fuse


def docs(*pairs):
    return [Document(content=f"text of {doc_id}", id=doc_id, score=score, meta={"name": doc_id.upper()})
            for doc_id, score in pairs]


BM25_DOCS = docs(("a", 12.0), ("b", 8.0), ("c", 5.0))
DPR_DOCS = docs(("c", 80.0), ("d", 79.0), ("a", 70.0))


def run(node, *named_lists, top_k_join=None):
    inputs = [{"documents": documents, "node_id": name} for name, documents in named_lists]
    output, edge = node.run(inputs=inputs, top_k_join=top_k_join)
    assert edge == "output_1"
    return output["documents"]


def test_fused_documents_carry_fused_score_and_per_source_score_and_rank():
    node = HybridFusion(mode="linear", normalization="centered", weights=[1.2, 1.0])
    fused = run(node, ("BM25", BM25_DOCS), ("DPR", DPR_DOCS))

    expected = fuse([[(d.id, d.score) for d in BM25_DOCS], [(d.id, d.score) for d in DPR_DOCS]],
                    "linear", [1.2, 1.0], "centered")
    assert [(d.id, d.score) for d in fused] == expected
    by_id = {d.id: d for d in fused}
    assert by_id["a"].meta["fusion"] == {"BM25": {"score": 12.0, "rank": 1}, "DPR": {"score": 70.0, "rank": 3}}
    assert by_id["d"].meta["fusion"] == {"DPR": {"score": 79.0, "rank": 2}}
    assert by_id["d"].meta["name"] == "D" and by_id["d"].content == "text of d"
    # the inputs are left as they were
    assert BM25_DOCS[0].score == 12.0 and "fusion" not in BM25_DOCS[0].meta


def test_top_k_join_at_init_and_at_run_time():
    node = HybridFusion(mode="rrf", top_k_join=3)
    assert len(run(node, ("BM25", BM25_DOCS), ("DPR", DPR_DOCS))) == 3
    assert [d.id for d in run(node, ("BM25", BM25_DOCS), ("DPR", DPR_DOCS), top_k_join=1)] == ["a"]
    assert len(HybridFusion(mode="rrf").run(inputs=[{"documents": BM25_DOCS}, {"documents": DPR_DOCS}])[0]
               ["documents"]) == 4


def test_inputs_without_a_node_name_are_called_input_i():
    fused = HybridFusion(mode="dbsf").run(inputs=[{"documents": BM25_DOCS}, {"documents": DPR_DOCS}])[0]
    assert {name for d in fused["documents"] for name in d.meta["fusion"]} == {"input_0", "input_1"}


def test_source_names_put_weights_on_the_named_inputs_whatever_their_order():
    node = HybridFusion(mode="linear", weights=[0.0, 1.0], source_names=["BM25", "DPR"])
    # DPR delivered first: the weight 1.0 still goes to DPR, so DPR's ranking wins
    fused = run(node, ("DPR", DPR_DOCS), ("BM25", BM25_DOCS))
    assert [d.id for d in fused][:3] == ["c", "d", "a"]

    with pytest.raises(ConfigurationError, match=r"source_names \['BM25', 'DPR'\].*\['DPR', 'Other'\]"):
        run(node, ("DPR", DPR_DOCS), ("Other", BM25_DOCS))


def test_weights_must_match_the_number_of_inputs_at_run_time():
    node = HybridFusion(weights=[1.0, 1.0, 1.0])
    with pytest.raises(ConfigurationError, match="3 value.*2 input"):
        run(node, ("BM25", BM25_DOCS), ("DPR", DPR_DOCS))


@pytest.mark.parametrize(
    "params, message",
    [
        ({"mode": "sum"}, "Valid values: 'linear', 'rrf', 'dbsf'"),
        ({"normalization": "max"}, "Valid values: 'none', 'minmax', 'centered', 'zscore'"),
        ({"weights": [1.0, math.inf]}, "finite"),
        ({"weights": [-1.0, 1.0]}, "non-negative"),
        ({"rrf_k": -5}, "rrf_k"),
        ({"top_k_join": 0}, "top_k_join"),
        ({"source_names": ["BM25", "BM25"]}, "distinct"),
        ({"source_names": ["BM25", "DPR"], "weights": [1.0]}, "one weight per source name"),
    ],
)
def test_bad_parameters_are_refused_at_construction(params, message):
    with pytest.raises(ConfigurationError, match=message):
        HybridFusion(**params)


def test_score_modes_refuse_documents_without_scores_but_rrf_accepts_them():
    unscored = docs(("x", None), ("y", None))
    with pytest.raises(FusionInputError, match="'TFIDF'.*'x'.*rrf"):
        run(HybridFusion(mode="linear"), ("BM25", BM25_DOCS), ("TFIDF", unscored))
    fused = run(HybridFusion(mode="rrf"), ("BM25", BM25_DOCS), ("TFIDF", unscored))
    assert fused[0].id == "a" and fused[0].score == pytest.approx(1 / 61)


def test_scaling_inputs_are_reported_from_their_settings_not_from_score_values(caplog):
    from haystack import Pipeline
    from haystack.document_stores import InMemoryDocumentStore
    from haystack.nodes import BM25Retriever

    from dpr_components.fusion.hybrid_fusion import report_scaled_inputs

    with caplog.at_level(logging.WARNING, logger="dpr_components.fusion.hybrid_fusion"):
        # cosine-like raw scores in [0.5, 1) are no sign of scaling (the shipped pipelines with MiniLM)
        run(HybridFusion(mode="linear"), ("cosine", docs(("a", 0.82), ("b", 0.74))), ("DPR", DPR_DOCS))
    assert caplog.records == []

    def pipeline(mode):
        store = InMemoryDocumentStore(use_bm25=True)
        built = Pipeline()
        built.add_node(BM25Retriever(store, scale_score=True), name="Scaled", inputs=["Query"])
        built.add_node(BM25Retriever(store, scale_score=False), name="Raw", inputs=["Query"])
        built.add_node(HybridFusion(mode=mode), name="Fusion", inputs=["Scaled", "Raw"])
        return built

    reports = report_scaled_inputs(pipeline("dbsf"))
    assert len(reports) == 1 and "'Scaled'" in reports[0] and "scale_score: false" in reports[0]
    assert report_scaled_inputs(pipeline("rrf")) == []  # ranks only


def test_run_batch_fuses_each_query_separately():
    node = HybridFusion(mode="rrf")
    inputs = [
        {"documents": [BM25_DOCS, DPR_DOCS], "node_id": "BM25"},
        {"documents": [DPR_DOCS, BM25_DOCS[:1]], "node_id": "DPR"},
    ]
    output, _ = node.run_batch(inputs=inputs)
    first, second = output["documents"]
    assert [d.id for d in first] == [d.id for d in run(node, ("BM25", BM25_DOCS), ("DPR", DPR_DOCS))]
    assert [d.id for d in second] == ["a", "c", "d"]
    assert second[0].meta["fusion"] == {"BM25": {"score": 70.0, "rank": 3}, "DPR": {"score": 12.0, "rank": 1}}

    with pytest.raises(FusionInputError, match="different numbers of queries"):
        node.run_batch(inputs=[inputs[0], {"documents": [DPR_DOCS], "node_id": "DPR"}])
