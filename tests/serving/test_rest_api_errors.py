"""Bad requests get the right status and a clear JSON message, and leave the store as it was."""
import concurrent.futures
import json

import pytest
import requests
from rest_testing import API_KEY

TIMEOUT = 60


def post(url, path, **kwargs):
    return requests.post(url + path, timeout=TIMEOUT, **kwargs)


def error_of(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert list(body) == ["errors"] and body["errors"] and isinstance(body["errors"][0], str)
    assert "Traceback" not in response.text
    return body["errors"][0]


@pytest.fixture
def count(server):
    def passages():
        return len(post(server, "/documents/get_by_filters", json={"filters": None}).json())
    return passages


def test_malformed_json(server):
    response = post(server, "/query", data=b'{"query": "capital', headers={"Content-Type": "application/json"})
    assert "not valid JSON" in error_of(response, 422)


def test_unknown_request_field_and_empty_query(server):
    assert "unknown field 'top_k'" in error_of(post(server, "/query", json={"query": "x", "top_k": 3}), 422)
    assert "query" in error_of(post(server, "/query", json={"query": ""}), 422)
    assert "query" in error_of(post(server, "/query", json={}), 422)


def test_unknown_node_or_parameter_names_the_valid_ones(server):
    message = error_of(post(server, "/query", json={"query": "x", "params": {"Retriver": {"top_k": 3}}}), 422)
    assert "'Retriver'" in message and "Retriever: " in message and "Reader: " in message
    message = error_of(post(server, "/query", json={"query": "x", "params": {"Retriever": {"top_n": 3}}}), 422)
    assert "'top_n'" in message and "top_k" in message and "filters" in message
    message = error_of(post(server, "/query", json={"query": "x", "params": {"Retriever": {"index": "other"}}}), 422)
    assert "'index'" in message  # data-carrying parameters are not settable from a request
    message = error_of(post(server, "/query", json={"query": "x", "params": {"Reader": {"top_k": 10**9}}}), 422)
    assert "from 1 to 1000" in message


def test_oversized_body_is_refused_and_nothing_is_stored(server, count):
    before = count()
    big = ("word " * 20_000).encode()  # 100 kB, over the fixture's 64 kB limit
    response = post(server, "/file-upload", files=[("files", ("big.txt", big, "text/plain"))],
                    headers={"X-API-Key": API_KEY})
    assert "limit of 65536 bytes" in error_of(response, 413)
    assert count() == before


def test_writes_need_the_api_key_and_leave_the_store_unchanged(server, count):
    before = count()
    files = [("files", ("sneaky.txt", b"sneaky words", "text/plain"))]
    assert "API key" in error_of(post(server, "/file-upload", files=files), 401)
    assert "Wrong API key" in error_of(post(server, "/file-upload", files=files, headers={"X-API-Key": "nope"}), 401)
    message = error_of(post(server, "/documents/delete_by_filters", json={"filters": None}), 401)
    assert "X-API-Key" in message
    assert count() == before
    ok = post(server, "/documents/delete_by_filters", json={"filters": {"name": ["nothing-like-this"]}},
              headers={"Authorization": f"Bearer {API_KEY}"})
    assert ok.status_code == 200 and count() == before


def test_bad_uploads(server, count):
    before = count()
    key = {"X-API-Key": API_KEY}
    message = error_of(post(server, "/file-upload", files=[("files", ("../../etc/passwd", b"x", "text/plain"))],
                            headers=key), 422)
    assert "extensions" in message
    message = error_of(post(server, "/file-upload", files=[("files", ("bad.jsonl", b'{"text": "ok"}\n{oops\n',
                                                                      "application/jsonl"))], headers=key), 422)
    assert "'bad.jsonl' line 2 is not valid JSON" in message
    message = error_of(post(server, "/file-upload", files=[("files", ("a.txt", b"words", "text/plain"))],
                            data={"meta": "[1, 2]"}, headers=key), 422)
    assert "meta" in message
    assert count() == before


def test_jsonl_upload_and_unknown_path(server):
    key = {"X-API-Key": API_KEY}
    lines = "\n".join(json.dumps({"id": f"w{i}", "title": "Wombat", "text": f"wombat burrow number {i}"})
                      for i in range(3))
    response = post(server, "/file-upload", files=[("files", ("w.jsonl", lines.encode(), "application/jsonl"))],
                    headers=key)
    assert response.status_code == 200 and response.json()["documents"] == 3
    assert len(post(server, "/documents/get_by_filters", json={"filters": {"name": ["Wombat"]}}).json()) == 3
    post(server, "/documents/delete_by_filters", json={"filters": {"name": ["Wombat"]}}, headers=key)
    assert "Not Found" in error_of(requests.get(server + "/nothing-here", timeout=TIMEOUT), 404)


def test_full_queue_answers_503_with_retry_after(tmp_path, store_dir):
    """A second server, one query at a time and room for one waiting: the third concurrent query is refused."""
    from dpr_components.serving import ServeSettings, create_app, load_service
    from dpr_components.serving.server import background_server

    service = load_service(ServeSettings(pipeline="bm25_retrieval", store=str(store_dir), read_only=True,
                                         max_batch_size=1, max_queue=1, batch_window_ms=0))
    with background_server(create_app(service)) as url, concurrent.futures.ThreadPoolExecutor(2) as pool:
        with service.lock.writing():  # the worker blocks on its first query; the next one fills the queue
            # One after the other: sent together, the second can reach the one-place queue before the worker
            # has taken the first, and is then (rightly) refused.
            held = []
            for i, ready in enumerate((lambda: service.batcher.stats.queries == 1,
                                       lambda: service.batcher.waiting == 1)):
                held.append(pool.submit(post, url, "/query", json={"query": f"capital {i}"}))
                for _ in range(6000):  # bounded (about 60 s): the machine may be busy
                    if ready():
                        break
                    concurrent.futures.wait(held, timeout=0.01)
            assert (service.batcher.stats.queries, service.batcher.waiting) == (1, 1), "queue did not fill"
            refused = post(url, "/query", json={"query": "capital"})
            # Haystack's wording: its UI looks for it
            assert "The server is busy processing requests" in error_of(refused, 503)
            assert refused.headers["Retry-After"] == "1"
        assert [future.result(timeout=TIMEOUT).status_code for future in held] == [200, 200]
        message = error_of(post(url, "/documents/delete_by_filters", json={"filters": None}), 501)
        assert "read-only" in message
