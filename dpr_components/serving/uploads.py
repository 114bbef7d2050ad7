"""Uploaded files -> what the indexing pipeline takes: Documents, or file paths when it starts with a converter.

An indexing pipeline whose first node is a Haystack file converter (``TextConverter``, ``PDFToTextConverter``,
a ``FileTypeClassifier`` in front of some) is run as Haystack's REST API runs it, with ``file_paths=`` and one
``meta`` per file (``name``: the file name); any file type its converters read is accepted. Otherwise the files
are read with the corpus readers ``dpr-components index`` uses: ``.txt``/``.text`` (one document titled with
the file name), ``.md``/``.markdown``, ``.jsonl`` (``{"id", "title", "text"}`` a line) and DPR ``.tsv``.

Only the file's base name is kept from the client (at most 255 bytes, never a path); every document's
text, id and meta pass :func:`~dpr_components.serving.checks.checked_values` before anything is indexed.
``meta["source_id"]`` is the file name for files (the jsonl/tsv ids for records): what the store's duplicate
policy compares (see :mod:`dpr_components.serving.writes`).

Usage::

    from dpr_components.serving.uploads import documents_from_upload

    documents = documents_from_upload([("paris.txt", b"Paris is the capital of France.")], meta={"lang": "en"})
    documents[0].meta   # {'lang': 'en', 'name': 'paris', 'source_id': 'paris.txt'}
"""
import re
import uuid
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from dpr_components.errors import ConfigurationError
from dpr_components.schema import PASSAGES, SOURCE_ID_FIELD, PassageSchema
from dpr_components.serving.checks import checked_values
from dpr_components.serving.errors import InvalidRequestError

MAX_NAME_BYTES = 255  # what Linux and macOS file systems allow for one name
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")
Upload = Tuple[Optional[str], bytes]


def safe_file_name(name: Optional[str], extensions: Optional[Iterable[str]] = None) -> str:
    """The client's file name reduced to a plain base name (of an accepted extension, when ``extensions``)."""
    base = _SAFE_NAME.sub("_", Path((name or "").replace("\\", "/")).name).strip(" .")
    if len(base.encode("utf-8")) > MAX_NAME_BYTES - 33:  # room for the unique prefix of a kept copy
        raise InvalidRequestError(f"The file name {(name or '')[:40]!r}... has {len(base.encode('utf-8'))} bytes; file "
                                  f"systems allow {MAX_NAME_BYTES}: rename the file (at most {MAX_NAME_BYTES - 33}).")
    known = list(extensions) if extensions is not None else None
    if not base or (known is not None and Path(base).suffix.lower() not in known):
        raise InvalidRequestError(f"Cannot index the file {name!r}: name it with one of the extensions "
                                  f"{', '.join(known or ['(any)'])} (text, markdown, jsonl or DPR tsv).")
    return base


def unique_names(files: List[Upload], extensions: Optional[Iterable[str]] = None) -> List[Tuple[str, bytes]]:
    """Safe names of the files; two files of one upload may not share one (their passages would mix)."""
    named = [(safe_file_name(name, extensions), data) for name, data in files]
    seen: Dict[str, int] = {}
    for name, _ in named:
        seen[name] = seen.get(name, 0) + 1
    twins = [name for name, count in seen.items() if count > 1]
    if twins:
        raise InvalidRequestError(f"This upload holds {seen[twins[0]]} files named {twins[0]!r}: give each file of "
                                  "an upload its own name.")
    return named


def documents_from_upload(files: List[Upload], meta: Optional[Mapping[str, Any]] = None,
                          schema: PassageSchema = PASSAGES) -> List[Any]:
    """Documents of every uploaded ``(file name, bytes)`` read by the corpus readers (titles where the store's
    ``schema`` keeps them); any unreadable file fails the whole upload, and nothing is indexed."""
    import tempfile

    from dpr_components.preprocessing.corpus import EXTENSIONS, read_corpus

    documents: List[Any] = []
    with tempfile.TemporaryDirectory(prefix="dpr-upload-") as directory:
        for position, (base, data) in enumerate(unique_names(files, EXTENSIONS)):
            _check_utf8(base, data)
            path = Path(directory) / f"{position}" / base
            path.parent.mkdir()
            path.write_bytes(data)
            try:
                for document in read_corpus(path, schema=schema):
                    document.meta = {**(meta or {}), **document.meta}
                    documents.append(checked_document(document, base))
            except ConfigurationError as error:
                raise InvalidRequestError(str(error).replace(str(path), base)) from None
    sources = [document.meta[SOURCE_ID_FIELD] for document in documents]
    if len(set(sources)) != len(sources):
        twin = next(source for source in sources if sources.count(source) > 1)
        raise InvalidRequestError(f"Two documents of this upload have the id {twin!r}: give each its own id.")
    if not any(document.content.strip() for document in documents):
        raise InvalidRequestError("The uploaded files hold no text to index.")
    return [document for document in documents if document.content.strip()]


def file_paths_from_upload(files: List[Upload], meta: Optional[Mapping[str, Any]], directory: Path
                           ) -> Tuple[List[Path], List[Dict[str, Any]]]:
    """Write the files under ``directory`` as ``<unique hex>_<name>`` (Haystack's naming); their paths and one
    meta per file: the form's ``meta`` plus ``name`` and ``source_id`` (the file name)."""
    paths, metas = [], []
    for base, data in unique_names(files):
        path = directory / f"{uuid.uuid4().hex}_{base}"
        path.write_bytes(data)
        paths.append(path)
        metas.append(checked_values({**(meta or {}), "name": base, SOURCE_ID_FIELD: base}, "meta"))
    return paths, metas


def checked_document(document: Any, file_name: str) -> Any:
    """``document`` when its id, text and meta can be stored, else a 422 naming the file."""
    where = f"file {file_name!r}, document {str(document.id)[:60]!r}"
    checked_values({"id": document.id, "text": document.content, "meta": document.meta}, where)
    return document


def _check_utf8(name: str, data: bytes) -> None:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequestError(f"File {name!r} is not UTF-8 text; upload text, markdown or jsonl.") from None
