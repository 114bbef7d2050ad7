"""A run's work directory (``<output>.work``): resumed only by the same run, refused or started over otherwise,
one process at a time, removed after success, its leftovers cleaned, a full disk named."""
import logging
import subprocess
import sys

import pytest
import torch

from dpr_components.errors import ConfigurationError, DiskFullError
from dpr_components.training.loop import train

from .test_loop import RegressionTask, config


def weights(directory):
    return torch.load(directory / "model.pt")


def same_weights(a, b):
    return all(torch.equal(a[key], b[key]) for key in a)


def test_a_finished_run_removes_its_work_directory_unless_asked_to_keep_it(tmp_path):
    train(RegressionTask(), config(tmp_path))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    train(RegressionTask(), config(tmp_path / "kept", keep_work=True))
    assert (tmp_path / "kept" / "out.work" / "last" / "state.pt").is_file()


@pytest.mark.parametrize("keep_work", [False, True])
def test_overwrite_after_a_finished_run_trains_the_new_settings(tmp_path, caplog, keep_work):
    """Issue 31.2: the leftover work directory was resumed: 0 steps, a copy of the old model."""
    train(RegressionTask(), config(tmp_path, keep_work=keep_work))
    old = weights(tmp_path / "out")
    caplog.set_level(logging.WARNING, logger="dpr_components.training.loop")
    result = train(RegressionTask(), config(tmp_path, learning_rate=0.05, overwrite=True, keep_work=keep_work))
    assert result.steps == 40
    train(RegressionTask(), config(tmp_path / "fresh", learning_rate=0.05))
    assert same_weights(weights(tmp_path / "out"), weights(tmp_path / "fresh" / "out"))
    assert not same_weights(weights(tmp_path / "out"), old)
    said = " ".join(r.getMessage() for r in caplog.records)
    assert ("Starting over" in said and "learning_rate 0.1 -> 0.05" in said) == keep_work


def test_an_interrupted_run_resumes_only_with_its_own_settings_and_data(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="dpr_components.training.loop")
    with pytest.raises(KeyboardInterrupt, match="interrupted by the test"):
        train(RegressionTask(fail_at_call=23), config(tmp_path))  # step 23 of 40, after the checkpoint of step 20
    with pytest.raises(ConfigurationError, match=r"holds an interrupted run .*learning_rate 0.1 -> 0.05.*resume=False"):
        train(RegressionTask(), config(tmp_path, learning_rate=0.05))
    other_data = RegressionTask()
    other_data.data = other_data.data[:5]
    with pytest.raises(ConfigurationError, match="data differs"):
        train(other_data, config(tmp_path))
    assert (tmp_path / "out.work" / "last" / "state.pt").is_file()  # the refusals kept the interrupted run

    result = train(RegressionTask(), config(tmp_path))
    assert result.steps == 40
    assert any("Resumed from step 20 of 40" in r.getMessage() for r in caplog.records)
    train(RegressionTask(), config(tmp_path / "straight"))
    assert same_weights(weights(tmp_path / "out"), weights(tmp_path / "straight" / "out"))


def test_no_resume_starts_over_and_overwrite_says_why(tmp_path, caplog):
    with pytest.raises(KeyboardInterrupt, match="interrupted by the test"):
        train(RegressionTask(fail_at_call=23), config(tmp_path))
    caplog.set_level(logging.WARNING, logger="dpr_components.training.loop")
    result = train(RegressionTask(), config(tmp_path, learning_rate=0.05, overwrite=True))
    assert result.steps == 40 and "Starting over" in caplog.text and "learning_rate 0.1 -> 0.05" in caplog.text
    with pytest.raises(KeyboardInterrupt, match="interrupted by the test"):
        train(RegressionTask(fail_at_call=23), config(tmp_path / "b"))
    assert train(RegressionTask(), config(tmp_path / "b", learning_rate=0.05, resume=False)).steps == 40


def test_a_second_training_on_one_output_is_refused_while_the_first_runs(tmp_path, lock_held_elsewhere):
    lock_held_elsewhere(tmp_path / "out.work")
    task = RegressionTask()
    with pytest.raises(ConfigurationError, match="Another process is writing .*out"):
        train(task, config(tmp_path))
    assert task.calls == 0


def test_leftovers_of_killed_runs_are_removed_by_the_next(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = dead.stdout.strip()
    (tmp_path / "out.work" / f".tmp-{pid}-0000abcd-last").mkdir(parents=True)
    (tmp_path / f".tmp-{pid}-0000abcd-out").mkdir()
    (tmp_path / f".tmp-{pid}-0000abcd-out" / "model.pt").write_bytes(b"half")
    train(RegressionTask(), config(tmp_path, keep_work=True))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "out.work"]
    assert sorted(p.name for p in (tmp_path / "out.work").iterdir()) == ["best", "last"]


class WideTask(RegressionTask):
    """A checkpoint of ~8 MB: more than the small disk holds."""

    def __init__(self):
        super().__init__()
        layers = (torch.nn.Linear(4, 1024), torch.nn.Linear(1024, 1024), torch.nn.Linear(1024, 1))
        self.model = torch.nn.Sequential(*layers)


def test_a_full_disk_during_a_checkpoint_is_named(small_disk):
    with pytest.raises(DiskFullError, match=r"No space left on the device while writing .*out.work.last"):
        train(WideTask(), config(small_disk, checkpoint_every=1, eval_every=0))
    assert not (small_disk / "out").exists()
