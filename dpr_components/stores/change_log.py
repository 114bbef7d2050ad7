"""How the store's database says what changed, so that its caches know how far behind they are.

Every committed change bumps the generation of an index's vectors and/or texts and draws a random token for
the new generation (``generation_tokens``): caches are bound to (generation, token), so two databases that reach
the same counters (two restored backups) never share caches. Which vector rows a generation changed is logged
(``vector_changes``) for cache replay, until a saved cache reflects them. Vectors computed outside a
transaction (``update_embeddings``) are staged in SQLite's temporary storage and swapped in as one change.

:class:`ChangeLog` is that part of :class:`~dpr_components.stores.sqlite_documents.DocumentDatabase`.

Example::

    with database.staging() as staged:
        database.stage(staged, row_ids, vectors)            # no lock on the store meanwhile
        with database.transaction():
            database.apply_staged(database.index_info("document"), staged)   # one new vector generation
    database.changed_since(database.index_info("document"), generation=0)      # the rows it changed
"""
import sqlite3
import threading
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, ContextManager, Dict, Iterator, List, Optional, Sequence

import numpy as np

from dpr_components.stores.store_files import EMPTY_TOKEN, NEW_TOKEN


@dataclass(frozen=True)
class IndexInfo:
    """One named index as committed: its id, vector size and how many times its vectors / texts changed, with
    the random tokens of those generations (None where an older version made them and nothing was written since).

    ``vector_changes`` holds the rows changed by every vector generation after ``vector_log_start``.
    """

    index_id: int
    name: str
    embedding_dim: Optional[int]
    vector_generation: int
    text_generation: int
    vector_log_start: int
    encoder: Optional[Dict[str, Any]]
    vector_token: Optional[str] = None
    text_token: Optional[str] = None


class ChangeLog:
    """Generations, their tokens, the log of changed vector rows and staged vectors, over ``connection``."""

    connection: sqlite3.Connection
    lock: threading.RLock
    query: Callable[..., List[tuple]]
    errors: Callable[[], ContextManager[None]]
    transaction: Callable[..., ContextManager[sqlite3.Connection]]
    index_info: Callable[[str], Optional[IndexInfo]]

    def token(self, index_id: int, kind: str, generation: int) -> Optional[str]:
        """The random token of a generation of an index's ``vectors`` or ``texts`` (None if unknown)."""
        if generation == 0:
            return EMPTY_TOKEN
        rows = self.query("SELECT token FROM generation_tokens WHERE index_id = ? AND kind = ? AND generation = ?",
                          (index_id, kind, generation))
        return rows[0][0] if rows else None

    @contextmanager
    def staging(self) -> Iterator[str]:
        """A table for vectors computed before they replace stored ones (:meth:`stage`, then
        :meth:`apply_staged`): SQLite's temporary storage of this connection, gone when it closes or dies."""
        table = f"temp.staged_{uuid.uuid4().hex[:12]}"
        with self.lock, self.errors():
            self.connection.execute(f"CREATE TABLE {table} (row_id INTEGER PRIMARY KEY, embedding BLOB NOT NULL)")
        try:
            yield table
        finally:
            with self.lock:
                self.connection.execute(f"DROP TABLE IF EXISTS {table}")

    def stage(self, table: str, row_ids: Sequence[int], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with self.lock, self.errors():  # the temporary database only: no lock on the store's
            self.connection.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?)",
                                        [(int(row_id), vector.tobytes()) for row_id, vector in zip(row_ids, vectors)])

    def apply_staged(self, index: IndexInfo, table: str) -> None:
        """Replace the vectors of the staged rows that still exist (call inside a transaction)."""
        rows = [row_id for (row_id,) in self.connection.execute(
            f"SELECT row_id FROM documents WHERE index_id = ? AND row_id IN (SELECT row_id FROM {table})",
            (index.index_id,))]
        self.connection.execute(f"UPDATE documents SET embedding = (SELECT s.embedding FROM {table} s WHERE "
                                f"s.row_id = documents.row_id) WHERE index_id = ? AND row_id IN "
                                f"(SELECT row_id FROM {table})", (index.index_id,))
        self.log_changes(index, rows)

    def vectors_kept_since(self, index: IndexInfo, generation: int) -> int:
        """How many vectors of the index no change after ``generation`` wrote (those of other writers)."""
        return self.query("SELECT COUNT(*) FROM documents WHERE index_id = ? AND embedding IS NOT NULL AND row_id "
                          "NOT IN (SELECT row_id FROM vector_changes WHERE index_id = ? AND generation > ?)",
                          (index.index_id, index.index_id, generation))[0][0]

    def log_changes(self, index: IndexInfo, vector_rows: List[int], text_changed: bool = False) -> None:
        """Bump the generations the change affects, each with a new random token, and record which vectors
        changed (for cache replay)."""
        if vector_rows:
            generation = self.index_info(index.name).vector_generation + 1  # type: ignore[union-attr]
            self.connection.execute("UPDATE indexes SET vector_generation = ? WHERE index_id = ?",
                                    (generation, index.index_id))
            self.connection.execute(f"INSERT INTO generation_tokens VALUES (?, 'vectors', ?, {NEW_TOKEN})",
                                    (index.index_id, generation))
            self.connection.executemany("INSERT INTO vector_changes VALUES (?, ?, ?)",
                                        [(index.index_id, generation, row_id) for row_id in vector_rows])
        if text_changed:
            self.connection.execute("UPDATE indexes SET text_generation = text_generation + 1 WHERE index_id = ?",
                                    (index.index_id,))
            self.connection.execute("DELETE FROM generation_tokens WHERE index_id = ? AND kind = 'texts'",
                                    (index.index_id,))
            self.connection.execute(f"INSERT INTO generation_tokens SELECT index_id, 'texts', text_generation, "
                                    f"{NEW_TOKEN} FROM indexes WHERE index_id = ?", (index.index_id,))

    def forget_changes(self, index_id: int, up_to_generation: int) -> None:
        """Drop change-log entries (and tokens of older generations) a saved cache already reflects."""
        with self.transaction() as connection:
            connection.execute("DELETE FROM vector_changes WHERE index_id = ? AND generation <= ?",
                               (index_id, up_to_generation))
            connection.execute("DELETE FROM generation_tokens WHERE index_id = ? AND kind = 'vectors' AND "
                               "generation < ?", (index_id, up_to_generation))
            connection.execute("UPDATE indexes SET vector_log_start = MAX(vector_log_start, ?) WHERE index_id = ?",
                               (up_to_generation, index_id))

    def changed_since(self, index: IndexInfo, generation: int) -> np.ndarray:
        rows = self.query("SELECT DISTINCT row_id FROM vector_changes WHERE index_id = ? AND generation > ?",
                          (index.index_id, generation))
        return np.fromiter((row_id for (row_id,) in rows), dtype=np.int64, count=len(rows))
