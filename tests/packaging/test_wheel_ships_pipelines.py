"""A pip user's path (issue 30): the wheel, installed with the documented line ``pip install
"dpr-components[demo]"`` into a fresh venv, works from a directory outside the source tree.

Builds the wheel from this checkout (no network: ``--no-build-isolation``) and installs it with its ``[demo]``
extra into a fresh venv whose site-packages see the test interpreter's packages through a ``.pth`` line (so
pip finds every dependency already satisfied, offline, and that site-packages' editable-install hook does
not run). Then, from a directory outside the checkout: ``demo --help``, the bundled pipelines by name (CLI
and Python), and a tiny end-to-end index / ask with the tiny random models of the test fixtures.
"""
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # builds a wheel and starts the installed command (1-2 min on 2 busy cores)


def _run(argv, cwd, **kwargs):
    env = dict(os.environ, HAYSTACK_TELEMETRY_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONPATH="")
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kwargs)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    work = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                  "-w", str(work / "dist"), str(ROOT)], cwd=work)
    assert built.returncode == 0, built.stderr
    wheel = next((work / "dist").glob("dpr_components-*.whl"))
    venv = work / "venv"
    assert _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work).returncode == 0
    python = venv / "bin" / "python"
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=work).stdout.strip())
    (site / "test_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    # The README's line, with the wheel in place of the index name; --no-index: no network in tests.
    done = _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-index",
                 f"{wheel}[demo]"], cwd=work)
    assert done.returncode == 0, done.stderr
    outside = tmp_path_factory.mktemp("elsewhere")  # not the checkout, not under it
    assert ROOT not in outside.parents
    return venv, outside


def test_the_installed_package_is_the_wheel_with_its_pipelines(installed):
    venv, outside = installed
    probe = ("import dpr_components.pipelines as p; print(p.__file__); print(p.resolve_pipeline_path('hybrid_qa')); "
             "print(' '.join(p.bundled_pipelines()))")
    done = _run([str(venv / "bin" / "python"), "-c", probe], cwd=outside)
    assert done.returncode == 0, done.stderr
    location, hybrid_qa, names = done.stdout.splitlines()
    assert location.startswith(str(venv)) and not location.startswith(str(ROOT))  # the wheel, not the checkout
    assert hybrid_qa.startswith(str(venv)) and hybrid_qa.endswith("hybrid_qa.yml")
    assert {"hybrid_qa", "indexing", "dense_retrieval"} <= set(names.split())


def test_demo_help_answers(installed):
    venv, outside = installed
    done = _run([str(venv / "bin" / "dpr-components"), "demo", "--help"], cwd=outside)
    assert done.returncode == 0, done.stderr
    assert "--reader-model" in done.stdout and "--rebuild" in done.stdout


def test_tiny_index_and_ask_with_bundled_pipelines_from_outside_the_checkout(
        installed, tiny_question_encoder, tiny_context_encoder, tiny_reader):
    venv, outside = installed
    command = str(venv / "bin" / "dpr-components")
    corpus = outside / "corpus.jsonl"
    corpus.write_text("".join(json.dumps(article) + "\n" for article in [
        {"id": "fr", "title": "France", "text": "The capital of France is Paris. " * 20},
        {"id": "de", "title": "Germany", "text": "The capital of Germany is Berlin. " * 20}]), encoding="utf-8")
    encoders = ["-p", f"Retriever.query_embedding_model={tiny_question_encoder}",
                "-p", f"Retriever.passage_embedding_model={tiny_context_encoder}",
                "-p", "Retriever.max_seq_len_passage=128"]
    done = _run([command, "index", "corpus.jsonl", "--store", "store", "--no-progress", *encoders], cwd=outside)
    assert done.returncode == 0, done.stderr
    assert "Store store holds" in done.stdout
    reader = ["-p", f"Reader.model_name_or_path={tiny_reader}", "-p", "Reader.max_seq_len=128",
              "-p", "Reader.doc_stride=32"]
    done = _run([command, "ask", "capital of France?", "--pipeline", "hybrid_qa", "--store", "store", "--json",
                 *reader], cwd=outside)
    assert done.returncode == 0, done.stderr
    # The tiny vocabulary repeats a word ("a"), so the tokenizers library prints a warning on stdout itself
    # when the reader's tokenizer is converted; the JSON follows it (real checkpoints print nothing).
    answers = json.loads(done.stdout[done.stdout.index("[\n"):])[0]["answers"]
    assert answers and all(answer["answer"] for answer in answers)

    # The Python way the README shows: a bundled pipeline by name, with the store's recorded encoder.
    snippet = ("from dpr_components.workspace import Workspace\n"
               "with Workspace('store', read_only=True) as workspace:\n"
               "    print(workspace.query(['capital of Germany?'], 'hybrid_retrieval', top_k=2)[0]['documents'][0]"
               "['title'])\n")
    done = _run([str(venv / "bin" / "python"), "-c", snippet], cwd=outside)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() in {"France", "Germany"}
