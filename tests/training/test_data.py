"""DPR JSON training data: round trips (.json list and .jsonl), streaming, errors naming file and line."""
import json

import pytest

from dpr_components.errors import TrainingDataError
from dpr_components.training import data
from dpr_components.training.data import Context, TrainingExample, read_examples, write_examples

EXAMPLES = [
    TrainingExample("who wrote hamlet?", ("Shakespeare", "William Shakespeare"),
                    positive_ctxs=(Context("Hamlet", "Hamlet is a play by William Shakespeare.", "7", 12.5, True),),
                    negative_ctxs=(Context("Paris", "Paris is the capital of France."),),
                    hard_negative_ctxs=(Context("Macbeth", "Macbeth is a tragedy, \"Scottish play\" ü.", "9"),)),
    TrainingExample("capital of france?", ("Paris",), positive_ctxs=(Context("", "Paris [is] the capital."),)),
]


@pytest.mark.parametrize("suffix", [".json", ".jsonl"])
def test_round_trip(tmp_path, suffix):
    path = tmp_path / f"train{suffix}"
    assert write_examples(path, EXAMPLES) == 2
    assert list(read_examples(path)) == EXAMPLES
    assert [p.name for p in tmp_path.iterdir()] == [path.name]  # no temporary file left


def test_reads_dpr_published_layout_streaming(tmp_path, monkeypatch):
    """DPR's own files: an indented top-level list with extra keys; parsed with a buffer smaller than a record."""
    records = [{"dataset": "nq_dev", "question": f"q{i}", "answers": [f"a{i}"],
                "positive_ctxs": [{"title": "T", "text": "x " * 50, "score": 1000, "title_score": 1, "passage_id": i}],
                "negative_ctxs": [], "hard_negative_ctxs": [{"title": "U", "text": "y", "psg_id": "5"}]}
               for i in range(30)]
    path = tmp_path / "biencoder-nq-dev.json"
    path.write_text(json.dumps(records, indent=4), encoding="utf-8")
    monkeypatch.setattr(data, "CHUNK_CHARS", 64)
    examples = list(read_examples(path))
    assert [e.question for e in examples] == [f"q{i}" for i in range(30)]
    assert examples[3].positive_ctxs[0].passage_id == "3"
    assert examples[3].hard_negative_ctxs[0].passage_id == "5"


def test_bad_jsonl_line_names_file_and_line(tmp_path):
    path = tmp_path / "train.jsonl"
    good = json.dumps(EXAMPLES[1].to_json())
    path.write_text(f"{good}\n\n{good}\n{{not json\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match=r"train.jsonl line 4: not valid JSON"):
        list(read_examples(path))


def test_bad_json_list_element_names_line(tmp_path, monkeypatch):
    path = tmp_path / "train.json"
    good = json.dumps(EXAMPLES[1].to_json())
    path.write_text(f"[\n{good},\n{good},\n{{\"question\": oops}}\n]\n", encoding="utf-8")
    monkeypatch.setattr(data, "CHUNK_CHARS", 16)
    with pytest.raises(TrainingDataError, match=r"train.json line 4: not valid JSON"):
        list(read_examples(path))


@pytest.mark.parametrize("record, message", [
    ({"question": "q", "answers": []}, "has no answers"),
    ({"question": "q"}, "has no answers"),
    ({"answers": ["a"]}, "without 'question'"),
    ({"question": "q", "answers": ["a"], "positive_ctxs": [{"title": "t"}]}, r"positive_ctxs\[0\]: a ctx without text"),
    ({"question": "q", "answers": ["a"], "negative_ctxs": [{"title": "t", "text": "  "}]}, "ctx without text"),
    (["q", "a"], "expected a JSON object"),
])
def test_bad_records(tmp_path, record, message):
    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps(EXAMPLES[1].to_json()) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match=f"train.jsonl line 2.*{message}"):
        list(read_examples(path))


def test_json_file_must_be_a_list(tmp_path):
    path = tmp_path / "train.json"
    path.write_text(json.dumps(EXAMPLES[1].to_json()), encoding="utf-8")
    with pytest.raises(TrainingDataError, match="top-level list"):
        list(read_examples(path))
    path.write_text("[" + json.dumps(EXAMPLES[1].to_json()) + ",", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="truncated"):
        list(read_examples(path))


def test_failed_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "train.jsonl"
    write_examples(path, EXAMPLES)
    before = path.read_bytes()

    def broken():
        yield EXAMPLES[0]
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_examples(path, broken())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["train.jsonl"]
