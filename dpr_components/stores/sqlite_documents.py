"""The store's single source of truth: documents, metadata, embeddings and per-index state in one SQLite file.

Every change is one transaction that also bumps the index's generation counters and, for vectors, logs
which rows changed (``vector_changes``), so the FAISS and BM25 caches can tell exactly how far behind
they are. SQLite's journal makes a killed process roll back to the last commit.

Example::

    database = DocumentDatabase(Path("dpr_store/documents.sqlite"))
    with database.transaction():
        index = database.index_for_write("document", embedding_dim=None)
        database.write(index, [Document(content="Paris is in France.", meta={"name": "Paris"})], "overwrite")
    print(database.count(database.index_info("document")))
"""
import json
import sqlite3
import threading
import uuid
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from haystack.errors import DuplicateDocumentError
from haystack.schema import Document

from dpr_components.errors import ConfigurationError, StoreCorruptedError, StoreError
from dpr_components.schema import PASSAGES, PassageSchema
from dpr_components.stores.document_rows import (DOCUMENT_COLUMNS, check_storable, document_row, indexed_text,
                                                 meta_json, meta_values, to_document)
from dpr_components.stores.filters import Filters, filter_key, parse_filters, row_id_query

FORMAT_VERSION = 1
RECOVERY = ("Restore documents.sqlite from a backup (the vector and BM25 caches beside it are rebuilt "
            "automatically), or delete the store directory and index the documents again.")
CHUNK = 500  # ids per SQL statement when looking documents up by id
MATCH_CACHE_SIZE = 8  # filters whose matching row ids are kept (8 MB each at 1M matches)

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


@dataclass(frozen=True)
class IndexInfo:
    """One named index as committed: its id, vector size and how many times its vectors / texts changed.

    ``vector_changes`` holds the rows changed by every vector generation after ``vector_log_start``.
    """

    index_id: int
    name: str
    embedding_dim: Optional[int]
    vector_generation: int
    text_generation: int
    vector_log_start: int
    encoder: Optional[Dict[str, Any]]


class DocumentDatabase:
    """SQLite storage of Haystack documents for a :class:`HybridDocumentStore` (thread-safe, one connection)."""

    def __init__(self, path: Path, check: bool = True, schema: Optional[PassageSchema] = None):
        """Open (or create) the database; ``check`` runs SQLite's ``PRAGMA quick_check`` over every page first
        and refuses a corrupted file instead of answering from it. ``schema`` names the title field that BM25
        indexes with the text; it is recorded with the first write, and None means the recorded one (else
        :data:`PASSAGES`'s); another one than recorded is refused."""
        self.path = path
        self.schema = schema or PASSAGES
        self.lock = threading.RLock()
        self._commits = 0  # with PRAGMA data_version (other connections' commits): when cached answers expire
        self._matches: "OrderedDict[tuple, Tuple[tuple, np.ndarray]]" = OrderedDict()
        try:
            self.connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=60)
            # WAL: readers keep a consistent snapshot while a writer commits; FULL: a commit survives power loss.
            self.connection.execute("PRAGMA journal_mode = WAL")
            self.connection.execute("PRAGMA synchronous = FULL")
            self.connection.execute("PRAGMA journal_size_limit = 67108864")
            with self.transaction():
                if not self.connection.execute("SELECT name FROM sqlite_master").fetchall():  # new, empty file
                    for statement in filter(str.strip, SCHEMA.split(";")):
                        self.connection.execute(statement)
                    self.connection.execute("INSERT INTO store_info VALUES ('format_version', ?)",
                                            (str(FORMAT_VERSION),))
                row = self.connection.execute("SELECT value FROM store_info WHERE key = 'format_version'").fetchone()
                # A random id born with the database (added to stores made before it existed): cache files are
                # named after it, so a replaced database never loads the caches of the one it replaced.
                if row is not None and row[0] == str(FORMAT_VERSION):
                    self.connection.execute("INSERT OR IGNORE INTO store_info VALUES ('store_id', ?)",
                                            (uuid.uuid4().hex,))
                    self.store_id: str = self.connection.execute(
                        "SELECT value FROM store_info WHERE key = 'store_id'").fetchone()[0]
            problems = [line for (line,) in self.connection.execute("PRAGMA quick_check(3)")] if check else ["ok"]
        except sqlite3.DatabaseError as error:
            raise StoreCorruptedError(
                f"{path} is not a readable document store database ({error}). {RECOVERY}") from error
        if problems != ["ok"]:
            self.connection.close()
            found = [line.strip() for problem in problems for line in problem.splitlines()
                     if line.strip() and not line.startswith("***")]
            raise StoreCorruptedError(f"{path} is corrupted (PRAGMA quick_check: {'; '.join(found[:3])}). {RECOVERY}")
        if row is None or row[0] != str(FORMAT_VERSION):
            raise StoreCorruptedError(
                f"{path} was written by an incompatible version of dpr-components (store format "
                f"{row[0] if row else 'unknown'}; this version reads format {FORMAT_VERSION}). Open it with the "
                f"version that wrote it, or index the documents again into a new store directory."
            )
        recorded = self.query("SELECT value FROM store_info WHERE key = 'title_field'")
        if recorded and schema is not None and recorded[0][0] != schema.title_field:
            self.connection.close()
            raise ConfigurationError(
                f"{path.parent} holds passages whose title is in meta[{recorded[0][0]!r}], not title_field "
                f"{schema.title_field!r}: a store's title field is fixed by its first passages. Leave title_field "
                f"unset (or {recorded[0][0]!r}), or index into a new store.", parameter="title_field")
        if recorded:
            self.schema = PassageSchema(title_field=recorded[0][0])

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all (a writer locks out other writers at once);
        with ``write=False``, every read inside sees the same committed snapshot."""
        with self.lock:
            if self.connection.in_transaction:  # nested use joins the outer transaction
                yield self.connection
                return
            self.connection.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
            try:
                yield self.connection
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
            self._commits += write

    def query(self, sql: str, params: Sequence[Any] = ()) -> List[tuple]:
        with self.lock:
            return self.connection.execute(sql, params).fetchall()

    # ----- indexes -------------------------------------------------------------------------------------------

    def index_info(self, name: str) -> Optional[IndexInfo]:
        rows = self.query("SELECT index_id, name, embedding_dim, vector_generation, text_generation, "
                          "vector_log_start, encoder FROM indexes WHERE name = ?", (name,))
        if not rows:
            return None
        *fields, encoder = rows[0]
        return IndexInfo(*fields, encoder=json.loads(encoder) if encoder else None)

    def index_names(self) -> List[str]:
        return [name for (name,) in self.query("SELECT name FROM indexes ORDER BY index_id")]

    def index_for_write(self, name: str, embedding_dim: Optional[int]) -> IndexInfo:
        """The index, created (with ``embedding_dim``) if missing; call inside a transaction."""
        info = self.index_info(name)
        if info is None:
            self.connection.execute("INSERT INTO indexes (name, embedding_dim) VALUES (?, ?)", (name, embedding_dim))
            info = self.index_info(name)
        return info  # type: ignore[return-value]

    def set_index_fields(self, index: IndexInfo, **fields: Any) -> None:
        assignments = ", ".join(f"{field} = ?" for field in fields)
        self.connection.execute(f"UPDATE indexes SET {assignments} WHERE index_id = ?",
                                (*fields.values(), index.index_id))

    def delete_index(self, name: str) -> Optional[int]:
        with self.transaction() as connection:
            info = self.index_info(name)
            if info is None:
                return None
            for table in ("meta_values", "documents", "vector_changes", "indexes"):
                connection.execute(f"DELETE FROM {table} WHERE index_id = ?", (info.index_id,))
            return info.index_id

    # ----- writes (call inside a transaction) ---------------------------------------------------------------

    def write(self, index: IndexInfo, documents: List[Document], duplicate_documents: str) -> IndexInfo:
        """Insert or replace documents (ids unique within the call); returns the index with its new vector size."""
        self.connection.execute("INSERT OR IGNORE INTO store_info VALUES ('title_field', ?)", (self.schema.title_field,))
        dim = index.embedding_dim
        rows = []
        for document in documents:
            row, dim = document_row(document, dim, index.name)
            rows.append(row)
        if dim != index.embedding_dim:
            self.set_index_fields(index, embedding_dim=dim)
        existing = self._existing(index.index_id, [row[0] for row in rows])
        if existing and duplicate_documents == "fail":
            self.raise_if_existing(index, list(existing))
        new_rows = [row for row in rows if row[0] not in existing]
        replaced = [row for row in rows if row[0] in existing] if duplicate_documents == "overwrite" else []
        vector_changed = [existing[row[0]][0] for row in replaced if existing[row[0]][2] != row[5]]
        text_changed = bool(new_rows) or any(existing[row[0]][1] != indexed_text(row, self.schema.title_field)
                                             for row in replaced)
        self.connection.executemany(
            "INSERT INTO documents (index_id, id, content, content_type, meta, id_hash_keys, embedding) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", [(index.index_id, *row) for row in new_rows])
        self.connection.executemany(
            "UPDATE documents SET content = ?, content_type = ?, meta = ?, id_hash_keys = ?, embedding = ? "
            "WHERE row_id = ?", [(*row[1:], existing[row[0]][0]) for row in replaced])
        new_row_ids = self._row_ids(index.index_id, [row[0] for row in new_rows])
        self._index_meta(index, [(new_row_ids[row[0]], row[3]) for row in new_rows], new=True)
        self._index_meta(index, [(existing[row[0]][0], row[3]) for row in replaced])
        new_vectors = [new_row_ids[row[0]] for row in new_rows if row[5] is not None]
        self.log_changes(index, vector_changed + new_vectors, text_changed=text_changed)
        return self.index_info(index.name)  # type: ignore[return-value]

    def raise_if_existing(self, index: IndexInfo, ids: List[str]) -> None:
        existing = sorted(self._existing(index.index_id, ids))
        if existing:
            shown = ", ".join(existing[:5]) + (" ..." if len(existing) > 5 else "")
            raise DuplicateDocumentError(
                f"{len(existing)} document(s) already exist in index '{index.name}' ({shown}); nothing was written. "
                f"Pass duplicate_documents='overwrite' or 'skip' to write them anyway."
            )

    def set_embeddings(self, index: IndexInfo, ids: List[str], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.connection.executemany("UPDATE documents SET embedding = ? WHERE index_id = ? AND id = ?",
                                    [(vector.tobytes(), index.index_id, doc_id)
                                     for doc_id, vector in zip(ids, vectors)])
        self.log_changes(index, list(self._row_ids(index.index_id, ids).values()))

    def clear_embeddings(self, index: IndexInfo) -> None:
        row_ids = [row_id for (row_id,) in self.connection.execute(
            "SELECT row_id FROM documents WHERE index_id = ? AND embedding IS NOT NULL", (index.index_id,))]
        self.connection.execute("UPDATE documents SET embedding = NULL WHERE index_id = ?", (index.index_id,))
        self.log_changes(index, row_ids)

    def update_meta(self, index: IndexInfo, document_id: str, meta: Dict[str, Any]) -> None:
        rows = self.connection.execute("SELECT row_id, content, meta FROM documents WHERE index_id = ? AND id = ?",
                                       (index.index_id, document_id)).fetchall()
        if not rows:
            raise StoreError(f"No document with id {document_id!r} in index '{index.name}'; nothing was changed.")
        row_id, content, old_meta = rows[0]
        check_storable(document_id, meta)
        merged = meta_json({**json.loads(old_meta), **meta}, document_id)
        self.connection.execute("UPDATE documents SET meta = ? WHERE row_id = ?", (merged, row_id))
        self._index_meta(index, [(row_id, merged)])
        title = self.schema.title_field
        if json.loads(merged).get(title) != json.loads(old_meta).get(title):
            self.log_changes(index, [], text_changed=True)

    def delete(self, index: IndexInfo, ids: Optional[List[str]], filters: Filters) -> int:
        where, params = self._where(index.index_id, filters, ids)
        rows = self.connection.execute(f"SELECT d.row_id, d.embedding IS NOT NULL FROM documents d WHERE {where}",
                                       params).fetchall()
        for table in ("meta_values", "documents"):
            self.connection.executemany(f"DELETE FROM {table} WHERE row_id = ?", [(row_id,) for row_id, _ in rows])
        self.log_changes(index, [row_id for row_id, has_vector in rows if has_vector], text_changed=bool(rows))
        return len(rows)

    def log_changes(self, index: IndexInfo, vector_rows: List[int], text_changed: bool = False) -> None:
        """Bump the generations the change affects and record which vectors changed (for cache replay)."""
        if vector_rows:
            generation = self.index_info(index.name).vector_generation + 1  # type: ignore[union-attr]
            self.connection.execute("UPDATE indexes SET vector_generation = ? WHERE index_id = ?",
                                    (generation, index.index_id))
            self.connection.executemany("INSERT INTO vector_changes VALUES (?, ?, ?)",
                                        [(index.index_id, generation, row_id) for row_id in vector_rows])
        if text_changed:
            self.connection.execute("UPDATE indexes SET text_generation = text_generation + 1 WHERE index_id = ?",
                                    (index.index_id,))

    def forget_changes(self, index_id: int, up_to_generation: int) -> None:
        """Drop change-log entries a saved cache already reflects."""
        with self.transaction() as connection:
            connection.execute("DELETE FROM vector_changes WHERE index_id = ? AND generation <= ?",
                               (index_id, up_to_generation))
            connection.execute("UPDATE indexes SET vector_log_start = MAX(vector_log_start, ?) WHERE index_id = ?",
                               (up_to_generation, index_id))

    # ----- reads --------------------------------------------------------------------------------------------

    def documents(self, index: IndexInfo, filters: Filters = None, ids: Optional[List[str]] = None,
                  with_embedding: bool = False, only_without_embedding: bool = False,
                  batch_size: int = 10_000) -> Iterator[Document]:
        where, params = self._where(index.index_id, filters, ids)
        if only_without_embedding:
            where += " AND d.embedding IS NULL"
        columns = f"{DOCUMENT_COLUMNS}, {'d.embedding' if with_embedding else 'NULL'}"
        last_row_id = -1
        while True:  # keyset pagination: no cursor stays open between batches, so writes may interleave
            rows = self.query(f"SELECT {columns} FROM documents d WHERE {where} AND d.row_id > ? "
                              f"ORDER BY d.row_id LIMIT ?", (*params, last_row_id, batch_size))
            yield from (to_document(row) for row in rows)
            if len(rows) < batch_size:
                return
            last_row_id = rows[-1][0]

    def documents_by_row_ids(self, row_ids: Sequence[int], with_embedding: bool = False) -> Dict[int, Document]:
        """Row id -> document, for the row ids that exist."""
        found: Dict[int, Document] = {}
        for start in range(0, len(row_ids), CHUNK):
            chunk = json.dumps([int(row_id) for row_id in row_ids[start:start + CHUNK]])
            sql = (f"SELECT {DOCUMENT_COLUMNS}, {'d.embedding' if with_embedding else 'NULL'} FROM documents d "
                   f"WHERE d.row_id IN (SELECT value FROM json_each(?))")
            for row in self.query(sql, (chunk,)):
                found[row[0]] = to_document(row)
        return found

    def count(self, index: IndexInfo, filters: Filters = None, embedding: Optional[bool] = None) -> int:
        where, params = self._where(index.index_id, filters, None)
        if embedding is not None:
            where += " AND d.embedding IS NOT NULL" if embedding else " AND d.embedding IS NULL"
        return self.query(f"SELECT COUNT(*) FROM documents d WHERE {where}", params)[0][0]

    def row_ids(self, index: IndexInfo, filters: Filters = None, embedding: Optional[bool] = None,
                only_without_embedding: bool = False) -> np.ndarray:
        """Row ids (ascending) of the documents matching ``filters`` (and having a vector, if ``embedding``)."""
        where, params = self._where(index.index_id, filters, None)
        if embedding:
            where += " AND d.embedding IS NOT NULL"
        if only_without_embedding:
            where += " AND d.embedding IS NULL"
        rows = self.query(f"SELECT d.row_id FROM documents d WHERE {where} ORDER BY d.row_id", params)
        return np.fromiter((row_id for (row_id,) in rows), dtype=np.int64, count=len(rows))

    def matching_row_ids(self, index: IndexInfo, filters: Filters) -> np.ndarray:
        """Sorted row ids of the documents matching ``filters`` (with or without vectors), straight from the
        indexed meta values; the last few answers are cached until the database changes."""
        key = (index.index_id, filter_key(filters))
        with self.lock:
            version = (self._commits, self.connection.execute("PRAGMA data_version").fetchone()[0])
            cached = self._matches.get(key)
            if cached is not None and cached[0] == version:
                self._matches.move_to_end(key)
                return cached[1]
            node = parse_filters(filters)
            if node is None:
                sql, params = "SELECT row_id FROM documents WHERE index_id = ?", [index.index_id]
            else:
                sql, params = row_id_query(node, index.index_id, "meta_values", "documents")
            rows = self.connection.execute(sql, params).fetchall()
            row_ids = np.unique(np.fromiter((row_id for (row_id,) in rows), dtype=np.int64, count=len(rows)))
            self._matches[key] = (version, row_ids)
            while len(self._matches) > MATCH_CACHE_SIZE:
                self._matches.popitem(last=False)
            return row_ids

    def vectors(self, index: IndexInfo, filters: Filters = None, row_ids: Optional[Sequence[int]] = None,
                chunk_size: int = 4096) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """(row ids, float32 matrix) chunks of the stored vectors, in row-id order; memory stays one chunk."""
        where, params = self._where(index.index_id, filters, None)
        if row_ids is not None:
            where += " AND d.row_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([int(row_id) for row_id in row_ids]))
        sql = (f"SELECT d.row_id, d.embedding FROM documents d WHERE {where} AND d.embedding IS NOT NULL "
               f"ORDER BY d.row_id")
        with self.lock:
            cursor = self.connection.execute(sql, params)
            while rows := cursor.fetchmany(chunk_size):
                ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
                yield ids, matrix.reshape(len(rows), -1)

    def changed_since(self, index: IndexInfo, generation: int) -> np.ndarray:
        rows = self.query("SELECT DISTINCT row_id FROM vector_changes WHERE index_id = ? AND generation > ?",
                          (index.index_id, generation))
        return np.fromiter((row_id for (row_id,) in rows), dtype=np.int64, count=len(rows))

    def text_row_ids(self, index: IndexInfo) -> np.ndarray:
        """Row ids (ascending) of the text documents: the ones a BM25 index must map."""
        rows = self.query("SELECT row_id FROM documents WHERE index_id = ? AND content_type = 'text' "
                          "ORDER BY row_id", (index.index_id,))
        return np.fromiter((row_id for (row_id,) in rows), dtype=np.int64, count=len(rows))

    def texts(self, index: IndexInfo) -> Tuple[np.ndarray, List[str]]:
        """Row ids and "title text" strings of the text documents, for the BM25 index."""
        rows = self.query("SELECT row_id, id, content, content_type, meta FROM documents "
                          "WHERE index_id = ? AND content_type = 'text' ORDER BY row_id", (index.index_id,))
        row_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return row_ids, [indexed_text(row[1:], self.schema.title_field) for row in rows]

    def _existing(self, index_id: int, ids: List[str]) -> Dict[str, Tuple[int, str, Optional[bytes]]]:
        """id -> (row id, indexed text, embedding bytes) of the documents already stored."""
        found = {}
        for start in range(0, len(ids), CHUNK):
            for row_id, *row, embedding in self.connection.execute(
                    "SELECT row_id, id, content, content_type, meta, embedding FROM documents "
                    "WHERE index_id = ? AND id IN (SELECT value FROM json_each(?))",
                    (index_id, json.dumps(ids[start:start + CHUNK]))):
                found[row[0]] = (row_id, indexed_text(row, self.schema.title_field), embedding)
        return found

    def _row_ids(self, index_id: int, ids: List[str]) -> Dict[str, int]:
        """Document id -> row id, for the ids that are stored."""
        return {doc_id: row_id for start in range(0, len(ids), CHUNK) for row_id, doc_id in self.connection.execute(
            "SELECT row_id, id FROM documents WHERE index_id = ? AND id IN (SELECT value FROM json_each(?))",
            (index_id, json.dumps(ids[start:start + CHUNK])))}

    def _index_meta(self, index: IndexInfo, rows: List[Tuple[int, str]], new: bool = False) -> None:
        """(Re)write the filterable ``meta_values`` of these (row id, meta JSON) rows."""
        if not new:
            self.connection.executemany("DELETE FROM meta_values WHERE row_id = ?", [(row_id,) for row_id, _ in rows])
        self.connection.executemany("INSERT INTO meta_values VALUES (?, ?, ?, ?)",
                                    [(index.index_id, key, value, row_id)
                                     for row_id, meta in rows for key, value in meta_values(meta)])

    @staticmethod
    def _where(index_id: int, filters: Filters, ids: Optional[List[str]]) -> Tuple[str, List[Any]]:
        where, params = "d.index_id = ?", [index_id]
        node = parse_filters(filters)
        if node is not None:
            # The unary + keeps SQLite from scanning the index's documents: it looks the matching row ids up.
            sql, filter_params = row_id_query(node, index_id, "meta_values", "documents")
            where, params = f"+d.index_id = ? AND d.row_id IN ({sql})", [index_id, *filter_params]
        if ids is not None:
            where += " AND d.id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([str(doc_id) for doc_id in ids]))
        return where, params
