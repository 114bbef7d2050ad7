"""The concurrency pieces on their own: readers-writer lock, micro-batcher grouping and failure isolation."""
import sys
import threading

import pytest

from dpr_components.serving.batcher import MicroBatcher
from dpr_components.serving.errors import OverloadedError
from dpr_components.serving.locks import ReadWriteLock

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


def test_batches_group_identical_params_only():
    calls = []

    def run_batch(queries, params):
        calls.append((list(queries), params))
        return [{"query": q, "params": params} for q in queries]

    batcher = MicroBatcher(run_batch, window_s=0.0, max_batch_size=8)
    first = batcher.submit("plain")  # all queued before the worker starts: it gathers them in one go
    futures = [batcher.submit(f"q{i}", {"top_k": i % 2 + 1}) for i in range(6)]
    batcher.start()
    assert first.result(WAIT) == {"query": "plain", "params": {}}
    assert [f.result(WAIT)["query"] for f in futures] == [f"q{i}" for i in range(6)]
    batcher.stop()
    assert sorted((tuple(qs), p.get("top_k")) for qs, p in calls if p) == [
        (("q0", "q2", "q4"), 1), (("q1", "q3", "q5"), 2)]
    assert batcher.stats.batches == 3 and batcher.stats.largest_batch == 3


def test_a_failing_query_fails_alone():
    calls = []

    def run(queries, params):
        calls.append(list(queries))
        if "bad" in queries:
            raise ValueError("cannot answer 'bad'")
        return [{"query": q} for q in queries]

    batcher = MicroBatcher(run, window_s=0.0)
    futures = {q: batcher.submit(q) for q in ("a", "bad", "b")}
    batcher.start()
    assert futures["a"].result(WAIT) == {"query": "a"} and futures["b"].result(WAIT) == {"query": "b"}
    with pytest.raises(ValueError, match="'bad'"):
        futures["bad"].result(WAIT)
    batcher.stop()
    assert calls == [["a", "bad", "b"], ["a"], ["bad"], ["b"]]


def test_full_queue_raises_overloaded():
    batcher = MicroBatcher(lambda q, p: [{} for _ in q], max_queue=2)  # not started: nothing drains the queue
    batcher.submit("a"), batcher.submit("b")
    with pytest.raises(OverloadedError, match="capacity") as caught:
        batcher.submit("c")
    assert caught.value.status_code == 503 and caught.value.headers() == {"Retry-After": "1"}


def test_missing_extra_names_the_install_command(monkeypatch):
    from dpr_components.serving import require_serve_extra

    monkeypatch.setitem(sys.modules, "uvicorn", None)  # what an environment without the extra looks like
    with pytest.raises(ImportError, match=r'pip install "dpr-components\[serve\]"'):
        require_serve_extra()
