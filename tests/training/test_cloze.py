"""Cloze questions: answers are real spans of the passage, the question keeps the words around the gap."""
import json

import numpy as np

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, main
from dpr_components.evaluation.answers import has_answer
from dpr_components.evaluation.questions import load_questions
from dpr_components.training.cloze import candidate_answers, cloze_question, cloze_questions

ORWELL = ("Animal Farm is an allegorical novella by George Orwell, first published in England on 17 August 1945. "
          "The book tells the story of a group of farm animals who rebel against their human farmer.")


def test_candidates_are_years_numbers_and_capitalised_names():
    words = "It was written by George Orwell in 1943 and sold 250,000 copies in the United States .".split()
    found = {" ".join(words[a:b]): wh for a, b, wh in candidate_answers(words)}
    assert found == {"George Orwell": "who", "1943": "when", "250,000": "how many", "United States": "where"}


def test_the_question_drops_the_answer_and_names_the_title():
    words = "It was written by George Orwell in 1943 during the Second World War .".split()
    question = cloze_question(words, 7, 8, "when", "Animal Farm", np.random.default_rng(0), "q1")
    assert question.answers == ["1943"] and question.id == "q1"
    assert question.question.startswith("when ") and "1943" not in question.question
    assert question.question.endswith("animal farm")  # the clause does not name the subject: appended
    kept = set(question.question.split())
    assert len(kept & {"written", "by", "george", "orwell", "in", "during", "the", "second", "world", "war"}) >= 6


def test_every_answer_occurs_in_its_passage_and_questions_are_distinct():
    passages = [("Animal Farm", ORWELL), ("Paris", "Paris is the capital of France. In 1900 Paris hosted the "
                                                   "Summer Olympics and the World Fair, with 50 million visitors.")]
    questions = cloze_questions(passages, per_passage=3, seed=1)
    assert 3 <= len(questions) <= 6
    assert len({q.question for q in questions}) == len(questions)
    texts = dict(passages)
    for question in questions:
        assert any(has_answer(question.answers, text) for text in texts.values()), question
        assert question.answers[0].lower() not in question.question.split()
    assert cloze_questions(passages, per_passage=3, seed=1) == questions  # seeded


def test_cli_writes_a_question_file_that_load_questions_reads(tmp_path, capsys):
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "af", "title": "Animal Farm", "text": ORWELL}) + "\n", encoding="utf-8")
    output = tmp_path / "cloze.jsonl"
    assert main(["cloze-questions", "--corpus", str(corpus), "--output", str(output), "--per-passage", "2"]) == EXIT_OK
    assert "Wrote 2 cloze questions" in capsys.readouterr().out
    questions = load_questions(output)
    assert len(questions) == 2 and all(has_answer(q.answers, ORWELL) for q in questions)
    assert main(["cloze-questions", "--corpus", str(corpus), "--output", str(tmp_path / "x.jsonl"),
                 "--per-passage", "0"]) == EXIT_USAGE
    assert "--per-passage must be a positive integer, got 0" in capsys.readouterr().err  # the flag typed
    assert not (tmp_path / "x.jsonl").exists()
