"""The demo's code path on two short articles (the real run indexes 106; it is the README's main job)."""
import json

import pytest

from dpr_components.cli.main import main
from dpr_components.data import wikipedia_mini
from dpr_components.demo import reader as demo_reader
from dpr_components.evaluation.questions import Question

ARTICLES = [
    wikipedia_mini.Article("620", "Animal Farm", "Animal Farm is an allegorical novella by George Orwell, first "
                           "published in England in 1945. " * 6),
    wikipedia_mini.Article("303", "Alabama", "The capital of Alabama is Montgomery. The largest city is "
                           "Birmingham. " * 8),
]
TRAIN = [Question(f"t{i}", q, [a]) for i, (q, a) in enumerate([
    ("who wrote the novella animal farm", "George Orwell"), ("when was animal farm published", "1945"),
    ("what is the capital of alabama", "Montgomery"), ("largest city in alabama", "Birmingham")])]


@pytest.mark.slow
def test_demo_trains_a_reader_once_then_reuses_store_and_reader(tmp_path, monkeypatch, capsys, minilm_path):
    monkeypatch.setattr(wikipedia_mini, "load_wikipedia_articles", lambda: ARTICLES)
    monkeypatch.setattr(demo_reader, "training_questions", lambda: TRAIN)
    store = tmp_path / "demo"
    argv = ["demo", "--store", str(store), "--question", "Who wrote Animal Farm?", "--top-k", "2",
            "--reader-minutes", "0.3"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "Wrote 2 Wikipedia articles" in first
    assert "$ dpr-components index " in first and "Indexed 2 documents" in first
    assert "Training data from nq-dev + dpr-trivia-dev (dev splits only): 4 of 4 questions written" in first
    assert "Against the Vital Articles (12324 passages): 1 of 4 questions written" in first
    assert "Trained the reader" in first and (store / "reader" / "config.json").is_file()
    assert "--pipeline hybrid_qa" in first and f"Reader.model_name_or_path={store / 'reader'}" in first
    assert "Reader.answer_scoring=marginal" in first
    answer_block = first[first.index("Q: Who wrote Animal Farm?"):]
    assert "(score " in answer_block and "from: " in answer_block

    # The demo calls the library, not the CLI's main() (main had demo -> main -> demo, an import cycle).
    import dpr_components.cli.main as cli_main
    from dpr_components.demo.run import run_demo

    monkeypatch.setattr(cli_main, "main", lambda *args: pytest.fail("the demo called main()"))
    report = run_demo(store_dir=str(store), questions=["Who wrote Animal Farm?"], top_k=2)
    assert report["index"]["documents_unchanged"] == 2 and report["results"][0]["answers"]
    second = capsys.readouterr().out
    assert "Wrote" not in second and "Indexed 0 documents (0 new; 0 passages written), 2 unchanged" in second
    assert "Trained" not in second and "(score " in second

    # --json: one JSON document on stdout (the steps go to stderr); main printed none
    assert main(["demo", "--store", str(store), "--question", "Who wrote Animal Farm?", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["pipeline"] == "hybrid_qa" and "$ dpr-components ask" in captured.err

    # A reader that cannot be loaded here: the demo shows retrieval results instead.
    assert main([*argv, "--param", f"Reader.model_name_or_path={tmp_path / 'missing'}"]) == 0
    third = capsys.readouterr().out
    assert "Reader step skipped" in third and "--pipeline hybrid_retrieval" in third
    assert "Animal Farm  [id 620-0]" in third[third.index("Q: Who wrote Animal Farm?"):].splitlines()[1]
