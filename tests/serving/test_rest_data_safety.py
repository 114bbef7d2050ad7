"""Issue 29: no request that looks harmless deletes, overwrites or poisons data behind a 200."""
import json

import pytest
import requests
from rest_testing import ARTICLES, KEY, error_of, post, raw_json, stored, upload

MALFORMED_DELETES = [
    "[]",                                   # not an object
    '{"filters": []}',                      # a list where the filter object belongs
    '{"$not": {}}',                         # a filter without the "filters" wrapper
    '{"name": ["Alaska"]}',                 # ditto
    '{"filters": {"name": ["Paris"]}, "extra": 1}',   # unknown key beside a good filter
    '{"filters": "Paris"}',                 # not an object
    '{"filters": {"name": {"$regex": "P"}}}',         # unknown operator
]


@pytest.mark.parametrize("body", MALFORMED_DELETES)
def test_malformed_delete_bodies_are_refused_and_delete_nothing(server, body):
    before = len(stored(server))
    message = error_of(post(server, "/documents/delete_by_filters", **raw_json(body, KEY)), 422)
    assert message
    assert len(stored(server)) == before


def test_delete_all_keeps_haystack_meaning_and_every_delete_reports_its_count(private_server):
    url, _ = private_server
    total, paris = len(stored(url)), len(stored(url, {"name": ["Paris"]}))
    response = post(url, "/documents/delete_by_filters", headers=KEY, json={"filters": {"name": ["Paris"]}})
    assert response.status_code == 200 and response.json() is True  # Haystack's body
    assert response.headers["X-Documents-Deleted"] == str(paris) and paris > 0
    assert len(stored(url)) == total - paris
    response = post(url, "/documents/delete_by_filters", headers=KEY, json={"filters": {"name": ["Atlantis"]}})
    assert response.headers["X-Documents-Deleted"] == "0"
    response = post(url, "/documents/delete_by_filters", headers=KEY, json={"filters": {}})
    assert response.status_code == 200 and response.headers["X-Documents-Deleted"] == str(total - paris)
    assert stored(url) == []
    upload(url, "a.txt", "some words to delete again")
    response = post(url, "/documents/delete_by_filters", headers=KEY, json={"filters": None})
    assert response.status_code == 200 and response.headers["X-Documents-Deleted"] == "1"
    assert stored(url) == []


@pytest.mark.parametrize("meta", ['{"x": NaN}', '{"x": Infinity}', '{"x": [1, -Infinity]}', '{"x": {"y": NaN}}'])
def test_non_finite_meta_is_refused_at_the_door_and_queries_keep_working(server, meta):
    before = len(stored(server))
    message = error_of(upload(server, "nan.txt", "words about numbers", meta=meta), 422)
    assert "meta" in message and "finite" in message
    assert len(stored(server)) == before
    assert post(server, "/query", json={"query": "capital of France"}).status_code == 200


def test_non_finite_numbers_in_json_bodies_are_refused(server):
    message = error_of(post(server, "/documents/get_by_filters", **raw_json('{"filters": {"x": NaN}}')), 422)
    assert "finite" in message
    message = error_of(post(server, "/query", **raw_json('{"query": "x", "params": {"filters": {"y": Infinity}}}')),
                       422)
    assert "finite" in message


def test_an_upload_whose_id_is_stored_replaces_that_document_and_says_so(private_server):
    url, _ = private_server
    old = stored(url, {"source_id": ["Paris"]})
    assert len(old) > 1
    line = json.dumps({"id": "Paris", "title": "Paris", "text": "Paris has a new short text now."})
    response = upload(url, "paris.jsonl", line + "\n")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["duplicate_documents"] == "overwrite"  # the store's policy
    assert body["documents_replaced"] == 1 and body["passages_replaced"] == len(old)
    assert body["passages_written"] == 1
    now = stored(url, {"source_id": ["Paris"]})
    assert [d["content"] for d in now] == ["Paris has a new short text now."]  # no mix of old and new passages


def test_two_uploads_with_one_name_never_mix(private_server):
    url, _ = private_server
    long_text = " ".join(f"first{i}" for i in range(250))  # 3 passages
    assert upload(url, "notes.txt", long_text).json()["passages_written"] == 3
    body = upload(url, "notes.txt", "second version of the notes").json()
    assert body["documents_replaced"] == 1 and body["passages_replaced"] == 3 and body["passages_written"] == 1
    assert [d["content"] for d in stored(url, {"source_id": ["notes.txt"]})] == ["second version of the notes"]


@pytest.mark.parametrize("policy, status", [("skip", 200), ("fail", 409)])
def test_uploads_follow_the_duplicate_policy_asked_for(private_server, policy, status):
    url, _ = private_server
    assert upload(url, "notes.txt", "the first notes").status_code == 200
    response = upload(url, "notes.txt", "the second notes", duplicate_documents=policy)
    assert response.status_code == status, response.text
    if policy == "skip":
        assert response.json()["documents_skipped"] == 1 and response.json()["passages_written"] == 0
    else:
        assert "notes.txt" in error_of(response, 409)
    assert [d["content"] for d in stored(url, {"source_id": ["notes.txt"]})] == ["the first notes"]
    assert "overwrite" in error_of(upload(url, "n.txt", "x", duplicate_documents="replace"), 422)


def test_one_upload_naming_two_files_alike_is_refused(server):
    files = [("files", ("twin.txt", b"one twin", "text/plain")), ("files", ("twin.txt", b"other twin", "text/plain"))]
    assert "twin.txt" in error_of(post(server, "/file-upload", files=files, headers=KEY), 422)
    assert stored(server, {"source_id": ["twin.txt"]}) == []


def test_debug_of_one_client_does_not_leak_into_later_queries(server):
    def ask(body):
        response = post(server, "/query", json={"query": "capital of France", **body})
        assert response.status_code == 200, response.text
        return response.json()

    assert "_debug" in ask({"debug": True})
    assert "_debug" not in ask({})
    assert "Reader" in ask({"params": {"debug": True}})["_debug"]  # Haystack's global form
    assert "_debug" not in ask({})
    per_node = ask({"params": {"Reader": {"debug": True}}})["_debug"]  # and its per-node form
    assert set(per_node) == {"Reader"}
    assert "_debug" not in ask({})
    with requests.Session() as other_client:
        assert "_debug" not in post(server, "/query", session=other_client, json={"query": "Berlin"}).json()
    assert {d["meta"]["name"] for d in ask({"params": {"Fusion": {"top_k_join": 50}}})["documents"]} <= set(ARTICLES)
