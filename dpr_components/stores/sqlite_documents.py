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
import numbers
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from haystack.errors import DuplicateDocumentError
from haystack.schema import Document

from dpr_components.errors import EmbeddingDimensionError, StoreCorruptedError, StoreError
from dpr_components.stores.filters import Filters, compile_filters

FORMAT_VERSION = 1
CHUNK = 500  # ids per SQL statement when looking documents up by id

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
CREATE TABLE vector_changes (index_id INTEGER NOT NULL, generation INTEGER NOT NULL, row_id INTEGER NOT NULL);
CREATE INDEX vector_changes_by_generation ON vector_changes (index_id, generation);
CREATE TABLE labels (index_name TEXT NOT NULL, id TEXT NOT NULL, label TEXT NOT NULL, PRIMARY KEY (index_name, id));
"""
DOCUMENT_COLUMNS = "d.row_id, d.id, d.content, d.content_type, d.meta, d.id_hash_keys"


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

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.RLock()
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
        except sqlite3.DatabaseError as error:
            raise StoreCorruptedError(
                f"{path} is not a readable document store database ({error}). Restore it from a backup or "
                f"delete the store directory and index the documents again."
            ) from error
        if row is None or row[0] != str(FORMAT_VERSION):
            raise StoreCorruptedError(
                f"{path} was written by an incompatible version of dpr-components (store format "
                f"{row[0] if row else 'unknown'}; this version reads format {FORMAT_VERSION}). Open it with the "
                f"version that wrote it, or index the documents again into a new store directory."
            )

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
            for table in ("documents", "vector_changes", "indexes"):
                connection.execute(f"DELETE FROM {table} WHERE index_id = ?", (info.index_id,))
            return info.index_id

    # ----- writes (call inside a transaction) ---------------------------------------------------------------

    def write(self, index: IndexInfo, documents: List[Document], duplicate_documents: str) -> IndexInfo:
        """Insert or replace documents (ids unique within the call); returns the index with its new vector size."""
        dim = index.embedding_dim
        rows = []
        for document in documents:
            row, dim = _document_row(document, dim, index.name)
            rows.append(row)
        if dim != index.embedding_dim:
            self.set_index_fields(index, embedding_dim=dim)
        existing = self._existing(index.index_id, [row[0] for row in rows])
        if existing and duplicate_documents == "fail":
            self.raise_if_existing(index, list(existing))
        new_rows = [row for row in rows if row[0] not in existing]
        replaced = [row for row in rows if row[0] in existing] if duplicate_documents == "overwrite" else []
        vector_changed = [existing[row[0]][0] for row in replaced if existing[row[0]][2] != row[5]]
        text_changed = bool(new_rows) or any(existing[row[0]][1] != _indexed_text(row) for row in replaced)
        self.connection.executemany(
            "INSERT INTO documents (index_id, id, content, content_type, meta, id_hash_keys, embedding) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", [(index.index_id, *row) for row in new_rows])
        self.connection.executemany(
            "UPDATE documents SET content = ?, content_type = ?, meta = ?, id_hash_keys = ?, embedding = ? "
            "WHERE row_id = ?", [(*row[1:], existing[row[0]][0]) for row in replaced])
        new_with_vectors = [row[0] for row in new_rows if row[5] is not None]
        changed_rows = vector_changed + self._row_ids(index.index_id, new_with_vectors)
        self.log_changes(index, changed_rows, text_changed=text_changed)
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
                                    [(vector.tobytes(), index.index_id, doc_id) for doc_id, vector in zip(ids, vectors)])
        self.log_changes(index, self._row_ids(index.index_id, ids))

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
        merged = {**json.loads(old_meta), **meta}
        self.connection.execute("UPDATE documents SET meta = ? WHERE row_id = ?", (_meta_json(merged, document_id), row_id))
        if merged.get("name") != json.loads(old_meta).get("name"):
            self.log_changes(index, [], text_changed=True)

    def delete(self, index: IndexInfo, ids: Optional[List[str]], filters: Filters) -> int:
        where, params = self._where(index.index_id, filters, ids)
        with_vectors = [row_id for (row_id,) in self.connection.execute(
            f"SELECT d.row_id FROM documents d WHERE {where} AND d.embedding IS NOT NULL", params)]
        deleted = self.connection.execute(f"DELETE FROM documents AS d WHERE {where}", params).rowcount
        self.log_changes(index, with_vectors, text_changed=deleted > 0)
        return deleted

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
            yield from (_to_document(row) for row in rows)
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
                found[row[0]] = _to_document(row)
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

    def vectors(self, index: IndexInfo, filters: Filters = None, row_ids: Optional[Sequence[int]] = None,
                chunk_size: int = 20_000) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """(row ids, float32 matrix) chunks of the stored vectors, in row-id order; memory stays one chunk."""
        where, params = self._where(index.index_id, filters, None)
        if row_ids is not None:
            where += " AND d.row_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([int(row_id) for row_id in row_ids]))
        sql = f"SELECT d.row_id, d.embedding FROM documents d WHERE {where} AND d.embedding IS NOT NULL ORDER BY d.row_id"
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

    def texts(self, index: IndexInfo) -> Tuple[np.ndarray, List[str]]:
        """Row ids and "title text" strings of the text documents, for the BM25 index."""
        rows = self.query("SELECT row_id, json_extract(meta, '$.name'), content FROM documents "
                          "WHERE index_id = ? AND content_type = 'text' ORDER BY row_id", (index.index_id,))
        row_ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
        return row_ids, [_title_and_text(name, content) for _, name, content in rows]

    def _existing(self, index_id: int, ids: List[str]) -> Dict[str, Tuple[int, str, Optional[bytes]]]:
        """id -> (row id, indexed text, embedding bytes) of the documents already stored."""
        found = {}
        for start in range(0, len(ids), CHUNK):
            for row_id, doc_id, name, content, embedding in self.connection.execute(
                    "SELECT row_id, id, json_extract(meta, '$.name'), content, embedding FROM documents "
                    "WHERE index_id = ? AND id IN (SELECT value FROM json_each(?))",
                    (index_id, json.dumps(ids[start:start + CHUNK]))):
                found[doc_id] = (row_id, _title_and_text(name, content), embedding)
        return found

    def _row_ids(self, index_id: int, ids: List[str]) -> List[int]:
        return [row_id for start in range(0, len(ids), CHUNK) for (row_id,) in self.connection.execute(
            "SELECT row_id FROM documents WHERE index_id = ? AND id IN (SELECT value FROM json_each(?))",
            (index_id, json.dumps(ids[start:start + CHUNK])))]

    @staticmethod
    def _where(index_id: int, filters: Filters, ids: Optional[List[str]]) -> Tuple[str, List[Any]]:
        sql, params = compile_filters(filters, "d.meta")
        where, all_params = f"d.index_id = ? AND {sql}", [index_id, *params]
        if ids is not None:
            where += " AND d.id IN (SELECT value FROM json_each(?))"
            all_params.append(json.dumps([str(doc_id) for doc_id in ids]))
        return where, all_params


def _title_and_text(name: Any, content: str) -> str:
    return content if name is None else f"{name} {content}"


def _indexed_text(row: tuple) -> str:
    return _title_and_text(json.loads(row[3]).get("name"), row[1])


def _document_row(document: Document, dim: Optional[int], index_name: str) -> Tuple[tuple, Optional[int]]:
    """(id, content, content_type, meta JSON, id_hash_keys JSON, embedding bytes) and the index's vector size."""
    content = document.content
    if not isinstance(content, str):
        content = json.dumps(document.to_dict()["content"], default=_json_default)
    embedding = None
    if document.embedding is not None:
        vector = np.asarray(document.embedding, dtype=np.float32)
        if vector.ndim != 1 or vector.size == 0:
            raise EmbeddingDimensionError(f"Document {document.id!r} has an embedding of shape {vector.shape}; "
                                          f"expected a flat vector. Nothing was written.")
        if dim is not None and vector.size != dim:
            raise EmbeddingDimensionError(
                f"Document {document.id!r} has a {vector.size}-dim embedding but index '{index_name}' holds "
                f"{dim}-dim vectors. Nothing was written. Embed with the encoder the index was built with, "
                f"or write to a new index / store.")
        if not np.isfinite(vector).all():
            raise StoreError(f"Document {document.id!r} has NaN or infinite values in its embedding. Nothing was written.")
        embedding, dim = vector.tobytes(), vector.size
    id_hash_keys = json.dumps(document.id_hash_keys) if document.id_hash_keys else None
    return (str(document.id), content, document.content_type, _meta_json(document.meta or {}, document.id),
            id_hash_keys, embedding), dim


def _meta_json(meta: Dict[str, Any], document_id: str) -> str:
    try:
        return json.dumps(meta, default=_json_default)
    except (TypeError, ValueError) as error:
        raise StoreError(f"The meta of document {document_id!r} cannot be stored as JSON ({error}). "
                         f"Use str, number, bool, None, list or dict values. Nothing was written.") from error


def _json_default(value: Any) -> Any:
    if isinstance(value, numbers.Number) and hasattr(value, "item"):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON serialisable")


def _to_document(row: tuple) -> Document:
    row_id, doc_id, content, content_type, meta, id_hash_keys, embedding = row
    return Document.from_dict({
        "id": doc_id,
        "content": json.loads(content) if content_type == "table" else content,
        "content_type": content_type,
        "meta": json.loads(meta),
        "id_hash_keys": json.loads(id_hash_keys) if id_hash_keys else None,
        "embedding": None if embedding is None else np.frombuffer(embedding, dtype=np.float32).copy(),
    })
