"""The demo's code path on two short articles (the real run indexes 106; it is the README's main job)."""
import pytest

from dpr_components.cli.main import main
from dpr_components.data import wikipedia_mini

ARTICLES = [
    wikipedia_mini.Article("620", "Animal Farm", "Animal Farm is an allegorical novella by George Orwell, first "
                           "published in England in 1945. " * 6),
    wikipedia_mini.Article("303", "Alabama", "The capital of Alabama is Montgomery. The largest city is "
                           "Birmingham. " * 8),
]


@pytest.mark.slow
def test_demo_builds_once_then_reuses_the_store(tmp_path, monkeypatch, capsys, minilm_path):
    monkeypatch.setattr(wikipedia_mini, "load_wikipedia_articles", lambda: ARTICLES)
    store = tmp_path / "demo"
    argv = ["demo", "--store", str(store), "--question", "Who wrote Animal Farm?", "--top-k", "2"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "Wrote 2 Wikipedia articles" in first
    assert "$ dpr-components index " in first and "Indexed 2 documents" in first
    assert "Reader step skipped: 'facebook/dpr-reader-single-nq-base' is not in the local Hugging Face cache" in first
    assert "--pipeline hybrid_retrieval" in first and "$MINILM" in first
    answer_block = first[first.index("Q: Who wrote Animal Farm?"):]
    assert "Animal Farm  [id 620-0]" in answer_block.splitlines()[1]  # both BM25 and MiniLM put it first
    assert "scores: BM25 " in answer_block and "· Retriever " in answer_block

    # The demo calls the library, not the CLI's main() (main had demo -> main -> demo, an import cycle).
    import dpr_components.cli.main as cli_main
    from dpr_components.cli.demo import run_demo

    monkeypatch.setattr(cli_main, "main", lambda *args: pytest.fail("the demo called main()"))
    assert run_demo(store_dir=str(store), questions=["Who wrote Animal Farm?"], top_k=2) == 0
    second = capsys.readouterr().out
    assert "Wrote" not in second and "Indexed 0 documents (0 new passages), skipped 2 already stored" in second
