"""A store that cannot be written, or whose disk is full, tells CLI users what to do with commands, not with the
Python parameters the library's message names (``read_only=True``): one line each, exit status 2.

Read-only media and a full disk are real: a read-only bind mount and a tmpfs of a few hundred KB in a child's
own mount namespace (restricted_disk.py; skipped where that is not allowed)."""
import json
import textwrap

from haystack.schema import Document
from restricted_disk import run_with_mount

from dpr_components.cli.main import EXIT_USAGE, main
from dpr_components.stores.hybrid_document_store import HybridDocumentStore

CLI_IN_CHILD = """
import contextlib, io, json
from dpr_components.cli.main import main
from dpr_components.stores.hybrid_document_store import HybridDocumentStore
from haystack.schema import Document
{setup}
stderr = io.StringIO()
with contextlib.redirect_stderr(stderr):
    status = main({argv!r})
print(json.dumps({{"status": status, "error": stderr.getvalue()}}))
"""


def bm25_store(path) -> None:
    """A store of passages without vectors: `index` follows it with a BM25-only pipeline (no model to load)."""
    store = HybridDocumentStore(path=str(path), progress_bar=False)
    store.write_documents([Document(content="Oslo is the capital of Norway.", id="oslo-0",
                                    meta={"name": "Oslo", "source_id": "oslo"})])
    store.close()


def corpus(path, articles: int, words: int = 20) -> str:
    path.write_text("".join(json.dumps({"id": f"a{i}", "title": f"Article {i}", "text": f"word{i} text " * words})
                            + "\n" for i in range(articles)), encoding="utf-8")
    return str(path)


def one_line(result) -> str:
    assert result["status"] == EXIT_USAGE and result["error"].count("\n") == 1, result
    return result["error"]


def test_index_on_read_only_media_says_to_make_it_writable(tmp_path):
    store = tmp_path / "store"
    bm25_store(store)
    argv = ["index", corpus(tmp_path / "c.jsonl", 2), "--store", str(store)]
    error = one_line(run_with_mount(textwrap.dedent(CLI_IN_CHILD.format(setup="", argv=argv)), store, read_only=True))
    assert "read-only" in error and "make it writable" in error and "read_only=True" not in error  # main: the latter


def test_index_on_a_full_disk_says_to_free_space_and_run_it_again(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    setup = (f"from test_store_cli_messages import bm25_store\nbm25_store({str(disk / 'store')!r})")
    argv = ["index", corpus(tmp_path / "big.jsonl", 400, words=200), "--store", str(disk / "store"), "--no-progress"]
    error = one_line(run_with_mount(textwrap.dedent(CLI_IN_CHILD.format(setup=setup, argv=argv)), disk, size_kb=640))
    assert "is full" in error and "Free space" in error and "`index` skips the documents already stored" in error


def test_a_store_opened_read_only_by_its_pipeline_names_the_flag_and_the_param(tmp_path, capsys):
    store = tmp_path / "store"
    bm25_store(store)
    argv = ["index", corpus(tmp_path / "c.jsonl", 2), "--store", str(store), "-p", "DocumentStore.read_only=true"]
    assert main(argv) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "--read-only" in error and "read_only: true" in error, error
    assert HybridDocumentStore(path=str(store), read_only=True).get_document_count() == 1
