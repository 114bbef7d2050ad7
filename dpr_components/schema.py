"""The passage schema: which meta fields hold a passage's title, source document and position, and how long
passages are. Every layer (corpus readers, splitter, retriever, reader, store and its BM25, evaluation,
CLI output) reads these names from here, so they cannot drift apart.

DPR passages are 100-word blocks of an article (``words_per_passage``); each carries the article title in
``meta[title_field]`` (``name``, Haystack's convention), the id of the document it was cut from in
``meta[source_id_field]`` (what makes indexing resumable), a digest of that document's title and text in
``meta[digest_field]`` (what tells a changed document from a stored one) and its block index in
``meta[split_id_field]``. The title field is a setting of the store: it records it with its first passages,
and a :class:`~dpr_components.workspace.Workspace` gives it to every node that takes ``title_field`` and to
the corpus reader and results of its pipelines, so it is set once (``DocumentStore.title_field``).

Example::

    from dpr_components.schema import PASSAGES, PassageSchema

    PASSAGES.title_field                                   # "name"
    PASSAGES.title({"name": "Paris", "source_id": "7"})    # "Paris"
    PassageSchema(title_field="heading").title({})         # "" (no title)
"""
import hashlib
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from dpr_components.errors import ConfigurationError
from dpr_components.utils.validation import positive_int


@dataclass(frozen=True)
class PassageSchema:
    """Field names and passage length shared by every node that reads or writes passages."""

    title_field: str = "name"
    source_id_field: str = "source_id"
    split_id_field: str = "_split_id"
    digest_field: str = "source_digest"
    words_per_passage: int = 100

    def __post_init__(self) -> None:
        for name in ("title_field", "source_id_field", "split_id_field", "digest_field"):
            value = getattr(self, name)
            # Field names become SQLite JSON paths ($."<name>"), where a double quote cannot be escaped.
            if not isinstance(value, str) or not value or '"' in value:
                raise ConfigurationError(f"{name} must be a non-empty meta field name without '\"', got {value!r}.")
        positive_int("words_per_passage", self.words_per_passage)

    def title(self, meta: Optional[Mapping[str, Any]]) -> str:
        """The passage title in ``meta`` ("" when absent or None)."""
        value = (meta or {}).get(self.title_field)
        return "" if value is None else str(value)

    def digest(self, title: Any, text: str) -> str:
        """SHA-256 of a source document's title and words (as passages hold them: whitespace does not count);
        its passages keep it in ``meta[digest_field]``."""
        data = f"{'' if title is None else title}\x00{' '.join(text.split())}".encode("utf-8", "surrogatepass")
        return hashlib.sha256(data).hexdigest()


PASSAGES = PassageSchema()
TITLE_FIELD = PASSAGES.title_field
SOURCE_ID_FIELD = PASSAGES.source_id_field
SPLIT_ID_FIELD = PASSAGES.split_id_field
WORDS_PER_PASSAGE = PASSAGES.words_per_passage
