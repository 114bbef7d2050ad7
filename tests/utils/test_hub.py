"""Telling hub ids from local paths, and which pipeline parameters name models."""
from dpr_components.utils.hub import is_local, model_ids, model_unavailable_reason


def test_hub_ids_and_paths(tmp_path):
    assert not is_local("facebook/dpr-reader-single-nq-base")
    assert not is_local("bert-base-uncased")
    assert is_local("./models/reader") and is_local("/models/reader") and is_local("~/reader")
    assert is_local("models/dpr/reader")  # more than one slash: not a hub id
    (tmp_path / "org").mkdir()
    assert is_local(str(tmp_path / "org"))


def test_model_ids_of_a_pipeline(tmp_path):
    params = {
        "Retriever": {"query_embedding_model": "facebook/dpr-question_encoder-single-nq-base",
                      "passage_embedding_model": str(tmp_path), "top_k": 10},
        "Reader": {"model_name_or_path": "facebook/dpr-reader-single-nq-base"},
        "Store": {"path": "dpr_store"},
    }
    assert model_ids(params) == ["facebook/dpr-question_encoder-single-nq-base", "facebook/dpr-reader-single-nq-base"]


def test_unavailable_reasons(tmp_path, tiny_reader):
    assert model_unavailable_reason(tiny_reader) is None
    assert "not a directory" in model_unavailable_reason(str(tmp_path / "missing"))
    # tests run with HF_HUB_OFFLINE=1 (conftest): an uncached hub model cannot be had
    assert "cannot be reached" in model_unavailable_reason("facebook/dpr-reader-single-nq-base")
