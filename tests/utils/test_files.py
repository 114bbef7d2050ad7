"""Atomic replaces: a directory replaced in one step (never missing), a full disk reported as such with the old
version kept, leftovers of killed writers removed, one writer at a time."""
import os
import subprocess
import sys
import threading

import pytest

from dpr_components.errors import ConfigurationError, DiskFullError
from dpr_components.utils.files import atomic_write, exclusive, refuse_existing, remove_leftovers


def write_model(files: int, text: str):
    def write(directory):
        directory.mkdir()
        for index in range(files):
            (directory / f"part-{index}.bin").write_text(text * 1000)
    return write


def test_replacing_a_directory_never_leaves_it_missing_or_partial(tmp_path):
    target = tmp_path / "model"
    atomic_write(target, write_model(20, "a"))
    seen, stop = set(), threading.Event()

    def watch():  # what a reader opening the model's files at any moment finds
        while not stop.is_set():
            for index in range(20):
                try:
                    text = (target / f"part-{index}.bin").read_text()
                    seen.add("complete" if text in ("a" * 1000, "b" * 1000, "c" * 1000) else "torn")
                except FileNotFoundError:
                    seen.add("missing")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for round_ in range(30):
            atomic_write(target, write_model(20, "b" if round_ % 2 else "c"))
    finally:
        stop.set()
        watcher.join()
    assert seen == {"complete"}, seen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]  # the old versions are gone


def test_a_full_disk_is_named_and_the_old_version_kept(small_disk):
    target = small_disk / "model"
    atomic_write(target, write_model(3, "a"))  # 12 kB
    with pytest.raises(DiskFullError, match="No space left on the device while writing .*model"):
        atomic_write(target, write_model(300, "b"))  # 1.2 MB on a 1 MiB disk
    assert {p.read_text()[0] for p in target.iterdir()} == {"a"}
    assert sorted(p.name for p in small_disk.iterdir()) == ["model"]


def test_leftovers_of_dead_writers_are_removed_and_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    leftover = tmp_path / f".tmp-{dead.stdout.strip()}-abcd1234-model"
    leftover.mkdir()
    (leftover / "config.json").write_text("{}")
    mine = tmp_path / f".tmp-{os.getpid()}-abcd1234-model"
    mine.mkdir()
    remove_leftovers(tmp_path)
    assert not leftover.exists() and mine.exists()


def test_an_output_that_names_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigurationError, match="notes.txt is a file, not the directory"):
        refuse_existing(tmp_path / "notes.txt", overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_one_writer_at_a_time(tmp_path, lock_held_elsewhere):
    release = lock_held_elsewhere(tmp_path / "out.work")
    with pytest.raises(ConfigurationError, match="Another process is writing out"), exclusive(
            tmp_path / "out.work", "out"):
        pass
    release()
    with exclusive(tmp_path / "out.work", "out"):  # free again once the holder is gone
        pass
