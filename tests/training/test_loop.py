"""The generic training loop on a small regression task: it learns, schedules, resumes exactly, keeps the best."""
import json
import logging
import time

import pytest
import torch

from dpr_components.errors import ConfigurationError
from dpr_components.training.loop import TrainingConfig, linear_schedule, train


class RegressionTask:
    """y = x @ w with noise-free targets; dropout makes RNG restoration matter for exact resume."""

    def __init__(self, fail_at_call=None):
        generator = torch.Generator().manual_seed(0)
        torch.manual_seed(0)  # the same initial weights for every instance
        self.model = torch.nn.Sequential(torch.nn.Dropout(0.1), torch.nn.Linear(4, 1))
        weights = torch.tensor([[1.0], [-2.0], [0.5], [3.0]])
        self.data = []
        for _ in range(6):
            x = torch.randn(8, 4, generator=generator)
            self.data.append({"x": x, "y": x @ weights})
        self.calls, self.fail_at_call, self.evaluations = 0, fail_at_call, []

    def num_batches(self):
        return len(self.data)

    def batches(self, epoch):
        order = torch.randperm(len(self.data), generator=torch.Generator().manual_seed(epoch)).tolist()
        return (self.data[i] for i in order)

    def loss(self, batch):
        self.calls += 1
        if self.calls == self.fail_at_call:
            raise KeyboardInterrupt(f"interrupted by the test at call {self.calls}")
        return torch.nn.functional.mse_loss(self.model(batch["x"]), batch["y"])

    def dev_metrics(self):
        return ("neg_mse",)

    def evaluate(self, device):
        assert not self.model.training
        total = sum(float(torch.nn.functional.mse_loss(self.model(b["x"].to(device)), b["y"].to(device)))
                    for b in self.data)
        self.evaluations.append(total)
        return {"neg_mse": -total}

    def save(self, directory):
        torch.save(self.model.state_dict(), directory / "model.pt")

    def fingerprint(self):
        return {"data": str(sum(float(b["x"].sum()) for b in self.data))}


def config(tmp_path, **overrides):
    settings = dict(output_dir=tmp_path / "out", learning_rate=0.1, max_steps=40, eval_every=10,
                    checkpoint_every=5, show_progress=False, device="cpu", precision="fp32")
    settings.update(overrides)
    return TrainingConfig(**settings)


def test_loss_falls_and_best_checkpoint_is_the_output(tmp_path):
    task = RegressionTask()
    task.model.eval()
    untrained = -task.evaluate("cpu")["neg_mse"]
    result = train(task, config(tmp_path, keep_work=True))
    assert result.steps == 40 and result.stopped_by == "max_steps"
    assert task.evaluations[-1] < untrained / 5
    best = json.loads((tmp_path / "out.work" / "best" / "metrics.json").read_text())
    assert best["neg_mse"] == max(-e for e in task.evaluations[1:])
    saved = torch.load(tmp_path / "out" / "model.pt")
    assert sorted(saved) == sorted(task.model.state_dict())
    assert not list(tmp_path.glob("*.tmp"))


def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    straight = RegressionTask()
    train(straight, config(tmp_path / "a", accumulation=2))
    interrupted = RegressionTask(fail_at_call=47)  # step 23 of 40, after the checkpoint of step 20
    with pytest.raises(KeyboardInterrupt, match="interrupted by the test"):
        train(interrupted, config(tmp_path / "b", accumulation=2))
    assert not (tmp_path / "b" / "out").exists()  # nothing half-written
    resumed = RegressionTask()
    result = train(resumed, config(tmp_path / "b", accumulation=2))
    assert result.steps == 40
    for (name, a), b in zip(straight.model.state_dict().items(), resumed.model.state_dict().values()):
        assert torch.equal(a, b), name


def test_epochs_and_time_limit(tmp_path):
    result = train(RegressionTask(), config(tmp_path, max_steps=None, num_epochs=2, accumulation=4))
    assert result.steps == 4 and result.stopped_by == "num_epochs"  # ceil(6 / 4) steps per epoch
    result = train(RegressionTask(), config(tmp_path / "t", max_steps=10 ** 6, max_minutes=1e-6))
    assert result.stopped_by == "max_minutes" and result.steps <= 1
    assert (tmp_path / "t" / "out" / "model.pt").is_file()


def test_warmup_then_linear_decay():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    schedule = linear_schedule(optimizer, warmup_steps=3, total_steps=7)
    rates = []
    for _ in range(7):
        rates.append(schedule.get_last_lr()[0])
        optimizer.step()
        schedule.step()
    assert rates == pytest.approx([0.25, 0.5, 0.75, 1.0, 0.75, 0.5, 0.25])


def test_refuses_existing_output_and_unknown_metric_before_training(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(ConfigurationError, match="already exists"):
        train(RegressionTask(), config(tmp_path))
    task = RegressionTask()
    with pytest.raises(ConfigurationError, match="metric 'em'.*neg_mse"):
        train(task, config(tmp_path, output_dir=tmp_path / "o2", metric="em"))
    assert task.calls == 0 and not (tmp_path / "o2.work").exists()  # refused before the first step
    with pytest.raises(ConfigurationError, match="accumulation"):
        config(tmp_path, accumulation=0)


class SlowTask(RegressionTask):
    def loss(self, batch):
        time.sleep(0.05)
        return super().loss(batch)


def test_max_minutes_is_a_cap_that_says_when_it_cuts_training_short(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="dpr_components.training.loop")
    result = train(SlowTask(), config(tmp_path, max_steps=1000, max_minutes=0.02, eval_every=0))
    assert result.stopped_by == "max_minutes" and 10 < result.steps < 1000
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("1000 planned steps need about" in w and "near step" in w for w in warnings), warnings
    assert any(f"cut training short: {result.steps} of 1000 planned steps" in w for w in warnings), warnings
    caplog.clear()
    result = train(SlowTask(), config(tmp_path / "fits", max_steps=12, max_minutes=5, eval_every=0))
    assert result.stopped_by == "max_steps" and result.steps == 12
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
