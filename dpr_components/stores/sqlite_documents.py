"""The store's single source of truth: documents, metadata, embeddings and per-index state in one SQLite file.

Every change is one transaction that also records what it changed (:mod:`~dpr_components.stores.change_log`:
new generations with random tokens, the vector rows changed), so the FAISS and BM25 caches can tell exactly
how far behind they are. SQLite's journal makes a killed process roll back to the last commit. Opened
``read_only``, nothing is written: a write raises :class:`StoreReadOnlyError`.

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
from collections import OrderedDict
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
from haystack.errors import DuplicateDocumentError
from haystack.schema import Document

from dpr_components.errors import ConfigurationError, StoreError, StoreReadOnlyError
from dpr_components.schema import PASSAGES, PassageSchema
from dpr_components.stores.change_log import ChangeLog, IndexInfo
from dpr_components.stores.document_rows import (
    DOCUMENT_COLUMNS,
    check_storable,
    document_row,
    indexed_text,
    meta_json,
    meta_values,
    to_document,
)
from dpr_components.stores.filters import Filters, filter_key, parse_filters, row_id_query
from dpr_components.stores.store_files import open_database, reported

CHUNK = 500  # ids per SQL statement when looking documents up by id
RowIds = Union[Sequence[int], np.ndarray]  # SQLite row ids: a list, or an int64 array
MATCH_CACHE_SIZE = 8  # filters whose matching row ids are kept (8 MB each at 1M matches)


class DocumentDatabase(ChangeLog):
    """SQLite storage of Haystack documents for a :class:`HybridDocumentStore` (thread-safe, one connection)."""

    def __init__(self, path: Path, check: bool = True, schema: Optional[PassageSchema] = None,
                 read_only: bool = False):
        """Open (or create, unless ``read_only``) the database; ``check`` runs SQLite's ``PRAGMA quick_check``
        over every page first and refuses a corrupted file instead of answering from it. ``schema`` names the
        title field that BM25 indexes with the text; it is recorded with the first write, and None means the
        recorded one (else :data:`PASSAGES`'s); another one than recorded is refused."""
        self.path, self.read_only = path, read_only
        self.lock = threading.RLock()
        self._commits = 0  # with PRAGMA data_version (other connections' commits): when cached answers expire
        self._matches: OrderedDict[tuple, Tuple[tuple, np.ndarray]] = OrderedDict()
        self.connection = open_database(path, read_only, check)
        recorded = self.setting("title_field")
        if recorded and schema is not None and recorded != schema.title_field:
            self.connection.close()
            raise ConfigurationError(
                f"{path.parent} holds passages whose title is in meta[{recorded!r}], not title_field "
                f"{schema.title_field!r}: a store's title field is fixed by its first passages. Leave title_field "
                f"unset (or {recorded!r}), or index into a new store.", parameter="title_field")
        self.schema = PassageSchema(title_field=recorded) if recorded else schema or PASSAGES

    def close(self) -> None:
        with self.lock:
            self.connection.close()

    @contextmanager
    def errors(self) -> Iterator[None]:
        """SQLite errors users can fix (full disk, read-only files, corruption found by a query) as StoreErrors."""
        with reported(self.path):
            yield

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all (a writer locks out other writers at once);
        with ``write=False``, every read inside sees the same committed snapshot."""
        with self.lock:
            if self.connection.in_transaction:  # nested use joins the outer transaction
                yield self.connection
                return
            if write:
                self.check_writable()
            with self.errors():
                self.connection.execute("BEGIN IMMEDIATE" if write else "BEGIN DEFERRED")
                try:
                    yield self.connection
                    self.connection.execute("COMMIT")
                except BaseException:
                    if self.connection.in_transaction:  # SQLite rolls back by itself after some errors
                        self.connection.execute("ROLLBACK")
                    raise
            self._commits += write

    def check_writable(self) -> None:
        if self.read_only:
            raise StoreReadOnlyError(f"The store {self.path.parent} was opened read_only: nothing can be written. "
                                     "Open it without read_only to write.", cli_message=(
                                         f"The store {self.path.parent} was opened read-only: nothing can be "
                                         "written. Write without --read-only (and without read_only: true in "
                                         "the pipeline's DocumentStore params)."))

    def setting(self, key: str) -> Optional[str]:
        """A store-wide setting (``store_info``), e.g. ``format_version`` or the recorded FAISS factory."""
        rows = self.query("SELECT value FROM store_info WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def set_setting(self, key: str, value: str) -> None:
        with self.transaction() as connection:
            connection.execute("INSERT OR REPLACE INTO store_info VALUES (?, ?)", (key, value))

    def version(self) -> Tuple[int, int]:
        """Changes when anything is committed, by this connection or another: when answers kept expire."""
        with self.lock, self.errors():
            return self._commits, self.connection.execute("PRAGMA data_version").fetchone()[0]

    def query(self, sql: str, params: Sequence[Any] = ()) -> List[tuple]:
        with self.lock, self.errors():
            return self.connection.execute(sql, params).fetchall()

    # ----- indexes -------------------------------------------------------------------------------------------

    def index_info(self, name: str) -> Optional[IndexInfo]:
        rows = self.query("SELECT index_id, name, embedding_dim, vector_generation, text_generation, vector_log_start, "
                          "encoder FROM indexes WHERE name = ?", (name,))
        if not rows:
            return None
        index_id, name, embedding_dim, vector_generation, text_generation, vector_log_start, encoder = rows[0]
        return IndexInfo(index_id, name, embedding_dim, vector_generation, text_generation, vector_log_start,
                         encoder=json.loads(encoder) if encoder else None,
                         vector_token=self.token(index_id, "vectors", vector_generation),
                         text_token=self.token(index_id, "texts", text_generation))

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
            for table in ("meta_values", "documents", "vector_changes", "generation_tokens", "indexes"):
                connection.execute(f"DELETE FROM {table} WHERE index_id = ?", (info.index_id,))
            return info.index_id

    # ----- writes (call inside a transaction) ---------------------------------------------------------------

    def write(self, index: IndexInfo, documents: List[Document], duplicate_documents: str) -> IndexInfo:
        """Insert or replace documents (ids unique within the call); returns the index with its new vector size."""
        self.connection.execute("INSERT OR IGNORE INTO store_info VALUES ('title_field', ?)",
                                (self.schema.title_field,))
        dim = index.embedding_dim
        rows = []
        for document in documents:
            row, dim = document_row(document, dim)
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

    def documents_by_row_ids(self, row_ids: RowIds, with_embedding: bool = False) -> Dict[int, Document]:
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
        with self.lock, self.errors():
            version = self.version()
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

    def vectors(self, index: IndexInfo, filters: Filters = None, row_ids: Optional[RowIds] = None,
                chunk_size: int = 4096) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
        """(row ids, float32 matrix) chunks of the stored vectors, in row-id order; memory stays one chunk."""
        where, params = self._where(index.index_id, filters, None)
        if row_ids is not None:
            where += " AND d.row_id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([int(row_id) for row_id in row_ids]))
        sql = (f"SELECT d.row_id, d.embedding FROM documents d WHERE {where} AND d.embedding IS NOT NULL "
               f"ORDER BY d.row_id")
        with self.lock, self.errors():
            cursor = self.connection.execute(sql, params)
            while rows := cursor.fetchmany(chunk_size):
                ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
                matrix = np.frombuffer(b"".join(row[1] for row in rows), dtype=np.float32)
                yield ids, matrix.reshape(len(rows), -1)

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
        where = "d.index_id = ?"
        params: List[Any] = [index_id]
        node = parse_filters(filters)
        if node is not None:
            # The unary + keeps SQLite from scanning the index's documents: it looks the matching row ids up.
            sql, filter_params = row_id_query(node, index_id, "meta_values", "documents")
            where, params = f"+d.index_id = ? AND d.row_id IN ({sql})", [index_id, *filter_params]
        if ids is not None:
            where += " AND d.id IN (SELECT value FROM json_each(?))"
            params.append(json.dumps([str(doc_id) for doc_id in ids]))
        return where, params
