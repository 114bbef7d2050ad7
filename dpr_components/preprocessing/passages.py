"""DPR's passages: each article split into disjoint blocks of 100 words, the article title kept beside them.

DPR (Karpukhin et al. 2020) indexes Wikipedia as non-overlapping 100-word blocks; the encoder then reads
``[CLS] title [SEP] passage [SEP]``. Words are whitespace-separated runs (``str.split()``); a block's text is
its words joined by single spaces; the last block of an article holds the remaining words (fewer than 100).

Why not Haystack's ``PreProcessor(split_by="word", split_length=100, split_overlap=0,
split_respect_sentence_boundary=False)``: it is not the same split. It cuts on single spaces only, so words
joined by a newline count as one and runs of spaces count as empty words (on gensim's "Anarchism" article it
makes 101 blocks of 97-104 real words where DPR's rule makes 102 of exactly 100), it keeps the original
newlines inside blocks, its ids are content hashes (two identical blocks collide), and in farm-haystack
1.26.4 it cannot even be constructed without nltk. This node is the DPR rule.

Each passage copies its document's meta, puts the title in ``meta[title_field]`` (``name`` by default, the
field DPRRetriever embeds), records ``_split_id`` (block index) and ``source_id`` (the document's id unless the
meta already has one), and gets the id ``f"{document.id}-{index}"``: deterministic, so re-indexing the same
corpus overwrites instead of duplicating.

Usage (YAML)::

    components:
      - name: Splitter
        type: DPRPassageSplitter
        params: {words_per_passage: 100, title_field: name}
    pipelines:
      - name: indexing
        nodes:
          - {name: Splitter, inputs: [File]}

Usage (Python)::

    from haystack import Document
    from dpr_components.preprocessing.passages import DPRPassageSplitter, split_into_passages

    splitter = DPRPassageSplitter(words_per_passage=100)
    output, _ = splitter.run(documents=[Document(content=article_text, meta={"name": "Aristotle"}, id="308")])
    output["documents"][0].id, output["documents"][0].meta["name"]   # "308-0", "Aristotle"
    split_into_passages("Aristotle", article_text)                  # [{"title": "Aristotle", "text": ...}, ...]
"""
from copy import deepcopy
from dataclasses import replace
from pathlib import Path
from typing import Dict, Iterator, List, Union

from haystack.nodes.base import BaseComponent
from haystack.schema import Document

from dpr_components.errors import ConfigurationError
from dpr_components.schema import PASSAGES, TITLE_FIELD, WORDS_PER_PASSAGE


def _check_words_per_passage(words_per_passage: int) -> None:
    if not isinstance(words_per_passage, int) or isinstance(words_per_passage, bool) or words_per_passage < 1:
        raise ConfigurationError(
            f"words_per_passage must be a positive integer (DPR uses 100), got {words_per_passage!r}."
        )


def split_words(text: str, words_per_passage: int = WORDS_PER_PASSAGE) -> List[str]:
    """The texts of the consecutive, disjoint ``words_per_passage``-word blocks of ``text``."""
    _check_words_per_passage(words_per_passage)
    words = text.split()
    return [" ".join(words[start : start + words_per_passage]) for start in range(0, len(words), words_per_passage)]


def split_into_passages(title: str, text: str, words_per_passage: int = WORDS_PER_PASSAGE) -> List[Dict[str, str]]:
    """DPR passages of one article: ``[{"title": title, "text": block}, ...]`` (none for an empty text)."""
    return [{"title": title, "text": block} for block in split_words(text, words_per_passage)]


def corpus_passages(corpus: Union[str, Path]) -> Iterator[Dict[str, str]]:
    """The passages indexing makes of a corpus file or directory (any format ``index`` reads), in memory:
    ``{"id": f"{document.id}-{index}", "title", "text"}``."""
    from dpr_components.preprocessing.corpus import read_corpus

    for document in read_corpus(corpus):
        title = str((document.meta or {}).get(TITLE_FIELD) or "")
        for index, passage in enumerate(split_into_passages(title, document.content)):
            yield {"id": f"{document.id}-{index}", **passage}


class DPRPassageSplitter(BaseComponent):
    """Haystack node: text Documents -> DPR's 100-word, non-overlapping passages with the title in meta."""

    outgoing_edges = 1

    def __init__(self, words_per_passage: int = WORDS_PER_PASSAGE, title_field: str = TITLE_FIELD):
        super().__init__()
        _check_words_per_passage(words_per_passage)
        self.schema = replace(PASSAGES, title_field=title_field, words_per_passage=words_per_passage)
        self.words_per_passage = words_per_passage
        self.title_field = title_field

    def split(self, documents: List[Document]) -> List[Document]:
        """Passages of every document, in order (documents with no words yield none)."""
        passages: List[Document] = []
        seen: Dict[str, int] = {}
        for position, document in enumerate(documents):
            if seen.setdefault(document.id, position) != position:
                raise ConfigurationError(
                    f"DPRPassageSplitter got two documents with the id {document.id!r} (positions "
                    f"{seen[document.id]} and {position}); their passages would share ids and one would be lost. "
                    "Give every document a unique id.")
            if document.content_type != "text" or not isinstance(document.content, str):
                raise ConfigurationError(
                    f"DPRPassageSplitter splits text documents only; document {document.id!r} has content_type "
                    f"{document.content_type!r}. Route tables and images around the splitter."
                )
            title = (document.meta or {}).get(self.title_field) or ""
            for index, block in enumerate(split_words(document.content, self.words_per_passage)):
                meta = deepcopy(document.meta or {})
                meta[self.title_field] = title
                meta[self.schema.split_id_field] = index
                meta.setdefault(self.schema.source_id_field, document.id)
                passages.append(Document(content=block, meta=meta, id=f"{document.id}-{index}"))
        return passages

    def run(self, documents: List[Document]):
        return {"documents": self.split(documents)}, "output_1"

    def run_batch(self, documents: Union[List[Document], List[List[Document]]]):
        if documents and isinstance(documents[0], list):
            return {"documents": [self.split(group) for group in documents]}, "output_1"
        return {"documents": self.split(documents)}, "output_1"
