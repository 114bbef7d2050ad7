"""A trainable pair of encoders (question, passage), or one shared encoder, and how it is saved.

Loading, pooling and tokenising follow :mod:`dpr_components.modeling.encoders`, the rules
:class:`~dpr_components.encoders.text_encoder.TextEncoder` follows at inference: a DPR checkpoint is pooled by
its ``pooler_output``, any other encoder AutoModel loads (MiniLM, MPNet...) by ``pooling`` (cls | mean),
optionally L2-normalised, so a saved pair embeds at inference exactly as it did in training.

Saving (:meth:`BiEncoder.save`) writes ``question_encoder/`` and ``passage_encoder/`` (or one ``encoder/``
when shared and not DPR-format), each a ``save_pretrained`` checkpoint with its tokenizer, and
``retriever.json`` with the DPRRetriever parameters (pooling, normalize, lengths) that reproduce the training
embeddings. ``save_format="dpr"`` (the default where pooling is [CLS] without normalisation) writes
``DPRQuestionEncoder`` / ``DPRContextEncoder`` checkpoints, which Haystack's DensePassageRetriever loads too;
``"native"`` keeps the encoder's own class (mean-pooled MiniLM must: DPR classes pool [CLS]). The directory is
written under a temporary name and renamed into place, so a reader never sees half a checkpoint.

Example::

    from dpr_components.training.biencoder import BiEncoder

    model = BiEncoder.from_pretrained("/models/all-MiniLM-L6-v2", shared=True, pooling="mean", normalize=True)
    questions = model.tokenize_questions(["who founded paris?"], max_length=64)
    vectors = model.encode("question", **questions)          # torch.Tensor (1, 384), with gradients
    model.save("out/minilm-dpr")                             # out/minilm-dpr/{encoder,retriever.json}
"""
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from transformers.modeling_utils import PreTrainedModel  # the top-level name is a no-torch dummy to type checkers
from transformers.models.dpr.modeling_dpr import DPRContextEncoder, DPRQuestionEncoder

from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.modeling.checkpoints import check_max_length, dpr_config
from dpr_components.modeling.encoders import (
    Pooling,
    check_pooling,
    embed_batched,
    is_dpr_encoder,
    load_encoder,
    pool,
    token_ids,
)
from dpr_components.training.settings import SaveFormat
from dpr_components.utils.batching import pad_batch
from dpr_components.utils.choices import Choice
from dpr_components.utils.files import atomic_write

RETRIEVER_FILE = "retriever.json"


class Side(Choice):
    QUESTION = "question"
    PASSAGE = "passage"


class BiEncoder(torch.nn.Module):
    """Question and passage encoders (the same module when ``shared``) with DPRRetriever's pooling."""

    def __init__(self, question_model: PreTrainedModel, passage_model: PreTrainedModel, tokenizer: Any,
                 pooling: Union[str, Pooling] = Pooling.CLS, normalize: bool = False):
        super().__init__()
        self.question_model = question_model
        self.passage_model = passage_model
        self.tokenizer = tokenizer
        self.pooling = Pooling.from_str(pooling)
        self.normalize = bool(normalize)
        self.frozen: set = set()
        for model in (question_model, passage_model):
            check_pooling(type(model).__name__, is_dpr_encoder(model), self.pooling)

    @property
    def shared(self) -> bool:
        return self.question_model is self.passage_model

    @classmethod
    def from_pretrained(cls, question_model: str, passage_model: Optional[str] = None, shared: bool = False,
                        pooling: Union[str, Pooling] = Pooling.CLS, normalize: bool = False) -> "BiEncoder":
        """Load both sides (``passage_model`` defaults to ``question_model``; ``shared`` ties their weights)."""
        _, tokenizer, question = load_encoder(question_model, pooling, normalize=normalize)
        passage = question if shared else load_encoder(passage_model or question_model, pooling,
                                                       normalize=normalize).model
        return cls(question, passage, tokenizer, pooling, normalize)

    def check_max_length(self, max_seq_len_query: int, max_seq_len_passage: int) -> None:
        """Raise :class:`ConfigurationError` before training if either side cannot read inputs that long."""
        for model, parameter, length in ((self.question_model, "max_seq_len_query", max_seq_len_query),
                                         (self.passage_model, "max_seq_len_passage", max_seq_len_passage)):
            check_max_length(model.config, model.config.name_or_path, parameter, length)

    def freeze(self, side: str) -> None:
        """Keep one side's weights fixed (no gradient, no dropout): e.g. train only the question encoder, so
        that the corpus vectors stay what the original passage encoder made (a store that records the query
        encoder's weights still asks for ``index --reembed``, which then recomputes the same vectors)."""
        if self.shared:
            raise ConfigurationError("A shared encoder cannot be frozen on one side only; train separate encoders "
                                     "(no --shared) to freeze the passage encoder.")
        for parameter in self.side(side).parameters():
            parameter.requires_grad_(False)
        self.frozen.add(side)

    def side(self, name: str) -> PreTrainedModel:
        return self.question_model if Side.from_str(name) is Side.QUESTION else self.passage_model

    def encode(self, side: str, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Vectors (batch, dim) of one side; differentiable unless called under ``torch.no_grad``."""
        model = self.side(side)
        if side in self.frozen:
            was_training = model.training
            model.eval()
            with torch.no_grad():
                output = model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
            model.train(was_training)
        else:
            output = model(input_ids=input_ids, attention_mask=attention_mask, return_dict=True)
        return pool(output, attention_mask, is_dpr_encoder(model), self.pooling, self.normalize)

    def tokenize_questions(self, questions: Sequence[str], max_length: int) -> Dict[str, torch.Tensor]:
        """``[CLS] q [SEP]``, padded to the longest question (as TextEncoder tokenises)."""
        return self._padded(token_ids(self.tokenizer, list(questions), max_length))

    def tokenize_passages(self, passages: Sequence[Tuple[str, str]], max_length: int) -> Dict[str, torch.Tensor]:
        """``[CLS] title [SEP] text [SEP]``, padded to the longest passage (as TextEncoder tokenises)."""
        return self._padded(token_ids(self.tokenizer, [(title or "", text) for title, text in passages], max_length))

    def _padded(self, ids: List[List[int]]) -> Dict[str, torch.Tensor]:
        input_ids, attention_mask = pad_batch(ids, self.tokenizer.pad_token_id or 0)
        return {"input_ids": torch.from_numpy(input_ids), "attention_mask": torch.from_numpy(attention_mask)}

    def resolved_save_format(self, save_format: Union[str, SaveFormat] = SaveFormat.AUTO) -> str:
        save_format = SaveFormat.from_str(save_format).value
        dpr_compatible = self.pooling is Pooling.CLS and not self.normalize
        if save_format == "dpr" and not dpr_compatible:
            raise ConfigurationError(
                f"save_format 'dpr' needs pooling cls without normalize (DPR encoders pool [CLS] unnormalised); "
                f"this model uses pooling={self.pooling.value}, normalize={self.normalize}. Use save_format native.")
        if save_format == "auto":
            return "dpr" if dpr_compatible else "native"
        return save_format

    def save(self, directory: Union[str, Path], save_format: str = "auto", max_seq_len_query: int = 64,
             max_seq_len_passage: int = 256, extra: Optional[Dict[str, Any]] = None) -> Path:
        """Write the checkpoint(s) and ``retriever.json`` into ``directory`` atomically (replacing it)."""
        directory = Path(directory)
        atomic_write(directory, lambda tmp: self.write(tmp, save_format, max_seq_len_query, max_seq_len_passage,
                                                       extra), make_dir=True)
        return directory

    def write(self, directory: Path, save_format: str = "auto", max_seq_len_query: int = 64,
              max_seq_len_passage: int = 256, extra: Optional[Dict[str, Any]] = None) -> None:
        """Write into an existing (empty) ``directory``; :meth:`save` is the atomic version."""
        save_format = self.resolved_save_format(save_format)
        directory = Path(directory)
        if save_format == "native" and self.shared:
            names = {"question": "encoder", "passage": "encoder"}
            self._save_side("question", directory / "encoder", "native")
        else:
            names = {"question": "question_encoder", "passage": "passage_encoder"}
            for side in Side:
                self._save_side(side.value, directory / names[side.value], save_format)
        settings = {
            "query_embedding_model": names["question"], "passage_embedding_model": names["passage"],
            "pooling": self.pooling.value, "normalize": self.normalize,
            "max_seq_len_query": max_seq_len_query, "max_seq_len_passage": max_seq_len_passage,
            "save_format": save_format, "shared": self.shared, **(extra or {}),
        }
        (directory / RETRIEVER_FILE).write_text(json.dumps(settings, indent=2, sort_keys=True) + "\n",
                                                encoding="utf-8")

    def _save_side(self, side: str, target: Path, save_format: str) -> None:
        model = self.side(side)
        if save_format == "dpr" and not is_dpr_encoder(model):
            model = _as_dpr_encoder(model, side)
        elif save_format == "dpr" and side == "passage" and isinstance(model, DPRQuestionEncoder):
            model = _as_dpr_encoder(model.question_encoder.bert_model, side, model.question_encoder)
        elif save_format == "dpr" and side == "question" and isinstance(model, DPRContextEncoder):
            model = _as_dpr_encoder(model.ctx_encoder.bert_model, side, model.ctx_encoder)
        model.save_pretrained(target, safe_serialization=True)
        self.tokenizer.save_pretrained(target)


def embed(model: BiEncoder, side: str, texts: Sequence, max_length: int, batch_size: int = 32) -> np.ndarray:
    """float32 vectors of ``texts`` (questions, or (title, text) pairs for ``side="passage"``), in input order.

    Inference mode (no graph, dropout off; the previous mode is restored); batched as TextEncoder batches.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    inputs = [(title or "", text) for title, text in texts] if side == "passage" else list(texts)
    try:
        return embed_batched(token_ids(model.tokenizer, inputs, max_length), model.tokenizer.pad_token_id, batch_size,
                             [lambda ids, mask: model.encode(side, ids.to(device), mask.to(device))])
    finally:
        model.train(was_training)


def retriever_params(directory: Union[str, Path]) -> Dict[str, Any]:
    """DPRRetriever parameters of a saved pair: model paths made absolute, pooling, normalize, lengths.

    ``DPRRetriever(document_store=store, **retriever_params("out/pair"))`` embeds as training did.
    """
    directory = Path(directory)
    path = directory / RETRIEVER_FILE
    if not path.is_file():
        raise ModelLoadError(f"{str(directory)!r} has no {RETRIEVER_FILE}: it is not a bi-encoder saved by "
                             "train-retriever. Give the output directory of dpr-components train-retriever.")
    settings = json.loads(path.read_text(encoding="utf-8"))
    params = {key: settings[key] for key in ("pooling", "normalize", "max_seq_len_query", "max_seq_len_passage")}
    for key in ("query_embedding_model", "passage_embedding_model"):
        params[key] = str((directory / settings[key]).resolve())
    return params


def _as_dpr_encoder(bert: PreTrainedModel, side: str, source: Any = None) -> PreTrainedModel:
    """The BERT weights (and projection of ``source``, a DPR encoder) inside a DPR question/context encoder."""
    config = dpr_config(bert.config, getattr(source, "projection_dim", 0) if source is not None else 0)
    dpr = (DPRQuestionEncoder if side == "question" else DPRContextEncoder)(config)
    inner: Any = dpr.question_encoder if side == "question" else dpr.ctx_encoder  # DPREncoder: bert_model, encode_proj
    missing, _unexpected = inner.bert_model.load_state_dict(bert.state_dict(), strict=False)
    if missing:
        raise ModelLoadError(f"Cannot write {type(bert).__name__} as a DPR encoder: missing weights {missing[:3]}. "
                             "Use save_format native.")
    if config.projection_dim:
        inner.encode_proj.load_state_dict(source.encode_proj.state_dict())
    return dpr
