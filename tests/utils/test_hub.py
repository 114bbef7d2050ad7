"""Telling hub ids from local paths, which pipeline parameters name models, and going offline when the hub cannot
be reached (a real closed or listening port on the loopback stands for the hub)."""
import os
import socket

import pytest

from dpr_components.utils import hub
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


@pytest.fixture
def hub_at(monkeypatch):
    """Point huggingface_hub at an endpoint (online mode, reachability not yet known); restored afterwards."""
    from huggingface_hub import constants

    def point(endpoint):
        monkeypatch.setattr(constants, "ENDPOINT", endpoint)
        monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
        monkeypatch.setattr(hub, "_hub_reachable", None)
        monkeypatch.setattr(hub, "switched_offline", False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        for proxy in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
            monkeypatch.delenv(proxy, raising=False)
        return constants

    return point


def test_an_unreachable_hub_switches_to_offline_mode_for_an_uncached_model(hub_at):
    constants = hub_at("http://127.0.0.1:9")  # the discard port: nothing listens, the connection is refused
    assert not hub.hub_reachable(timeout_s=1.0)
    assert hub.go_offline_if_unreachable(["org/not-cached-model"])
    assert constants.HF_HUB_OFFLINE and os.environ["HF_HUB_OFFLINE"] == "1" and hub.switched_offline


def test_a_reachable_hub_stays_online(hub_at):
    with socket.socket() as server:  # a real listening socket on the loopback stands for the hub
        server.bind(("127.0.0.1", 0))
        server.listen()
        constants = hub_at(f"http://127.0.0.1:{server.getsockname()[1]}")
        assert hub.model_unavailable_reason("org/not-cached-model") is None  # downloadable
        assert not hub.go_offline_if_unreachable(["org/not-cached-model"])
    assert not constants.HF_HUB_OFFLINE and not hub.switched_offline
    assert not hub.go_offline_if_unreachable([])  # nothing to download: no check at all


def test_behind_a_proxy_the_hub_counts_as_reachable(hub_at, monkeypatch):
    hub_at("http://127.0.0.1:9")
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")  # the proxy decides; a direct probe would mislead
    assert hub.hub_reachable()
