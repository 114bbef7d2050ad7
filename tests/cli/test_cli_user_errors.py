"""Mistakes people make become one-line errors with exit 2 (main printed "unexpected ..." with exit 1 or
answered silently): files that are not UTF-8, bad numbers, broken references, binary YAML, closed pipes."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.pipelines import index_corpus

ROOT = Path(__file__).resolve().parents[2]
ARTICLES = [
    {"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20},
    {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20},
    {"id": "it", "title": "Italy", "text": "Rome is the capital of Italy. " * 20},
]
QUESTIONS = [{"question": "capital of France?", "answers": ["Paris"]},
             {"question": "capital of Germany?", "answers": ["Berlin"]}]


@pytest.fixture(scope="module")
def store(tiny_store):
    return tiny_store(ARTICLES)


@pytest.fixture
def questions(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    return path


def one_line_error(capsys, *expected):
    error = capsys.readouterr().err
    assert error.startswith("error: ") and error.count("\n") == 1 and "unexpected" not in error, error
    for text in expected:
        assert text in error, error
    return error


@pytest.mark.parametrize("top_k", ["0", "-3"])
def test_retrieve_top_k_must_be_positive(store, capsys, top_k):
    assert main(["retrieve", "capital", "--store", str(store), "--top-k", top_k]) == EXIT_USAGE
    one_line_error(capsys, "--top-k", "positive integer", top_k)


@pytest.mark.parametrize("limit", ["-1", "0"])
def test_eval_limit_must_be_positive(store, questions, capsys, limit):
    # main: --limit -1 silently dropped the last question, --limit 0 evaluated all of them
    assert main(["eval", "--questions", str(questions), "--store", str(store), "--limit", limit]) == EXIT_USAGE
    one_line_error(capsys, "--limit", "positive integer")


def test_sweep_alphas_must_be_numbers(store, questions, capsys):
    argv = ["sweep", "--questions", str(questions), "--store", str(store), "--alphas", "a,b"]
    assert main(argv) == EXIT_USAGE
    one_line_error(capsys, "--alphas", "'a' is not a number", "0.5,1.0")


def test_corpus_that_is_not_utf8_names_file_and_line(tmp_path, tiny_retriever_overrides, capsys):
    corpus = tmp_path / "latin1.jsonl"
    corpus.write_bytes(b'{"id": "1", "text": "plain"}\n{"id": "2", "text": "caf\xe9"}\n')
    params = sum((["-p", f"{k}={v}"] for k, v in tiny_retriever_overrides.items()), [])
    assert main(["index", str(corpus), "--store", str(tmp_path / "s"), "--no-progress", *params]) == EXIT_USAGE
    one_line_error(capsys, "latin1.jsonl", "not UTF-8", "line 2")


@pytest.mark.parametrize("name", ["bom.jsonl", "bom.tsv"])
def test_corpus_with_a_byte_order_mark_is_read(tmp_path, tiny_retriever_overrides, name):
    corpus = tmp_path / name
    text = ('{"id": "a", "title": "A", "text": "alpha beta"}\n' if name.endswith(".jsonl")
            else "id\ttext\ttitle\na\talpha beta\tA\n")
    corpus.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    summary = index_corpus(str(corpus), store=str(tmp_path / "s"), overrides=tiny_retriever_overrides,
                           progress_bar=False)
    assert summary["documents_indexed"] == 1 and summary["passages_in_store"] == 1


def test_question_files_that_are_not_utf8_name_file_and_line(store, tmp_path, capsys):
    bad = tmp_path / "questions.jsonl"
    bad.write_bytes(b'{"question": "q1?", "answers": ["a"]}\n\n{"question": "M\xfcnchen?", "answers": ["b"]}\n')
    assert main(["eval", "--questions", str(bad), "--store", str(store)]) == EXIT_USAGE
    one_line_error(capsys, "questions.jsonl", "not UTF-8", "line 3")
    assert main(["retrieve", "--questions-file", str(bad), "--store", str(store)]) == EXIT_USAGE
    one_line_error(capsys, "questions.jsonl", "not UTF-8", "line 3")


def test_question_files_with_a_byte_order_mark_are_read(store, tmp_path, capsys):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(q) + "\n" for q in QUESTIONS).encode("utf-8"))
    assert main(["eval", "--questions", str(path), "--store", str(store), "--json", "--no-progress"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)[0]["questions"] == 2


def test_document_store_naming_no_component(store, tmp_path, capsys):
    text = (ROOT / "pipelines" / "bm25_retrieval.yml").read_text(encoding="utf-8")
    path = tmp_path / "typo.yml"
    path.write_text(text.replace("document_store: DocumentStore", "document_store: DocStore"), encoding="utf-8")
    assert main(["retrieve", "capital", "--pipeline", str(path), "--store", str(store)]) == EXIT_USAGE
    one_line_error(capsys, "'DocStore' names no component", "DocumentStore")


@pytest.mark.parametrize("content", [b"\xff\xfe\x00\x01binary", b"\x89PNG\r\n\x1a\n\x00\x00", "é: 1".encode("latin1")])
def test_binary_yaml_is_refused(tmp_path, capsys, content):
    path = tmp_path / "pipeline.yml"
    path.write_bytes(content)
    assert main(["retrieve", "q", "--pipeline", str(path)]) == EXIT_USAGE
    one_line_error(capsys, "pipeline.yml")


def test_closed_pipe_ends_quietly(store):
    # `dpr-components retrieve ... | head -1`: the reader is gone before the results are written
    env = dict(os.environ, HAYSTACK_TELEMETRY_ENABLED="False", HF_HUB_OFFLINE="1")
    argv = [sys.executable, "-m", "dpr_components", "retrieve", "capital", "--store", str(store),
            "--pipeline", "bm25_retrieval"]
    process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    _, error = process.communicate(timeout=300)
    assert error.decode() == "" and process.returncode == EXIT_OK
