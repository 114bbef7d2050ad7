"""Benchmark inputs: real 100-word Wikipedia passages (gensim's 107 articles) and real questions.

Passages come from the evaluation helper's ``dpr_components.data.wikipedia_mini`` when present, else from
a small loader here (same recipe: skip redirects, ``filter_wiki``, 100-word non-overlapping blocks, title
kept). Larger corpora repeat the real passages with distinct ids, so stores keep every copy.
"""
import bz2
import functools
import os
import random
from typing import Dict, List

from haystack.schema import Document

GENSIM_FILE = "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"

# Used when pyserini's question files are not installed; real NQ-style questions about the articles.
FALLBACK_QUESTIONS = [
    "who was the first president of the united states",
    "what is the capital city of algeria",
    "when did the american civil war end",
    "what language is spoken in andorra",
    "who wrote the origin of species",
    "what is the largest planet in the solar system",
    "where is the headquarters of the united nations",
    "who invented the telephone",
]


def _own_passages(words_per_passage: int = 100) -> List[Dict[str, str]]:
    import gensim
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    path = os.path.join(os.path.dirname(gensim.__file__), GENSIM_FILE)
    passages = []
    with bz2.BZ2File(path) as dump:
        for title, text, _ in extract_pages(dump):
            if not text or text.lstrip().lower().startswith("#redirect"):
                continue
            words = filter_wiki(text).split()
            for start in range(0, len(words), words_per_passage):
                passages.append({"title": title, "text": " ".join(words[start:start + words_per_passage])})
    return passages


@functools.lru_cache(maxsize=1)
def real_passages() -> List[Dict[str, str]]:
    """All passages of the gensim articles as {"title", "text"} dicts (about 4,800)."""
    try:  # the evaluation helper's loader, once merged
        from dpr_components.data.wikipedia_mini import build_passages, load_wikipedia_articles
    except ImportError:
        return _own_passages()
    return [{"title": p["title"], "text": p["text"]} for p in build_passages(load_wikipedia_articles())]


def passages(count: int, seed: int = 0) -> List[Document]:
    """``count`` passages as Haystack Documents (title in meta["name"]), a seeded sample of the real ones,
    repeated with distinct ids when ``count`` exceeds the corpus."""
    pool = real_passages()
    order = list(range(len(pool)))
    random.Random(seed).shuffle(order)
    documents = []
    for number in range(count):
        passage = pool[order[number % len(pool)]]
        documents.append(Document(content=passage["text"], meta={"name": passage["title"]}, id=f"p{number}"))
    return documents


@functools.lru_cache(maxsize=1)
def real_questions() -> List[str]:
    """Natural Questions dev questions (pyserini 0.13.0's files), else a short built-in list."""
    try:
        import ast
        import csv
        import io
        import zipfile

        import pyserini

        jar = os.path.join(os.path.dirname(pyserini.__file__), "resources/jars/anserini-0.13.1-fatjar.jar")
        with zipfile.ZipFile(jar) as archive:
            raw = archive.read("topics-and-qrels/topics.nq.dev.txt").decode("utf-8")
        rows = csv.reader(io.StringIO(raw), delimiter="\t")
        questions = [row[0] for row in rows if row and ast.literal_eval(row[1])]
        return questions or FALLBACK_QUESTIONS
    except (ImportError, OSError, KeyError, IndexError, ValueError, SyntaxError):
        return FALLBACK_QUESTIONS


def questions(count: int, seed: int = 0) -> List[str]:
    """``count`` real questions, a seeded sample (repeated if fewer exist)."""
    pool = list(real_questions())
    random.Random(seed).shuffle(pool)
    return [pool[number % len(pool)] for number in range(count)]
