"""YAML loading, overrides and the messages for mistakes, on Haystack's own in-memory nodes (no models)."""
import textwrap

import pytest
from haystack import Document

from dpr_components.cli.errors import explain
from dpr_components.errors import ConfigurationError
from dpr_components.pipelines import (
    apply_overrides,
    load_pipeline,
    parse_assignment,
    read_pipeline_yaml,
    resolve_pipeline_path,
)
from dpr_components.pipelines.checks import check_components
from dpr_components.pipelines.files import bundled_dir

BM25_YAML = """
version: 1.26.4.post0
components:
  - name: Store
    type: InMemoryDocumentStore
    params:
      use_bm25: true
  - name: BM25
    type: BM25Retriever
    params:
      document_store: Store
      top_k: 3
pipelines:
  - name: query
    nodes:
      - name: BM25
        inputs: [Query]
"""


@pytest.fixture
def bm25_yaml(tmp_path):
    path = tmp_path / "bm25.yml"
    path.write_text(BM25_YAML, encoding="utf-8")
    return path


def write(tmp_path, text, name="pipeline.yml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_overrides_are_typed_and_ordered_file_env_param(bm25_yaml):
    config = read_pipeline_yaml(bm25_yaml)
    env = {"BM25_PARAMS_TOP_K": "7", "BM25_PARAMS_SCALE_SCORE": "false", "OTHER_PARAMS_X": "1"}
    overridden = apply_overrides(config, ["BM25.top_k=9"], environ=env)
    params = overridden["components"][1]["params"]
    assert params == {"document_store": "Store", "top_k": 9, "scale_score": False}
    assert config["components"][1]["params"]["top_k"] == 3  # the file's config is not modified


def test_loaded_pipeline_uses_the_overrides_and_runs(bm25_yaml):
    loaded = load_pipeline(bm25_yaml, overrides=["BM25.top_k=1"], environ={})
    pipeline, store = loaded.pipeline, loaded.document_store
    texts = ["Paris is the capital of France.", "Berlin is in Germany.", "Rome has seven hills.", "Oslo is cold."]
    store.write_documents([Document(text) for text in texts])
    documents = pipeline.run(query="capital of France")["documents"]
    assert [d.content for d in documents] == ["Paris is the capital of France."]


def test_parse_assignment():
    assert parse_assignment("Retriever.normalize=true") == ("Retriever", "normalize", True)
    assert parse_assignment("Fusion.weights=[1, 0.5]") == ("Fusion", "weights", [1, 0.5])
    assert parse_assignment("Retriever.query_embedding_model=a=b") == ("Retriever", "query_embedding_model", "a=b")
    with pytest.raises(ConfigurationError, match="COMPONENT.PARAM=VALUE"):
        parse_assignment("top_k=5")


def test_override_of_unknown_component_lists_components(bm25_yaml):
    with pytest.raises(ConfigurationError, match=r"no component 'BM52'.*Components: Store, BM25.*Did you mean 'BM25'"):
        apply_overrides(read_pipeline_yaml(bm25_yaml), ["BM52.top_k=2"], environ={})


def test_unknown_type_lists_close_matches_and_the_import_reminder(tmp_path):
    path = write(tmp_path, BM25_YAML.replace("type: BM25Retriever", "type: BM25Retreiver"))
    with pytest.raises(ConfigurationError, match="'BM25Retreiver'.*BM25Retriever.*import dpr_components"):
        load_pipeline(path, environ={})


def test_mistyped_parameter_suggests_the_right_one(bm25_yaml):
    with pytest.raises(ConfigurationError, match=r"'BM25' \(BM25Retriever\) has no parameter 'topk'.*'top_k'"):
        load_pipeline(bm25_yaml, overrides=["BM25.topk=3"], environ={})


def test_wrong_value_type_names_parameter_and_expected_type(bm25_yaml):
    with pytest.raises(ConfigurationError, match=r"parameter 'top_k' got 'many', expected integer"):
        load_pipeline(bm25_yaml, overrides=["BM25.top_k=many"], environ={})


def test_missing_required_parameter(tmp_path):
    path = write(tmp_path, """
        version: 1.26.4.post0
        components:
          - name: Shaper
            type: Shaper
            params: {}
        pipelines:
          - name: query
            nodes:
              - name: Shaper
                inputs: [Query]
        """)
    with pytest.raises(ConfigurationError, match=r"'Shaper' \(Shaper\) needs the parameter 'func'"):
        check_components(read_pipeline_yaml(path))


def test_safe_loading_refuses_python_objects(tmp_path):
    path = write(tmp_path, "version: !!python/object/apply:os.system ['echo pwned']\ncomponents: []\n")
    with pytest.raises(ConfigurationError, match="not valid YAML"):
        read_pipeline_yaml(path)


def test_yaml_syntax_error_gives_the_position(tmp_path):
    path = write(tmp_path, "components:\n  - name: [unclosed\n")
    with pytest.raises(ConfigurationError, match="line 3"):
        read_pipeline_yaml(path)


def test_not_a_pipeline_and_missing_file(tmp_path):
    with pytest.raises(ConfigurationError, match="not a Haystack pipeline"):
        read_pipeline_yaml(write(tmp_path, "just: a mapping\n"))
    with pytest.raises(ConfigurationError, match="bundled pipelines: .*dense_retrieval"):
        resolve_pipeline_path(tmp_path / "absent.yml")


def test_bundled_names_resolve_to_the_pipelines_folder():
    assert resolve_pipeline_path("dense_retrieval") == bundled_dir() / "dense_retrieval.yml"
    assert resolve_pipeline_path("hybrid_qa.yml") == bundled_dir() / "hybrid_qa.yml"


def test_several_pipelines_need_a_name(tmp_path):
    text = BM25_YAML + "  - name: other\n    nodes:\n      - name: BM25\n        inputs: [Query]\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError, match="choose one with pipeline_name"):  # a library error names no flag
        load_pipeline(path, environ={})
    assert load_pipeline(path, pipeline_name="other", environ={}).node("BM25") is not None


def test_store_override_needs_a_hybrid_store(bm25_yaml):
    with pytest.raises(ConfigurationError, match="store was given"):
        apply_overrides(read_pipeline_yaml(bm25_yaml), store="somewhere", environ={})


def test_explain_finds_our_message_inside_haystack_wrappers():
    from haystack.errors import PipelineConfigError

    try:
        try:
            raise ConfigurationError("Unknown Pooling 'max'. Valid values: 'cls', 'mean'.")
        except ConfigurationError as inner:
            raise PipelineConfigError("Failed loading pipeline component 'Retriever'. See the stacktrace above for "
                                      "more information.") from inner
    except PipelineConfigError as outer:
        assert explain(outer) == "Retriever: Unknown Pooling 'max'. Valid values: 'cls', 'mean'."
    assert explain(RuntimeError("a bug")) is None
