"""The library under the CLI: one YAML read per command, the store's encoder by default, batched queries
that read eval's question files, explicit answer matching, and the LoadedPipeline a program reuses."""
import json

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.pipelines import files as pipeline_files
from dpr_components.pipelines import load_query_pipeline, read_pipeline_config, read_question_texts

ARTICLES = [
    {"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20 + "France exports wine. " * 10},
    {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20 + "Germany makes cars. " * 10},
    {"id": "it", "title": "Italy", "text": "Rome is the capital of Italy. " * 20 + "Italy has pasta. " * 10},
]
QUESTIONS = [{"question": "capital of France?", "answers": ["Paris"]},
             {"question": "what does Germany make?", "answers": ["cars"]},
             {"question": "what does Italy have?", "answers": ["pasta"]},
             {"question": "capital of Italy?", "answers": ["Rome"]},
             {"question": "what does France export?", "answers": ["wine"]}]


@pytest.fixture(scope="module")
def store(tiny_store):
    return tiny_store(ARTICLES)


@pytest.fixture
def question_file(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def test_each_command_reads_its_pipeline_yaml_once(store, question_file, monkeypatch, capsys):
    reads = []
    original = pipeline_files._read_text
    monkeypatch.setattr(pipeline_files, "_read_text", lambda path: reads.append(path) or original(path))
    for argv in (["retrieve", "capital", "--store", store, "--json"],  # main read it four times
                 ["eval", "--questions", str(question_file), "--store", store, "--no-progress"],
                 ["sweep", "--questions", str(question_file), "--store", store, "--no-progress", "--alphas", "1"]):
        reads.clear()
        assert main(argv) == EXIT_OK, capsys.readouterr().err
        assert len(reads) == 1, (argv, reads)
    capsys.readouterr()


def test_queries_use_the_encoder_the_store_recorded(store, tiny_question_encoder, capsys):
    config = read_pipeline_config("hybrid_retrieval", store=store)
    assert config.component_params()["Retriever"]["query_embedding_model"].startswith("facebook/")
    loaded = load_query_pipeline(config)  # main: four --param on every command, else the hub model
    assert loaded.node("Retriever").encoder_signature  # the tiny encoder, from the store's record
    assert main(["retrieve", "capital of France", "--store", store, "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["documents"]
    # What the user says explicitly still wins (and a contradicting encoder is refused by the store).
    argv = ["retrieve", "capital", "--store", store, "-p", "Retriever.normalize=true"]
    assert main(argv) == EXIT_USAGE
    assert "encoder" in capsys.readouterr().err


def test_loaded_pipeline_exposes_nodes_store_and_outputs(store):
    loaded = load_query_pipeline("hybrid_retrieval", store=store)
    assert loaded.root_node == "Query" and loaded.output_nodes == ["Fusion"]
    assert set(loaded.nodes) == {"BM25", "Retriever", "Fusion"}
    assert loaded.document_store.get_document_count() == loaded.document_store.get_document_count(
    ) > 0 and str(loaded.document_store.path) == store


def test_batched_queries_equal_one_by_one(store):
    loaded = load_query_pipeline("hybrid_retrieval", store=store)
    questions = [q["question"] for q in QUESTIONS]
    batched = loaded.workspace.query(questions, loaded, top_k=3, batch_size=2)
    single = [loaded.workspace.query([question], loaded, top_k=3)[0] for question in questions]
    assert [r["query"] for r in batched] == questions
    ids = lambda results: [[d["id"] for d in r["documents"]] for r in results]  # noqa: E731
    scores = lambda results: [d["score"] for r in results for d in r["documents"]]  # noqa: E731
    assert ids(batched) == ids(single) and all(len(r["documents"]) == 3 for r in batched)
    assert scores(batched) == pytest.approx(scores(single), rel=1e-4)


def test_retrieve_reads_the_question_files_eval_reads(store, question_file, tmp_path, capsys):
    tsv = tmp_path / "nq-dev.qa.tsv"
    tsv.write_text("".join(f"{q['question']}\t{q['answers']!r}\n" for q in QUESTIONS), encoding="utf-8")
    plain = tmp_path / "questions.txt"
    plain.write_text("capital of France?\n\nwho makes cars, in Germany?\n", encoding="utf-8")
    expected = [q["question"] for q in QUESTIONS]
    assert read_question_texts(question_file) == read_question_texts(tsv) == expected
    assert read_question_texts(plain) == ["capital of France?", "who makes cars, in Germany?"]
    assert main(["retrieve", "--questions-file", str(question_file), "--store", store, "--json"]) == EXIT_OK
    assert [r["query"] for r in json.loads(capsys.readouterr().out)] == expected  # main: the JSON lines


def test_answer_matching_is_an_explicit_flag(store, tmp_path, capsys):
    path = tmp_path / "curated.jsonl"  # main switched to regex because the name contains "curated"
    path.write_text(json.dumps({"question": "capital of France?", "answers": ["Par[a-z]s"]}) + "\n", encoding="utf-8")
    accuracy = {}
    for match in ("string", "regex"):
        argv = ["eval", "--questions", str(path), "--store", store, "--match", match, "--json", "--no-progress"]
        assert main(argv) == EXIT_OK
        accuracy[match] = json.loads(capsys.readouterr().out)[0]["top_100"]
    assert accuracy == {"string": 0.0, "regex": 1.0}
    loaded = load_query_pipeline("dense_retrieval", store=store)
    assert loaded.workspace.evaluate(str(path), loaded).top_k[100] == 0.0
