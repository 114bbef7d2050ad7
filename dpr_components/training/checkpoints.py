"""Training checkpoints on disk: the resumable state (``last/``), the best model (``best/``), atomic swaps.

Layout of a run's work directory::

    work_dir/
      last/state.pt        model, optimizer, scheduler, progress and RNG states (resume from here)
      best/                what the task's ``save`` wrote at the best dev evaluation, plus metrics.json

Every directory is written under a temporary name and swapped in by rename, so a run killed at any moment
leaves the previous ``last/`` or ``best/`` readable.

Example::

    from dpr_components.training.checkpoints import replace_dir, load_state
    replace_dir(work_dir / "last", lambda tmp: torch.save(state, tmp / "state.pt"))
    state = load_state(work_dir)        # None when the run has no checkpoint yet
"""
import json
import random
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import numpy as np
import torch

STATE_FILE = "state.pt"
METRICS_FILE = "metrics.json"


def replace_dir(target: Path, write: Callable[[Path], None]) -> None:
    """Run ``write(tmp)`` on a fresh temporary directory, then put it in place of ``target``.

    The old ``target`` is moved aside before the rename and deleted after it, so at every instant one
    complete version exists (``target`` or ``target.old``; :func:`existing_dir` finds either).
    """
    target = Path(target)
    temporary = target.with_name(target.name + ".tmp")
    old = target.with_name(target.name + ".old")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    try:
        write(temporary)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    temporary.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def existing_dir(target: Path) -> Optional[Path]:
    """``target`` if it exists, else the ``.old`` copy a crash during :func:`replace_dir` left behind."""
    target = Path(target)
    for candidate in (target, target.with_name(target.name + ".old")):
        if candidate.is_dir():
            return candidate
    return None


def rng_state() -> Dict[str, Any]:
    """RNG states as tensors and plain Python values: loadable with ``weights_only=True``, which Haystack
    forces for every ``torch.load`` (it sets TORCH_FORCE_WEIGHTS_ONLY_LOAD=1 at import)."""
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
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


def save_state(work_dir: Path, state: Dict[str, Any]) -> None:
    replace_dir(Path(work_dir) / "last", lambda tmp: torch.save(state, tmp / STATE_FILE))


def load_state(work_dir: Path) -> Optional[Dict[str, Any]]:
    """The state saved by :func:`save_state`, or None when there is none."""
    directory = existing_dir(Path(work_dir) / "last")
    if directory is None or not (directory / STATE_FILE).is_file():
        return None
    return torch.load(directory / STATE_FILE, map_location="cpu", weights_only=True)


def save_best(work_dir: Path, save_model: Callable[[Path], None], metrics: Dict[str, float]) -> None:
    def write(tmp: Path) -> None:
        save_model(tmp)
        (tmp / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")

    replace_dir(Path(work_dir) / "best", write)


def best_dir(work_dir: Path) -> Optional[Path]:
    return existing_dir(Path(work_dir) / "best")
