"""Caches bound to the database they were built from, and corruption inside documents.sqlite detected on open.

Each scenario answered wrongly before: caches of a replaced or restored database were loaded when the new
database reached the same generation, a shifted ``bm25/*/row_ids.npy`` was trusted, and overwritten pages
in the database went unnoticed.
"""
import shutil

import numpy as np
import pytest
from haystack.schema import Document

from dpr_components.errors import StoreCorruptedError

DIM = 8


def documents(words, seed):
    rng = np.random.default_rng(seed)
    return [Document(content=f"{word} passage number {i}", id=f"{word}-{i}", meta={"name": word},
                     embedding=rng.standard_normal(DIM).astype(np.float32)) for i, word in enumerate(words)]


def fill(store, words, seed):
    """Two write calls: the same generations for every store filled this way."""
    store.write_documents(documents(words[:2], seed))
    store.write_documents(documents(words[2:], seed + 1))
    assert store.query(words[0], top_k=3)  # builds and saves the BM25 cache
    store.query_by_embedding(np.ones(DIM, dtype=np.float32), top_k=3)
    store.build_indexes()


def assert_answers_from_the_database(store):
    stored = {d.id: d for d in store.get_all_documents(return_embedding=True)}
    for word in ("apple", "cherry", "melon", "kiwi"):
        for hit in store.query(word, top_k=5):
            assert word in hit.content and hit.id in stored
    query = np.random.default_rng(7).standard_normal(DIM).astype(np.float32)
    hits = store.query_by_embedding(query, top_k=4, scale_score=False)
    expected = sorted(stored.values(), key=lambda d: -float(d.embedding @ query))[:4]
    assert [h.id for h in hits] == [d.id for d in expected]


def remove_database(store_path):
    for suffix in ("", "-wal", "-shm"):
        (store_path / f"documents.sqlite{suffix}").unlink(missing_ok=True)


def test_a_deleted_and_rebuilt_database_does_not_load_the_old_caches(open_store, store_path):
    old = open_store()
    fill(old, ["apple", "apple", "cherry", "cherry"], seed=0)
    old.close()
    remove_database(store_path)
    new = open_store()
    fill(new, ["melon", "melon", "kiwi", "kiwi"], seed=10)  # same index id, same generations
    assert_answers_from_the_database(new)
    assert new.query("apple") == []


def test_a_database_restored_from_a_backup_does_not_load_caches_built_after_the_backup(open_store, store_path,
                                                                                     tmp_path):
    store = open_store()
    store.write_documents(documents(["apple", "apple"], 0))
    store.close()
    backup = tmp_path / "backup.sqlite"
    shutil.copy(store_path / "documents.sqlite", backup)
    store = open_store()
    store.write_documents(documents(["cherry", "cherry"], 1))  # caches saved at a later generation
    assert store.query("cherry") and store.query_by_embedding(np.ones(DIM, dtype=np.float32), top_k=2)
    store.build_indexes()
    store.close()

    remove_database(store_path)
    shutil.copy(backup, store_path / "documents.sqlite")
    restored = open_store()
    restored.write_documents(documents(["melon", "kiwi"], 2))  # the restored database reaches that generation
    assert_answers_from_the_database(restored)
    assert restored.query("cherry") == []


def test_a_shifted_bm25_row_id_file_is_detected_and_rebuilt(open_store, store_path):
    store = open_store()
    fill(store, ["apple", "cherry", "melon", "kiwi"], seed=0)
    store.close()
    (row_ids_file,) = store_path.glob("bm25/*/row_ids.npy")
    np.save(row_ids_file, np.load(row_ids_file) + 1)
    reopened = open_store()
    assert [d.content.split()[0] for d in reopened.query("cherry")] == ["cherry"]
    assert_answers_from_the_database(reopened)


def test_overwritten_pages_inside_the_database_are_refused_on_open(open_store, store_path):
    store = open_store()
    store.write_documents([Document(content=f"passage {i} " + "word " * 200, id=str(i)) for i in range(200)])
    store.close()
    database = store_path / "documents.sqlite"
    data = bytearray(database.read_bytes())
    page = 4096
    for offset in range(10 * page, len(data) - page, 7 * page):  # keep the header and schema page intact
        data[offset:offset + 400] = b"\xff" * 400  # b-tree page headers and cell pointers
    database.write_bytes(bytes(data))
    expected = "corrupted .*quick_check.*Restore a backup"
    with pytest.raises(StoreCorruptedError, match=expected) as error:
        open_store()
    assert "\n" not in str(error.value)
    assert open_store(integrity_check=False).get_document_count() >= 0  # an explicit opt-out opens it anyway
