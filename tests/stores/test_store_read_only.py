"""Queries never write (issue 27.9): writers build the indexes, a read-only store writes nothing and can be
queried on a read-only mount (31.6), and query-side opens refuse a directory that is not a store."""
import hashlib
import textwrap

import numpy as np
import pytest
from restricted_disk import run_with_mount
from store_testing import make_documents

from dpr_components.errors import StoreNotFoundError, StoreReadOnlyError

QUERY = np.random.default_rng(3).standard_normal(8).astype(np.float32)


def snapshot(directory):
    """Every file under ``directory`` with its content digest (SQLite's empty -wal / -shm of a reader aside)."""
    return {str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()
            and not (p.name.endswith("-shm") or (p.name.endswith("-wal") and p.stat().st_size == 0))}


def answers(store):
    return ([d.id for d in store.query_by_embedding(QUERY, top_k=5)], [d.id for d in store.query("paris", top_k=5)],
            [d.id for d in store.query_by_embedding(QUERY, top_k=5, filters={"genre": "news"})])


def test_a_writer_builds_the_indexes_so_queries_write_nothing(open_store, store_path):
    store = open_store()
    store.write_documents(make_documents(60))
    store.build_indexes()
    before = snapshot(store_path)
    assert any(name.endswith(".faiss") for name in before) and any(name.startswith("bm25/") for name in before)
    answers(store)
    assert snapshot(store_path) == before


def test_a_read_only_store_answers_without_writing_anything(open_store, store_path):
    writer = open_store()
    writer.write_documents(make_documents(60))  # no build, no query: no cache files
    writer.close()
    before = snapshot(store_path)
    reader = open_store(read_only=True)
    found = answers(reader)  # caches built in memory only
    reader.build_indexes()
    assert snapshot(store_path) == before
    for write in (lambda: reader.write_documents(make_documents(1, start=99)), lambda: reader.delete_documents(),
                  lambda: reader.update_document_meta(found[0][0], {"genre": "x"})):
        with pytest.raises(StoreReadOnlyError, match="opened read_only"):
            write()
    assert snapshot(store_path) == before and reader.get_document_count() == 60
    assert answers(open_store()) == found


def test_query_side_opens_refuse_a_directory_that_is_not_a_store(open_store, tmp_path):
    for params in ({"create": False}, {"read_only": True}):
        empty = tmp_path / f"not_a_store_{len(params)}_{list(params)[0]}"
        empty.mkdir()
        with pytest.raises(StoreNotFoundError, match="is not a store"):
            open_store(path=str(empty), **params)
        assert list(empty.iterdir()) == []
    with pytest.raises(StoreNotFoundError, match="does not exist"):
        open_store(path=str(tmp_path / "missing"), read_only=True)
    assert not (tmp_path / "missing").exists()


def test_a_store_on_a_read_only_mount_is_queried_read_only_and_refused_writable(open_store, store_path):
    store = open_store()
    store.write_documents(make_documents(60))
    expected = [list(ids) for ids in answers(store)]
    store.close()
    script = textwrap.dedent(f"""
        import json
        import numpy as np
        from dpr_components.errors import StoreReadOnlyError
        from dpr_components.stores.hybrid_document_store import HybridDocumentStore
        from test_store_read_only import answers
        result = {{}}
        try:
            HybridDocumentStore(path={str(store_path)!r}, progress_bar=False)
        except StoreReadOnlyError as error:
            result["writable"] = str(error)
        store = HybridDocumentStore(path={str(store_path)!r}, progress_bar=False, read_only=True)
        result["answers"] = [list(ids) for ids in answers(store)]
        print(json.dumps(result))
    """)
    result = run_with_mount(script, store_path, read_only=True)
    assert "cannot be written" in result["writable"] and "read_only=True" in result["writable"]
    assert result["answers"] == expected
