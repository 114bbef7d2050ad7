"""The concurrency pieces on their own: readers-writer lock, micro-batcher grouping and failure isolation."""
import sys
import threading

import pytest

from dpr_components.serving.batcher import MicroBatcher
from dpr_components.serving.errors import OverloadedError
from dpr_components.utils.locks import ReadWriteLock

WAIT = 10  # seconds: generous bounds on waits that normally take microseconds


def test_writer_waits_for_readers_and_blocks_new_ones():
    lock, events = ReadWriteLock(), []
    reader_in, release_reader, writer_done = threading.Event(), threading.Event(), threading.Event()

    def reader():
        with lock.reading():
            reader_in.set()
            release_reader.wait(WAIT)
            events.append("first reader out")

    def writer():
        with lock.writing():
            events.append("writer")
        writer_done.set()

    def late_reader():
        with lock.reading():
            events.append("late reader")

    threads = [threading.Thread(target=reader)]
    threads[0].start()
    assert reader_in.wait(WAIT)
    threads.append(threading.Thread(target=writer))
    threads[1].start()
    for _ in range(1000):  # bounded: until the writer is queued behind the reader
        if lock._writers_waiting:
            break
        threading.Event().wait(0.001)
    threads.append(threading.Thread(target=late_reader))
    threads[2].start()
    assert not writer_done.wait(0.05) and events == []  # the writer waits for the reader; the late reader too
    release_reader.set()
    for thread in threads:
        thread.join(WAIT)
    assert events == ["first reader out", "writer", "late reader"]


def test_readers_that_waited_for_a_write_go_before_the_next_write():
    """A writer writing in batches (an upload) lets the queries waiting for it in between its batches."""
    lock, events = ReadWriteLock(), []
    first_write_in, release = threading.Event(), threading.Event()

    def writer():
        for batch in range(3):
            with lock.writing():
                events.append(f"write {batch}")
                if batch == 0:
                    first_write_in.set()
                    release.wait(WAIT)

    def reader():
        with lock.reading():
            events.append("read")

    threads = [threading.Thread(target=writer)]
    threads[0].start()
    assert first_write_in.wait(WAIT)
    threads.append(threading.Thread(target=reader))
    threads[1].start()
    for _ in range(1000):  # bounded: until the reader waits
        if lock._readers_waiting:
            break
        threading.Event().wait(0.001)
    release.set()
    for thread in threads:
        thread.join(WAIT)
    assert events == ["write 0", "read", "write 1", "write 2"]


def gated(run_batch):
    """A run_batch that holds the worker on the query "gate" until the returned event is set, so the queries
    submitted meanwhile queue up and are gathered together (the worker starts with the first submit)."""
    gate = threading.Event()

    def run(queries, params):
        if queries == ["gate"]:
            gate.wait(WAIT)
            return [{"query": "gate"}]
        return run_batch(queries, params)

    return run, gate


def hold(batcher, gate_event):
    future = batcher.submit("gate")
    for _ in range(10_000):  # bounded: until the worker holds the gate query
        if batcher.stats.queries == 1:
            return future
        threading.Event().wait(0.001)
    raise AssertionError("the worker never took the first query")


def test_the_worker_starts_with_the_first_query():
    batcher = MicroBatcher(lambda queries, params: [{"query": q} for q in queries], window_s=0.0)
    assert batcher.submit("no start() needed").result(WAIT) == {"query": "no start() needed"}
    batcher.stop()


def test_batches_group_identical_params_only():
    calls = []

    def run_batch(queries, params):
        calls.append((list(queries), params))
        return [{"query": q, "params": params} for q in queries]

    run, gate = gated(run_batch)
    batcher = MicroBatcher(run, window_s=0.0, max_batch_size=8)
    held = hold(batcher, gate)
    first = batcher.submit("plain")
    futures = [batcher.submit(f"q{i}", {"top_k": i % 2 + 1}) for i in range(6)]
    gate.set()
    assert held.result(WAIT) == {"query": "gate"}
    assert first.result(WAIT) == {"query": "plain", "params": {}}
    assert [f.result(WAIT)["query"] for f in futures] == [f"q{i}" for i in range(6)]
    batcher.stop()
    assert sorted((tuple(qs), p.get("top_k")) for qs, p in calls if p) == [
        (("q0", "q2", "q4"), 1), (("q1", "q3", "q5"), 2)]
    assert batcher.stats.batches == 4 and batcher.stats.largest_batch == 3


def test_a_failing_query_fails_alone():
    calls = []

    def run_batch(queries, params):
        calls.append(list(queries))
        if "bad" in queries:
            raise ValueError("cannot answer 'bad'")
        return [{"query": q} for q in queries]

    run, gate = gated(run_batch)
    batcher = MicroBatcher(run, window_s=0.0)
    hold(batcher, gate)
    futures = {q: batcher.submit(q) for q in ("a", "bad", "b")}
    gate.set()
    assert futures["a"].result(WAIT) == {"query": "a"} and futures["b"].result(WAIT) == {"query": "b"}
    with pytest.raises(ValueError, match="'bad'"):
        futures["bad"].result(WAIT)
    batcher.stop()
    assert calls == [["a", "bad", "b"], ["a"], ["bad"], ["b"]]


def test_full_queue_raises_overloaded_with_haystacks_wording():
    run, gate = gated(lambda queries, params: [{} for _ in queries])
    batcher = MicroBatcher(run, max_queue=2)
    hold(batcher, gate)
    batcher.submit("a"), batcher.submit("b")
    with pytest.raises(OverloadedError, match="The server is busy processing requests") as caught:
        batcher.submit("c")
    assert caught.value.status_code == 503 and caught.value.headers() == {"Retry-After": "1"}
    gate.set()
    batcher.stop()


def test_missing_extra_names_the_install_command(monkeypatch):
    from dpr_components.serving import require_serve_extra

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what an environment without the extra looks like
    with pytest.raises(ImportError, match=r'pip install "dpr-components\[serve\]"'):
        require_serve_extra()
