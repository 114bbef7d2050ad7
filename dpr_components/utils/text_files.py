"""Reading the text files users give (corpora, question files): UTF-8, a leading byte-order mark accepted,
and anything else refused with the file and line named.

Example::

    from dpr_components.utils.text_files import read_utf8, utf8_lines

    text = read_utf8("questions.jsonl", "question file")
    for line in utf8_lines("corpus.jsonl", "corpus file"):
        ...
    # a Latin-1 file: ConfigurationError: corpus file 'corpus.jsonl' is not UTF-8 (line 3, byte 0xe9) ...
"""
import codecs
from pathlib import Path
from typing import Iterator, Optional, Union

from dpr_components.errors import ConfigurationError

ENCODING = "utf-8-sig"  # UTF-8; a byte-order mark at the very start is dropped


class TextEncodingError(ConfigurationError):
    """A text file the user gave is not UTF-8."""


def not_utf8(path: Union[str, Path], what: str) -> TextEncodingError:
    """The error for a file that does not decode as UTF-8, naming the line of the first bad byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, offset = 1, 0
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            try:
                decoder.decode(block)
            except UnicodeDecodeError as error:
                bad = block[error.start] if error.start < len(block) else block[-1]
                line += block[: error.start].count(b"\n")
                return TextEncodingError(
                    f"{what} {str(path)!r} is not UTF-8 (line {line}, byte 0x{bad:02x} at offset "
                    f"{offset + error.start}): convert it, e.g. iconv -f latin1 -t utf-8 FILE > FILE.utf8."
                )
            line += block.count(b"\n")
            offset += len(block)
    return TextEncodingError(f"{what} {str(path)!r} ends inside a UTF-8 character: the file is truncated.")


def read_utf8(path: Union[str, Path], what: str = "file") -> str:
    """The whole file as text (see the module docstring)."""
    try:
        return Path(path).read_text(encoding=ENCODING)
    except UnicodeDecodeError:
        raise not_utf8(path, what) from None


def utf8_lines(path: Union[str, Path], what: str = "file", newline: Optional[str] = None) -> Iterator[str]:
    """The file's lines, streamed (``newline=""`` for the csv module)."""
    with open(path, encoding=ENCODING, newline=newline) as stream:
        try:
            yield from stream
        except UnicodeDecodeError:
            raise not_utf8(path, what) from None
