"""``eval`` and ``sweep`` in-process, tiny models, a small store with questions whose answers it holds."""
import json

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main

ARTICLES = [
    {"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20 + "France exports wine. " * 30},
    {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20 + "Germany makes cars. " * 30},
    {"id": "uk", "title": "England", "text": "London lies on the river Thames. " * 20 + "England has rain. " * 30},
    {"id": "it", "title": "Italy", "text": "Rome is the capital of Italy. " * 20 + "Italy has pasta. " * 30},
]
QUESTIONS = [
    {"question": "what is the capital of France?", "answers": ["Paris"]},
    {"question": "which city is the capital of Germany?", "answers": ["Berlin"]},
    {"question": "which river flows through London?", "answers": ["Thames"]},
    {"question": "what does Germany make?", "answers": ["cars"]},
    {"question": "what is the capital of Italy?", "answers": ["Rome"]},
    {"question": "what does Italy have?", "answers": ["pasta"]},
]


@pytest.fixture
def tiny(tiny_question_encoder, tiny_context_encoder):
    return ["-p", f"Retriever.query_embedding_model={tiny_question_encoder}",
            "-p", f"Retriever.passage_embedding_model={tiny_context_encoder}",
            "-p", "Retriever.max_seq_len_passage=128"]


@pytest.fixture
def setup(tmp_path, tiny, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(a) + "\n" for a in ARTICLES), encoding="utf-8")
    questions = tmp_path / "dev.jsonl"
    questions.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS), encoding="utf-8")
    store = tmp_path / "store"
    assert main(["index", str(corpus), "--store", str(store), "--no-progress", *tiny]) == EXIT_OK
    capsys.readouterr()
    return store, questions


def test_eval_reports_dpr_metrics_and_writes_runs_and_plots(setup, tiny, tmp_path, capsys):
    store, questions = setup
    run = tmp_path / "runs" / "bm25.jsonl"
    common = ["--store", str(store), "--questions", str(questions), "--no-progress", *tiny]
    assert main(["eval", "--pipeline", "hybrid_retrieval", "--name", "hybrid", "--output", str(run), *common,
                 "--json"]) == EXIT_OK
    [summary] = json.loads(capsys.readouterr().out)
    assert summary["name"] == "hybrid" and summary["questions"] == len(QUESTIONS)
    assert summary["top_100"] == 1.0  # every passage is among the 100 returned: the answers are all stored
    assert 0 <= summary["top_1"] <= summary["top_5"] <= summary["top_20"] <= 1
    assert len(run.read_text(encoding="utf-8").splitlines()) == len(QUESTIONS)

    plot = tmp_path / "accuracy.png"
    assert main(["eval", "--pipeline", "dense_retrieval", "--compare", str(run), "--plot", str(plot), *common]) == 0
    table = capsys.readouterr().out
    assert "| dense_retrieval | 6 |" in table and "| bm25 | 6 |" in table
    assert plot.stat().st_size > 1000


def test_sweep_best_setting_reproduces_with_the_node(setup, tiny, capsys):
    store, questions = setup
    common = ["--store", str(store), "--questions", str(questions), "--no-progress", *tiny]
    assert main(["sweep", *common, "--alphas", "0.2,1,3", "--metric", "top_1", "--json"]) == EXIT_OK
    report = json.loads(capsys.readouterr().out)
    assert report["sources"] == ["BM25", "Retriever"]
    labels = [row["setting"] for row in report["rows"]]
    assert labels[:2] == ["BM25 only", "Retriever only"] and len(labels) == 2 + 3 * 4 + 3 + 3
    best = report["best"]
    assert all(param.startswith("Fusion.") for param in best["params"])

    # The node, given the best setting, ranks exactly as the offline sweep did.
    applied = sum((["-p", param] for param in best["params"]), [])
    assert main(["eval", "--pipeline", "hybrid_retrieval", *common, *applied, "--json"]) == EXIT_OK
    [summary] = json.loads(capsys.readouterr().out)
    for k in ("1", "5"):
        assert summary[f"top_{k}"] == pytest.approx(best["accuracy"][k])

    assert main(["sweep", *common, "--alphas", "1", "--modes", "rrf"]) == EXIT_OK
    text = capsys.readouterr().out
    assert "Best top_20: rrf k=60 w=[1, 1]" in text and "--param 'Fusion.mode=rrf'" in text


def test_sweep_needs_a_fusion_node_and_eval_a_question_file(setup, tiny, tmp_path, capsys):
    store, questions = setup
    argv = ["sweep", "--pipeline", "dense_retrieval", "--store", str(store), "--questions", str(questions), *tiny]
    assert main(argv) == EXIT_USAGE
    assert "exactly one HybridFusion" in capsys.readouterr().err
    argv = ["eval", "--store", str(store), "--questions", str(tmp_path / "absent.jsonl"), *tiny]
    assert main(argv) == EXIT_USAGE
    assert "does not exist" in capsys.readouterr().err
