"""The Workspace: one store opened once, its recorded settings given to every pipeline it builds with the one
builder (no Haystack privates), components shared between pipelines, writers building their indexes."""
import functools
import json

import pytest
from haystack import Document, Pipeline

from dpr_components.cli.main import main
from dpr_components.errors import ConfigurationError, StoreError
from dpr_components.pipelines import read_pipeline_config
from dpr_components.stores import hybrid_document_store
from dpr_components.workspace import Workspace

ARTICLES = [
    {"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20 + "France exports wine. " * 10},
    {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20 + "Germany makes cars. " * 10},
]


@pytest.fixture(scope="module")
def store(tiny_store):
    return tiny_store(ARTICLES)


@pytest.fixture
def no_private_loader(monkeypatch):
    """Haystack's private component loader must not be used (the REST layer's _build_sharing used it)."""
    monkeypatch.setattr(Pipeline, "_load_or_get_component",
                        classmethod(lambda *a, **k: pytest.fail("Pipeline._load_or_get_component was called")))


@pytest.fixture
def opens(monkeypatch):
    """Records every HybridDocumentStore opened (each runs SQLite's integrity check over the whole file)."""
    opened = []
    original = hybrid_document_store.HybridDocumentStore.__init__

    @functools.wraps(original)
    def counting(self, *args, **kwargs):
        opened.append(kwargs.get("path", args[0] if args else None))
        original(self, *args, **kwargs)

    monkeypatch.setattr(hybrid_document_store.HybridDocumentStore, "__init__", counting)
    return opened


def test_a_query_command_opens_its_store_once(store, opens, capsys):
    # main: twice (pipelines/store_encoder.py opened a second store just to read the recorded encoder)
    assert main(["retrieve", "capital of France", "--pipeline", "hybrid_retrieval", "--store", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["documents"][0]["title"] == "France"
    assert opens == [store]


def test_pipelines_share_the_store_object_and_identical_components(store, no_private_loader, opens):
    with Workspace(store) as workspace:
        query = workspace.query_pipeline("hybrid_retrieval")
        indexing = workspace.indexing_pipeline("indexing")
        again = workspace.query_pipeline("hybrid_retrieval")  # built again: the same objects, models loaded once
        assert query.document_store is indexing.document_store is workspace.store
        # the indexing retriever differs only in run-time knobs: its models are loaded once (_build_sharing did it)
        assert indexing.node("Retriever") is query.node("Retriever") is again.node("Retriever")
        other_k = workspace.query_pipeline("hybrid_retrieval", ["Retriever.top_k=3"])
        assert other_k.node("Retriever") is not query.node("Retriever")  # a query's top_k is not a knob to share
        assert [r["documents"][0]["title"] for r in workspace.query(["capital of Germany"], query, top_k=1)] == [
            "Germany"]
    assert opens == [store]


def test_the_recorded_encoder_fills_the_retriever_unless_the_caller_sets_it(store, tiny_question_encoder):
    config = read_pipeline_config("dense_retrieval", store=store)
    assert config.component_params()["Retriever"]["query_embedding_model"].startswith("facebook/")
    with Workspace.for_pipeline(config, read_only=True) as workspace:
        loaded = workspace.query_pipeline(config)
        assert loaded.node("Retriever").encoder_signature == workspace.encoder  # the tiny encoder, from the record
        params = loaded.config.component_params()["Retriever"]
        assert params["query_embedding_model"] == tiny_question_encoder and params["title_field"] == "name"
        with pytest.raises(Exception, match="another encoder"):  # an explicit setting wins; the store refuses it
            workspace.query(["capital"], "dense_retrieval", ["Retriever.normalize=true"])


def test_one_builder_for_names_paths_and_configs(store, tmp_path):
    path = tmp_path / "mine.yml"
    path.write_text(read_pipeline_config("bm25_retrieval").path.read_text(encoding="utf-8"), encoding="utf-8")
    with Workspace(store, read_only=True) as workspace:
        built = [workspace.query_pipeline(source) for source in
                 ("bm25_retrieval", path, read_pipeline_config(path, overrides=["BM25.top_k=1"]))]
        found = [len(workspace.query(["capital"], loaded)[0]["documents"]) for loaded in built]
        assert found[0] == found[1] > 1 and found[2] == 1
        assert workspace.pipeline(built[0]) is built[0]  # a pipeline it built passes through
        with pytest.raises(ConfigurationError, match="this workspace holds"):
            workspace.pipeline("bm25_retrieval", ["DocumentStore.path=elsewhere"])


def test_library_errors_name_parameters_and_the_cli_names_its_flags(store, capsys):
    with Workspace(store, read_only=True) as workspace:
        with pytest.raises(ConfigurationError, match="^top_k must be a positive integer") as caught:
            workspace.query(["capital"], top_k=0)
        assert "--" not in str(caught.value) and caught.value.parameter == "top_k"  # REST clients saw --top-k
        with pytest.raises(StoreError, match="read.only"):
            workspace.index([Document("text")])
    assert main(["retrieve", "capital", "--store", store, "--top-k", "0"]) == 2
    assert capsys.readouterr().err.startswith("error: --top-k must be a positive integer")


def test_writers_hold_the_write_lock_and_build_the_indexes(tmp_path, tiny_retriever_overrides):
    with Workspace(tmp_path / "s") as workspace:
        held = []
        original = workspace.store.write_documents
        workspace.store.write_documents = lambda *a, **k: held.append(workspace.lock._writer) or original(*a, **k)
        workspace.index([Document("Oslo is the capital of Norway.", id="oslo", meta={"name": "Oslo"})],
                        overrides=tiny_retriever_overrides, progress_bar=False)
        assert held == [True]
        files = {path.name for path in (tmp_path / "s").rglob("*") if path.parent.name in ("vectors", "bm25")}
        assert any(name.endswith(".faiss") for name in files) and len(files) >= 2  # FAISS and BM25, before any query


def test_long_steps_say_what_they_are_doing(store, caplog):
    # the CLI shows these INFO lines on a terminal (serve was silent for 26-39 s while models loaded)
    with caplog.at_level("INFO", logger="dpr_components.workspace"), Workspace(store, read_only=True) as workspace:
        workspace.query_pipeline("dense_retrieval")
    said = [record.getMessage() for record in caplog.records if record.name == "dpr_components.workspace"]
    assert said[0].startswith("Opening the store") and "Loading Retriever (DPRRetriever) ..." in said


def test_a_pipeline_with_its_own_store_runs_without_a_store_directory(tmp_path):
    # e.g. pipelines/elasticsearch_hybrid.yml: the workspace then keeps the YAML's store (docs/hybrid-experiments.md)
    path = tmp_path / "memory.yml"
    path.write_text("""version: 1.26.4.post0
components:
  - {name: Store, type: InMemoryDocumentStore, params: {use_bm25: true}}
  - {name: BM25, type: BM25Retriever, params: {document_store: Store, top_k: 3}}
pipelines:
  - {name: query, nodes: [{name: BM25, inputs: [Query]}]}
""", encoding="utf-8")
    config = read_pipeline_config(path)
    with Workspace.for_pipeline(config, read_only=True) as workspace:  # main's CLI did this too; keep it working
        loaded = workspace.query_pipeline(config)
        loaded.document_store.write_documents([Document("The capital of France is Paris.")])
        assert workspace.query(["capital"], loaded)[0]["documents"][0]["content"].startswith("The capital")
    assert workspace.store is None and not list(tmp_path.glob("dpr_store*"))  # no store directory was made
