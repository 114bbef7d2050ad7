"""A full disk and a page corrupted after the open check are reported as what they are (issue 31.6 and 31's
"unexpected ... --debug" cases), one line each, and what was committed before stays readable.

Full disks are simulated two ways: SQLite's ``PRAGMA max_page_count`` (the database may not grow: SQLite
reports SQLITE_FULL exactly as for a full disk), and a real tmpfs of a few hundred KB mounted in a child
process's own mount namespace (restricted_disk.py; skipped where namespaces are not allowed).
"""
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from restricted_disk import run_with_mount
from store_testing import make_documents

from dpr_components.cli.main import EXIT_USAGE, main
from dpr_components.errors import StoreCorruptedError, StoreFullError


def test_a_database_that_cannot_grow_is_reported_full_and_keeps_its_documents(open_store):
    store = open_store()
    store.write_documents(make_documents(20))
    pages = store._database.query("PRAGMA page_count")[0][0]
    store._database.connection.execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(StoreFullError, match="is full .*not stored.*intact. Free space") as error:
        store.write_documents(make_documents(300, start=100))
    assert "\n" not in str(error.value) and store.get_document_count() == 20
    store._database.connection.execute("PRAGMA max_page_count = 1073741823")
    store.write_documents(make_documents(300, start=100))  # space again: the same call succeeds
    assert store.get_document_count() == 320


def test_a_real_full_disk_keeps_the_store_queryable(tmp_path):
    directory = tmp_path / "small_disk"
    directory.mkdir()
    script = textwrap.dedent(f"""
        import json
        from dpr_components.errors import StoreFullError
        from dpr_components.stores.hybrid_document_store import HybridDocumentStore
        from store_testing import make_documents
        path, result, committed = {str(directory / "store")!r}, {{}}, 0
        store = HybridDocumentStore(path=path, progress_bar=False)
        try:
            for start in range(0, 100_000, 50):  # index until the disk is full
                store.write_documents(make_documents(50, dim=64, start=start))
                committed = start + 50
        except StoreFullError as error:
            result["write"] = str(error)
        result["committed"], result["count"] = committed, store.get_document_count()
        result["bm25"] = len(store.query("paris topic3", top_k=5))  # its cache cannot be saved: answers anyway
        result["dense"] = len(store.query_by_embedding([1.0] * 64, top_k=5))
        try:
            store.build_indexes()
        except StoreFullError as error:
            result["build"] = str(error)
        store.close()
        result["reopened"] = HybridDocumentStore(path=path, progress_bar=False, read_only=True).get_document_count()
        print(json.dumps(result))
    """)
    result = run_with_mount(script, directory, size_kb=640)
    assert "is full" in result["write"] and result["committed"] == result["count"] == result["reopened"] > 0
    assert result["bm25"] == result["dense"] == 5
    assert "is full" in result.get("build", "is full")  # where even the caches did not fit, it says so


def test_a_page_corrupted_after_the_open_check_is_one_line_at_query_time(open_store, store_path, capsys, caplog):
    store = open_store()
    store.write_documents(make_documents(300))
    store.close()
    database = store_path / "documents.sqlite"
    data = bytearray(database.read_bytes())
    for offset in range(20 * 4096, len(data) - 4096, 5 * 4096):  # document pages, not the schema
        data[offset:offset + 400] = b"\xff" * 400
    database.write_bytes(bytes(data))
    damaged = open_store(integrity_check=False)  # a large store opened without the check: found on reading
    with pytest.raises(StoreCorruptedError, match="not a readable document store database .*Restore a backup"):
        damaged.get_all_documents()
    with caplog.at_level(logging.WARNING):
        assert main(["retrieve", "paris", "--pipeline", "bm25_retrieval", "--store", str(store_path),
                     "-p", "DocumentStore.integrity_check=false"]) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "unexpected" not in error and "Restore a backup" in error


def test_disk_errors_are_named_without_the_result_code_names_python_3_10_lacks(tmp_path):
    """sqlite3 names SQLite's result codes (SQLITE_FULL...) only from Python 3.11; pyproject allows 3.10."""
    script = textwrap.dedent(f"""
        import sqlite3
        for name in ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_CORRUPT", "SQLITE_NOTADB",
                     "SQLITE_IOERR"):  # result codes a store names: absent from Python 3.10's sqlite3
            delattr(sqlite3, name)
        from dpr_components.errors import StoreFullError
        from dpr_components.stores.hybrid_document_store import HybridDocumentStore
        from store_testing import make_documents
        store = HybridDocumentStore(path={str(tmp_path / "store")!r}, progress_bar=False)
        store.write_documents(make_documents(20))
        pages = store._database.query("PRAGMA page_count")[0][0]
        store._database.connection.execute(f"PRAGMA max_page_count = {{pages + 2}}")
        try:
            store.write_documents(make_documents(300, start=100))
        except StoreFullError:
            print("full")
    """)
    tests = str(Path(__file__).parent)
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            timeout=300)
    assert result.stdout.split() == ["full"], result.stderr[-2000:]
