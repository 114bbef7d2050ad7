"""Training checkpoints on disk: the resumable state (``last/``) and the best model (``best/``).

Layout of a run's work directory::

    work_dir/
      last/state.pt        model, optimizer, scheduler, progress and RNG states (resume from here)
      best/                what the task's ``save`` wrote at the best dev evaluation, plus metrics.json

Every directory is replaced atomically (:func:`dpr_components.utils.files.atomic_write`), so a run killed at any
moment leaves the previous ``last/`` or ``best/`` readable.

Example::

    from dpr_components.training.checkpoints import load_state, save_state
    save_state(work_dir, state)
    state = load_state(work_dir)        # None when the run has no checkpoint yet
"""
import hashlib
import json
import random
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch

from dpr_components.utils.files import atomic_write

STATE_FILE = "state.pt"
METRICS_FILE = "metrics.json"


def rng_state() -> Dict[str, Any]:
    """RNG states as tensors and plain Python values: loadable with ``weights_only=True``, which Haystack
    forces for every ``torch.load`` (it sets TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 at import)."""
    legacy = np.random.get_state(legacy=True)
    assert isinstance(legacy, tuple)  # MT19937's (name, keys, position, has_gauss, cached_gaussian)
    name, keys, position, has_gauss, cached_gaussian = legacy
    numpy_state = (name, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached_gaussian))
    state = {"python": random.getstate(), "numpy": numpy_state, "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached_gaussian = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached_gaussian))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)


# The loop's settings that change the weights a run makes (max_minutes, threads, device, progress do not).
RUN_SETTINGS = ("learning_rate", "weight_decay", "adam_eps", "warmup_steps", "max_grad_norm", "accumulation",
                "num_epochs", "max_steps", "metric", "seed", "precision")


def run_record(config: Any, task_fingerprint: Dict[str, str], initial_weights: str) -> Dict[str, str]:
    """What makes two runs the same run: the loop's RUN_SETTINGS, the task's settings and data digests, and the
    initial weights' digest. Saved with every checkpoint; a resume compares it (:func:`differences`)."""
    record = {name: str(getattr(config, name)) for name in RUN_SETTINGS}
    return {**record, **{key: str(value) for key, value in task_fingerprint.items()}, "initial model": initial_weights}


def differences(saved: Dict[str, str], wanted: Dict[str, str]) -> str:
    """``"learning_rate 1e-05 -> 3e-05, training data differs"``: how two run records differ."""
    if not saved:
        return "a checkpoint of an earlier version, without a run record"
    changed = []
    for key in [*wanted, *(k for k in saved if k not in wanted)]:
        if saved.get(key) != wanted.get(key):
            digest = "data" in key or "model" in key
            changed.append(f"{key} differs" if digest else f"{key} {saved.get(key, '-')} -> {wanted.get(key, '-')}")
    return ", ".join(changed)


def weights_digest(model: torch.nn.Module) -> str:
    """A digest of every weight and buffer of ``model`` (its initial state, in a run record)."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def save_state(work_dir: Path, state: Dict[str, Any]) -> None:
    def write(tmp: Path) -> None:
        with open(tmp / STATE_FILE, "wb") as stream:  # a file object: a full disk raises OSError, not RuntimeError
            torch.save(state, stream)

    atomic_write(Path(work_dir) / "last", write, make_dir=True)


def load_state(work_dir: Path) -> Optional[Dict[str, Any]]:
    """The state saved by :func:`save_state`, or None when there is none."""
    path = Path(work_dir) / "last" / STATE_FILE
    return torch.load(path, map_location="cpu", weights_only=True) if path.is_file() else None


def save_best(work_dir: Path, save_model: Callable[[Path], None], metrics: Dict[str, float]) -> None:
    def write(tmp: Path) -> None:
        save_model(tmp)
        (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")

    atomic_write(Path(work_dir) / "best", write, make_dir=True)


def best_dir(work_dir: Path) -> Optional[Path]:
    best = Path(work_dir) / "best"
    return best if best.is_dir() else None
