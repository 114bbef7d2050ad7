"""What every command does the same way: answers --help/--version without importing Haystack, torch or
transformers (30.4), one output convention (30.8), fixes worded for the CLI (30.6) and advice that fits the
user's own settings (30.9)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dpr_components.cli import errors as cli_errors
from dpr_components.cli.main import EXIT_USAGE, build_parser, main
from dpr_components.utils import hub

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("haystack", "torch", "transformers", "faiss")


def run_python(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_parser_is_built_without_heavy_imports():
    # main: `import dpr_components` imported Haystack (about 7.7 s) before argparse could answer --help
    code = ("import sys\nfrom dpr_components.cli.main import build_parser, main\nbuild_parser()\n"
            "try:\n    main(['index', '--no-such-flag'])\nexcept SystemExit as exit:\n    print(exit.code)\n"
            f"print([m for m in {HEAVY!r} if m in sys.modules])")
    assert run_python(code).splitlines()[-2:] == ["2", "[]"]


def test_version(capsys):
    from dpr_components import __version__

    with pytest.raises(SystemExit, match="^0$"):  # not "unrecognized arguments", exit 2
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"dpr-components {__version__}"


def test_every_non_training_command_takes_json():
    commands = build_parser()._subparsers._group_actions[0].choices
    for name in ("index", "retrieve", "ask", "eval", "sweep", "demo"):
        assert "--json" in commands[name].format_help(), name


def test_the_wrong_encoder_fix_is_a_command_for_cli_users_and_a_call_in_python(tiny_store, tiny_question_encoder,
                                                                                tiny_context_encoder, capsys):
    from dpr_components.errors import StoreError
    from dpr_components.workspace import Workspace

    store = tiny_store([{"id": "x", "title": "X", "text": "Paris is the capital of France."}])
    swapped = {"Retriever.query_embedding_model": tiny_context_encoder, "Retriever.passage_embedding_model":
               tiny_question_encoder, "Retriever.max_seq_len_passage": 128}
    with Workspace(store, read_only=True) as workspace, pytest.raises(StoreError, match=r"update_embeddings\("):
        # (Haystack wraps a node's error in a bare Exception; the workspace raises the store's)
        workspace.query(["capital"], "dense_retrieval", swapped)
    argv = ["retrieve", "capital", "--store", store, *[a for k, v in swapped.items() for a in ("-p", f"{k}={v}")]]
    assert main(argv) == EXIT_USAGE
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "another encoder" in error  # main: store.update_embeddings(retriever)
    assert "dpr-components index CORPUS --reembed" in error and "update_embeddings" not in error


@pytest.mark.parametrize("offline, switched, advice", [
    (None, False, "enable network access to the model hub"),
    ("1", False, "unset HF_HUB_OFFLINE"),
    (None, True, "model hub (huggingface.co) can be reached"),
])
def test_hub_advice_fits_what_the_user_set(monkeypatch, offline, switched, advice):
    if offline is None:
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    else:
        monkeypatch.setenv("HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(hub, "switched_offline", switched)
    message = cli_errors.explain(OSError("'nobody/none' is not a local folder and is not a valid model identifier"))
    assert advice in message and (offline or "HF_HUB_OFFLINE" not in message)  # main: always "unset HF_HUB_OFFLINE"


def test_index_json_is_one_document_and_text_is_for_people(tmp_path, tiny_retriever_overrides, capsys):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text(json.dumps({"id": "o", "title": "Oslo", "text": "Oslo is in Norway."}) + "\n", encoding="utf-8")
    tiny = [a for k, v in tiny_retriever_overrides.items() for a in ("-p", f"{k}={v}")]
    assert main(["index", str(corpus), "--store", str(tmp_path / "s"), "--json", *tiny]) == 0
    assert json.loads(capsys.readouterr().out)["documents_new"] == 1
    assert main(["index", str(corpus), "--store", str(tmp_path / "s"), "--no-progress", *tiny]) == 0
    assert capsys.readouterr().out.startswith("Indexed 0 documents")
