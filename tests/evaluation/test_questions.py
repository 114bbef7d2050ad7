"""Question files: DPR qas tsv/csv, jsonl (ours and pyserini's), and topic files read from pyserini's jar."""
import json

import pytest

from dpr_components.errors import ConfigurationError
from dpr_components.evaluation.questions import (
    Question,
    QuestionFileError,
    load_pyserini_topics,
    load_questions,
    write_questions,
)


def test_dpr_qas_tsv(tmp_path):
    path = tmp_path / "nq-dev.qa.csv"
    path.write_text(
        "who sings does he love me with reba\t['Linda Davis']\n"
        "\n"
        "when does the new my hero academia movie come out\t['July 5, 2018', \"it's out\"]\r\n",
        encoding="utf-8",
    )
    questions = load_questions(path)
    assert [q.id for q in questions] == ["nq-dev.qa-0", "nq-dev.qa-1"]
    assert questions[0].question == "who sings does he love me with reba"
    assert questions[0].answers == ["Linda Davis"]
    assert questions[1].answers == ["July 5, 2018", "it's out"]
    assert all(q.match == "string" for q in questions)


def test_tsv_answer_field_with_csv_quoting_and_a_bare_string_answer(tmp_path):
    # DPR writes a field that holds double quotes CSV-quoted, with the quotes doubled
    path = tmp_path / "trivia.tsv"
    path.write_text(
        'Which tower?\t"[\'Spinnaker Tower\', ""Portsmouth\'s Spinnaker Tower""]"\n' "Capital of France?\tParis\n",
        encoding="utf-8",
    )
    questions = load_questions(path)
    assert questions[0].answers == ["Spinnaker Tower", "Portsmouth's Spinnaker Tower"]
    assert questions[1].answers == ["Paris"]


def test_comma_separated_csv(tmp_path):
    path = tmp_path / "qas.csv"
    path.write_text('"who wrote it, and when",\"[\'Orwell\', \'1945\']"\n', encoding="utf-8")
    (question,) = load_questions(path)
    assert question.question == "who wrote it, and when"
    assert question.answers == ["Orwell", "1945"]


def test_jsonl_with_answers_answer_id_and_match(tmp_path):
    path = tmp_path / "dev.jsonl"
    records = [
        {"id": "q7", "question": "capital of France?", "answers": ["Paris"]},
        {"question": "How tall is Denali?", "answer": ["20,?320 feet"], "match": "regex"},
        {"question": "largest planet", "answers": "Jupiter"},
    ]
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    questions = load_questions(path)
    assert [q.id for q in questions] == ["q7", "dev-1", "dev-2"]
    assert [q.match for q in questions] == ["string", "regex", "string"]
    assert questions[2].answers == ["Jupiter"]
    assert load_questions(path, match="regex")[0].match == "regex"


def test_match_mode_is_said_explicitly_never_guessed_from_the_file_name(tmp_path):
    path = tmp_path / "curatedtrec-test.txt"  # main read this name as "regex" without being asked
    path.write_text("What is the capital of Kansas?\t['Topeka|Topika']\n", encoding="utf-8")
    assert load_questions(path)[0].match == "string"
    assert load_questions(path, match="regex")[0].match == "regex"
    jsonl = tmp_path / "set.jsonl"
    jsonl.write_text('{"question": "q?", "answers": ["a|b"], "match": "regex"}\n', encoding="utf-8")
    assert load_questions(jsonl)[0].match == "regex"                   # the record says so
    assert load_questions(jsonl, match="string")[0].match == "string"  # --match wins


def test_write_then_load_round_trip(tmp_path):
    questions = [
        Question("a", "q1?", ["x", "y"]),
        Question("b", "q2?", ["z+"], match="regex", meta={"source": "test"}),
    ]
    path = tmp_path / "out.jsonl"
    write_questions(questions, path)
    assert load_questions(path) == questions


@pytest.mark.parametrize(
    "content, message",
    [
        ("just a question with no answers\n", "expected 'question<TAB>\\[answers\\]'"),
        ("q?\t['unterminated\n", "not a valid Python list literal"),
        ("q?\t[1, 2]\n", "answers must be a list of strings"),
        ("q?\t['']\n", "has no non-empty answer"),
        ('{"question": "q?"}\n', 'expected an object with "question" and "answers"'),
        ('{"question": "q?", "answers": ["a"]\n', "not valid JSON"),
        ('{"id": 1, "question": "q?", "answers": ["a"]}\n{"id": 1, "question": "r?", "answers": ["b"]}\n',
         "occurs twice"),
    ],
)
def test_bad_files_name_the_line_and_the_fix(tmp_path, content, message):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionFileError, match=message) as error:
        load_questions(path)
    assert "bad.txt" in str(error.value)


def test_missing_file_and_unknown_topic_set():
    with pytest.raises(QuestionFileError, match="does not exist"):
        load_questions("/nonexistent/questions.jsonl")
    with pytest.raises(ConfigurationError, match="nq-dev"):
        load_questions("pyserini:nq-train")
    with pytest.raises(ConfigurationError, match="Unknown MatchMode .fuzzy."):
        Question("a", "q", ["x"], match="fuzzy")


def test_real_topic_files_from_the_pyserini_jar():
    nq_test = load_pyserini_topics("nq-test")
    assert len(nq_test) == 3610
    assert nq_test[0] == Question("nq-test-0", "who got the first nobel prize in physics", ["Wilhelm Conrad Röntgen"])
    trivia = load_questions("pyserini:dpr-trivia-dev")
    assert len(trivia) == 8837  # one question holds U+0085 (NEL), which must not split its line
    curated = load_questions("pyserini:dpr-curated-test")
    assert len(curated) == 694 and all(q.match == "regex" for q in curated)
    assert curated[0].question == "How tall is Mount McKinley?"
    webq = load_questions("pyserini:dpr-wq-test")  # jsonl with pyserini's "answer" key
    assert len(webq) == 2032 and webq[0].answers == ["Jamaican Creole English Language", "Jamaican English"]
