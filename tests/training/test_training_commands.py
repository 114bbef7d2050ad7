"""The training commands as a user meets them: their defaults are the library's (declared once), fixed sets of
values are enums, text for people and --json for programs, one-line errors for files that are not UTF-8, an
output that names a file, a busy output; the soup's leftovers are cleaned."""
import dataclasses
import json
import subprocess
import sys

import pytest

from dpr_components.cli.main import EXIT_OK, EXIT_USAGE, build_parser, main
from dpr_components.training.data import write_examples
from dpr_components.training.settings import ReaderSettings, RetrieverTrainingConfig, TrainingConfig
from dpr_components.utils.choices import Similarity
from dpr_components.utils.settings import option_flag

from .test_reader_training import toy_examples
from .test_soup import two_readers  # noqa: F401  (a fixture)

REQUIRED = {"train-reader": ["--train", "t.jsonl", "--init-model", "m", "--output", "o"],
            "train-retriever": ["--train", "t.jsonl", "--question-model", "m", "--output", "o"]}


def command_defaults(command):
    """Every option of ``command`` -> its default, as argparse reads it."""
    subcommands = next(a for a in build_parser()._actions if a.dest == "command").choices
    return {flag: action.default for action in subcommands[command]._actions for flag in action.option_strings}


@pytest.mark.parametrize("command, classes", [("train-reader", (TrainingConfig, ReaderSettings)),
                                              ("train-retriever", (TrainingConfig, RetrieverTrainingConfig))])
def test_every_command_default_is_the_librarys(command, classes):
    """Issue 27: the CLI redeclared each setting with its own default (checkpoint_every 100 vs 0, max_grad_norm
    2.0 vs 1.0, learning_rate 2e-5 vs 1e-5)."""
    defaults = command_defaults(command)
    for cls in classes:
        for field in dataclasses.fields(cls):
            if field.default is not dataclasses.MISSING:
                assert defaults[option_flag(field)] == field.default, (command, field.name)


def test_fixed_sets_of_values_are_enums_with_the_stores_spelling(capsys):
    assert Similarity.from_str("dot") is Similarity.DOT_PRODUCT  # the training's old spelling still reads
    args = build_parser().parse_args(["train-retriever", *REQUIRED["train-retriever"], "--similarity", "dot"])
    assert args.similarity is Similarity.DOT_PRODUCT
    with pytest.raises(SystemExit, match=f"^{EXIT_USAGE}$"):
        build_parser().parse_args(["train-retriever", *REQUIRED["train-retriever"], "--pooling", "max"])
    assert "Unknown Pooling 'max'. Valid values: 'cls', 'mean'" in capsys.readouterr().err
    assert main(["train-retriever", *REQUIRED["train-retriever"], "--similarity", "l2"]) == EXIT_USAGE
    assert "similarity l2 cannot train a bi-encoder" in capsys.readouterr().err


def test_train_reader_prints_text_for_people_and_json_for_programs(tiny_reader, tmp_path, capsys):
    write_examples(tmp_path / "train.jsonl", toy_examples())
    common = ["train-reader", "--train", str(tmp_path / "train.jsonl"), "--dev", str(tmp_path / "train.jsonl"),
              "--init-model", tiny_reader, "--max-steps", "2", "--passages-per-question", "3", "--max-seq-len", "64",
              "--precision", "fp32"]
    assert main([*common, "--output", str(tmp_path / "a")]) == EXIT_OK
    out, err = capsys.readouterr()
    assert out.startswith("Trained 2 of 2 planned steps (stopped by max_steps") and "Best dev: em=" in out
    assert "dev evaluation" in err  # the final dev evaluation shows its progress
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "train.jsonl"]  # no a.work left behind
    assert main([*common, "--output", str(tmp_path / "b"), "--json", "--keep-work"]) == EXIT_OK
    summary = json.loads(capsys.readouterr().out)
    assert summary["steps"] == summary["planned_steps"] == 2 and "em" in summary["best_dev"]
    assert (tmp_path / "b.work" / "last").is_dir()


def test_average_readers_and_cloze_questions_follow_the_convention(two_readers, tmp_path, capsys):  # noqa: F811
    assert main(["average-readers", *two_readers, "--output", str(tmp_path / "soup"), "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["output"] == str(tmp_path / "soup")
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text(json.dumps({"id": "1", "title": "Paris", "text": "Paris is the capital of France since "
                                  "the year 987, when Hugh Capet made it his seat. " * 3}) + "\n")
    assert main(["cloze-questions", "--corpus", str(corpus), "--output", str(tmp_path / "q.jsonl"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["questions"] >= 1


def test_training_files_that_are_not_utf8_are_one_line_errors(tiny_reader, tiny_question_encoder, tmp_path, capsys):
    latin1 = tmp_path / "train.jsonl"
    latin1.write_bytes(json.dumps(toy_examples()[0].to_json()).encode() + b"\n" +
                       '{"question": "où est né Zoë?", "answers": ["Besançon"]}\n'.encode("latin-1"))
    for argv in (["train-reader", "--train", str(latin1), "--init-model", tiny_reader],
                 ["train-retriever", "--train", str(latin1), "--question-model", tiny_question_encoder]):
        assert main([*argv, "--output", str(tmp_path / "out")]) == EXIT_USAGE
        error = capsys.readouterr().err
        assert error.count("\n") == 1 and "unexpected" not in error
        assert "training file" in error and "is not UTF-8 (line 2, byte 0xf9" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.jsonl"]


def test_average_readers_output_naming_a_file_is_refused(two_readers, tmp_path, capsys):  # noqa: F811
    notes = tmp_path / "notes.txt"
    notes.write_text("keep me")
    for extra in ([], ["--overwrite"]):
        assert main(["average-readers", *two_readers, "--output", str(notes), *extra]) == EXIT_USAGE
        assert "notes.txt is a file, not the directory" in capsys.readouterr().err
    assert notes.read_text() == "keep me"


def test_a_killed_soups_leftovers_are_removed_by_the_next(two_readers, tmp_path):  # noqa: F811
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp_path / f".tmp-{dead.stdout.strip()}-0000abcd-soup"
    leftover.mkdir()
    (leftover / "model.safetensors").write_bytes(b"half")
    assert main(["average-readers", *two_readers, "--output", str(tmp_path / "soup")]) == EXIT_OK
    assert not leftover.exists() and (tmp_path / "soup" / "config.json").is_file()


def test_a_busy_output_is_a_one_line_error(tiny_reader, tmp_path, capsys, lock_held_elsewhere):
    write_examples(tmp_path / "train.jsonl", toy_examples())
    lock_held_elsewhere(tmp_path / "reader.work")
    assert main(["train-reader", "--train", str(tmp_path / "train.jsonl"), "--init-model", tiny_reader,
                 "--output", str(tmp_path / "reader"), "--max-seq-len", "64"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "Another process is writing" in error and "reader" in error
