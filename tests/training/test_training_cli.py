"""build-training-data on a small real store (HybridDocumentStore, BM25 + tiny DPR encoders), then train-reader."""
import json

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.training.data import read_examples

ARTICLES = [
    {"id": "paris", "title": "Paris", "text": "Paris is the capital and largest city of France. " * 25},
    {"id": "berlin", "title": "Berlin", "text": "Berlin is the capital of Germany. " * 40},
    {"id": "thames", "title": "Thames", "text": "The river Thames flows through London in England. " * 12},
]
THAMES = "which river flows through the largest city of england, london?"
QUESTIONS = [
    {"question": "what is the capital of france?", "answers": ["Paris"]},
    {"question": THAMES, "answers": ["Thames", "river Thames"]},
    {"question": "what is the capital of germany?", "answers": [r"Ber\w+"], "match": "regex"},
    {"question": "who painted the mona lisa?", "answers": ["Leonardo da Vinci"]},
    {"question": "What is the capital of   France?", "answers": ["Paris"]},
]


@pytest.fixture
def store(tmp_path, tiny_question_encoder, tiny_context_encoder, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    params = ["-p", f"Retriever.query_embedding_model={tiny_question_encoder}",
              "-p", f"Retriever.passage_embedding_model={tiny_context_encoder}",
              "-p", "Retriever.max_seq_len_passage=128"]
    assert main(["index", str(corpus), "--store", str(tmp_path / "store"), "--json", *params]) == EXIT_OK
    capsys.readouterr()
    return tmp_path / "store", params


def test_build_training_data_labels_by_has_answer_then_trains(store, tmp_path, tiny_reader, capsys):
    store_dir, params = store
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    exclude = tmp_path / "dev.jsonl"
    exclude.write_text(json.dumps(QUESTIONS[0]) + "\n", encoding="utf-8")
    output = tmp_path / "train.jsonl"
    argv = ["build-training-data", "--questions", str(questions), "--store", str(store_dir), "--top-k", "4",
            "--pipeline", "bm25_retrieval",
            "--output", str(output), "--exclude", str(exclude), "--no-progress"]
    assert main(argv) == EXIT_OK
    printed = capsys.readouterr().out
    assert "2 of 5 questions written; 1 skipped without a positive passage; 2 excluded" in printed
    examples = {e.question: e for e in read_examples(output)}
    assert set(examples) == {THAMES, "what is the capital of germany?"}
    thames = examples[THAMES]
    assert all("Thames" in c.text and c.has_answer for c in thames.positive_ctxs)
    assert thames.positive_ctxs and thames.hard_negative_ctxs
    assert all("Thames" not in c.text and c.has_answer is False for c in thames.hard_negative_ctxs)
    assert {c.title for c in thames.positive_ctxs} == {"Thames"} and thames.positive_ctxs[0].passage_id
    assert examples["what is the capital of germany?"].answers == ("Berlin",)  # regex -> the matched text

    reader = tmp_path / "reader"
    assert main(["train-reader", "--train", str(output), "--init-model", tiny_reader, "--output", str(reader),
                 "--max-steps", "2", "--passages-per-question", "3", "--max-seq-len", "64", "--no-progress",
                 "--precision", "fp32", "--json"]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == 2 and (reader / "config.json").is_file()
    assert main(["ask", "what is the capital of germany?", "--pipeline", "hybrid_qa", "--store", str(store_dir),
                 "-p", f"Reader.model_name_or_path={reader}", "-p", "Reader.max_seq_len=64", *params]) == EXIT_OK
    assert "capital of germany" in capsys.readouterr().out.lower()


def test_bad_training_file_is_one_line_error(tmp_path, tiny_reader, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answers": ["a"], "positive_ctxs": [{"title": "t"}]}\n', encoding="utf-8")
    assert main(["train-reader", "--train", str(bad), "--init-model", tiny_reader,
                 "--output", str(tmp_path / "out")]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert "bad.jsonl line 1 positive_ctxs[0]: a ctx without text" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_max_positives_keeps_the_highest_ranked_positives(store, tmp_path, capsys):
    store_dir, _ = store
    questions = tmp_path / "questions.jsonl"
    questions.write_text(json.dumps(QUESTIONS[2]) + "\n", encoding="utf-8")  # Berlin: 3 passages hold it
    base = ["build-training-data", "--questions", str(questions), "--store", str(store_dir), "--top-k", "4",
            "--pipeline", "bm25_retrieval", "--no-progress"]
    assert main([*base, "--output", str(tmp_path / "all.jsonl")]) == EXIT_OK
    assert main([*base, "--output", str(tmp_path / "top.jsonl"), "--max-positives", "1"]) == EXIT_OK
    [every] = read_examples(tmp_path / "all.jsonl")
    [top] = read_examples(tmp_path / "top.jsonl")
    assert len(every.positive_ctxs) >= 2
    assert top.positive_ctxs == every.positive_ctxs[:1]
    assert top.hard_negative_ctxs == every.hard_negative_ctxs  # the dropped positives do not become negatives
    capsys.readouterr()
    assert main([*base, "--output", str(tmp_path / "bad.jsonl"), "--max-positives", "0"]) == EXIT_USAGE
    assert "--max-positives must be a positive integer, got 0" in capsys.readouterr().err  # the flag typed
    assert not (tmp_path / "bad.jsonl").exists()


def test_build_training_data_from_a_corpus_labels_like_the_stores_bm25(store, tmp_path, capsys):
    store_dir, _ = store
    questions = tmp_path / "questions.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    base = ["build-training-data", "--questions", str(questions), "--top-k", "4", "--no-progress"]
    assert main([*base, "--store", str(store_dir), "--pipeline", "bm25_retrieval",
                 "--output", str(tmp_path / "store.jsonl")]) == EXIT_OK
    assert main([*base, "--corpus", str(tmp_path / "corpus.jsonl"), "--output", str(tmp_path / "corpus.jsonl.out.jsonl")
                 ]) == EXIT_OK
    assert "4 of 5 questions written; 1 skipped without a positive passage" in capsys.readouterr().out

    def contexts(path):
        return {e.question: ([(c.title, c.text) for c in e.positive_ctxs],
                             [(c.title, c.text) for c in e.hard_negative_ctxs]) for e in read_examples(path)}

    assert contexts(tmp_path / "corpus.jsonl.out.jsonl") == contexts(tmp_path / "store.jsonl")

    assert main([*base, "--corpus", str(tmp_path / "corpus.jsonl"), "--store", str(store_dir),
                 "--output", str(tmp_path / "both.jsonl")]) == EXIT_USAGE
    assert "either a corpus" in capsys.readouterr().err
    assert not (tmp_path / "both.jsonl").exists()
