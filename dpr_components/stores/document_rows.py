"""How Haystack documents are laid out in the store's SQLite rows, and back.

A row is ``(id, content, content_type, meta JSON, id_hash_keys JSON, embedding float32 bytes)``; table
content is stored as Haystack's list-of-rows JSON. Metadata values are also spread into ``meta_values``
rows (one per scalar or list element) so that filters use an index instead of parsing every JSON.

Example::

    row, dim = document_row(Document(content="Paris", meta={"tags": ["a", "b"]}), None)
    assert meta_values(row[3]) == [("tags", "a"), ("tags", "b")]
"""
import copy
import functools
import json
import logging
import math
import numbers
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from haystack.errors import DuplicateDocumentError
from haystack.schema import Document, dataframe_from_list

from dpr_components.errors import StoreError
from dpr_components.fastpaths import FastPath, enabled
from dpr_components.utils.validation import unicode_problem

logger = logging.getLogger(__name__)

DOCUMENT_COLUMNS = "d.row_id, d.id, d.content, d.content_type, d.meta, d.id_hash_keys"


def unique_ids(documents: List[Document], policy: str) -> List[Document]:
    """One document per id, as the duplicate policy says: the last copy when overwriting, the first when
    skipping (said in a warning); two different documents with one id under ``fail`` raise."""
    unique: Dict[str, Document] = {}
    collided: List[str] = []
    for document in documents:
        if document.id in unique and unique[document.id] != document:
            collided.append(document.id)
        if policy == "overwrite" or document.id not in unique:
            unique[document.id] = document
    if collided:
        shown = ", ".join(repr(i) for i in dict.fromkeys(collided[:5]))
        if policy == "fail":
            raise DuplicateDocumentError(f"{len(collided)} document(s) of this call share an id with another, "
                                         f"different one ({shown}); nothing was written. Give each a unique id.")
        logger.warning("%d document(s) of this write share an id with another, different one (%s): duplicate_documents"
                       "=%r keeps the %s copy.", len(collided), shown, policy,
                       "last" if policy == "overwrite" else "first")
    return list(unique.values())


def title_and_text(title: Any, content: str) -> str:
    """"<title> <text>" (just the text for documents without a title)."""
    return content if title is None else f"{title} {content}"


def indexed_text(row: tuple, title_field: str) -> str:
    """The text BM25 indexes for a document row ``(id, content, content_type, meta JSON, ...)``: title
    (``meta[title_field]``, see dpr_components.schema) and content."""
    return title_and_text(stored_meta(row[3], row[0]).get(title_field), row[1])


SQLITE_INTEGERS = (-2**63, 2**63 - 1)  # SQLite stores integers in 64 bits


def storage_problem(value: Any) -> Optional[str]:
    """Why SQLite cannot hold the plain ``value`` as given (None if it can): a lone surrogate in a string (not
    UTF-8 encodable), an integer beyond 64 bits, or a number that is not finite (JSON has no NaN or infinity:
    SQLite's JSON functions refuse the whole row, so one such value failed every query that read it)."""
    if isinstance(value, str):
        problem = unicode_problem(value)
        return f"text with {problem}" if problem else None
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral) and not SQLITE_INTEGERS[0] <= int(value) <= SQLITE_INTEGERS[1]:
        return f"the integer {value} beyond SQLite's 64-bit range (store it as a string or a float)"
    if isinstance(value, numbers.Real) and not math.isfinite(value):
        return f"the number {float(value)} (not finite: JSON has no NaN or infinity; store None or a finite number)"
    return None


def refuse_unstorable(owner: str, fields: Dict[str, Any]) -> None:
    """Raise a one-line StoreError naming ``owner`` and the field for the first value SQLite cannot hold in
    ``fields`` (searched at any depth: dict keys and values, list items, array elements), before anything is
    written. The one check for documents (id, text, meta) and labels."""
    def first(value: Any, where: str) -> Optional[Tuple[str, str]]:
        if isinstance(value, np.ndarray):
            value = value.tolist()
        if isinstance(value, dict):
            items = [(key, f"{where} key {key!r}") for key in value] + \
                    [(item, f"{where}[{key!r}]") for key, item in value.items()]
        elif isinstance(value, (list, tuple)):
            items = [(item, f"{where}[{i}]") for i, item in enumerate(value)]
        else:
            problem = storage_problem(value)
            return (where, problem) if problem else None
        return next(filter(None, (first(item, item_where) for item, item_where in items)), None)

    for name, value in fields.items():
        found = first(value, name)
        if found:
            raise StoreError(f"{owner} has in its {found[0]} {found[1]}. Nothing was written.")


def check_storable(document_id: Any, meta: Dict[str, Any], content: Any = None) -> None:
    """Refuse a document's id, text or meta that SQLite cannot hold (see :func:`refuse_unstorable`)."""
    refuse_unstorable(f"Document {document_id!r}", {"id": document_id, "content": content, "meta": meta or {}})


def document_row(document: Document, dim: Optional[int]) -> Tuple[tuple, Optional[int]]:
    """(id, content, content_type, meta JSON, id_hash_keys JSON, embedding bytes) and the index's vector size."""
    check_storable(document.id, document.meta, document.content)
    content = document.content
    if not isinstance(content, str):
        content = json.dumps(document.to_dict()["content"], default=_json_default)
    embedding = None
    if document.embedding is not None:  # checked before (stores/encoder_records.py: the rule for every vector)
        vector = np.asarray(document.embedding, dtype=np.float32).reshape(-1)
        embedding, dim = vector.tobytes(), vector.size
    id_hash_keys = json.dumps(document.id_hash_keys) if document.id_hash_keys else None
    return (str(document.id), content, document.content_type, meta_json(document.meta or {}, document.id),
            id_hash_keys, embedding), dim


def meta_json(meta: Dict[str, Any], document_id: str) -> str:
    """The meta as JSON, numpy scalars and arrays included; a clear StoreError for anything else."""
    try:
        return json.dumps(meta, default=_json_default)
    except (TypeError, ValueError) as error:
        raise StoreError(f"The meta of document {document_id!r} cannot be stored as JSON ({error}). "
                         f"Use str, number, bool, None, list or dict values. Nothing was written.") from error


PRESENT = b""  # the meta value of a field holding no scalar ([] or a dict): no filter value equals a blob


def meta_values(meta: str) -> List[Tuple[str, Any]]:
    """(key, value) pairs of a meta JSON that filters can match: scalars and the scalar items of lists, and
    ``(key, PRESENT)`` for a field holding none, which is present (``$ne`` holds) but equal to nothing."""
    pairs: List[Tuple[str, Any]] = []
    for key, value in json.loads(meta).items():
        items: List[Tuple[str, Any]] = [(key, item) for item in (value if isinstance(value, list) else [value])
                 if item is None or isinstance(item, (str, int, float))]
        pairs += items or [(key, PRESENT)]
    return pairs


def stored_meta(meta: str, document_id: str) -> Dict[str, Any]:
    """A stored row's meta. Python reads the NaN / Infinity that older versions wrote; a row holding no JSON
    object (written by hand) reads as {} with a warning naming it, so that one row fails no query."""
    try:
        value = json.loads(meta)
    except ValueError:
        value = None
    if isinstance(value, dict):
        return value
    _warn_malformed(document_id)
    return {}


@functools.lru_cache(maxsize=256)  # once per document and process, not on every query that reads it
def _warn_malformed(document_id: str) -> None:
    logger.warning("Document %r holds a malformed meta JSON that this store did not write; it reads as {}. Write "
                   "the document again, or delete it (delete_documents(ids=[...])).", document_id)


def _json_default(value: Any) -> Any:
    if isinstance(value, numbers.Number) and hasattr(value, "item"):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} value {value!r} is not JSON serialisable")


_SCALARS = frozenset((str, int, float, bool, type(None)))  # exact types: what json.loads makes


class StoredDocument(Document):
    """A Haystack Document read from the store; equal to any Document with the same fields.

    Haystack deep-copies every node's inputs: between the retrievers and the fusion of a hybrid pipeline that
    is every hit of both lists (200 documents a question), and the generic deepcopy of a pydantic dataclass was
    the largest cost of a batched query. This one copies what can change (meta, id_hash_keys, embedding,
    table content), about 5x faster, with the same result.
    """

    def __copy__(self) -> "StoredDocument":  # copy.copy's generic path costs ~100 us on this pydantic dataclass
        if not enabled(FastPath.DOCUMENT_COPIES):
            return _constructed(self.__dict__)
        clone = object.__new__(type(self))
        clone.__dict__ = self.__dict__.copy()
        return clone

    def __deepcopy__(self, memo: Dict[int, Any]) -> "StoredDocument":
        if not enabled(FastPath.DOCUMENT_COPIES):
            return _constructed(copy.deepcopy(self.__dict__, memo))
        state = self.__dict__.copy()
        meta = state.get("meta") or {}
        state["meta"] = dict(meta) if _SCALARS.issuperset(map(type, meta.values())) else copy.deepcopy(meta, memo)
        state["id_hash_keys"] = list(state.get("id_hash_keys") or [])
        if state.get("embedding") is not None:
            state["embedding"] = state["embedding"].copy()
        if not isinstance(state.get("content"), str):
            state["content"] = copy.deepcopy(state["content"], memo)
        clone = object.__new__(type(self))
        clone.__dict__ = state
        memo[id(self)] = clone
        return clone

    def __eq__(self, other: Any) -> bool:  # Document's own test is isinstance(other, self.__class__)
        return isinstance(other, Document) and Document.__eq__(other, self)

    __hash__ = None  # type: ignore[assignment]  # as Document: mutable, compared by value


# Stored rows were validated when written, so results skip pydantic's validation in Document.__init__ (about
# 15 us a document, most of the cost of returning search hits): they are shallow copies of this validated
# document with their own fields, carrying whatever internal flags the pydantic dataclass sets.
_VALIDATED = StoredDocument(content="", id="")


def _constructed(fields: Dict[str, Any]) -> StoredDocument:
    """The plain way (DPR_FASTPATHS without document_copies): through pydantic's validating __init__."""
    names = ("content", "content_type", "id", "score", "meta", "id_hash_keys", "embedding")
    return StoredDocument(**{name: fields[name] for name in names})


def to_document(row: tuple) -> Document:
    """The Haystack document of a row selected as ``DOCUMENT_COLUMNS, embedding-or-NULL``."""
    row_id, doc_id, content, content_type, meta, id_hash_keys, embedding = row
    fields = dict(
        content=dataframe_from_list(json.loads(content)) if content_type == "table" else content,
        content_type=content_type,
        score=None,
        meta=stored_meta(meta, doc_id),
        id_hash_keys=json.loads(id_hash_keys) if id_hash_keys else ["content"],
        embedding=None if embedding is None else np.frombuffer(embedding, dtype=np.float32).copy(),
        id=doc_id,
    )
    if not enabled(FastPath.DOCUMENT_COPIES):
        return _constructed(fields)
    document = copy.copy(_VALIDATED)
    document.__dict__.update(fields)
    return document
