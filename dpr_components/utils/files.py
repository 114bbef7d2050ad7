"""Crash-safe file writes, written once for every layer (store caches, data sets, training data, models).

A file or directory is written under a temporary name next to its target, flushed to disk, then put in place
in one step: a file by ``os.replace``, a directory over an existing one by an atomic exchange of the two
names (Linux ``renameat2(RENAME_EXCHANGE)``), after which the old version is deleted. A reader therefore
sees either the old complete version or the new complete one, never a partial or missing one; a process
killed mid-write leaves only a ``.tmp-<pid>-...`` leftover, removed by :func:`remove_leftovers` once that
process is gone, and an error mid-write leaves the old version untouched. A full disk is reported as such.
Scratch directories (:func:`scratch_dir`) are named the same way, so the next run removes a killed one's.

:func:`exclusive` keeps two processes from writing one output at once.

Example::

    from dpr_components.utils.files import atomic_write

    atomic_write(Path("dpr_store/vectors/1-7-ab12cd34.faiss"), lambda tmp: faiss.write_index(index, str(tmp)))
    atomic_write(Path("out/README.md"), lambda tmp: tmp.write_text("# Data\\n", encoding="utf-8"))
    atomic_write(Path("my_model"), lambda tmp: model.save_pretrained(tmp), make_dir=True)  # replaces a directory
"""
import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Callable, Iterator, Optional

from dpr_components.errors import ConfigurationError, DiskFullError

TEMPORARY_MARK = ".tmp-"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def atomic_write(target: Path, write: Callable[[Path], object], make_dir: bool = False) -> None:
    """Create or replace ``target`` (a file, or a directory when ``write`` makes one or ``make_dir``) atomically."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.parent / f"{TEMPORARY_MARK}{os.getpid()}-{uuid.uuid4().hex[:8]}-{target.name}"
    try:
        if make_dir:
            temporary.mkdir()
        write(temporary)
        _fsync_tree(temporary)
        if target.exists() and (target.is_dir() or temporary.is_dir()):
            _exchange(temporary, target)  # the old version now has the temporary name and is deleted below
        else:
            os.replace(temporary, target)
        _fsync(target.parent)
    except Exception as error:
        if _disk_full(error):
            raise DiskFullError(f"No space left on the device while writing {target}: free space on "
                                f"{target.parent} and run again (the previous version, if any, is kept).") from error
        raise
    finally:
        if temporary.exists():
            remove(temporary)


def cache_dir(name: str) -> Path:
    """``$DPR_COMPONENTS_CACHE/<name>`` (default ``~/.cache/dpr-components/<name>``): where every cache lives."""
    return Path(os.environ.get("DPR_COMPONENTS_CACHE") or Path.home() / ".cache" / "dpr-components") / name


def refuse_existing(target: Path, overwrite: bool, directory: bool = True) -> None:
    """The one rule for outputs a command creates whole (a model directory): never replaced unless asked, and
    never a file where a directory goes (or the reverse)."""
    target = Path(target)
    if target.exists() and target.is_dir() != directory:
        raise ConfigurationError(f"{target} is a {'file' if directory else 'directory'}, not the "
                                 f"{'directory' if directory else 'file'} this output is: choose another output.")
    if target.exists() and not overwrite:
        raise ConfigurationError(f"{target} already exists. Choose another output or pass --overwrite "
                                 "(overwrite=True).")


@contextlib.contextmanager
def exclusive(directory: Path, what: str) -> Iterator[None]:
    """Hold an exclusive lock on ``directory`` (created if needed) or fail at once, naming ``what`` is busy."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ConfigurationError(f"Another process is writing {what} ({directory} is locked): wait for it to "
                                     "finish, or choose another output.") from None
        yield
    finally:
        os.close(descriptor)  # releases the lock


def remove_leftovers(directory: Path) -> None:
    """Delete temporary files whose writing process no longer runs (it was killed mid-write)."""
    if not directory.is_dir():
        return
    for path in directory.glob(f"{TEMPORARY_MARK}*"):
        pid = path.name[len(TEMPORARY_MARK):].split("-", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            remove(path)


def scratch_dir(name: str) -> Path:
    """A new scratch directory named for this process under the system's temporary folder; those of processes
    that were killed before removing theirs are removed first. The caller removes it (:func:`remove`)."""
    parent = Path(tempfile.gettempdir()) / "dpr-components"
    parent.mkdir(exist_ok=True)
    remove_leftovers(parent)
    return Path(tempfile.mkdtemp(prefix=f"{TEMPORARY_MARK}{os.getpid()}-{name}-", dir=parent))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)


def _disk_full(error: Optional[BaseException]) -> bool:
    """Whether ``error`` or one it was raised from (torch's writer wraps the OSError) says the disk is full;
    safetensors and tokenizers raise errors of their own that say so in words."""
    for _ in range(8):
        if error is None:
            return False
        if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(error):
            return True
        error = error.__cause__ or error.__context__
    return False


def _exchange(new: Path, target: Path) -> None:
    """Swap the names ``new`` and ``target`` in one step; where the file system cannot (not Linux, NFS), move
    ``target`` aside first (a kill between the two renames then leaves no ``target``, only the leftovers)."""
    rename = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if rename is not None and rename(_AT_FDCWD, os.fsencode(new), _AT_FDCWD, os.fsencode(target),
                                     _RENAME_EXCHANGE) == 0:
        return
    aside = new.with_name(new.name + ".old")
    os.rename(target, aside)
    os.rename(new, target)
    os.rename(aside, new)


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
