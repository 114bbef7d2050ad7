"""The mini Wikipedia benchmark: counts, passage shape, question selection, licences, determinism, caching."""
import json
import re

from dpr_components.data.wikipedia_mini import (
    build_mini_wikipedia,
    clean_wiki_text,
    main,
    named_titles,
    title_words,
)
from dpr_components.evaluation.answers import has_answer
from dpr_components.evaluation.questions import load_questions


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_counts_are_near_the_documented_numbers(mini_wikipedia):
    _, manifest = mini_wikipedia
    counts = manifest["counts"]
    assert counts["articles"] == 107 and counts["articles_with_text"] == 106
    assert 4700 <= counts["passages"] <= 4900  # NOTES: about 4,860 before markup clean-up
    for split in ("dev", "test"):
        assert 60 <= counts[split] <= 150
        assert counts[split] == counts[f"{split}_nq"] + counts[f"{split}_trivia"]
        assert counts[f"{split}_nq"] > 0 and counts[f"{split}_trivia"] > 0


def test_passages_are_dpr_blocks_with_titles(mini_wikipedia):
    directory, manifest = mini_wikipedia
    passages = read_jsonl(directory / "passages.jsonl")
    assert len(passages) == manifest["counts"]["passages"]
    assert len({p["id"] for p in passages}) == len(passages)
    assert all(set(p) == {"id", "title", "text"} and p["title"] for p in passages)
    assert all(re.fullmatch(r"\d+-\d+", p["id"]) for p in passages)
    by_article = {}
    for passage in passages:
        by_article.setdefault(passage["id"].split("-")[0], []).append(passage)
    for blocks in by_article.values():
        assert [int(p["id"].split("-")[1]) for p in blocks] == list(range(len(blocks)))
        assert all(len(p["text"].split()) == 100 for p in blocks[:-1])
        assert 1 <= len(blocks[-1]["text"].split()) <= 100
    assert passages[0]["title"] == "Anarchism"
    assert passages[0]["text"].startswith("Anarchism is a political philosophy")
    assert not any("''" in p["text"] or " == " in p["text"] for p in passages)


def test_questions_name_an_article_holding_their_answer(mini_wikipedia):
    directory, _ = mini_wikipedia
    texts = {}
    for passage in read_jsonl(directory / "passages.jsonl"):
        texts.setdefault(passage["title"], []).append(passage["text"])
    for split, prefixes in (("dev", ("nq-dev-", "dpr-trivia-dev-")), ("test", ("nq-test-", "dpr-trivia-test-"))):
        questions = load_questions(directory / f"{split}.jsonl")
        assert questions and all(q.id.startswith(prefixes) for q in questions)
        for question in questions:
            articles = question.meta["articles"]
            assert articles and "A" not in articles
            assert all(re.search(re.escape(a.split(" (")[0]), question.question, re.I) for a in articles)
            assert any(has_answer(question.answers, text) for a in articles for text in texts[a])
    dev_ids = {q.id for q in load_questions(directory / "dev.jsonl")}
    assert not dev_ids & {q.id for q in load_questions(directory / "test.jsonl")}


def test_title_matching_rules():
    assert title_words("Animalia (book)") == ("animalia",)
    assert title_words("A") is None
    index = {}
    for title in ("Apollo", "Apollo 11", "Art", "Academy Awards"):
        words = title_words(title)
        index.setdefault(words[0], []).append((title, words))
    assert named_titles("Who walked on the moon during Apollo 11?", index) == ["Apollo", "Apollo 11"]
    assert named_titles("which artist won the academy awards", index) == ["Academy Awards"]  # not "Art"
    assert named_titles("pop art", index) == ["Art"]


def test_leftover_wiki_markup_is_removed():
    text = "'''Achilles''' was a ''hero''.\n== Birth ==\n* list item\n# numbered\n: indented"
    assert clean_wiki_text(text) == "Achilles was a hero.\nBirth\nlist item\nnumbered\nindented"


def test_readme_and_manifest_carry_licences_and_counts(mini_wikipedia):
    directory, manifest = mini_wikipedia
    readme = (directory / "README.md").read_text(encoding="utf-8")
    for licence in ("CC BY-SA 3.0", "Apache 2.0", "CC BY-NC 4.0"):
        assert licence in readme and licence in json.dumps(manifest["licenses"])
    assert f"{manifest['counts']['passages']} DPR passages" in readme
    assert json.loads((directory / "manifest.json").read_text(encoding="utf-8")) == manifest


def test_up_to_date_directory_is_reused_and_a_damaged_one_rebuilt_identically(mini_wikipedia, tmp_path, capsys):
    directory, manifest = mini_wikipedia
    for name in ("passages.jsonl", "dev.jsonl", "test.jsonl", "manifest.json", "README.md"):
        (tmp_path / name).write_bytes((directory / name).read_bytes())
    stamp = (tmp_path / "dev.jsonl").stat().st_mtime_ns
    assert main([str(tmp_path)]) == 0  # reused: nothing rewritten
    assert json.loads(capsys.readouterr().out) == manifest["counts"]
    assert (tmp_path / "dev.jsonl").stat().st_mtime_ns == stamp

    (tmp_path / "dev.jsonl").write_text("damaged\n", encoding="utf-8")
    assert build_mini_wikipedia(tmp_path) == manifest  # hash mismatch: rebuilt from scratch
    # ... into the same bytes as the first build: the output is deterministic
    for name in ("passages.jsonl", "dev.jsonl", "test.jsonl", "manifest.json", "README.md"):
        assert (tmp_path / name).read_bytes() == (directory / name).read_bytes(), name
