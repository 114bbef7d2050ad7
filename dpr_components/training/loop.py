"""A model-agnostic training loop: AdamW, linear warm-up/decay, clipping, accumulation, dev evaluation.

The loop knows nothing about readers or encoders. A *task* (any object with the methods of
:class:`TrainingTask`) supplies the model, the batches, the loss, the dev evaluation and how to save a
finished model; the loop does the rest:

- AdamW (no weight decay on biases and LayerNorm weights), learning rate warmed up linearly over
  ``warmup_steps`` then decayed linearly to 0 at the last step; gradients clipped to ``max_grad_norm``;
  ``accumulation`` micro-batches per optimizer step (one "step" is one optimizer step everywhere).
- Trains for a planned number of steps: ``max_steps``, or ``num_epochs`` (default 1) of the data, whichever is
  fewer. The progress bar counts those steps (its remaining time is the estimate). ``max_minutes`` is only a
  cap for when time matters more than the result: it says so when it stops training before the planned steps
  (and predicts it early), since the model then depends on the machine's speed.
- Every ``eval_every`` steps and at the end, ``task.evaluate(device)`` gives dev metrics; when
  ``metric`` (default: the task's first ``dev_metrics()``, checked before training starts) improves the task
  saves the model into ``work_dir/best``. The output is the best model
  (the last one when there is no dev evaluation), put in place of ``output_dir`` atomically at the end
  (:func:`dpr_components.utils.files.atomic_write`): an interrupted run never leaves a half-written output.
- Every ``checkpoint_every`` steps and at the end, model, optimizer, scheduler, progress and RNG states go
  to ``work_dir/last`` with the run's record (the settings that change the weights, the task's
  ``fingerprint()``, a digest of the initial weights); with ``resume=True`` (default) a new run of the same
  record continues from there ("Resumed from step N"), skipping the batches of the current epoch already
  seen. Another record is refused (``overwrite=True``: training starts over, saying so). One process at a
  time per ``work_dir``; it is deleted after a finished run unless ``keep_work``.
- ``device`` auto | cpu | cuda[:n]; ``precision`` auto picks bf16 autocast where the hardware has native
  bf16 (see :mod:`dpr_components.utils.devices`), fp32 otherwise. The choice is logged and returned.
- tqdm shows the step, the running loss, the learning rate and the rate.
- ``num_threads``: torch's CPU threads during training. On a CPU that other processes keep busy, 1 thread can
  be several times faster than 2 (each parallel op waits for its slowest thread). The thread count changes the
  order of float sums, so the same seed gives the same weights only with the same ``num_threads``: a recipe
  that must give one model everywhere fixes it.

Example::

    from dpr_components.training.loop import TrainingConfig, train

    class Task:                                   # the interface, in full
        def __init__(self):
            self.model = torch.nn.Linear(4, 1)
            self.data = [(torch.randn(8, 4), torch.randn(8, 1)) for _ in range(10)]
        def num_batches(self) -> int:             # micro-batches per epoch
            return len(self.data)
        def batches(self, epoch: int):            # deterministic for a given epoch (resume skips a prefix)
            return iter(self.data)
        def loss(self, batch):                    # batch already moved to the device by the loop
            x, y = batch
            return torch.nn.functional.mse_loss(self.model(x), y)
        def dev_metrics(self) -> tuple:           # what evaluate() returns, the default metric first; () if none
            return ("neg_loss",)
        def evaluate(self, device) -> dict:       # dev metrics, higher is better; {} when there is no dev set
            return {"neg_loss": -float(sum(self.loss((x.to(device), y.to(device))) for x, y in self.data))}
        def save(self, directory) -> None:        # the finished model's own format
            torch.save(self.model.state_dict(), directory / "model.pt")
        def fingerprint(self) -> dict:            # the task's settings and data digests: a resume checks them
            return {"batches": str(len(self.data))}   # (the reader's: its settings and a digest of its data)

    result = train(Task(), TrainingConfig(output_dir="out", max_steps=50, learning_rate=1e-2, eval_every=10))
    print(result.steps, result.best_metrics, result.stopped_by)
"""
import logging
import math
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Protocol, Sequence

import torch
from tqdm import tqdm

from dpr_components.errors import ConfigurationError
from dpr_components.training import checkpoints
from dpr_components.training.settings import TrainingConfig
from dpr_components.utils.choices import Precision
from dpr_components.utils.devices import resolve_device, resolve_precision
from dpr_components.utils.files import atomic_write, exclusive, refuse_existing, remove, remove_leftovers

logger = logging.getLogger(__name__)
PACE_STEPS = 10  # steps timed before predicting whether max_minutes cuts training short


class TrainingTask(Protocol):
    """What the loop needs from a task (see the module example)."""

    @property
    def model(self) -> torch.nn.Module: ...  # read-only here: a task may hold a subclass

    def num_batches(self) -> int: ...

    def batches(self, epoch: int) -> Iterable[Any]: ...

    def loss(self, batch: Any) -> torch.Tensor: ...

    def dev_metrics(self) -> Sequence[str]: ...

    def evaluate(self, device: torch.device) -> Dict[str, float]: ...

    def save(self, directory: Path) -> None: ...

    def fingerprint(self) -> Dict[str, str]: ...

    # Optional: ``backward(batch, scale) -> float`` back-propagates ``scale`` x the batch loss itself and returns
    # the unscaled loss; the loop then calls it instead of ``loss(batch).backward()``. Tasks whose loss needs a
    # custom backward (the bi-encoder's gradient caching, gradients summed across data-parallel processes)
    # implement it; every other task does not.
    # Optional: ``learning_rate_scales() -> {parameter-name prefix: multiplier}`` gives some parameters (a task's
    # randomly initialised heads) a multiple of the learning rate.


@dataclass
class TrainingResult:
    output_dir: Path
    steps: int
    stopped_by: str  # "max_steps" | "num_epochs" | "max_minutes"
    best_metrics: Dict[str, float] = field(default_factory=dict)
    last_metrics: Dict[str, float] = field(default_factory=dict)
    device: str = "cpu"
    precision: str = "fp32"
    seconds: float = 0.0
    final_loss: float = float("nan")
    planned_steps: int = 0  # what the run was set to train (steps < planned_steps: max_minutes cut it short)


def to_device(batch: Any, device: torch.device) -> Any:
    """``batch`` with every tensor inside (dicts, lists, tuples) moved to ``device``."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {key: to_device(value, device) for key, value in batch.items()}
    if isinstance(batch, (list, tuple)):
        return type(batch)(to_device(value, device) for value in batch)
    return batch


def build_optimizer(model: torch.nn.Module, config: TrainingConfig,
                    scales: Optional[Dict[str, float]] = None) -> torch.optim.AdamW:
    """AdamW without weight decay on biases and LayerNorm; ``scales`` maps a parameter-name prefix to a
    learning-rate multiplier (a task's new heads, see :class:`TrainingTask`)."""
    groups: Dict[tuple, List[torch.nn.Parameter]] = {}
    for name, parameter in model.named_parameters():
        if parameter.requires_grad:
            plain = name.endswith("bias") or "LayerNorm" in name or "layer_norm" in name
            scale = next((s for prefix, s in (scales or {}).items() if name.startswith(prefix)), 1.0)
            groups.setdefault((0.0 if plain else config.weight_decay, scale), []).append(parameter)
    return torch.optim.AdamW([{"params": params, "weight_decay": decay, "lr": config.learning_rate * scale}
                              for (decay, scale), params in groups.items()], lr=config.learning_rate,
                             eps=config.adam_eps)


def linear_schedule(optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int):
    """Learning-rate factor rising linearly over ``warmup_steps`` to 1, then falling linearly to 0 at
    ``total_steps``."""
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / (warmup_steps + 1)
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def total_steps(config: TrainingConfig, batches_per_epoch: int) -> int:
    steps_per_epoch = max(1, math.ceil(batches_per_epoch / config.accumulation))
    limits = [config.max_steps] if config.max_steps else []
    if config.num_epochs or not limits:
        limits.append((config.num_epochs or 1) * steps_per_epoch)
    return min(limits)


class _Trainer:
    def __init__(self, task: TrainingTask, config: TrainingConfig):
        self.task, self.config = task, config
        self.device = resolve_device(config.device)
        self.precision = resolve_precision(config.precision, self.device)
        if self.precision is Precision.INT8:
            raise ConfigurationError("precision int8 cannot train; use auto, fp32 or bf16.")
        self.autocast = self.precision is Precision.BF16
        self.batches_per_epoch = task.num_batches()
        if self.batches_per_epoch < 1:
            raise ConfigurationError("The training set yields no batch: nothing to train on.")
        self.total = total_steps(config, self.batches_per_epoch)
        self.metric = dev_metric(task, config.metric)
        self.run_record = checkpoints.run_record(config, task.fingerprint(), checkpoints.weights_digest(task.model))
        task.model.to(self.device)
        self.optimizer = build_optimizer(task.model, config, getattr(task, "learning_rate_scales", dict)())
        self.scheduler = linear_schedule(self.optimizer, config.warmup_steps, self.total)
        self.step, self.epoch, self.seen_in_epoch = 0, 0, 0
        self.best: Optional[float] = None
        self.best_metrics: Dict[str, float] = {}
        self.last_metrics: Dict[str, float] = {}
        self.running_loss = float("nan")

    def amp(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.autocast)

    def state(self) -> Dict[str, Any]:
        return {"model": self.task.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(), "step": self.step, "epoch": self.epoch,
                "seen_in_epoch": self.seen_in_epoch, "best": self.best, "best_metrics": self.best_metrics,
                "running_loss": self.running_loss, "rng": checkpoints.rng_state(), "run": self.run_record}

    def restore(self, state: Dict[str, Any]) -> None:
        self.task.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.step, self.epoch, self.seen_in_epoch = state["step"], state["epoch"], state["seen_in_epoch"]
        self.best, self.best_metrics = state["best"], state["best_metrics"]
        self.running_loss = state["running_loss"]
        checkpoints.set_rng_state(state["rng"])
        self.say(f"Resumed from step {self.step} of {self.total} ({self.config.work_dir}).")

    def evaluate(self) -> None:
        self.task.model.eval()
        with torch.no_grad(), self.amp():
            metrics = dict(self.task.evaluate(self.device))
        self.task.model.train()
        self.last_metrics = metrics
        if not metrics or self.metric is None:
            return
        value = float(metrics[self.metric])
        improved = self.best is None or value > self.best
        line = (f"step {self.step} dev " + ", ".join(f"{k}={v:.4g}" for k, v in metrics.items()) +
                (" (best so far)" if improved else f" (best {self.best:.4g} at step {int(self.best_metrics['step'])})"))
        self.say(line)  # above the progress bar: a user watching it sees how dev quality moves
        if improved:
            self.best, self.best_metrics = value, {**metrics, "step": self.step}
            checkpoints.save_best(self.config.work_dir, self.task.save, self.best_metrics)

    def say(self, line: str, warning: bool = False) -> None:
        """A line for the person watching: above the progress bar (stderr), else to the log."""
        if self.config.show_progress:
            tqdm.write(line, file=sys.stderr)
        else:
            logger.log(logging.WARNING if warning else logging.INFO, line)

    def check_pace(self, started: float, deadline: float, steps_done: int) -> None:
        """Once, early: say whether ``max_minutes`` (the ``deadline``) will stop training before the planned steps."""
        now = time.monotonic()
        elapsed = now - started
        needed = elapsed / steps_done * (self.total - self.step)
        if now + needed > deadline:
            reachable = self.step + int((deadline - now) / elapsed * steps_done)
            self.say(f"At this pace the {self.total} planned steps need about {(elapsed + needed) / 60:.1f} min: "
                     f"max_minutes={self.config.max_minutes:g} will stop training near step {reachable}, "
                     "with a weaker model than planned.", warning=True)

    def micro_batches(self) -> Iterable[Any]:
        """Batches from the current position on, across epochs, advancing ``epoch``/``seen_in_epoch``."""
        while True:
            for index, batch in enumerate(self.task.batches(self.epoch)):
                if index < self.seen_in_epoch:
                    continue
                self.seen_in_epoch = index + 1
                yield batch
            self.epoch, self.seen_in_epoch = self.epoch + 1, 0

    def run(self) -> TrainingResult:
        config, started = self.config, time.monotonic()
        deadline = started + config.max_minutes * 60 if config.max_minutes else None
        stopped_by = "max_steps" if config.max_steps and self.total == config.max_steps else "num_epochs"
        last_eval_step, first_step = -1, self.step
        self.task.model.train()
        progress = tqdm(total=self.total, initial=self.step, desc="training", unit="step",
                        disable=not config.show_progress, dynamic_ncols=True)
        batches = iter(self.micro_batches())
        backward = getattr(self.task, "backward", None)
        with progress:
            while self.step < self.total:
                if deadline is not None and time.monotonic() >= deadline:
                    stopped_by = "max_minutes"
                    break
                self.optimizer.zero_grad(set_to_none=True)
                step_loss = 0.0
                for _ in range(config.accumulation):
                    batch = to_device(next(batches), self.device)
                    with self.amp():
                        if backward is not None:  # the task back-propagates itself (e.g. gradient caching)
                            loss_value = backward(batch, 1.0 / config.accumulation) / config.accumulation
                        else:
                            loss = self.task.loss(batch) / config.accumulation
                            loss_value = loss.item()
                    if not math.isfinite(loss_value):
                        raise ConfigurationError(f"The loss became {loss_value} at step {self.step}; "
                                                 "lower the learning rate.")
                    if backward is None:
                        loss.backward()
                    step_loss += loss_value
                if config.max_grad_norm > 0:
                    torch.nn.utils.clip_grad_norm_(self.task.model.parameters(), config.max_grad_norm)
                self.optimizer.step()
                self.scheduler.step()
                self.step += 1
                self.running_loss = step_loss if math.isnan(self.running_loss) else \
                    0.9 * self.running_loss + 0.1 * step_loss
                progress.update(1)
                if deadline is not None and self.step - first_step == PACE_STEPS:
                    self.check_pace(started, deadline, PACE_STEPS)
                progress.set_postfix(loss=f"{self.running_loss:.4f}", lr=f"{self.scheduler.get_last_lr()[0]:.2e}")
                if config.eval_every and self.step % config.eval_every == 0:
                    self.evaluate()
                    last_eval_step = self.step
                if config.checkpoint_every and self.step % config.checkpoint_every == 0:
                    checkpoints.save_state(config.work_dir, self.state())
        if stopped_by == "max_minutes":
            self.say(f"max_minutes={config.max_minutes:g} cut training short: {self.step} of {self.total} planned "
                     "steps done. The model depends on this machine's speed; drop the cap to train them all.",
                     warning=True)
        if last_eval_step != self.step:
            self.evaluate()
        checkpoints.save_state(config.work_dir, self.state())
        self.write_output()
        return TrainingResult(config.output_dir, self.step, stopped_by, self.best_metrics, self.last_metrics,
                              str(self.device), self.precision.value, time.monotonic() - started, self.running_loss,
                              self.total)

    def write_output(self) -> None:
        best = checkpoints.best_dir(self.config.work_dir)
        if best is not None:
            atomic_write(self.config.output_dir, lambda tmp: shutil.copytree(best, tmp))
        else:
            atomic_write(self.config.output_dir, self.task.save, make_dir=True)

    def start(self) -> None:
        """Resume the run ``work_dir`` holds when it is this run (same settings, data and initial weights); else
        start over, after refusing unless ``overwrite`` (the interrupted run would be lost)."""
        config = self.config
        state = checkpoints.load_state(config.work_dir) if config.resume else None
        if state is not None and state.get("run") != self.run_record:
            changed = checkpoints.differences(state.get("run") or {}, self.run_record)
            if not config.overwrite:
                raise ConfigurationError(f"{config.work_dir} holds an interrupted run with other settings or data "
                                         f"({changed}): run again with its settings to resume it, or start over "
                                         "with resume=False (--no-resume).")
            self.say(f"Starting over: {config.work_dir} held a run with other settings or data ({changed}).",
                     warning=True)
            state = None
        if state is None:
            for child in config.work_dir.iterdir():  # a stale best/ must not become this run's output
                remove(child)
        else:
            self.restore(state)


def dev_metric(task: TrainingTask, metric: Optional[str]) -> Optional[str]:
    """The metric that picks the best model: ``metric``, else the task's default; None without dev metrics."""
    names = tuple(task.dev_metrics())
    if not names:
        return None
    if metric is None:
        return names[0]
    if metric not in names:
        raise ConfigurationError(f"metric {metric!r} is not among the task's dev metrics ({', '.join(names)}); "
                                 "pass one of them.")
    return metric


def train(task: TrainingTask, config: TrainingConfig) -> TrainingResult:
    """Train ``task.model`` as ``config`` says and write the best model to ``config.output_dir``.

    One process at a time per output (``work_dir`` is locked); ``work_dir`` is deleted after a finished run
    unless ``keep_work``, and kept (resumable) after a failed or interrupted one.
    """
    refuse_existing(config.output_dir, config.overwrite)
    threads = torch.get_num_threads()
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    try:
        checkpoints.seed_everything(config.seed)
        trainer = _Trainer(task, config)
        with exclusive(config.work_dir, str(config.output_dir)):
            remove_leftovers(config.output_dir.parent)  # what runs killed while writing left behind
            remove_leftovers(config.work_dir)
            trainer.start()
            logger.info("training on %s, precision %s, %d steps", trainer.device, trainer.precision.value,
                        trainer.total)
            result = trainer.run()
            if not config.keep_work:
                shutil.rmtree(config.work_dir)
        return result
    finally:
        torch.set_num_threads(threads)
