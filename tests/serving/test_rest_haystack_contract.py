"""Issue 29: Haystack 1.x rest_api's contract -- feedback endpoints, file-upload with converters, debug params,
its 503 wording, TestClient without a ``with`` block, uploads that do not hold queries out."""
import concurrent.futures
import shutil
import threading

import pytest
import requests
from rest_testing import KEY, TIMEOUT, error_of, post, running_server, stored, upload

CONTEXT = "The Eiffel Tower was designed by the engineer Gustave Eiffel and opened in 1889 in Paris."


def feedback(**changes):
    """A label as Haystack's UI posts it (``CreateLabelSerialized``)."""
    start = CONTEXT.index("Gustave Eiffel")
    label = {
        "id": "label-1", "query": "Who designed the Eiffel Tower?",
        "document": {"content": CONTEXT, "content_type": "text", "id": "doc-eiffel", "meta": {"name": "Eiffel"}},
        "answer": {"answer": "Gustave Eiffel", "type": "extractive", "context": CONTEXT,
                   "offsets_in_context": [{"start": start, "end": start + 14}],
                   "offsets_in_document": [{"start": start, "end": start + 14}], "document_ids": ["doc-eiffel"]},
        "is_correct_answer": True, "is_correct_document": True, "origin": "user-feedback", "pipeline_id": "p-1",
    }
    return {**label, **changes}


def test_feedback_endpoints_store_labels_in_the_store(private_server):
    from haystack.schema import Label

    url, service = private_server
    assert requests.get(url + "/feedback", timeout=TIMEOUT).json() == []
    assert post(url, "/feedback", json=feedback(), headers=KEY).status_code == 200
    without_id = {k: v for k, v in feedback(is_correct_answer=False, is_correct_document=False).items() if k != "id"}
    assert post(url, "/feedback", json=without_id, headers=KEY).status_code == 200
    gold = feedback(id="gold-1", origin="gold-label")
    assert post(url, "/feedback", json=gold, headers=KEY).status_code == 200
    labels = {label["id"]: label for label in requests.get(url + "/feedback", timeout=TIMEOUT).json()}
    assert len(labels) == 3 and Label.from_dict(labels["label-1"]) == Label.from_dict(feedback())
    assert labels["gold-1"]["origin"] == "gold-label"  # the third got an id of its own: the client sent none
    assert service.pipelines.store.get_label_count() == 3  # in the store, next to the documents

    unexpected = post(url, "/feedback", json=feedback(unexpected_field="x"), headers=KEY)
    assert "unexpected_field" in error_of(unexpected, 422)
    assert "origin" in error_of(post(url, "/feedback", json=feedback(origin="robot"), headers=KEY), 422)

    metrics = post(url, "/eval-feedback", json={"filters": None}).json()
    assert metrics == {"answer_accuracy": 0.5, "document_accuracy": 0.5, "n_feedback": 2}
    only = post(url, "/eval-feedback", json={"filters": {"pipeline_id": ["p-1"]}}).json()
    assert only["n_feedback"] == 2
    assert post(url, "/eval-feedback", json={"filters": {"pipeline_id": ["other"]}}).json()["n_feedback"] == 0

    for query in ("full_document_context=true", "full_document_context=false&context_size=30",
                  "full_document_context=false&context_size=50000", "only_positive_labels=true"):
        export = requests.get(f"{url}/export-feedback?{query}", timeout=TIMEOUT).json()
        positive = [p for item in export["data"] for p in item["paragraphs"] if not p["qas"][0]["is_impossible"]]
        assert len(positive) == 1, query
        answer = positive[0]["qas"][0]["answers"][0]
        assert positive[0]["context"][answer["answer_start"]:][:len(answer["text"])] == "Gustave Eiffel"
    assert len(requests.get(f"{url}/export-feedback", timeout=TIMEOUT).json()["data"]) == 2  # one impossible

    deleted = requests.delete(url + "/feedback", headers=KEY, timeout=TIMEOUT)
    assert deleted.status_code == 200 and deleted.headers["X-Labels-Deleted"] == "2"
    assert [label["id"] for label in requests.get(url + "/feedback", timeout=TIMEOUT).json()] == ["gold-1"]


CONVERTER_YAML = """
version: ignore
components:
  - name: DocumentStore
    type: HybridDocumentStore
    params: {path: STORE}
  - name: BM25
    type: BM25Retriever
    params: {document_store: DocumentStore, top_k: 5}
  - name: FileTypeClassifier
    type: FileTypeClassifier
  - name: TextFileConverter
    type: TextConverter
  - name: PDFFileConverter
    type: PDFToTextConverter
  - name: Splitter
    type: DPRPassageSplitter
pipelines:
  - name: query
    nodes:
      - {name: BM25, inputs: [Query]}
  - name: indexing
    nodes:
      - {name: FileTypeClassifier, inputs: [File]}
      - {name: TextFileConverter, inputs: [FileTypeClassifier.output_1]}
      - {name: PDFFileConverter, inputs: [FileTypeClassifier.output_2]}
      - {name: Splitter, inputs: [PDFFileConverter, TextFileConverter]}
      - {name: DocumentStore, inputs: [Splitter]}
"""


def tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` (built by hand: offsets of each object in the cross-reference table)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    pdf, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(pdf))
        pdf += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(pdf)
    pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    pdf += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    return pdf + b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)


@pytest.fixture
def converter_server(store_copy, tmp_path, monkeypatch):
    if shutil.which("pdftotext") is None:
        pytest.skip("Haystack's PDFToTextConverter needs pdftotext (Debian: apt-get install poppler-utils)")
    from dpr_components.serving import ServeSettings

    yaml_path = tmp_path / "converters.yml"
    yaml_path.write_text(CONVERTER_YAML.replace("STORE", str(store_copy)), encoding="utf-8")
    monkeypatch.setenv("FILE_UPLOAD_PATH", str(tmp_path / "kept"))
    settings = ServeSettings.from_environment(pipeline=str(yaml_path), query_pipeline_name="query")
    with running_server(settings) as (url, _):
        yield url, tmp_path / "kept"


def test_file_upload_runs_converter_pipelines_with_file_paths(converter_server):
    url, kept = converter_server
    response = upload(url, "okapi.txt", "The okapi lives in the rainforest of the Congo.", meta={"source": "t"})
    assert response.status_code == 200, response.text
    documents = stored(url, {"name": ["okapi.txt"]})  # Haystack's converters name a file's documents after it
    assert [d["content"] for d in documents] == ["The okapi lives in the rainforest of the Congo."]
    assert documents[0]["meta"]["source"] == "t"
    pdf = post(url, "/file-upload", files=[("files", ("quokka.pdf", tiny_pdf("Quokkas live on Rottnest Island"),
                                                    "application/pdf"))], params={"keep_files": "true"})
    assert pdf.status_code == 200, pdf.text
    assert "Rottnest" in stored(url, {"name": ["quokka.pdf"]})[0]["content"]
    assert [path.name.endswith("_quokka.pdf") for path in kept.iterdir()] == [True]  # kept as asked, else removed
    top = post(url, "/query", json={"query": "where do quokkas live"}).json()["documents"][0]
    assert top["meta"]["name"] == "quokka.pdf"


def test_test_client_without_a_with_block_answers_queries(service):
    from fastapi.testclient import TestClient

    from dpr_components.serving import create_app

    client = TestClient(create_app(service))  # Haystack's own test fixture does this: no start-up events
    answers = []
    asking = threading.Thread(target=lambda: answers.append(client.post("/query", json={"query": "capital"})),
                              daemon=True)  # a daemon: a server that never answers must not hang the tests
    asking.start()
    asking.join(TIMEOUT)
    assert answers, "no answer: the query waits for a batcher nobody started"
    assert answers[0].status_code == 200 and answers[0].json()["documents"]


def test_a_large_upload_lets_readers_in_between_its_batches(store_copy, settings_for):
    words = " ".join(f"wombat{i % 97} burrow{i}" for i in range(20_000))  # 40,000 words: 400 passages
    with running_server(settings_for(store_copy, max_body_bytes=2 * 1024 * 1024)) as (url, service):
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            uploading = pool.submit(upload, url, "wombats.txt", words)
            seen = []
            while not uploading.done() and len(seen) < 10_000:  # bounded
                seen.append(len(stored(url, {"source_id": ["wombats.txt"]})))
            assert uploading.result(timeout=600).status_code == 200
    partial = [n for n in seen if 0 < n < 400]
    assert partial, f"readers saw only {sorted(set(seen))} of the upload's 400 passages"
    assert seen == sorted(seen)  # passages only ever appear, batch after batch
