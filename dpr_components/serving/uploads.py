"""Uploaded files -> Haystack Documents, read with the corpus readers ``dpr-components index`` uses.

Accepted: ``.txt``/``.text`` (one document titled with the file name), ``.md``/``.markdown``, ``.jsonl``
(``{"id", "title", "text"}`` a line) and DPR ``.tsv``. Only the file's base name is kept from the client
(it becomes the title or id prefix, never a path); the bytes go to a private temporary directory that is
removed afterwards. ``meta`` (Haystack's form field, a JSON object) is added to every document;
``meta["name"]`` is the title the passages are embedded with (for a text file, its name without extension).

Usage::

    from dpr_components.serving.uploads import documents_from_upload

    documents = documents_from_upload([("paris.txt", b"Paris is the capital of France.")], meta={"lang": "en"})
    documents[0].meta   # {'name': 'paris', 'source_id': 'paris.txt', 'lang': 'en'}
"""
import re
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from dpr_components.errors import ConfigurationError
from dpr_components.preprocessing.corpus import EXTENSIONS, read_corpus
from dpr_components.serving.errors import InvalidRequestError

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_file_name(name: Optional[str]) -> str:
    """The client's file name reduced to a plain base name with a known extension."""
    base = _SAFE_NAME.sub("_", Path((name or "").replace("\\", "/")).name).strip(" .")
    suffix = Path(base).suffix.lower()
    if not base or suffix not in EXTENSIONS:
        raise InvalidRequestError(
            f"Cannot index the file {name!r}: name it with one of the extensions {', '.join(EXTENSIONS)} "
            "(text, markdown, jsonl or DPR tsv)."
        )
    return base


def documents_from_upload(files: Iterable[Tuple[Optional[str], bytes]],
                          meta: Optional[Mapping[str, Any]] = None) -> List[Any]:
    """Documents of every uploaded ``(file name, bytes)``; any unreadable file fails the whole upload."""
    documents: List[Any] = []
    extra: Dict[str, Any] = dict(meta or {})
    with tempfile.TemporaryDirectory(prefix="dpr-upload-") as directory:
        for position, (name, data) in enumerate(files):
            base = safe_file_name(name)
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidRequestError(f"File {base!r} is not UTF-8 text; upload text, markdown or jsonl.") from None
            path = Path(directory) / f"{position}" / base
            path.parent.mkdir()
            path.write_bytes(data)
            try:
                for document in read_corpus(path):
                    document.meta = {**extra, **document.meta}
                    documents.append(document)
            except ConfigurationError as error:
                raise InvalidRequestError(str(error).replace(str(path), base)) from None
    if not any(document.content.strip() for document in documents):
        raise InvalidRequestError("The uploaded files hold no text to index.")
    return documents
