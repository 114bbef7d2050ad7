"""A writer-preferring readers-writer lock: many queries at once, one write alone, no query mid-write.

Usage::

    from dpr_components.serving.locks import ReadWriteLock

    lock = ReadWriteLock()
    with lock.reading():      # queries: any number together
        ...
    with lock.writing():      # uploads and deletes: waits for running queries, blocks new ones
        ...

A waiting writer stops new readers from entering, so a steady stream of queries cannot starve a write.
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

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            while self._writer or self._writers_waiting:
                self._condition.wait()
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
                while self._writer or self._readers:
                    self._condition.wait()
            finally:
                self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._condition:
                self._writer = False
                self._condition.notify_all()
