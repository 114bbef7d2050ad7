"""Micro-batching: queries that arrive within a few milliseconds share one pipeline ``run_batch`` call.

One worker thread owns the pipeline's query path. Each request is queued with a future; the worker takes the
first waiting query, gathers whatever else arrives within ``window_s`` (up to ``max_batch_size``), groups the
queries whose run params are identical, and hands each group to ``run_batch`` -- one question-encoder forward
pass and one reader pass for the whole group. ``max_batch_size=1`` serves one query at a time (the baseline
the load test compares with). When ``max_queue`` queries are already waiting, ``submit`` raises
:class:`~dpr_components.serving.errors.OverloadedError` (HTTP 503 with ``Retry-After``). The worker starts with
the first ``submit`` (or ``start``), so an app works however it is run, even without start-up events.

Usage::

    from dpr_components.serving.batcher import MicroBatcher

    batcher = MicroBatcher(run_batch=lambda queries, params: [{"query": q} for q in queries])
    print(batcher.submit("who wrote hamlet?").result())     # {'query': 'who wrote hamlet?'}
    batcher.stop()
"""
import json
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from dpr_components.serving.errors import OverloadedError

logger = logging.getLogger(__name__)

RunBatch = Callable[[List[str], Dict[str, Any]], List[Dict[str, Any]]]


@dataclass
class _Job:
    query: str
    params: Dict[str, Any]
    future: Future = field(default_factory=Future)

    @property
    def group_key(self) -> str:
        return json.dumps(self.params, sort_keys=True, default=str)


@dataclass
class BatchStats:
    """Counters for ``/health``-style reporting and the load test."""

    batches: int = 0
    queries: int = 0
    largest_batch: int = 0


class MicroBatcher:
    """A bounded queue of queries and the worker thread that runs them in groups."""

    def __init__(self, run_batch: RunBatch, window_s: float = 0.005, max_batch_size: int = 32,
                 max_queue: int = 256, run_one: Optional[RunBatch] = None):
        """``run_batch(queries, params)`` returns one result dict per query; ``run_one`` (same signature,
        called with a single query) isolates a failing query when its batch raised."""
        if max_batch_size < 1 or max_queue < 1 or window_s < 0:
            raise ValueError("MicroBatcher needs max_batch_size >= 1, max_queue >= 1 and window_s >= 0.")
        self.run_batch, self.run_one = run_batch, run_one or run_batch
        self.window_s, self.max_batch_size = window_s, max_batch_size
        self.stats = BatchStats()
        self._queue: queue.Queue[Optional[_Job]] = queue.Queue(maxsize=max_queue)
        self._thread: Optional[threading.Thread] = None
        self._starting = threading.Lock()

    def start(self) -> None:
        with self._starting:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name="dpr-query-batcher", daemon=True)
                self._thread.start()

    def stop(self) -> None:
        """Finish the queries already queued, then end the worker."""
        with self._starting:
            if self._thread is not None:
                self._queue.put(None)
                self._thread.join()
                self._thread = None

    def submit(self, query: str, params: Optional[Dict[str, Any]] = None) -> Future:
        """Queue a query; the future resolves to its result dict (or raises what running it raised)."""
        job = _Job(query, params or {})
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            # Haystack's wording: its UI looks for "The server is busy processing requests".
            raise OverloadedError(f"The server is busy processing requests ({self._queue.maxsize} queries waiting): "
                                  "retry in a moment.") from None
        if self._thread is None:
            self.start()
        return job.future

    @property
    def waiting(self) -> int:
        return self._queue.qsize()

    # ----- worker ---------------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            jobs, stop = self._gather(first)
            groups: Dict[str, List[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.group_key, []).append(job)
            for group in groups.values():
                self._run(group)
            if stop:
                return

    def _gather(self, first: _Job):
        """``first`` plus what arrives within the window, up to the batch size; True if stop was asked."""
        jobs = [first]
        deadline = time.monotonic() + self.window_s
        while len(jobs) < self.max_batch_size:
            remaining = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is None:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _run(self, jobs: List[_Job]) -> None:
        live = [job for job in jobs if job.future.set_running_or_notify_cancel()]
        if not live:
            return
        self.stats.batches += 1
        self.stats.queries += len(live)
        self.stats.largest_batch = max(self.stats.largest_batch, len(live))
        try:
            results = self.run_batch([job.query for job in live], live[0].params)
        except Exception as error:  # noqa: BLE001 -- one bad query must not fail the others: run each alone
            if len(live) == 1:
                live[0].future.set_exception(error)
                return
            logger.info("batch of %d failed (%s); running its queries one by one", len(live), error)
            for job in live:
                try:
                    job.future.set_result(self.run_one([job.query], job.params)[0])
                except Exception as single_error:  # noqa: BLE001 -- raised to that query's caller by its future
                    job.future.set_exception(single_error)
            return
        for job, result in zip(live, results):
            job.future.set_result(result)
