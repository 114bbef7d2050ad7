"""Issue 29: a client's mistake is a 4xx naming it, raised before the pipeline runs; our own 500s keep the
connection usable; the API key is checked before a large body is read."""
import json
import socket

import pytest
import requests
from rest_testing import KEY, TIMEOUT, error_of, http_request, post, raw_exchange, raw_json, running_server, stored

SURROGATE = '"\\ud800"'  # JSON text of a lone surrogate: valid JSON, not valid Unicode
MANY_TERMS = {"$or": [{"name": f"n{i}"} for i in range(600)]}


def nested(depth):
    filters = {"name": "Paris"}
    for level in range(depth):
        filters = {"$and" if level % 2 else "$or": [filters, {"_split_id": {"$gte": 0}}]}
    return filters


BAD_QUERIES = {
    "unknown operator in global filters": {"query": "x", "params": {"filters": {"name": {"$regex": "P"}}}},
    "unknown operator in node filters": {"query": "x", "params": {"Retriever": {"filters": {"$nope": []}}}},
    "list as filters": {"query": "x", "params": {"BM25": {"filters": ["name"]}}},
    "a list value under $eq": {"query": "x", "params": {"filters": {"name": {"$eq": ["a", "b"]}}}},
    "integer over 64 bits in filters": {"query": "x", "params": {"filters": {"year": 2 ** 70}}},
    "debug not a boolean": {"query": "x", "params": {"debug": "yes"}},
}


def test_each_bad_query_is_a_4xx_and_the_connection_stays_usable(server):
    with requests.Session() as session:
        for name, body in BAD_QUERIES.items():
            response = post(server, "/query", session=session, json=body)
            assert 400 <= response.status_code < 500, f"{name}: {response.status_code} {response.text}"
            error_of(response, response.status_code)
            assert post(server, "/query", session=session, json={"query": "capital"}).status_code == 200, name


@pytest.mark.parametrize("body", [
    '{"query": ' + SURROGATE + '}',
    '{"query": "ok", "params": {"filters": {"name": ' + SURROGATE + '}}}',
    '{"filters": {"name": [' + SURROGATE + ']}}',
])
def test_lone_surrogates_in_json_are_refused(server, body):
    path = "/documents/get_by_filters" if body.startswith('{"filters"') else "/query"
    assert "surrogate" in error_of(post(server, path, **raw_json(body)), 422)


def test_bad_text_in_uploads_is_refused_before_indexing(server):
    from rest_testing import upload

    before = len(stored(server))
    line = '{"id": "s1", "title": "t", "text": "bad ' + "\\udc80" + ' text"}\n'
    assert "surrogate" in error_of(upload(server, "s.jsonl", line), 422)
    assert "surrogate" in error_of(upload(server, "m.txt", "fine text", meta='{"who": ' + SURROGATE + "}"), 422)
    assert "64-bit" in error_of(upload(server, "m.txt", "fine text", meta=json.dumps({"n": 2 ** 64})), 422)
    message = error_of(upload(server, "x" * 300 + ".txt", "fine text"), 422)
    assert "255" in message
    assert len(stored(server)) == before


@pytest.mark.parametrize("filters", [MANY_TERMS, nested(13), nested(40)])
def test_filters_past_sqlite_limits_are_not_a_server_error(server, filters):
    with requests.Session() as session:
        for path, body in (("/query", {"query": "capital", "params": {"filters": filters}}),
                           ("/documents/get_by_filters", {"filters": filters})):
            response = post(server, path, session=session, json=body)
            assert response.status_code == 200 or 400 <= response.status_code < 500, response.text
            if response.status_code != 200:
                error_of(response, response.status_code)
            assert post(server, "/query", session=session, json={"query": "capital"}).status_code == 200


def test_one_bad_question_does_not_fail_the_batch(server):
    body = '{"queries": ["capital of France", ' + SURROGATE + ', "", 7, "river Thames"]}'
    response = post(server, "/query_batch", **raw_json(body))
    assert response.status_code == 200, response.text
    results = response.json()
    assert [r.get("query") for r in results] == ["capital of France", None, None, None, "river Thames"]
    assert results[0]["documents"] and results[4]["documents"]
    for bad in results[1:4]:
        assert list(bad) == ["errors"] and len(bad["errors"]) == 1
    assert "surrogate" in results[1]["errors"][0] and "queries[3]" in results[3]["errors"][0]


FAILING_NODE_YAML = """
version: ignore
components:
  - name: DocumentStore
    type: HybridDocumentStore
    params: {path: STORE}
  - name: BM25
    type: BM25Retriever
    params: {document_store: DocumentStore, top_k: 3}
  - name: Buggy
    type: BuggyTestNode
pipelines:
  - name: query
    nodes:
      - {name: BM25, inputs: [Query]}
      - {name: Buggy, inputs: [BM25]}
"""


def _buggy_node_class():
    from haystack.nodes.base import BaseComponent

    class BuggyTestNode(BaseComponent):
        """A node with a bug: any query with 'boom' in it raises (what a 500 is for)."""

        outgoing_edges = 1

        def run(self, query, documents):  # type: ignore[override]
            if "boom" in query:
                raise KeyError("a bug in a node")
            return {"documents": documents}, "output_1"

        def run_batch(self, queries, documents):  # type: ignore[override]
            if any("boom" in query for query in queries):
                raise KeyError("a bug in a node")
            return {"documents": documents}, "output_1"

    return BuggyTestNode


def test_a_server_error_keeps_the_keep_alive_connection_usable(store_copy, tmp_path):
    from dpr_components.serving import ServeSettings

    _buggy_node_class()
    yaml_path = tmp_path / "buggy.yml"
    yaml_path.write_text(FAILING_NODE_YAML.replace("STORE", str(store_copy)), encoding="utf-8")
    with running_server(ServeSettings(pipeline=str(yaml_path), read_only=True)) as (url, _):
        bad = http_request(url, "POST", "/query", b'{"query": "boom"}', {"Content-Type": "application/json"})
        good = http_request(url, "POST", "/query", b'{"query": "capital"}', {"Content-Type": "application/json"})
        answers = raw_exchange(url, [bad, good] * 5)
        assert answers == ["HTTP/1.1 500 Internal Server Error", "HTTP/1.1 200 OK"] * 5
        message = error_of(post(url, "/query", json={"query": "boom"}), 500)
        assert "KeyError" in message and "server log" in message


def test_the_api_key_is_checked_before_the_body_is_read(server):
    host, port = server.rsplit("//", 1)[1].split(":")
    head = (f"POST /file-upload HTTP/1.1\r\nHost: {host}\r\nContent-Length: 60000\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\n\r\n").encode()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall(head + b"--b\r\n" + b"x" * 100)  # the rest of the 60 kB never comes
        try:
            status = connection.makefile("rb").readline().decode()
        except TimeoutError:
            status = "no answer: the server waited for the whole body"
    assert status.startswith("HTTP/1.1 401"), status
    assert requests.get(server + "/initialized", timeout=TIMEOUT).json() is True


def test_the_key_is_checked_for_every_write_and_reads_stay_open(server):
    assert "X-API-Key" in error_of(post(server, "/feedback", json={}), 401)
    assert "X-API-Key" in error_of(requests.delete(server + "/feedback", timeout=TIMEOUT), 401)
    assert requests.get(server + "/feedback", timeout=TIMEOUT).status_code == 200
    assert post(server, "/documents/delete_by_filters", headers=KEY, json={"filters": {"name": ["none"]}}).ok
