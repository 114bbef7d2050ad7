"""The store's database file on disk: opening it (writable or read-only), what disk errors mean, backups.

- :func:`connect` opens ``documents.sqlite`` writable, or read-only so that the store never changes:
  SQLite's ``mode=ro`` (it still sees other processes' commits), or, in a directory that cannot be written
  (a read-only mount) and when no un-checkpointed ``-wal`` file is there, ``immutable=1``.
- :func:`storage_error` names what an SQLite or file error means for the user: a full disk
  (:class:`StoreFullError`), a read-only file or file system (:class:`StoreReadOnlyError`), a corrupted
  database (:class:`StoreCorruptedError`, with :data:`RECOVERY`), instead of "database or disk is full" deep
  in a traceback or every failure called corruption.
- :func:`backup` copies a store's database with SQLite's online backup API (a consistent snapshot while
  other processes read and write); :func:`restore` puts a backup's content into a store, also one whose
  database is corrupted or was left with the ``-wal`` of a killed process (copying ``documents.sqlite``
  over it by hand lets SQLite replay that WAL onto the backup). The vector and BM25 caches beside it are
  bound to the content they were built from (stores/index_caches.py), so they are rebuilt as needed.

Example::

    backup(Path("dpr_store/documents.sqlite"), Path("backups/monday.sqlite"))
    restore(Path("backups/monday.sqlite"), Path("dpr_store/documents.sqlite"))
"""
import errno
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional

from dpr_components.errors import (
    DiskFullError,
    StoreCorruptedError,
    StoreError,
    StoreFullError,
    StoreNotFoundError,
    StoreReadOnlyError,
)
from dpr_components.utils.files import atomic_write, refuse_existing

RECOVERY = ("Restore a backup into the store (`dpr-components restore BACKUP STORE`, in Python "
            "HybridDocumentStore.restore_backup(backup, path); the vector and BM25 caches are rebuilt), or delete "
            "the store directory and index the documents again.")
TIMEOUT_S = 60  # how long a writer waits for another process's write transaction
FORMAT_VERSION = 1
# Generation 0 of an index holds nothing, so its (empty) caches fit any database.
EMPTY_TOKEN = "0"
NEW_TOKEN = "lower(hex(randomblob(8)))"
PRESENT_ROWS = "meta_present_rows"  # store_info: every field holding [] or a dict has its meta_values row
TOKENS = """CREATE TABLE IF NOT EXISTS generation_tokens (
    index_id INTEGER NOT NULL, kind TEXT NOT NULL, generation INTEGER NOT NULL, token TEXT NOT NULL,
    PRIMARY KEY (index_id, kind, generation))"""

SCHEMA = """
CREATE TABLE store_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE indexes (
    index_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    embedding_dim INTEGER,
    vector_generation INTEGER NOT NULL DEFAULT 0,
    text_generation INTEGER NOT NULL DEFAULT 0,
    vector_log_start INTEGER NOT NULL DEFAULT 0,
    encoder TEXT
);
""" + TOKENS + """;
CREATE TABLE documents (
    row_id INTEGER PRIMARY KEY AUTOINCREMENT,
    index_id INTEGER NOT NULL,
    id TEXT NOT NULL,
    content TEXT NOT NULL,
    content_type TEXT NOT NULL,
    meta TEXT NOT NULL,
    id_hash_keys TEXT,
    embedding BLOB,
    UNIQUE (index_id, id)
);
CREATE INDEX documents_with_vectors ON documents (index_id, row_id) WHERE embedding IS NOT NULL;
CREATE TABLE meta_values (index_id INTEGER NOT NULL, key TEXT NOT NULL, value, row_id INTEGER NOT NULL);
CREATE INDEX meta_values_by_key ON meta_values (index_id, key, value, row_id);
CREATE INDEX meta_values_by_row ON meta_values (row_id);
CREATE TABLE vector_changes (index_id INTEGER NOT NULL, generation INTEGER NOT NULL, row_id INTEGER NOT NULL);
CREATE INDEX vector_changes_by_generation ON vector_changes (index_id, generation);
CREATE TABLE labels (index_name TEXT NOT NULL, id TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY (index_name, id));
"""

# SQLite's primary result codes (sqlite.org/rescode.html); Python names them only from 3.11, with sqlite_errorcode.
_SQLITE_KINDS = {13: "full", 8: "read-only", 14: "read-only", 11: "corrupted", 26: "corrupted", 10: "I/O"}
_ERRNO_KINDS = {errno.ENOSPC: "full", errno.EFBIG: "full", errno.EDQUOT: "full", errno.EROFS: "read-only",
                errno.EACCES: "read-only", errno.EPERM: "read-only", errno.EIO: "I/O"}


def storage_error(error: BaseException, path: Path) -> Optional[StoreError]:
    """The StoreError saying what ``error`` (SQLite's, or an OSError of a store file) means for ``path``, or
    None when it is none of the problems a user can fix."""
    code = getattr(error, "sqlite_errorcode", None)
    number = getattr(error, "errno", None)
    kind = _SQLITE_KINDS.get(code & 0xFF) if isinstance(code, int) else \
        _ERRNO_KINDS.get(number) if isinstance(number, int) else None
    if isinstance(error, DiskFullError):  # utils.files.atomic_write's, for a cache file
        kind = "full"
    if kind == "full":
        problem = f"The disk holding {path} is full ({error}): that write was not stored; what was stored before " \
                  "is intact. Free space (or raise the quota) and run"
        return StoreFullError(f"{problem} it again.", cli_message=f"{problem} the command again (`index` skips the "
                              "documents already stored).")
    if kind == "read-only":
        problem = f"{path} cannot be written ({error}): its files or file system are read-only."
        return StoreReadOnlyError(f"{problem} Open the store with read_only=True to query it, or make it writable.",
                                  cli_message=f"{problem} Queries (retrieve, ask, eval, serve --read-only) read it "
                                  "as it is; to write to it (index, restore, serve), make it writable.")
    if kind == "corrupted":
        return StoreCorruptedError(f"{path} is not a readable document store database ({error}). {RECOVERY}")
    if kind == "I/O":
        return StoreError(f"Reading or writing {path} failed ({error}): the disk failed or is full. What was "
                          f"committed before is intact; check the disk and run it again.")
    return None


@contextmanager
def reported(path: Path) -> Iterator[None]:
    """Turn the SQLite and file errors users can fix into their :class:`StoreError` (see :func:`storage_error`)."""
    try:
        yield
    except StoreError:  # translated already (StoreFullError is an OSError too)
        raise
    except (sqlite3.Error, OSError) as error:
        translated = storage_error(error, path)
        if translated is None:
            raise
        raise translated from error


def open_database(path: Path, read_only: bool, check: bool) -> sqlite3.Connection:
    """A connection to the store database at ``path``, created with the schema when new (unless ``read_only``);
    ``check`` runs ``PRAGMA quick_check`` over every page first and refuses a corrupted file."""
    try:
        connection = connect(path, read_only)
        try:
            version = _prepare(connection, read_only)
            problems = [line for (line,) in connection.execute("PRAGMA quick_check(3)")] if check else ["ok"]
            if problems != ["ok"]:
                found = [line.strip() for problem in problems for line in problem.splitlines()
                         if line.strip() and not line.startswith("***")]
                raise StoreCorruptedError(f"{path} is corrupted (PRAGMA quick_check: {'; '.join(found[:3])}). "
                                          f"{RECOVERY}")
            if version != str(FORMAT_VERSION):
                raise StoreCorruptedError(
                    f"{path} was written by an incompatible version of dpr-components (store format "
                    f"{version or 'unknown'}; this version reads format {FORMAT_VERSION}). Open it with the "
                    f"version that wrote it, or index the documents again into a new store directory.")
        except BaseException:
            connection.close()
            raise
    except (sqlite3.Error, OSError) as error:
        raise storage_error(error, path) or StoreCorruptedError(
            f"{path} is not a readable document store database ({error}). {RECOVERY}") from error
    return connection


def _prepare(connection: sqlite3.Connection, read_only: bool) -> Optional[str]:
    """Set the connection up (the schema of a new file, tokens missing from older stores); the format version."""
    if read_only:  # stores of older versions lack the tokens: none is known, so no cache file is trusted
        if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'generation_tokens'").fetchall():
            connection.execute(TOKENS.replace("TABLE IF NOT EXISTS", "TEMP TABLE IF NOT EXISTS"))
    else:
        # WAL: readers keep a consistent snapshot while a writer commits; FULL: a commit survives power loss.
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute("PRAGMA journal_size_limit = 67108864")
    connection.execute("BEGIN DEFERRED" if read_only else "BEGIN IMMEDIATE")
    try:
        if not read_only and not connection.execute("SELECT name FROM sqlite_master").fetchall():
            for statement in filter(str.strip, SCHEMA.split(";")):
                connection.execute(statement)
            connection.executemany("INSERT INTO store_info VALUES (?, ?)",
                                   [("format_version", str(FORMAT_VERSION)), (PRESENT_ROWS, "1")])
        row = connection.execute("SELECT value FROM store_info WHERE key = 'format_version'").fetchone()
        if not read_only and row is not None and row[0] == str(FORMAT_VERSION):
            _upgrade(connection)
        connection.execute("COMMIT")
    finally:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    return row[0] if row else None


def _upgrade(connection: sqlite3.Connection) -> None:
    """What stores of older versions of this format lack, added at their first writable open (one transaction):
    random tokens for their current generations, and the ``meta_values`` row (document_rows.PRESENT) of each
    field that holds ``[]`` or a dict, without which ``$ne`` took such a field for a missing one."""
    connection.execute(TOKENS)
    for kind, column in (("vectors", "vector_generation"), ("texts", "text_generation")):
        connection.execute(f"INSERT OR IGNORE INTO generation_tokens SELECT index_id, ?, {column}, {NEW_TOKEN} "
                           f"FROM indexes WHERE {column} > 0", (kind,))
    if connection.execute("SELECT 1 FROM store_info WHERE key = ?", (PRESENT_ROWS,)).fetchone() is None:
        object_meta = "CASE WHEN NOT json_valid(d.meta) THEN '{}' WHEN json_type(d.meta) = 'object' THEN d.meta " \
                      "ELSE '{}' END"  # rows written by hand (read as {}) add nothing
        connection.execute(f"INSERT INTO meta_values SELECT d.index_id, j.key, X'', d.row_id FROM documents d, "
                           f"json_each({object_meta}) j WHERE NOT EXISTS (SELECT 1 FROM meta_values m "
                           "WHERE m.row_id = d.row_id AND m.key = j.key)")
        connection.execute("INSERT INTO store_info VALUES (?, '1')", (PRESENT_ROWS,))


def connect(path: Path, read_only: bool) -> sqlite3.Connection:
    """An autocommit connection to the database at ``path``; ``read_only`` ones never write anything there."""
    def opened(database: str, uri: bool = False) -> sqlite3.Connection:
        return sqlite3.connect(database, uri=uri, isolation_level=None, check_same_thread=False, timeout=TIMEOUT_S)

    if not read_only:
        return opened(str(path))
    uri = path.absolute().as_uri()
    try:
        connection = opened(f"{uri}?mode=ro", uri=True)
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()  # opening is lazy: read once
        return connection
    except sqlite3.OperationalError:  # WAL needs its shared-memory file: a read-only directory may lack it
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size:
            problem = (f"{path} has changes not yet moved from {wal.name} into the database (its last writer was "
                       "stopped) and its directory cannot be written, so it cannot be read consistently.")
            raise StoreReadOnlyError(
                f"{problem} Open the store once where it is writable (without read_only), then read-only again.",
                cli_message=f"{problem} Where it is writable, run the stopped command again (an `index` resumes "
                "where it stopped), then query it read-only.") from None
        return opened(f"{uri}?immutable=1", uri=True)  # nothing can change the file


def check_exists(database: Path, backup: bool = False) -> None:
    """Refuse a directory that is not a store (queries must not create one where a path was mistyped), or a
    ``backup`` file that is not there."""
    if database.is_file():
        return
    if backup:
        raise StoreNotFoundError(f"Backup {str(database)!r} does not exist: give a file made by backup "
                                 "(`dpr-components backup`) or a store directory.")
    directory = database.parent
    what = "does not exist" if not directory.exists() else f"is not a store (it has no {database.name})"
    raise StoreNotFoundError(
        f"Store {str(directory)!r} {what}: give the directory of an existing store, or create one by writing "
        "documents into it.", cli_message=f"Store {str(directory)!r} {what}: index a corpus into it first "
        f"(dpr-components index CORPUS --store {directory}), or give the directory of an existing store.")


def backup(database: Path, destination: Path, overwrite: bool = False) -> None:
    """Copy the store database ``database`` into the single file ``destination`` (written atomically), a
    consistent snapshot even while other processes write. The copy has no WAL: it is one self-contained file."""
    refuse_existing(destination, overwrite)
    source = connect(database, read_only=True)
    try:
        atomic_write(destination, lambda temporary: _copy(source, temporary))
    finally:
        source.close()


def restore(backup_file: Path, database: Path) -> None:
    """Replace the content of the store database ``database`` with the backup's, in one SQLite transaction
    (other processes see the old or the new content). A corrupted or unreadable ``database`` and its WAL
    are replaced by a copy of the backup instead; no other process may use such a store meanwhile."""
    open_database(backup_file, read_only=True, check=True).close()  # refuses anything but a sound store database
    source = connect(backup_file, read_only=True)
    try:
        try:
            target = connect(database, read_only=False)
            try:
                problems = target.execute("PRAGMA quick_check(1)").fetchall()
                if problems != [("ok",)]:
                    raise sqlite3.DatabaseError(f"quick_check: {problems[0][0]}")
                source.backup(target)  # into the WAL: atomic, and the old WAL's frames no longer matter
                target.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                target.close()
        except sqlite3.DatabaseError:  # the store's own database is unreadable: replace it and its WAL
            for suffix in ("-wal", "-shm"):
                database.with_name(database.name + suffix).unlink(missing_ok=True)
            atomic_write(database, lambda temporary: _copy(source, temporary))
    finally:
        source.close()


def _copy(source: sqlite3.Connection, path: Path) -> None:
    target = sqlite3.connect(str(path), isolation_level=None)
    try:
        source.backup(target)
        target.execute("PRAGMA journal_mode = DELETE")  # a standalone file: readable on read-only media
    finally:
        target.close()
