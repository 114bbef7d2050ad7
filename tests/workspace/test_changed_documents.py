"""Issue 31.5: a document indexed again under a stored id with other text is replaced, refused or reported per
the store's duplicate policy, never skipped as "already stored" (main: "skipped N already stored", exit 0, the
old text kept); the summary says what happened to each document. The REST upload follows the same rule
(pipelines.indexing.outcomes): the same text again is left unchanged, not re-embedded."""
import json

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.stores.hybrid_document_store import HybridDocumentStore

FIRST = [{"id": "a", "title": "Oslo", "text": "Oslo is the capital of Norway. " * 40},
         {"id": "b", "title": "Rome", "text": "Rome is the capital of Italy. " * 40}]
SECOND = [FIRST[0],
          {"id": "b", "title": "Bern", "text": "Bern is the capital of Switzerland."},  # reused id, other text
          {"id": "c", "title": "Lima", "text": "Lima is the capital of Peru."}]


def write(path, articles):
    path.write_text("".join(json.dumps(a) + "\n" for a in articles), encoding="utf-8")
    return str(path)


@pytest.fixture
def index(tmp_path, tiny_retriever_overrides, capsys):
    store = tmp_path / "store"
    tiny = [arg for key, value in tiny_retriever_overrides.items() for arg in ("-p", f"{key}={value}")]

    def run(articles, *extra, status=EXIT_OK):
        argv = ["index", write(tmp_path / "corpus.jsonl", articles), "--store", str(store), *tiny, *extra]
        assert main([*argv, "--json"]) == status
        captured = capsys.readouterr()
        return json.loads(captured.out) if status == EXIT_OK else captured.err

    return store, run


def stored_texts(store):
    opened = HybridDocumentStore(path=str(store), progress_bar=False)
    try:
        return {d.id: (d.meta["name"], d.content) for d in opened.get_all_documents()}
    finally:
        opened.close()


def test_a_changed_document_replaces_its_passages(index, capsys):
    store, run = index
    assert run(FIRST)["documents_new"] == 2
    summary = run(SECOND)
    outcomes = {k: summary[f"documents_{k}"] for k in ("new", "replaced", "unchanged", "refused")}
    assert outcomes == {"new": 1, "replaced": 1, "unchanged": 1, "refused": 0}
    texts = stored_texts(store)
    assert texts["b-0"] == ("Bern", "Bern is the capital of Switzerland.")
    assert "b-1" not in texts and "b-2" not in texts  # Rome's later passages are gone with its text
    assert summary["passages_in_store"] == len(texts) == 3 + 1 + 1
    assert main(["retrieve", "Switzerland", "--pipeline", "bm25_retrieval", "--store", str(store)]) == EXIT_OK
    assert "Bern  [id b-0]" in capsys.readouterr().out
    assert run(SECOND)["documents_unchanged"] == 3  # a re-run skips what is stored unchanged


def test_policy_skip_refuses_and_says_so_policy_fail_stops(index, tmp_path, tiny_retriever_overrides, capsys):
    store, run = index
    run(FIRST)
    summary = run(SECOND, "-p", "DocumentStore.duplicate_documents=skip")
    assert (summary["documents_refused"], summary["documents_new"]) == (1, 1)
    assert stored_texts(store)["b-0"][0] == "Rome"
    tiny = [arg for key, value in tiny_retriever_overrides.items() for arg in ("-p", f"{key}={value}")]
    argv = ["index", write(tmp_path / "again.jsonl", SECOND), "--store", str(store), *tiny,
            "-p", "DocumentStore.duplicate_documents=skip"]
    assert main(argv) == EXIT_OK
    assert "1 refused: stored with other text, kept because the store's duplicate_documents is 'skip'" in (
        capsys.readouterr().out)
    error = run([SECOND[1]], "-p", "DocumentStore.duplicate_documents=fail", status=EXIT_USAGE)
    assert error.count("\n") == 1 and "stored with other text (b)" in error and "'overwrite'" in error
    assert stored_texts(store)["b-0"][0] == "Rome"


def test_rest_upload_follows_the_same_rule(tmp_path):
    pytest.importorskip("fastapi", reason='the REST API needs pip install "dpr-components[serve]"')
    from dpr_components.serving import ServeSettings, load_service

    service = load_service(ServeSettings(pipeline="bm25_retrieval", store=str(tmp_path / "s")))
    first = service.upload([("notes.txt", b"Oslo is the capital of Norway.")])
    again = service.upload([("notes.txt", b"Oslo is the capital of Norway.")])  # the same text: nothing re-embedded
    changed = service.upload([("notes.txt", b"Bern is the capital of Switzerland.")])
    assert (first["passages_written"], again["documents_unchanged"], again["passages_written"]) == (1, 1, 0)
    assert changed["documents_replaced"] == 1 and changed["passages_replaced"] == 1
    assert [d.content for d in service.pipelines.store.get_all_documents()] == ["Bern is the capital of Switzerland."]


def test_passages_stored_before_digests_are_compared_by_their_text(tmp_path, capsys):
    from haystack import Document

    from dpr_components.preprocessing.passages import DPRPassageSplitter

    store = HybridDocumentStore(path=str(tmp_path / "old"), progress_bar=False)  # as an earlier version wrote it
    store.write_documents(DPRPassageSplitter().split(
        [Document(a["text"], id=a["id"], meta={"name": a["title"], "source_id": a["id"]}) for a in FIRST]))
    store.close()
    argv = ["index", write(tmp_path / "c.jsonl", SECOND), "--store", str(tmp_path / "old"), "--json"]
    assert main(argv) == EXIT_OK  # a BM25 store (no vectors): no encoder is loaded
    summary = json.loads(capsys.readouterr().out)
    assert (summary["documents_unchanged"], summary["documents_replaced"], summary["documents_new"]) == (1, 1, 1)
