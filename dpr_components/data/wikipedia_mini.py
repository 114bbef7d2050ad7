"""The mini Wikipedia benchmark: real passages and real questions, built offline from registry packages.

* Passages: the 107 English Wikipedia articles that gensim 4.4.0's wheel ships as test data
  (``enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2``), read with gensim's
  ``extract_pages`` + ``filter_wiki`` (redirect pages skipped), leftover bold/italic quotes, heading ``=`` signs
  and list bullets removed, then cut into DPR's 100-word passages with their article title: 4,807 passages
  (without the markup clean-up, bullets and ``==`` alone would fill 52 more).
* Questions: those of DPR's NQ and TriviaQA question sets (as shipped in pyserini 0.13.0's Anserini jar) that
  name an article (the words of its title, without a "(disambiguation)"-style suffix, occur in a row among
  the question's words, ignoring case; one-letter titles such as "A" are skipped: they match the article "a")
  and whose answer occurs, by DPR's ``has_answer``, in a passage of a named article. dev = NQ dev + TriviaQA
  dev (81 questions), test = NQ test + TriviaQA test (90). Small and noisy, but real: tune on dev only.

The output directory gets ``passages.jsonl`` (``{"id", "title", "text"}``, id ``"<page id>-<block>"``),
``dev.jsonl`` and ``test.jsonl`` (questions as ``load_questions`` reads them, ids from the source set,
e.g. ``nq-dev-123``), ``manifest.json`` (builder version, counts, sha256 of each file, sources, licences)
and ``README.md``. The output is byte-for-byte deterministic; a directory already built by the same builder
version is left as it is (``force=True`` rebuilds).

Usage::

    python -m dpr_components.data.wikipedia_mini data/mini_wikipedia

    from dpr_components.data.wikipedia_mini import build_mini_wikipedia
    manifest = build_mini_wikipedia("data/mini_wikipedia")
    manifest["counts"]   # {"articles": 107, "passages": 4807, "dev": 81, "test": 90, ...}
"""
import bz2
import hashlib
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

from dpr_components.errors import DPRComponentsError
from dpr_components.evaluation.answers import has_answer
from dpr_components.evaluation.questions import Question, load_pyserini_topics, write_questions
from dpr_components.preprocessing.passages import split_into_passages
from dpr_components.utils.files import atomic_write

BUILDER_VERSION = 1
GENSIM_WIKI_FILE = "test/test_data/enwiki-latest-pages-articles1.xml-p000000010p000030302-shortened.bz2"
QUESTION_SETS = {"dev": ("nq-dev", "dpr-trivia-dev"), "test": ("nq-test", "dpr-trivia-test")}
FILES = ("passages.jsonl", "dev.jsonl", "test.jsonl")
LICENSES = {
    "passages": "Wikipedia text, CC BY-SA 3.0 (and GFDL) as of the dump, shipped as test data in gensim 4.4.0 "
    "(LGPL-2.1). Attribution: the Wikipedia articles named in passages.jsonl and their authors.",
    "nq": "Natural Questions (Kwiatkowski et al. 2019), CC BY-SA 3.0 (ai.google.com/research/NaturalQuestions).",
    "triviaqa": "TriviaQA (Joshi et al. 2017), Apache 2.0 per its maintainers (github.com/mandarjoshi90/triviaqa "
    "issue 8); the University of Washington does not own the copyright of the questions.",
    "question_lists": "Question/answer lists as processed by the DPR authors (facebookresearch/DPR, CC BY-NC 4.0), "
    "redistributed in Anserini 0.13.1 inside pyserini 0.13.0 (Apache 2.0).",
}
_EMPHASIS = re.compile(r"''+")
_HEADING = re.compile(r"^[ \t]*(=+)[ \t]*(.*?)[ \t]*\1[ \t]*$", re.MULTILINE)
_LIST_MARKER = re.compile(r"^[ \t]*[*#:;]+[ \t]*", re.MULTILINE)
_DISAMBIGUATION = re.compile(r"\s*\([^)]*\)$")
_WORD = re.compile(r"\w+")


class BenchmarkDataError(DPRComponentsError):
    """The benchmark's source data (gensim's test file, pyserini's jar) is missing or unusable."""


@dataclass
class Article:
    page_id: str
    title: str
    text: str


def gensim_wiki_path() -> Path:
    """The Wikipedia dump excerpt inside the installed gensim package."""
    try:
        import gensim
    except ImportError:
        raise BenchmarkDataError("gensim is not installed; it ships the articles: pip install gensim==4.4.0") from None
    path = Path(gensim.__file__).parent / GENSIM_WIKI_FILE
    if not path.is_file():
        raise BenchmarkDataError(f"{path} is missing; reinstall gensim 4.4.0, whose wheel ships it.")
    return path


def clean_wiki_text(text: str) -> str:
    """Remove the markup that ``filter_wiki`` leaves: ''emphasis'' quotes, == heading == signs, list bullets."""
    text = _EMPHASIS.sub("", text)
    text = _HEADING.sub(r"\2", text)
    return _LIST_MARKER.sub("", text)


def load_wikipedia_articles(path: Optional[Union[str, Path]] = None) -> List[Article]:
    """Main-namespace articles of the dump (redirects skipped), in dump order, as plain text."""
    from gensim.corpora.wikicorpus import extract_pages, filter_wiki

    articles = []
    with bz2.open(path or gensim_wiki_path(), "rb") as handle:
        for title, markup, page_id in extract_pages(handle, filter_namespaces=("0",)):
            if markup.lstrip().lower().startswith("#redirect"):
                continue
            articles.append(Article(page_id=str(page_id), title=title, text=clean_wiki_text(filter_wiki(markup))))
    return articles


def build_passages(articles: Iterable[Article], words_per_passage: int = 100) -> List[Dict[str, str]]:
    """DPR passages of all articles: ``{"id": "<page id>-<block>", "title", "text"}``."""
    return [
        {"id": f"{article.page_id}-{index}", "title": passage["title"], "text": passage["text"]}
        for article in articles
        for index, passage in enumerate(split_into_passages(article.title, article.text, words_per_passage))
    ]


def write_passages(path: Union[str, Path], passages: Iterable[Dict[str, str]]) -> None:
    """Passages as a corpus file: one ``{"id", "title", "text"}`` a line, written atomically."""
    def write(temporary: Path) -> None:
        with open(temporary, "w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(passage, ensure_ascii=False) + "\n" for passage in passages)

    atomic_write(Path(path), write)


def _words(text: str) -> Tuple[str, ...]:
    return tuple(_WORD.findall(text.lower()))


def title_words(title: str) -> Optional[Tuple[str, ...]]:
    """Lower-cased words of ``title`` without a parenthesised suffix; None for one-letter titles ("A")."""
    core = _DISAMBIGUATION.sub("", title).strip()
    return _words(core) if len(core) >= 2 and _words(core) else None


def named_titles(question: str, titles_by_first_word: Dict[str, List[Tuple[str, Tuple[str, ...]]]]) -> List[str]:
    """Titles whose words occur contiguously among the question's words, in order of first appearance."""
    words = _words(question)
    named: List[str] = []
    for start, word in enumerate(words):
        for title, sequence in titles_by_first_word.get(word, ()):
            if words[start : start + len(sequence)] == sequence and title not in named:
                named.append(title)
    return named


def select_questions(questions: Sequence[Question], passages: Sequence[Dict[str, str]]) -> List[Question]:
    """Questions that name an article and whose answer is in one of that article's passages (DPR matching)."""
    texts_by_title: Dict[str, List[str]] = {}
    for passage in passages:
        texts_by_title.setdefault(passage["title"], []).append(passage["text"])
    titles_by_first_word: Dict[str, List[Tuple[str, Tuple[str, ...]]]] = {}
    for title in texts_by_title:
        sequence = title_words(title)
        if sequence is not None:
            titles_by_first_word.setdefault(sequence[0], []).append((title, sequence))
    selected = []
    for question in questions:
        named = named_titles(question.question, titles_by_first_word)
        if any(has_answer(question.answers, text, question.match) for title in named for text in texts_by_title[title]):
            meta = {"articles": named}
            selected.append(Question(question.id, question.question, question.answers, question.match, meta))
    return selected


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _is_built(out_dir: Path) -> Optional[Dict]:
    manifest_path = out_dir / "manifest.json"
    if not manifest_path.is_file():
        return None
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        return None
    if manifest.get("builder_version") != BUILDER_VERSION:
        return None
    for name in FILES:
        if not (out_dir / name).is_file() or _sha256(out_dir / name) != manifest.get("sha256", {}).get(name):
            return None
    return manifest


def _readme(manifest: Dict) -> str:
    counts = manifest["counts"]
    lines = [
        "# Mini Wikipedia benchmark",
        "",
        f"Built by `python -m dpr_components.data.wikipedia_mini` (builder version {manifest['builder_version']}).",
        "",
        f"- passages.jsonl: {counts['passages']} DPR passages (100 words, with titles) of {counts['articles']} "
        f"Wikipedia articles ({counts['articles_with_text']} with text) from gensim's test data.",
        f"- dev.jsonl: {counts['dev']} questions ({counts['dev_nq']} NQ dev + {counts['dev_trivia']} TriviaQA dev).",
        f"- test.jsonl: {counts['test']} questions "
        f"({counts['test_nq']} NQ test + {counts['test_trivia']} TriviaQA test).",
        "",
        "Questions name an article's title and have an answer in that article's passages (DPR's has_answer).",
        "Tune on dev only; report test.",
        "",
        "## Licences",
        "",
    ]
    lines += [f"- {text}" for text in manifest["licenses"].values()]
    return "\n".join(lines) + "\n"


def build_mini_wikipedia(out_dir: Union[str, Path], force: bool = False) -> Dict:
    """Build (or reuse) the benchmark in ``out_dir``; returns the manifest (counts, hashes, licences)."""
    out_dir = Path(out_dir)
    if not force and (manifest := _is_built(out_dir)) is not None:
        return manifest
    out_dir.mkdir(parents=True, exist_ok=True)
    articles = load_wikipedia_articles()
    passages = build_passages(articles)
    counts = {
        "articles": len(articles),
        "articles_with_text": sum(1 for article in articles if article.text.split()),
        "passages": len(passages),
    }
    splits: Dict[str, List[Question]] = {}
    for split, sources in QUESTION_SETS.items():
        splits[split] = []
        for source in sources:
            chosen = select_questions(load_pyserini_topics(source), passages)
            counts[f"{split}_{'nq' if source.startswith('nq') else 'trivia'}"] = len(chosen)
            splits[split].extend(chosen)
        counts[split] = len(splits[split])

    # Each file is written to a temporary name and moved into place; the manifest comes last.
    def publish(name: str, write) -> None:
        atomic_write(out_dir / name, write)

    write_passages(out_dir / "passages.jsonl", passages)
    for split, questions in splits.items():
        publish(f"{split}.jsonl", lambda path, questions=questions: write_questions(questions, path))
    manifest = {
        "builder_version": BUILDER_VERSION,
        "counts": counts,
        "sha256": {name: _sha256(out_dir / name) for name in FILES},
        "sources": {
            "passages": f"gensim/{GENSIM_WIKI_FILE}",
            **{split: [f"pyserini:{source}" for source in sources] for split, sources in QUESTION_SETS.items()},
        },
        "licenses": LICENSES,
    }
    publish("README.md", lambda path: path.write_text(_readme(manifest), encoding="utf-8"))
    publish("manifest.json", lambda path: path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8"))
    return manifest


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Build the mini Wikipedia benchmark (passages + dev/test questions).")
    parser.add_argument("out_dir", help="directory to write passages.jsonl, dev.jsonl, test.jsonl, manifest.json")
    parser.add_argument("--force", action="store_true", help="rebuild even if the directory is up to date")
    args = parser.parse_args(argv)
    try:
        manifest = build_mini_wikipedia(args.out_dir, force=args.force)
    except DPRComponentsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(manifest["counts"], indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
