"""``dpr-components serve`` as a user starts it: a Haystack-style single YAML named by PIPELINE_YAML_PATH."""
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests
import yaml

PIPELINES = Path(__file__).resolve().parents[2] / "pipelines"


def haystack_style_yaml(path: Path, store: Path) -> Path:
    """hybrid_qa.yml's components and query pipeline plus indexing.yml's Splitter and indexing pipeline."""
    query = yaml.safe_load((PIPELINES / "hybrid_qa.yml").read_text(encoding="utf-8"))
    indexing = yaml.safe_load((PIPELINES / "indexing.yml").read_text(encoding="utf-8"))
    names = {component["name"] for component in query["components"]}
    query["components"] += [c for c in indexing["components"] if c["name"] not in names]
    query["pipelines"] += indexing["pipelines"]
    for component in query["components"]:
        if component["type"] == "HybridDocumentStore":
            component["params"]["path"] = str(store)
    path.write_text(yaml.safe_dump(query), encoding="utf-8")
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_serve_from_haystack_environment_variables(tmp_path, tiny_question_encoder, tiny_context_encoder,
                                                   tiny_reader):
    port = free_port()
    environment = {
        **os.environ,
        "PIPELINE_YAML_PATH": str(haystack_style_yaml(tmp_path / "rest.yml", tmp_path / "store")),
        "QUERY_PIPELINE_NAME": "query", "INDEXING_PIPELINE_NAME": "indexing",
        "RETRIEVER_PARAMS_QUERY_EMBEDDING_MODEL": tiny_question_encoder,
        "RETRIEVER_PARAMS_PASSAGE_EMBEDDING_MODEL": tiny_context_encoder,
        "RETRIEVER_PARAMS_MAX_SEQ_LEN_PASSAGE": "128", "RETRIEVER_PARAMS_MAX_SEQ_LEN_QUERY": "32",
        "READER_PARAMS_MODEL_NAME_OR_PATH": tiny_reader, "READER_PARAMS_MAX_SEQ_LEN": "128",
        "READER_PARAMS_DOC_STRIDE": "32",
    }
    environment.pop("DPR_API_KEY", None)
    server = subprocess.Popen([sys.executable, "-m", "dpr_components", "serve", "--port", str(port)],
                              env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded: up to about 60 s to load
            if server.poll() is not None:
                raise AssertionError(f"serve exited: {server.stdout.read()}")
            try:
                if requests.get(f"{url}/initialized", timeout=1).json() is True:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        text = "The okapi lives in the rainforest of the Congo. " * 5
        response = requests.post(f"{url}/file-upload", files=[("files", ("okapi.txt", text.encode(), "text/plain"))],
                                 timeout=60)
        assert response.status_code == 200, response.text
        body = requests.post(f"{url}/query", json={"query": "where does the okapi live?"}, timeout=60).json()
        assert [d["meta"]["name"] for d in body["documents"]] == ["okapi"] and body["answers"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "store").is_dir()
