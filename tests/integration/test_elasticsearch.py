"""pipelines/elasticsearch_hybrid.yml: checked offline, and run against a real Elasticsearch 7.x server.

The server tests read the server's URL from the environment variable DPR_TEST_ELASTICSEARCH_URL
(e.g. ``http://localhost:9200`` or ``https://user:password@es.example.org:9200``) and are skipped, with the
reason, when it is unset or nothing answers there. They create and delete their own index.
"""
import os
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
import yaml
from haystack import Document, Pipeline
from haystack.nodes.base import BaseComponent
from haystack.pipelines.config import validate_config

from dpr_components.fusion.hybrid_fusion import HybridFusion
from dpr_components.fusion.methods import fuse

YAML_PATH = Path(__file__).resolve().parents[2] / "pipelines" / "elasticsearch_hybrid.yml"
URL_VARIABLE = "DPR_TEST_ELASTICSEARCH_URL"


def load_config() -> dict:
    return yaml.safe_load(YAML_PATH.read_text(encoding="utf-8"))


def component(config: dict, name: str) -> dict:
    return next(c for c in config["components"] if c["name"] == name)


def pipeline_nodes(config: dict, pipeline: str) -> dict:
    definition = next(p for p in config["pipelines"] if p["name"] == pipeline)
    return {node["name"]: node["inputs"] for node in definition["nodes"]}


# ---- without a server -------------------------------------------------------------------------------------


def require_registered(*types: str) -> None:
    missing = [t for t in types if t not in BaseComponent._subclasses]
    if missing:
        pytest.fail(f"Node type(s) {missing} used by {YAML_PATH.name} are not registered by dpr_components.")


def test_yaml_is_valid_for_haystack():
    require_registered("DPRRetriever", "HybridFusion", "DPRPassageSplitter")
    validate_config(load_config(), strict_version_check=True, overwrite_with_env_variables=False)


def test_yaml_wires_bm25_and_dpr_on_elasticsearch_into_hybrid_fusion():
    config = load_config()
    assert component(config, "DocumentStore")["type"] == "ElasticsearchDocumentStore"
    for retriever, kind in (("BM25", "BM25Retriever"), ("Retriever", "DPRRetriever")):
        params = component(config, retriever)["params"]
        assert component(config, retriever)["type"] == kind
        assert params["document_store"] == "DocumentStore"
        assert params["scale_score"] is False, f"{retriever} must return raw scores for score fusion"

    fusion = component(config, "Fusion")
    assert fusion["type"] == "HybridFusion"
    query_nodes = pipeline_nodes(config, "query")
    assert query_nodes == {"BM25": ["Query"], "Retriever": ["Query"], "Fusion": ["BM25", "Retriever"]}
    assert fusion["params"]["source_names"] == query_nodes["Fusion"]
    node = HybridFusion(**fusion["params"])  # the params are valid (no server needed for this node)
    assert len(node.weights) == len(query_nodes["Fusion"])

    # the query pipeline alone passes Haystack's schema and graph checks
    query_only = {**config, "pipelines": [p for p in config["pipelines"] if p["name"] == "query"],
                  "components": [c for c in config["components"] if c["name"] not in ("TextConverter", "Splitter")]}
    validate_config(query_only, strict_version_check=True, overwrite_with_env_variables=False)

    assert pipeline_nodes(config, "indexing") == {
        "TextConverter": ["File"], "Splitter": ["TextConverter"], "DocumentStore": ["Splitter"]
    }


# ---- with a server ----------------------------------------------------------------------------------------


def elasticsearch_url() -> str:
    url = os.environ.get(URL_VARIABLE)
    if not url:
        pytest.skip(f"No Elasticsearch server: set {URL_VARIABLE} (e.g. http://localhost:9200) to run this test.")
    parts = urlsplit(url)
    # Without credentials: urllib can't use them in a URL, and the address is printed in the skip reason.
    address = f"{parts.scheme or 'http'}://{parts.hostname}:{parts.port or 9200}"
    try:
        urllib.request.urlopen(address, timeout=5).close()
    except urllib.error.HTTPError:
        pass  # it answered (e.g. 401 without credentials): the server is there
    except (urllib.error.URLError, OSError) as error:
        pytest.skip(f"Elasticsearch at {URL_VARIABLE} ({address}) is unreachable: {error}.")
    return url


@pytest.fixture
def es_config(tiny_question_encoder, tiny_context_encoder):
    """The YAML's config pointed at the test server, a fresh index and the tiny test encoders."""
    parts = urlsplit(elasticsearch_url())
    index = f"dpr_components_test_{uuid.uuid4().hex[:12]}"
    config = load_config()
    component(config, "DocumentStore")["params"].update(
        host=parts.hostname, port=parts.port or 9200, scheme=parts.scheme or "http",
        username=parts.username or "", password=parts.password or "",
        index=index, embedding_dim=32, recreate_index=True,
    )
    component(config, "Retriever")["params"].update(
        query_embedding_model=tiny_question_encoder, passage_embedding_model=tiny_context_encoder,
        max_seq_len_passage=64, progress_bar=False,
    )
    component(config, "Fusion")["params"]["top_k_join"] = None
    yield config
    pipeline = Pipeline.load_from_config(config, pipeline_name="query")
    pipeline.get_node("Retriever").document_store.delete_index(index)


DOCUMENTS = [
    Document(id="paris", content="paris is the capital of france", meta={"name": "Paris"}),
    Document(id="berlin", content="berlin is the capital of germany", meta={"name": "Berlin"}),
    Document(id="london", content="london is the largest city of england", meta={"name": "London"}),
    Document(id="seine", content="the river of paris flows to the sea", meta={"name": "Seine"}),
]


@pytest.mark.elasticsearch
def test_hybrid_query_pipeline_on_elasticsearch(es_config):
    pipeline = Pipeline.load_from_config(es_config, pipeline_name="query")
    bm25, dpr = pipeline.get_node("BM25"), pipeline.get_node("Retriever")
    store = dpr.document_store
    store.write_documents(DOCUMENTS)
    store.update_embeddings(dpr)
    assert store.get_embedding_count() == len(DOCUMENTS)

    query = "capital of france"
    fused = pipeline.run(query=query)["documents"]

    bm25_list = [(d.id, d.score) for d in bm25.retrieve(query)]
    dpr_list = [(d.id, d.score) for d in dpr.retrieve(query)]
    assert bm25_list[0][0] == "paris"
    expected = fuse([bm25_list, dpr_list], "linear", [1.0, 1.1], "none")
    assert [(d.id, pytest.approx(d.score, rel=1e-5)) for d in fused] == expected
    assert {name for d in fused for name in d.meta["fusion"]} == {"BM25", "Retriever"}

    # The dense scores written by Elasticsearch are the raw dot products of DPR's own embeddings.
    question = dpr.embed_queries([query])[0]
    passages = dpr.embed_documents(DOCUMENTS)
    raw = {doc.id: float(np.dot(question, vector)) for doc, vector in zip(DOCUMENTS, passages)}
    for d in fused:
        if "Retriever" in d.meta["fusion"]:
            assert d.meta["fusion"]["Retriever"]["score"] == pytest.approx(raw[d.id], rel=1e-4, abs=1e-4)


@pytest.mark.elasticsearch
def test_indexing_pipeline_writes_passages_into_elasticsearch(es_config, tmp_path):
    require_registered("DPRPassageSplitter")
    article = tmp_path / "article.txt"
    article.write_text(" ".join(["paris is the capital of france"] * 40), encoding="utf-8")  # 240 words
    indexing = Pipeline.load_from_config(es_config, pipeline_name="indexing")
    indexing.run(file_paths=[str(article)], meta=[{"name": "Paris"}])
    store = indexing.get_node("DocumentStore")
    passages = store.get_all_documents()
    assert sorted(len(p.content.split()) for p in passages) == [40, 100, 100]
    assert {p.meta.get("name") for p in passages} == {"Paris"}
