"""Corpus readers: DPR's ``psgs_w100.tsv``, jsonl, plain-text and markdown files -> Haystack Documents.

Every document carries its title in ``meta[schema.title_field]`` (``name`` unless the store's passage schema
says otherwise: the field DPR encodes with the passage) and a stable identifier in ``meta["source_id"]``
(field names: :mod:`dpr_components.schema`), which is what makes indexing resumable.

Usage::

    from dpr_components.preprocessing.corpus import read_corpus

    for document in read_corpus("psgs_w100.tsv"):          # format detected from the file name
        print(document.meta["source_id"], document.meta["name"], document.content[:40])

    documents = list(read_corpus("notes/", corpus_format="markdown"))   # every .md file under notes/
    read_corpus("notes/", schema=PassageSchema(title_field="heading"))   # titles in meta["heading"]

Formats:

- ``dpr_tsv``: tab-separated ``id, text, title`` with a header row, as in DPR's ``psgs_w100.tsv``.
- ``jsonl``: one JSON object a line, ``{"id": ..., "title": ..., "text": ...}`` (``id`` and ``title`` optional).
- ``text``: one document per file; the title is the file name without its extension.
- ``markdown``: one document per file; the title is the first ``# heading`` (else the file name), and
  link, emphasis and heading markup is removed so that passages hold plain words.
"""
import csv
import json
import re
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Set, Tuple, Union

from haystack.schema import Document

from dpr_components.errors import ConfigurationError
from dpr_components.schema import PASSAGES, PassageSchema
from dpr_components.utils.choices import Choice
from dpr_components.utils.text_files import read_utf8, utf8_lines


class CorpusFormat(Choice):
    """How a corpus file is read; ``auto`` decides from the file extension."""

    AUTO = "auto"
    DPR_TSV = "dpr_tsv"
    JSONL = "jsonl"
    TEXT = "text"
    MARKDOWN = "markdown"


EXTENSIONS: Dict[str, CorpusFormat] = {
    ".tsv": CorpusFormat.DPR_TSV,
    ".jsonl": CorpusFormat.JSONL,
    ".txt": CorpusFormat.TEXT,
    ".text": CorpusFormat.TEXT,
    ".md": CorpusFormat.MARKDOWN,
    ".markdown": CorpusFormat.MARKDOWN,
}


def read_corpus(path: Union[str, Path], corpus_format: Union[str, CorpusFormat] = "auto",
                schema: PassageSchema = PASSAGES) -> Iterator[Document]:
    """Yield the documents of a corpus file, or of every corpus file under a directory (sorted by path), their
    titles and ids in the meta fields ``schema`` names.

    Ids are strings (``1`` and ``"1"`` are one id) and must be unique across the corpus: a second document
    with an id already read raises :class:`ConfigurationError` naming both lines, instead of silently
    replacing (or being skipped as "already indexed" in favour of) the first.
    """
    seen: Set[int] = set()  # hashes of the ids read: ~60 bytes an id; the rare hit is confirmed by a re-read
    for location, document in _located_documents(Path(path), CorpusFormat.from_str(corpus_format), schema):
        key = hash(document.id)
        if key in seen:
            first = _first_location(Path(path), CorpusFormat.from_str(corpus_format), document.id, location)
            if first is not None:
                raise ConfigurationError(
                    f"{first} and {location} both have the id {document.id!r} (ids are compared as strings, so 1 "
                    f'and "1" are the same id); the second would replace the first. Give every document a unique id.')
        seen.add(key)
        yield document


def _located_documents(path: Path, corpus_format: CorpusFormat,
                       schema: PassageSchema = PASSAGES) -> Iterator[Tuple[str, Document]]:
    """("file:line", document) for every document of the corpus, in reading order."""
    for file_path in corpus_files(path, corpus_format):
        file_format = corpus_format if corpus_format is not CorpusFormat.AUTO else format_of(file_path)
        relative = file_path.relative_to(path).as_posix() if path.is_dir() else file_path.name
        for line_number, text, title, source_id in READERS[file_format](file_path, relative):
            meta = {schema.title_field: title, schema.source_id_field: source_id,
                    schema.digest_field: schema.digest(title, text)}
            yield f"{str(file_path)!r} line {line_number}", Document(content=text, id=source_id, meta=meta)


def _first_location(path: Path, corpus_format: CorpusFormat, document_id: str, before: str) -> Optional[str]:
    """Where ``document_id`` first occurs, if before ``before`` (None: the hash hit was a collision)."""
    for location, document in _located_documents(path, corpus_format):
        if location == before:
            return None
        if document.id == document_id:
            return location
    return None


def corpus_files(path: Path, corpus_format: CorpusFormat = CorpusFormat.AUTO) -> List[Path]:
    """The files a corpus path stands for: the file itself, or the readable files under a directory."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise ConfigurationError(f"Corpus {str(path)!r} does not exist. Give a corpus file or a directory of them.")
    wanted = [ext for ext, fmt in EXTENSIONS.items() if corpus_format in (CorpusFormat.AUTO, fmt)]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in wanted)
    if not files:
        raise ConfigurationError(
            f"No corpus files under {str(path)!r}: expected files ending in {', '.join(wanted)}."
        )
    return files


def format_of(file_path: Path) -> CorpusFormat:
    """The format a file's extension implies, or an error listing the known extensions."""
    try:
        return EXTENSIONS[file_path.suffix.lower()]
    except KeyError:
        known = ", ".join(EXTENSIONS)
        raise ConfigurationError(
            f"Cannot tell the format of {str(file_path)!r} from its extension (known: {known}). "
            "Pass --format dpr_tsv|jsonl|text|markdown."
        ) from None


def count_documents(path: Union[str, Path], corpus_format: Union[str, CorpusFormat] = "auto") -> Optional[int]:
    """How many documents ``read_corpus`` will yield (for progress bars), counted without parsing them."""
    corpus_format = CorpusFormat.from_str(corpus_format)
    path = Path(path)
    total = 0
    for file_path in corpus_files(path, corpus_format):
        file_format = corpus_format if corpus_format is not CorpusFormat.AUTO else format_of(file_path)
        if file_format is CorpusFormat.DPR_TSV:
            total += max(_count_lines(file_path) - 1, 0)  # header row; quoted newlines are rare in DPR files
        elif file_format is CorpusFormat.JSONL:
            total += _count_lines(file_path, skip_blank=True)
        else:
            total += 1
    return total


def _count_lines(file_path: Path, skip_blank: bool = False) -> int:
    with open(file_path, "rb") as stream:
        if skip_blank:
            return sum(1 for line in stream if line.strip())
        return sum(block.count(b"\n") for block in iter(lambda: stream.read(1 << 20), b""))


Located = Iterator[Tuple[int, str, str, str]]  # (line number, text, title, id), as every reader below yields them


def read_dpr_tsv(file_path: Path, relative: str) -> Located:
    """DPR's passage file: header ``id<TAB>text<TAB>title``, fields csv-quoted when needed."""
    csv.field_size_limit(sys.maxsize)
    rows = csv.reader(utf8_lines(file_path, "corpus file", newline=""), delimiter="\t")
    header = [column.strip().lower() for column in next(rows, [])]
    missing = {"id", "text", "title"} - set(header)
    if missing:
        raise ConfigurationError(
            f"{str(file_path)!r} is not a DPR passage file: its header row lacks {', '.join(sorted(missing))} "
            "(expected the columns id, text, title, tab-separated)."
        )
    id_col, text_col, title_col = header.index("id"), header.index("text"), header.index("title")
    for line_number, row in enumerate(rows, start=2):
        if not row:
            continue
        if len(row) < len(header):
            raise ConfigurationError(
                f"{str(file_path)!r} line {line_number}: expected {len(header)} tab-separated fields "
                f"(id, text, title), found {len(row)}."
            )
        yield line_number, row[text_col], row[title_col], row[id_col]


def read_jsonl(file_path: Path, relative: str) -> Located:
    """One ``{"id", "title", "text"}`` object a line; ``id`` defaults to ``<file>:<line>``, ``title`` to ""."""
    for line_number, line in enumerate(utf8_lines(file_path, "corpus file"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise ConfigurationError(f"{str(file_path)!r} line {line_number} is not valid JSON: {error.msg}.") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise ConfigurationError(
                f"{str(file_path)!r} line {line_number}: expected an object with a \"text\" string "
                '(and optionally "id" and "title"), e.g. {"id": "1", "title": "Paris", "text": "Paris is ..."}.'
            )
        source_id = record.get("id")
        source_id = f"{relative}:{line_number}" if source_id is None else str(source_id)
        yield line_number, record["text"], str(record.get("title") or ""), source_id


def read_text(file_path: Path, relative: str) -> Located:
    """The whole file is one document, titled with the file name."""
    yield 1, read_utf8(file_path, "corpus file"), _title_from_name(file_path), relative


_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_IMAGE_OR_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*{1,3}|_{1,3}|`+)(\S(?:.*?\S)?)\1")
_LIST_OR_QUOTE = re.compile(r"^\s*(?:[-*+>]|\d+[.)])\s+", flags=re.MULTILINE)
_FENCE = re.compile(r"^\s*(```|~~~).*$", flags=re.MULTILINE)


def markdown_to_text(markdown: str) -> str:
    """Plain words from markdown: heading, list, quote, link, image, emphasis and fence markers removed."""
    lines = [(heading.group(1) if (heading := _HEADING.match(line)) else line) for line in markdown.splitlines()]
    text = "\n".join(lines)
    text = _FENCE.sub("", text)
    text = _IMAGE_OR_LINK.sub(r"\1", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _LIST_OR_QUOTE.sub("", text)


def read_markdown(file_path: Path, relative: str) -> Located:
    """The whole file is one document, titled with its first heading (else the file name)."""
    lines = read_utf8(file_path, "corpus file").splitlines()
    first_heading = next(((number, heading) for number, line in enumerate(lines)
                          if (heading := _HEADING.match(line))), None)
    if first_heading is None:
        title = _title_from_name(file_path)
    else:  # the title is encoded with every passage, so it is not repeated in the text
        del lines[first_heading[0]]
        title = first_heading[1].group(1)
    yield 1, markdown_to_text("\n".join(lines)), title, relative


def _title_from_name(file_path: Path) -> str:
    return file_path.stem.replace("_", " ")


READERS = {
    CorpusFormat.DPR_TSV: read_dpr_tsv,
    CorpusFormat.JSONL: read_jsonl,
    CorpusFormat.TEXT: read_text,
    CorpusFormat.MARKDOWN: read_markdown,
}
