"""A writer-preferring readers-writer lock: many queries at once, one write alone, no query mid-write (a
:class:`~dpr_components.workspace.Workspace` holds one: the CLI and the REST API index and query through it).

Usage::

    from dpr_components.utils.locks import ReadWriteLock

    lock = ReadWriteLock()
    with lock.reading():      # queries: any number together
        ...
    with lock.writing():      # uploads and deletes: waits for running queries, blocks new ones
        ...

A waiting writer stops new readers from entering, so a steady stream of queries cannot starve a write; and
the readers that waited for a write go in before the next write, so a writer that writes in batches (an
upload) cannot starve the queries either.
"""
import threading
from contextlib import contextmanager
from typing import Iterator


class ReadWriteLock:
    """Shared (read) and exclusive (write) sections over one condition variable."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._readers_waiting = 0
        self._reader_turns = 0  # readers that waited for the last write: they enter before the next one

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            self._readers_waiting += 1
            try:
                while self._writer or (self._writers_waiting and not self._reader_turns):
                    self._condition.wait()
            finally:
                self._readers_waiting -= 1
            self._reader_turns = max(0, self._reader_turns - 1)
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if self._readers == 0:
                    self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            try:
                while self._writer or self._readers or self._reader_turns:
                    self._condition.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._condition:
                self._writer = False
                self._reader_turns = self._readers_waiting
                self._condition.notify_all()
