"""Backup and restore (issue 31.3, 31.4): a restore replaces the content whatever WAL a killed writer left,
also over a corrupted database, and caches are bound to the content they were built from, so two
restored backups that share generations and row ids never answer from each other's passages."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from haystack.schema import Document

from dpr_components.cli.main import EXIT_OK, main
from dpr_components.errors import StoreNotFoundError
from dpr_components.stores.hybrid_document_store import HybridDocumentStore

DIM = 8


def passages(word, count, seed):
    rng = np.random.default_rng(seed)
    return [Document(content=f"{word} passage number {i}", id=f"{word}-{i}", meta={"name": word},
                     embedding=rng.standard_normal(DIM).astype(np.float32)) for i in range(count)]


def assert_answers_only_from(store, word, vectors):
    """BM25 and dense hits are the stored passages of ``word``, with the scores of their stored vectors."""
    assert {d.id.split("-")[0] for d in store.query(word, top_k=10)} == {word}
    for query in vectors:
        best = store.query_by_embedding(query, top_k=1, scale_score=False)[0]
        assert best.id.startswith(word) and best.score == pytest.approx(float(query @ query), rel=1e-5)


def test_caches_never_answer_for_another_restored_backup(open_store, store_path, tmp_path):
    store = open_store()
    store.write_documents(passages("apple", 2, seed=0))
    store.backup(tmp_path / "a.sqlite")
    yaks = passages("yaks", 1, seed=1)
    store.write_documents(yaks)
    store.backup(tmp_path / "b.sqlite")
    store.close()

    HybridDocumentStore.restore_backup(tmp_path / "a.sqlite", store_path)
    store = open_store()
    xenon = passages("xenon", 1, seed=2)
    store.write_documents(xenon)  # the same generations and row ids as backup b, other passages
    store.build_indexes()
    assert_answers_only_from(store, "xenon", [xenon[0].embedding])

    HybridDocumentStore.restore_backup(tmp_path / "b.sqlite", store_path)
    assert_answers_only_from(store, "yaks", [yaks[0].embedding])  # the open store sees the restored content
    assert store.query("xenon") == []
    assert_answers_only_from(open_store(), "yaks", [yaks[0].embedding])  # and so does a new process


def test_restore_over_a_killed_writer_does_not_replay_its_wal(open_store, store_path, tmp_path, capsys):
    store = open_store()
    store.write_documents(passages("apple", 5, seed=0))
    assert main(["backup", str(store_path), str(tmp_path / "backup.sqlite")]) == EXIT_OK
    store.close()
    writer = textwrap.dedent(f"""
        import os, signal
        from dpr_components.stores.hybrid_document_store import HybridDocumentStore
        from test_backup_restore import passages
        store = HybridDocumentStore(path={str(store_path)!r}, progress_bar=False)
        store.write_documents(passages("cherry", 40, seed=3))
        os.kill(os.getpid(), signal.SIGKILL)  # committed, never checkpointed: the rows live in the WAL
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([os.environ.get("PYTHONPATH", ""), os.path.dirname(__file__)])}
    assert subprocess.run([sys.executable, "-c", writer], env=env).returncode == -9
    assert (store_path / "documents.sqlite-wal").stat().st_size > 0

    capsys.readouterr()
    assert main(["restore", str(tmp_path / "backup.sqlite"), str(store_path)]) == EXIT_OK
    assert "5 passages" in capsys.readouterr().out
    restored = open_store()
    assert restored.get_document_count() == 5 and restored.query("cherry") == []


def test_restore_replaces_a_corrupted_database_and_refuses_a_bad_backup(open_store, store_path, tmp_path):
    store = open_store()
    store.write_documents(passages("apple", 3, seed=0))
    store.backup(tmp_path / "backup.sqlite")
    store.close()
    (store_path / "documents.sqlite").write_bytes(b"garbage" * 1000)
    HybridDocumentStore.restore_backup(tmp_path / "backup.sqlite", store_path)
    assert_answers_only_from(open_store(), "apple", [])
    (tmp_path / "not_a_backup").write_bytes(b"garbage")
    with pytest.raises(Exception, match="not a readable document store database"):
        HybridDocumentStore.restore_backup(tmp_path / "not_a_backup", store_path)
    with pytest.raises(StoreNotFoundError, match="Backup .* does not exist"):
        HybridDocumentStore.restore_backup(tmp_path / "missing", store_path)
    assert open_store().get_document_count() == 3
