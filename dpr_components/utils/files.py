"""Crash-safe file writes, written once for every layer (store caches, data sets, training data).

A file (or directory) is written under a temporary name next to its target, flushed to disk, then renamed
into place. A reader therefore sees either the old complete file or the new complete file, never a partial
one; a process killed mid-write leaves only a ``.tmp-<pid>-...`` leftover, removed by
:func:`remove_leftovers` once that process is gone, and an error mid-write leaves the old file untouched.

Example::

    from dpr_components.utils.files import atomic_write

    atomic_write(Path("dpr_store/vectors/1-7-ab12cd34.faiss"), lambda tmp: faiss.write_index(index, str(tmp)))
    atomic_write(Path("out/README.md"), lambda tmp: tmp.write_text("# Data\n", encoding="utf-8"))
"""
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable

from dpr_components.errors import ConfigurationError

TEMPORARY_MARK = ".tmp-"


def atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Create ``target`` (a file or, if ``write`` makes one, a directory) atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f"{TEMPORARY_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}-{target.name}"
    try:
        write(temporary)
        _fsync_tree(temporary)
        if target.is_dir():
            shutil.rmtree(target)
        os.replace(temporary, target)
        _fsync(target.parent)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary) if temporary.is_dir() else temporary.unlink()


def cache_dir(name: str) -> Path:
    """``$DPR_COMPONENTS_CACHE/<name>`` (default ``~/.cache/dpr-components/<name>``): where every cache lives."""
    return Path(os.environ.get("DPR_COMPONENTS_CACHE") or Path.home() / ".cache" / "dpr-components") / name


def refuse_existing(target: Path, overwrite: bool) -> None:
    """The one rule for outputs a command creates whole (a model directory): never replaced unless asked."""
    if Path(target).exists() and not overwrite:
        raise ConfigurationError(f"{target} already exists. Choose another output or pass --overwrite "
                                 "(overwrite=True).")


def remove_leftovers(directory: Path) -> None:
    """Delete temporary files whose writing process no longer runs (it was killed mid-write)."""
    if not directory.is_dir():
        return
    for path in directory.glob(f"{TEMPORARY_MARK}*"):
        pid = path.name[len(TEMPORARY_MARK):].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_tree(path: Path) -> None:
    if path.is_dir():
        for child in path.iterdir():
            _fsync_tree(child)
    _fsync(path)


def _fsync(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
