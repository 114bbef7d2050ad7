"""DPR's reader/retriever training data: JSON records read as a stream, written atomically.

One record per question, the format of facebookresearch/DPR's published files (``biencoder-nq-dev.json``
and the like)::

    {"question": "who wrote hamlet?", "answers": ["Shakespeare"],
     "positive_ctxs": [{"title": "Hamlet", "text": "Hamlet is a tragedy by William Shakespeare ...",
                        "passage_id": "123"}],
     "negative_ctxs": [...], "hard_negative_ctxs": [...]}

``.json`` files hold one top-level list of records (DPR's files are GBs: the list is parsed one record at
a time, never loaded whole); ``.jsonl`` files hold one record per line. Any other suffix is read as JSON
lines. Errors name the file and the line where the bad record starts.

Example::

    from dpr_components.training.data import Context, TrainingExample, read_examples, write_examples

    example = TrainingExample("who wrote hamlet?", ("Shakespeare",),
                              positive_ctxs=(Context("Hamlet", "Hamlet is a play by Shakespeare."),))
    write_examples("train.jsonl", [example])          # temp file + rename: never half-written
    assert list(read_examples("train.jsonl")) == [example]
"""
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, Optional, Tuple, Union

from dpr_components.errors import TrainingDataError
from dpr_components.utils.files import atomic_write
from dpr_components.utils.text_files import ENCODING, not_utf8

PathLike = Union[str, Path]
CTX_LISTS = ("positive_ctxs", "negative_ctxs", "hard_negative_ctxs")
CHUNK_CHARS = 1 << 16


@dataclass(frozen=True)
class Context:
    """A passage: ``title`` and ``text``; ``passage_id``, retrieval ``score`` and ``has_answer`` when known."""

    title: str
    text: str
    passage_id: Optional[str] = None
    score: Optional[float] = None
    has_answer: Optional[bool] = None

    def to_json(self) -> Dict[str, Any]:
        record: Dict[str, Any] = {"title": self.title, "text": self.text}
        for key in ("passage_id", "score", "has_answer"):
            if getattr(self, key) is not None:
                record[key] = getattr(self, key)
        return record


@dataclass(frozen=True)
class TrainingExample:
    """One question with its answers and its positive, negative and hard negative passages."""

    question: str
    answers: Tuple[str, ...]
    positive_ctxs: Tuple[Context, ...] = ()
    negative_ctxs: Tuple[Context, ...] = ()
    hard_negative_ctxs: Tuple[Context, ...] = field(default=())

    def to_json(self) -> Dict[str, Any]:
        record: Dict[str, Any] = {"question": self.question, "answers": list(self.answers)}
        for key in CTX_LISTS:
            record[key] = [ctx.to_json() for ctx in getattr(self, key)]
        return record


def parse_context(record: Any, where: str) -> Context:
    if not isinstance(record, dict):
        raise TrainingDataError(f"{where}: a ctx must be an object with 'title' and 'text', "
                                f"got {type(record).__name__}.")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise TrainingDataError(f"{where}: a ctx without text. Every ctx needs a non-empty 'text' string.")
    title = record.get("title") or ""
    if not isinstance(title, str):
        raise TrainingDataError(f"{where}: ctx 'title' must be a string, got {type(title).__name__}.")
    passage_id = record.get("passage_id", record.get("psg_id"))
    score = record.get("score")
    has_answer = record.get("has_answer")
    return Context(title, text, None if passage_id is None else str(passage_id),
                   None if score is None else float(score), None if has_answer is None else bool(has_answer))


def parse_example(record: Any, where: str) -> TrainingExample:
    """A :class:`TrainingExample` from one decoded record; ``where`` ("file line N") prefixes every error."""
    if not isinstance(record, dict):
        raise TrainingDataError(f"{where}: expected a JSON object with 'question' and 'answers', "
                                f"got {type(record).__name__}.")
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        raise TrainingDataError(f"{where}: a record without 'question'. Every record needs a non-empty question.")
    answers = record.get("answers")
    if isinstance(answers, str):
        answers = [answers]
    if not isinstance(answers, list) or not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        raise TrainingDataError(f"{where}: question {question!r} has no answers. 'answers' must be a non-empty "
                                "list of strings (drop the question or add its answers).")
    lists = {}
    for key in CTX_LISTS:
        value = record.get(key) or []
        if not isinstance(value, list):
            raise TrainingDataError(f"{where}: '{key}' must be a list of ctx objects.")
        lists[key] = tuple(parse_context(ctx, f"{where} {key}[{i}]") for i, ctx in enumerate(value))
    return TrainingExample(question, tuple(answers), **lists)


def _iter_json_lines(path: Path) -> Iterator[Tuple[int, Any]]:
    with path.open(encoding=ENCODING) as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as error:
                raise TrainingDataError(f"{path} line {number}: not valid JSON ({error.msg}). "
                                        "A .jsonl file needs one JSON object per line.") from None


def _iter_json_list(path: Path) -> Iterator[Tuple[int, Any]]:
    """Elements of a top-level JSON list, decoded one at a time from a growing buffer (constant memory)."""
    decoder = json.JSONDecoder()
    with path.open(encoding=ENCODING) as handle:
        buffer, line, eof = "", 1, False

        def fill(minimum: int) -> None:
            nonlocal buffer, eof
            while not eof and len(buffer) < minimum:
                chunk = handle.read(max(CHUNK_CHARS, minimum - len(buffer)))
                eof = not chunk
                buffer += chunk

        def skip_space() -> None:
            nonlocal buffer, line
            while True:
                fill(1)
                stripped = buffer.lstrip()
                line += buffer.count("\n", 0, len(buffer) - len(stripped))
                buffer = stripped
                if buffer or eof:
                    return

        skip_space()
        if not buffer.startswith("["):
            raise TrainingDataError(f"{path} line {line}: a .json training file must hold one top-level list "
                                    "of records; use .jsonl for one record per line.")
        buffer = buffer[1:]
        expect_item = True
        while True:
            skip_space()
            if not buffer:
                raise TrainingDataError(f"{path} line {line}: the file ends inside the top-level list (truncated?).")
            if buffer[0] == "]" :
                return
            if not expect_item:
                if buffer[0] != ",":
                    raise TrainingDataError(f"{path} line {line}: expected ',' or ']' between records.")
                buffer, expect_item = buffer[1:], True
                continue
            want = max(len(buffer), CHUNK_CHARS)
            while True:
                try:
                    value, end = decoder.raw_decode(buffer)
                    # A number at the end of the buffer may continue in the next chunk.
                    if end == len(buffer) and not eof and buffer[0] not in "{[\"":
                        raise json.JSONDecodeError("incomplete", buffer, end)
                    break
                except json.JSONDecodeError as error:
                    if eof:
                        bad_line = line + buffer.count("\n", 0, error.pos)
                        raise TrainingDataError(f"{path} line {bad_line}: not valid JSON ({error.msg}).") from None
                    want *= 2
                    fill(want)
            yield line, value
            line += buffer.count("\n", 0, end)
            buffer, expect_item = buffer[end:], False


def iter_records(path: PathLike) -> Iterator[Tuple[int, Any]]:
    """``(line number, decoded record)`` for each record of a .json list or a .jsonl file."""
    path = Path(path)
    if not path.is_file():
        raise TrainingDataError(f"Training file {path} does not exist.")
    try:
        yield from _iter_json_list(path) if path.suffix.lower() == ".json" else _iter_json_lines(path)
    except UnicodeDecodeError:
        raise not_utf8(path, "training file") from None


def read_examples(path: PathLike) -> Iterator[TrainingExample]:
    """Stream the :class:`TrainingExample` records of ``path`` (.json list or .jsonl), validating each."""
    for line, record in iter_records(path):
        yield parse_example(record, f"{path} line {line}")


def examples_digest(examples: Iterable[TrainingExample]) -> str:
    """A digest of the examples' content, in order (what a resumed run compares its data by)."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps(example.to_json(), sort_keys=True).encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


def write_examples(path: PathLike, examples: Iterable[TrainingExample]) -> int:
    """Write ``examples`` to ``path`` (.json list or .jsonl by suffix) atomically; returns how many.

    The records go to a temporary file next to ``path`` that replaces it only once complete, so an error
    half-way leaves any earlier file untouched.
    """
    path = Path(path)
    as_list = path.suffix.lower() == ".json"
    count = 0

    def write(temporary: Path) -> None:
        nonlocal count
        with open(temporary, "w", encoding="utf-8") as handle:
            if as_list:
                handle.write("[")
            for example in examples:
                text = json.dumps(example.to_json(), ensure_ascii=False)
                if as_list:
                    handle.write(("\n" if count == 0 else ",\n") + text)
                else:
                    handle.write(text + "\n")
                count += 1
            if as_list:
                handle.write("\n]\n")

    atomic_write(path, write)
    return count
