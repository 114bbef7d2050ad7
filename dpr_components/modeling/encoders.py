"""Text encoders, the rules inference (:class:`~dpr_components.encoders.text_encoder.TextEncoder`) and training
(:class:`~dpr_components.training.biencoder.BiEncoder`) share, so a trained encoder embeds at inference
exactly as it did in training.

* Loading (:func:`open_encoder`, :func:`load_encoder_weights`): a DPR checkpoint (config ``architectures``
  DPRQuestionEncoder / DPRContextEncoder) loads as that class and is pooled by its ``pooler_output``
  ([CLS], projected when ``projection_dim > 0``); any other encoder AutoModel loads (BERT, MiniLM, MPNet,
  RoBERTa, ELECTRA, DeBERTa...) is pooled from ``last_hidden_state`` by :class:`Pooling` (``cls`` | ``mean``).
  A DPRReader or a decoder is refused; DPR checkpoints take ``cls`` pooling only (:func:`check_pooling`).
* Inputs (:func:`token_ids`): ``[CLS] a [SEP]`` or, for (title, text) pairs, the tokenizer's pair form
  (``[CLS] title [SEP] text [SEP]`` for BERT), no token type ids (see :mod:`.checkpoints`), truncated to
  ``max_length`` cutting the longer member of a pair, text refused with a lone surrogate or a NUL.
* Vectors (:func:`pool`): pooler output, [CLS] or masked mean, as float32, L2-normalised when asked.
* Many texts (:func:`embed_batched`): sorted by token length, each batch padded only to its longest member,
  batches spread over several model copies (devices), rows back in input order.

Example::

    from dpr_components.modeling.encoders import Pooling, open_encoder, load_encoder_weights, token_ids

    encoder = open_encoder("/models/all-mpnet-base-v2", Pooling.MEAN)       # config checked, nothing loaded yet
    model = load_encoder_weights(encoder)
    ids = token_ids(encoder.tokenizer, [("Paris", "Paris is the capital of France.")], max_length=256)
"""
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModel, DPRContextEncoder, DPRQuestionEncoder, PretrainedConfig, PreTrainedModel

from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.modeling.checkpoints import architecture_name, load_config, load_fast_tokenizer, refuse_decoder
from dpr_components.utils.batching import padded_batches
from dpr_components.utils.choices import Choice
from dpr_components.utils.validation import unicode_problem

TextInput = Union[str, Tuple[str, str]]
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

DPR_ENCODERS = {"DPRQuestionEncoder": DPRQuestionEncoder, "DPRContextEncoder": DPRContextEncoder}
EXPECTED = ("a text encoder (DPRQuestionEncoder, DPRContextEncoder, or an encoder AutoModel loads: BERT, MiniLM, "
            "MPNet, RoBERTa...)")


class Pooling(Choice):
    """How a non-DPR encoder turns token vectors into one vector: the [CLS] token or the masked mean."""

    CLS = "cls"
    MEAN = "mean"


@dataclass
class EncoderCheckpoint:
    """An encoder checkpoint whose config was read and checked: what it is and how it is pooled."""

    name_or_path: str
    config: PretrainedConfig
    tokenizer: Any
    dpr_class: Optional[type]  # DPRQuestionEncoder / DPRContextEncoder, or None (AutoModel)
    pooling: Pooling

    @property
    def uses_dpr_pooler(self) -> bool:
        return self.dpr_class is not None

    @property
    def architecture(self) -> str:
        return architecture_name(self.config)

    @property
    def pooling_name(self) -> str:
        """``pooler_output`` for DPR checkpoints, else ``cls`` or ``mean``: what encoder signatures record."""
        return "pooler_output" if self.uses_dpr_pooler else self.pooling.value

    @property
    def embedding_dim(self) -> int:
        projection = getattr(self.config, "projection_dim", 0) if self.uses_dpr_pooler else 0
        return int(projection or self.config.hidden_size)


def open_encoder(name_or_path: str, pooling: Union[str, Pooling] = Pooling.CLS,
                 use_auth_token: Optional[Any] = None) -> EncoderCheckpoint:
    """Read and check the config, and load the tokenizer, of an encoder checkpoint (weights: later)."""
    name_or_path = str(name_or_path)
    pooling = Pooling.from_str(pooling)
    config = load_config(name_or_path, EXPECTED, use_auth_token)
    architectures = list(getattr(config, "architectures", None) or [])
    dpr_class = next((DPR_ENCODERS[name] for name in architectures if name in DPR_ENCODERS), None)
    if config.model_type == "dpr" and dpr_class is None:
        raise ModelLoadError(
            f"{name_or_path!r} is a {architecture_name(config)} checkpoint, but {EXPECTED} was expected. "
            "A DPRReader cannot embed text: give the question or context encoder directory.")
    refuse_decoder(config, name_or_path, EXPECTED)
    check_pooling(name_or_path, dpr_class is not None, pooling)
    tokenizer = load_fast_tokenizer(name_or_path, EXPECTED, use_auth_token)
    return EncoderCheckpoint(name_or_path, config, tokenizer, dpr_class, pooling)


def check_pooling(name: str, uses_dpr_pooler: bool, pooling: Pooling) -> None:
    """DPR encoders are pooled by their [CLS] ``pooler_output``: any other pooling is refused."""
    if uses_dpr_pooler and pooling is not Pooling.CLS:
        raise ConfigurationError(
            f"pooling={pooling.value!r} does not apply to the DPR checkpoint {name!r}: "
            "DPR encoders are pooled by their [CLS] pooler_output. Use pooling: cls.")


def load_encoder_weights(checkpoint: EncoderCheckpoint, use_auth_token: Optional[Any] = None,
                         **kwargs: Any) -> PreTrainedModel:
    """The checkpoint's model: its DPR class, or the AutoModel encoder."""
    try:
        return (checkpoint.dpr_class or AutoModel).from_pretrained(checkpoint.name_or_path, token=use_auth_token,
                                                                   **kwargs)
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"Could not load the weights of {checkpoint.name_or_path!r} ({error}). Expected {EXPECTED}, saved "
            "with save_pretrained (config.json, weights, tokenizer files).") from error


def is_dpr_encoder(model: torch.nn.Module) -> bool:
    return isinstance(model, tuple(DPR_ENCODERS.values()))


def pool(output: Any, attention_mask: torch.Tensor, uses_dpr_pooler: bool, pooling: Pooling,
         normalize: bool) -> torch.Tensor:
    """One float32 vector per input from a model output (differentiable)."""
    if uses_dpr_pooler:
        vectors = output.pooler_output.float()
    elif pooling is Pooling.CLS:
        vectors = output.last_hidden_state[:, 0].float()
    else:
        hidden = output.last_hidden_state.float()
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        vectors = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(vectors, p=2, dim=-1) if normalize else vectors


def token_ids(tokenizer: Any, texts: Sequence[TextInput], max_length: int,
              name: str = "the encoder") -> List[List[int]]:
    """Token ids of strings, or of (title, text) pairs, with the special tokens, truncated to ``max_length``."""
    pairs = [isinstance(text, (tuple, list)) for text in texts]
    if any(pairs) and not all(pairs):
        raise ConfigurationError("Give either only strings or only (title, text) pairs to encode.")
    if texts and all(pairs):
        firsts, seconds = [str(t[0] or "") for t in texts], [str(t[1]) for t in texts]
    else:
        firsts, seconds = [str(t) for t in texts], None
    for position, text in enumerate(firsts + (seconds or [])):
        problem = unicode_problem(text)
        if problem:
            raise ConfigurationError(f"Text {position % len(firsts)} given to {name!r} has {problem}.")
    if not firsts:
        return []
    # longest_first truncation cuts the longer member of a pair (the passage) and keeps the final [SEP].
    encoded = tokenizer(firsts, seconds, truncation=True, max_length=max_length, return_attention_mask=False,
                        return_token_type_ids=False)
    return encoded["input_ids"]


def embed_batched(ids: Sequence[Sequence[int]], pad_id: int, batch_size: int, forwards: Sequence[Forward],
                  dim: int = 0, progress_bar: bool = False, description: str = "Encoding") -> np.ndarray:
    """float32 vectors (len(ids), dim) of token id sequences, in input order, without gradients.

    ``forwards`` holds one ``(input_ids, attention_mask) -> vectors`` callable per model copy; copy ``r`` takes
    every ``len(forwards)``-th batch, each copy in its own thread (torch releases the GIL while a device
    computes). ``dim`` sizes the output of an empty input.
    """
    if not len(ids):
        return np.zeros((0, dim), dtype=np.float32)
    batches = list(padded_batches(ids, batch_size, pad_id or 0))
    # Preallocated when dim is known (several copies write at once); else sized by the first batch.
    vectors: List[Optional[np.ndarray]] = [np.empty((len(ids), dim), dtype=np.float32) if dim else None]
    show_bar = progress_bar and len(ids) > batch_size

    with tqdm(total=len(ids), desc=description, unit=" texts", disable=not show_bar) as bar:
        def run(replica: int) -> None:
            with torch.inference_mode():
                for rows, input_ids, attention_mask in batches[replica::len(forwards)]:
                    batch = forwards[replica](torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
                    batch = batch.float().cpu().numpy()
                    if vectors[0] is None:
                        vectors[0] = np.empty((len(ids), batch.shape[1]), dtype=np.float32)
                    vectors[0][rows] = batch
                    bar.update(len(rows))

        if len(forwards) == 1 or len(batches) == 1:
            run(0)
        else:
            with ThreadPoolExecutor(len(forwards)) as pool_:
                list(pool_.map(run, range(len(forwards))))
    return vectors[0]  # type: ignore[return-value]
