"""Every endpoint of the REST API over HTTP, against a real uvicorn server and a real store."""
import concurrent.futures
import json

import requests
from rest_testing import API_KEY, ARTICLES

KEY = {"X-API-Key": API_KEY}
TIMEOUT = 60
UNIQUE = "zanzibar quokka marmalade"  # words no stored passage has


def post(url, path, **kwargs):
    return requests.post(url + path, timeout=TIMEOUT, **kwargs)


def query(url, text, params=None):
    response = post(url, "/query", json={"query": text, "params": params})
    assert response.status_code == 200, response.text
    return response.json()


def stored(url, filters=None):
    response = post(url, "/documents/get_by_filters", json={"filters": filters})
    assert response.status_code == 200, response.text
    return response.json()


def upload(url, name, text, headers=KEY, meta=None):
    data = {"meta": json.dumps(meta)} if meta is not None else None
    return post(url, "/file-upload", files=[("files", (name, text.encode("utf-8"), "text/plain"))],
                data=data, headers=headers)


def test_status_endpoints(server):
    assert requests.get(server + "/initialized", timeout=TIMEOUT).json() is True
    import haystack

    assert requests.get(server + "/hs_version", timeout=TIMEOUT).json() == {"hs_version": haystack.__version__}
    health = requests.get(server + "/health", timeout=TIMEOUT).json()
    assert health["version"] == haystack.__version__ and "used" in health["cpu"] and "used" in health["memory"]
    assert "swagger" in requests.get(server + "/docs", timeout=TIMEOUT).text.lower()
    paths = requests.get(server + "/openapi.json", timeout=TIMEOUT).json()["paths"]
    assert {"/query", "/query_batch", "/file-upload", "/documents/get_by_filters",
            "/documents/delete_by_filters", "/initialized", "/hs_version", "/health"} <= set(paths)


def test_query_answers_in_haystack_json(server):
    body = query(server, "what is the capital of France?")
    assert set(body) == {"query", "answers", "documents"} and body["query"] == "what is the capital of France?"
    assert body["documents"] and body["answers"]
    for document in body["documents"]:
        assert {"id", "content", "content_type", "meta", "score", "id_hash_keys"} <= set(document)
        assert "embedding" not in document and document["content_type"] == "text"
        assert document["meta"]["name"] in ARTICLES
    contents = {d["id"]: d["content"] for d in body["documents"]}
    for answer in body["answers"]:
        assert {"answer", "type", "score", "context", "offsets_in_document", "document_ids"} <= set(answer)
        assert answer["type"] == "extractive" and answer["document_ids"][0] in contents
        start, end = answer["offsets_in_document"][0]["start"], answer["offsets_in_document"][0]["end"]
        assert contents[answer["document_ids"][0]][start:end] == answer["answer"]


def test_query_params_reach_the_nodes(server):
    assert len(query(server, "capital of Germany", {"Reader": {"top_k": 2}})["answers"]) == 2
    berlin = query(server, "capital city", {"filters": {"name": ["Berlin"]}})["documents"]
    assert berlin and {d["meta"]["name"] for d in berlin} == {"Berlin"}
    few = query(server, "capital city", {"Fusion": {"top_k_join": 3}})["documents"]
    assert len(few) == 3


def test_batch_endpoint_equals_single_queries(server):
    questions = ["capital of Germany", "river Thames", "largest city of France"]
    response = post(server, "/query_batch", json={"queries": questions})
    assert response.status_code == 200, response.text
    batch = response.json()
    assert [result["query"] for result in batch] == questions
    for question, result in zip(questions, batch):
        single = query(server, question)
        assert [d["id"] for d in result["documents"]] == [d["id"] for d in single["documents"]]
        assert [a["answer"] for a in result["answers"]] == [a["answer"] for a in single["answers"]]


def test_get_by_filters(server):
    paris = stored(server, {"name": ["Paris"]})
    assert len(paris) == -(-len(ARTICLES["Paris"].split()) // 100)  # ceil(words / 100) passages
    assert all(d["meta"]["name"] == "Paris" and "embedding" not in d for d in paris)
    assert stored(server, {"name": ["Atlantis"]}) == []
    first = stored(server, {"name": "Paris", "_split_id": 0})  # a number stays a number
    assert [d["id"] for d in first] == ["Paris-0"]
    assert len(stored(server, {"name": ["Paris"], "_split_id": {"$lte": 1}})) == 2
    assert {d["meta"]["name"] for d in stored(server)} >= set(ARTICLES)


def test_upload_then_query_finds_it_and_delete_removes_it(server):
    response = upload(server, "quokka.txt", f"The {UNIQUE} festival is held every spring. " * 3,
                      meta={"source": "upload-test"})
    assert response.status_code == 200, response.text
    assert response.json()["passages_written"] == 1
    new = stored(server, {"name": ["quokka"]})
    assert len(new) == 1 and new[0]["meta"]["source"] == "upload-test"
    assert new[0]["id"] in [d["id"] for d in query(server, UNIQUE)["documents"]]

    response = post(server, "/documents/delete_by_filters", json={"filters": {"name": ["quokka"]}}, headers=KEY)
    assert response.status_code == 200 and response.json() is True
    assert stored(server, {"name": ["quokka"]}) == []
    assert new[0]["id"] not in [d["id"] for d in query(server, UNIQUE)["documents"]]


def test_parallel_queries_during_an_upload_see_all_or_nothing(server, service):
    words = " ".join(f"{UNIQUE} platypus{i}" for i in range(150))  # 600 words: 6 passages
    before = stored(server)

    def ask(_):
        return query(server, f"{UNIQUE} platypus")

    with concurrent.futures.ThreadPoolExecutor(max_workers=21) as pool:
        queries = [pool.submit(ask, i) for i in range(20)]
        uploaded = pool.submit(upload, server, "platypus.txt", words)
        results = [future.result(timeout=TIMEOUT) for future in queries]
        assert uploaded.result(timeout=TIMEOUT).status_code == 200
    new_ids = {d["id"] for d in stored(server, {"name": ["platypus"]})}
    assert len(new_ids) == 6 and len(stored(server)) == len(before) + 6
    for result in results:  # a query ran wholly before or wholly after the write
        seen = {d["id"] for d in result["documents"]} & new_ids
        assert seen in (set(), new_ids), f"saw {len(seen)} of {len(new_ids)} new passages"
    post(server, "/documents/delete_by_filters", json={"filters": {"name": ["platypus"]}}, headers=KEY)
    assert stored(server, {"name": ["platypus"]}) == []


def test_concurrent_queries_share_a_pipeline_pass(server, service):
    """Queries queued while a write holds the store run together once it is released."""
    batches_before = service.batcher.stats.batches
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        with service.lock.writing():
            futures = [pool.submit(query, server, f"capital of Germany {i}") for i in range(8)]
            for _ in range(2000):  # bounded wait until the batcher holds or queues all 8
                if service.batcher.stats.queries + service.batcher.waiting >= 8 or all(f.done() for f in futures):
                    break
                concurrent.futures.wait(futures, timeout=0.01)
        results = [future.result(timeout=TIMEOUT) for future in futures]
    assert all(result["documents"] for result in results)
    assert service.batcher.stats.batches - batches_before < 8
    assert service.batcher.stats.largest_batch >= 2
