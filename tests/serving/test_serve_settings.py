"""Serving settings: Haystack's environment variables, safe binding, and the serve command's refusals."""
import pytest

from dpr_components.cli.main import main
from dpr_components.serving.errors import UnsafeBindError
from dpr_components.serving.settings import ServeSettings, is_loopback


def test_haystack_environment_variables():
    settings = ServeSettings.from_environment({"PIPELINE_YAML_PATH": "/srv/my.yml", "QUERY_PIPELINE_NAME": "ask",
                                               "INDEXING_PIPELINE_NAME": "ingest", "DPR_API_KEY": "k"})
    assert (settings.pipeline, settings.query_pipeline_name, settings.indexing_pipeline_name) == \
        ("/srv/my.yml", "ask", "ingest")
    assert settings.api_key == "k"
    assert ServeSettings.from_environment({"PIPELINE_YAML_PATH": "/srv/my.yml"}, pipeline="hybrid_qa").pipeline == \
        "hybrid_qa"  # the command line wins
    assert ServeSettings.from_environment({}).pipeline == "hybrid_qa" and ServeSettings().host == "127.0.0.1"


@pytest.mark.parametrize("host, loopback", [("127.0.0.1", True), ("::1", True), ("localhost", True),
                                            ("0.0.0.0", False), ("192.168.1.10", False), ("example.org", False)])
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback


def test_network_bind_needs_a_key_or_read_only():
    with pytest.raises(UnsafeBindError, match="DPR_API_KEY"):
        ServeSettings(host="0.0.0.0").check_bind_safety()
    ServeSettings(host="0.0.0.0", api_key="k").check_bind_safety()
    ServeSettings(host="0.0.0.0", read_only=True).check_bind_safety()
    ServeSettings().check_bind_safety()


def test_serve_command_refuses_an_unsafe_bind_before_loading_anything(monkeypatch, capsys):
    monkeypatch.delenv("DPR_API_KEY", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--store", "/nonexistent/store"]) == 2
    assert "Refusing to serve on 0.0.0.0" in capsys.readouterr().err


def test_serve_command_reports_a_missing_pipeline(capsys):
    assert main(["serve", "--pipeline", "no_such_pipeline"]) == 2
    assert "no_such_pipeline" in capsys.readouterr().err
