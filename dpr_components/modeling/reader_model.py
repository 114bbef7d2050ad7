"""DPR's reader heads over any encoder, and the two forms a reader checkpoint takes on disk.

:class:`SpanReaderModel`: an encoder AutoModel loads (BERT, MPNet, RoBERTa, ELECTRA, DeBERTa...) with DPR's
``qa_outputs`` (start/end logit per token) and ``qa_classifier`` (relevance logit from the first token); its
output is ``transformers.DPRReader``'s. ``DPRSpanReader`` and ``train-reader`` both use it. On disk, a BERT
encoder is a standard ``DPRReader`` checkpoint (what transformers and earlier versions load); any other is an
*encoder reader*: the encoder's ``save_pretrained`` files, the heads in ``reader_heads.safetensors`` and a
``"dpr_reader"`` marker in config.json. :func:`init_reader` (training) also takes a plain encoder: its pooler is
dropped and the heads start new, initialised as DPR's.

Example::

    model, tokenizer = init_reader("/work/models/all-mpnet-base-v2")   # MPNet + new heads
    save_reader(model, tokenizer, "my_reader")                          # an encoder reader
    model, tokenizer = load_reader("my_reader")                          # what DPRSpanReader("my_reader") does
"""
import inspect
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import torch
from transformers import AutoModel, DPRReaderTokenizerFast
from transformers.modeling_utils import PreTrainedModel  # the top-level name is a no-torch dummy to type checkers
from transformers.models.auto.modeling_auto import MODEL_MAPPING
from transformers.models.dpr.modeling_dpr import DPRReader, DPRReaderOutput

from dpr_components.errors import ModelLoadError
from dpr_components.modeling.checkpoints import (
    architecture_name,
    dpr_config,
    load_config,
    load_fast_tokenizer,
    refuse_decoder,
)
from dpr_components.utils.choices import Choice

HEADS_FILE = "reader_heads.safetensors"
MARKER = "dpr_reader"  # config.json key of an encoder reader
READER = ("a reader: a DPRReader checkpoint (e.g. facebook/dpr-reader-single-nq-base) or a reader that train-reader "
          "saved")
INIT = "a DPRReader checkpoint, a reader train-reader saved, or an encoder AutoModel loads (BERT, MPNet, RoBERTa...)"
# What makes two readers' weights averageable (training/soup.py compares them).
SHARED_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                      "hidden_act", "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings",
                      "type_vocab_size", "initializer_range", "layer_norm_eps", "pad_token_id",
                      "position_embedding_type")
HEAD_PREFIXES = ("qa_outputs.", "qa_classifier.")


class ReaderKind(Choice):
    """What a checkpoint is, for a reader: DPRReader, encoder reader, or (training only) a plain encoder."""

    DPR_READER = "dpr_reader"
    ENCODER_READER = "encoder_reader"
    ENCODER = "encoder"


class SpanReaderModel(torch.nn.Module):
    """An encoder with DPR's span (start/end) and relevance heads."""

    def __init__(self, encoder: PreTrainedModel, qa_outputs: Optional[torch.nn.Linear] = None,
                 qa_classifier: Optional[torch.nn.Linear] = None):
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.qa_outputs = qa_outputs if qa_outputs is not None else _new_head(hidden, 2, encoder.config)
        self.qa_classifier = qa_classifier if qa_classifier is not None else _new_head(hidden, 1, encoder.config)

    @property
    def config(self) -> Any:
        return self.encoder.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                return_dict: bool = True) -> DPRReaderOutput:
        # No token type ids: see modeling.checkpoints (DPR's segment ids are all 0, every model's default).
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask, return_dict=True).last_hidden_state
        start_logits, end_logits = self.qa_outputs(hidden).split(1, dim=-1)
        return DPRReaderOutput(start_logits=start_logits.squeeze(-1).contiguous(),
                               end_logits=end_logits.squeeze(-1).contiguous(),
                               relevance_logits=self.qa_classifier(hidden[:, 0, :]).view(-1))

    @property
    def saves_as_dpr_reader(self) -> bool:
        """BERT encoders are written as standard DPRReader checkpoints."""
        return self.config.model_type in ("bert", "dpr")


def _new_head(hidden: int, outputs: int, config: Any) -> torch.nn.Linear:
    head = torch.nn.Linear(hidden, outputs)
    with torch.no_grad():  # as DPR's (and BERT's) _init_weights
        head.weight.normal_(mean=0.0, std=float(getattr(config, "initializer_range", 0.02)))
        head.bias.zero_()
    return head


def _from_dpr_reader(reader: DPRReader) -> SpanReaderModel:
    predictor = reader.span_predictor
    if predictor.encoder.projection_dim:
        raise ModelLoadError("DPRReader checkpoints with projection_dim > 0 are not supported (their span heads "
                             "would read projected vectors DPR's reader never uses).")
    return SpanReaderModel(predictor.encoder.bert_model, predictor.qa_outputs, predictor.qa_classifier)


def reader_kind(name_or_path: str, config: Any) -> ReaderKind:
    if "DPRReader" in (getattr(config, "architectures", None) or ()):
        return ReaderKind.DPR_READER
    if getattr(config, MARKER, None):
        return ReaderKind.ENCODER_READER
    return ReaderKind.ENCODER


def is_reader_checkpoint(path: Union[str, Path]) -> bool:
    """Whether ``path`` holds a reader (either form), not a plain encoder or something else."""
    try:
        return reader_kind(str(path), load_config(str(path), READER)) is not ReaderKind.ENCODER
    except ModelLoadError:
        return False


def load_reader(name_or_path: Union[str, Path], use_auth_token: Optional[Any] = None
                ) -> Tuple[SpanReaderModel, Any]:
    """A trained reader (either form) and its fast tokenizer; anything else is a :class:`ModelLoadError`."""
    path = str(name_or_path)
    config = load_config(path, READER, use_auth_token)
    kind = reader_kind(path, config)
    if kind is ReaderKind.ENCODER:
        raise ModelLoadError(f"{path!r} is a {architecture_name(config)} model, but {READER} was expected "
                             "(architectures: DPRReader, or an encoder reader with reader_heads.safetensors). "
                             "Train one from an encoder with train-reader --init-model.")
    return _load(path, kind, config, use_auth_token)


def init_reader(name_or_path: Union[str, Path]) -> Tuple[SpanReaderModel, Any]:
    """A trainable reader and its fast tokenizer: a reader (either form) loaded whole, or a plain encoder
    with new heads (see the module docstring)."""
    path = str(name_or_path)
    config = load_config(path, INIT)
    kind = reader_kind(path, config)
    if kind is ReaderKind.ENCODER and config.model_type == "dpr":
        raise ModelLoadError(f"{path!r} is a {architecture_name(config)}, not {INIT}. A DPR question or context "
                             "encoder has no reader heads; start from its BERT weights or a DPRReader.")
    return _load(path, kind, config)


def _load(path: str, kind: ReaderKind, config: Any, use_auth_token: Optional[Any] = None
          ) -> Tuple[SpanReaderModel, Any]:
    refuse_decoder(config, path, INIT)
    try:
        if kind is ReaderKind.DPR_READER:
            model = _from_dpr_reader(DPRReader.from_pretrained(path, token=use_auth_token))
        elif kind is ReaderKind.ENCODER and config.model_type == "bert":  # DPRReader's own init, then the weights
            model = _bert_reader(path, config)
        else:
            model = _encoder_reader(path, config, kind, use_auth_token)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"Could not load the weights of {path!r} ({error}). Expected {INIT}.") from error
    tokenizer = _tokenizer(path, model, use_auth_token)
    return model, tokenizer


def _bert_reader(path: str, config: Any) -> SpanReaderModel:
    encoder = AutoModel.from_pretrained(path, add_pooling_layer=False)
    reader = DPRReader(dpr_config(config))
    missing, unexpected = reader.span_predictor.encoder.bert_model.load_state_dict(encoder.state_dict(), strict=False)
    if missing or unexpected:
        raise ModelLoadError(f"The weights of {path!r} do not fit a BERT encoder (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]}); expected {INIT}.")
    return _from_dpr_reader(reader)


def _encoder_reader(path: str, config: Any, kind: ReaderKind, use_auth_token: Optional[Any]) -> SpanReaderModel:
    model_class = MODEL_MAPPING.get(type(config), AutoModel)
    # The reader reads token vectors: a pooler would be an unused, randomly initialised layer.
    has_pooler = "add_pooling_layer" in inspect.signature(model_class.__init__).parameters
    encoder = model_class.from_pretrained(path, token=use_auth_token, **({"add_pooling_layer": False} if has_pooler
                                                                         else {}))
    model = SpanReaderModel(encoder)
    if kind is ReaderKind.ENCODER_READER:
        from safetensors.torch import load_file
        from transformers.utils import cached_file

        heads_file = cached_file(path, getattr(config, MARKER).get("heads_file", HEADS_FILE), token=use_auth_token)
        if heads_file is None:  # cached_file raises for a missing file; None only with its errors turned off
            raise ModelLoadError(f"{path!r} has no reader heads file. Save the reader again with train-reader.")
        missing, unexpected = model.load_state_dict(load_file(heads_file), strict=False)
        if unexpected or any(key.startswith(HEAD_PREFIXES) for key in missing):
            raise ModelLoadError(f"{heads_file} does not hold DPR's reader heads (missing {missing[:3]}, unexpected "
                                 f"{unexpected[:3]}). Save the reader again with train-reader.")
    return model


def _tokenizer(path: str, model: SpanReaderModel, use_auth_token: Optional[Any]) -> Any:
    if model.saves_as_dpr_reader:  # a DPRReader checkpoint keeps DPR's tokenizer class
        try:
            tokenizer = DPRReaderTokenizerFast.from_pretrained(path, token=use_auth_token)
        except (OSError, ValueError, TypeError) as error:
            raise ModelLoadError(f"{path!r} has no BERT WordPiece tokenizer (vocab.txt or tokenizer.json) the "
                                 f"reader can use: {error}.") from error
    else:
        tokenizer = load_fast_tokenizer(path, INIT, use_auth_token)
    missing = [name for name in ("cls_token", "sep_token", "pad_token") if getattr(tokenizer, name) is None]
    if missing:
        raise ModelLoadError(f"The tokenizer of {path!r} has no {', '.join(missing)}: the reader's input is "
                             "[CLS] question [SEP] title [SEP] passage. Expected an encoder's tokenizer.")
    positions = int(getattr(model.config, "max_position_embeddings", 0) or 0)
    if positions:
        tokenizer.model_max_length = min(int(tokenizer.model_max_length or positions), positions)
    return tokenizer


def save_reader(model: SpanReaderModel, tokenizer: Any, directory: Union[str, Path]) -> None:
    """Write ``model`` into ``directory`` (which exists): a DPRReader checkpoint for BERT encoders, else an
    encoder reader (see the module docstring)."""
    directory = Path(directory)
    if model.saves_as_dpr_reader:
        with torch.device("meta"):  # no random initialisation: every weight is assigned below
            reader = DPRReader(dpr_config(model.config))
        # DPRReader's names: span_predictor.encoder.bert_model.<encoder key>, span_predictor.qa_outputs.<...>
        state = {"span_predictor." + (f"encoder.bert_model.{key[len('encoder.'):]}" if key.startswith("encoder.")
                                      else key): value for key, value in model.state_dict().items()}
        reader.load_state_dict(state, assign=True)
        reader.save_pretrained(directory)
    else:
        from safetensors.torch import save_file

        setattr(model.config, MARKER, {"version": 1, "heads_file": HEADS_FILE})
        model.encoder.save_pretrained(directory)
        heads = {key: value.detach().contiguous() for key, value in model.state_dict().items()
                 if key.startswith(HEAD_PREFIXES)}
        save_file(heads, str(directory / HEADS_FILE), metadata={"format": "pt"})
    tokenizer.save_pretrained(directory)
