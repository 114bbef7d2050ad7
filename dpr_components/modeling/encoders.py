"""Text encoder rules shared by inference (``TextEncoder``) and training (``BiEncoder``): loading (a DPR checkpoint as
its DPR class, pooled by ``pooler_output`` only; any other encoder by AutoModel, pooled by :class:`Pooling`),
tokenising (no token type ids; pairs truncated on the longer member), pooling and length-sorted batches.

Example::

    encoder = load_encoder("/models/all-mpnet-base-v2", Pooling.MEAN)
    ids = token_ids(encoder.tokenizer, [("Paris", "Paris is the capital of France.")], max_length=256)
"""
import json
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from tqdm import tqdm
from transformers import AutoModel, PretrainedConfig
from transformers.modeling_utils import PreTrainedModel  # the top-level name is a no-torch dummy to type checkers
from transformers.models.dpr.modeling_dpr import DPRContextEncoder, DPRQuestionEncoder

from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.modeling.checkpoints import architecture_name, load_config, load_fast_tokenizer, refuse_decoder
from dpr_components.utils.batching import padded_batches
from dpr_components.utils.choices import Pooling  # light: the training settings (CLI options) use it too
from dpr_components.utils.validation import unicode_problem

logger = logging.getLogger(__name__)
TextInput = Union[str, Tuple[str, str]]
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

DPR_ENCODERS = {"DPRQuestionEncoder": DPRQuestionEncoder, "DPRContextEncoder": DPRContextEncoder}
EXPECTED = ("a text encoder (DPRQuestionEncoder, DPRContextEncoder, or an encoder AutoModel loads: BERT, MiniLM, "
            "MPNet, RoBERTa...)")


class LoadedEncoder(NamedTuple):
    config: PretrainedConfig
    tokenizer: Any
    model: PreTrainedModel


def load_encoder(name_or_path: str, pooling: Union[str, Pooling] = Pooling.CLS, use_auth_token: Optional[Any] = None,
                 normalize: Optional[bool] = None, **model_kwargs: Any) -> LoadedEncoder:
    """Config (checked), tokenizer and model of an encoder checkpoint, or one clear :class:`ModelLoadError`.

    A sentence-transformers folder records how its vectors were trained (``1_Pooling``, ``Normalize``): other
    ``pooling`` / ``normalize`` settings are warned about (they make vectors the model never learned).
    """
    name_or_path = str(name_or_path)
    config = load_config(name_or_path, EXPECTED, use_auth_token)
    dpr_class = next((DPR_ENCODERS[name] for name in config.architectures or () if name in DPR_ENCODERS), None)
    if config.model_type == "dpr" and dpr_class is None:
        raise ModelLoadError(
            f"{name_or_path!r} is a {architecture_name(config)} checkpoint, but {EXPECTED} was expected. "
            "A DPRReader cannot embed text: give the question or context encoder directory.")
    refuse_decoder(config, name_or_path, EXPECTED)
    check_pooling(name_or_path, dpr_class is not None, Pooling.from_str(pooling))
    trained = trained_pooling(name_or_path)
    if trained and trained != (Pooling.from_str(pooling), trained[1] if normalize is None else bool(normalize)):
        logger.warning("%s was trained with pooling %s, normalize %s (sentence-transformers modules) but is used with "
                       "pooling %s, normalize %s: its vectors will not be what it learned.", name_or_path,
                       trained[0].value, trained[1], Pooling.from_str(pooling).value, normalize)
    tokenizer = load_fast_tokenizer(name_or_path, EXPECTED, use_auth_token)
    try:
        model = (dpr_class or AutoModel).from_pretrained(name_or_path, token=use_auth_token, **model_kwargs)
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"Could not load the weights of {name_or_path!r} ({error}). Expected {EXPECTED}, saved "
                             "with save_pretrained (config.json, weights, tokenizer files).") from error
    return LoadedEncoder(config, tokenizer, model)


def trained_pooling(name_or_path: str) -> Optional[Tuple[Pooling, bool]]:
    """(pooling, normalize) a local sentence-transformers folder was trained with, None when it does not say."""
    folder = Path(name_or_path)
    try:
        modes = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        modules = json.loads((folder / "modules.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pooling = Pooling.MEAN if modes.get("pooling_mode_mean_tokens") else (
        Pooling.CLS if modes.get("pooling_mode_cls_token") else None)
    normalize = any(str(m.get("type", "")).endswith("Normalize") for m in modules if isinstance(m, dict))
    return (pooling, normalize) if pooling else None


def check_pooling(name: str, uses_dpr_pooler: bool, pooling: Pooling) -> None:
    """DPR encoders are pooled by their [CLS] ``pooler_output``: any other pooling is refused."""
    if uses_dpr_pooler and pooling is not Pooling.CLS:
        raise ConfigurationError(
            f"pooling={pooling.value!r} does not apply to the DPR checkpoint {name!r}: "
            "DPR encoders are pooled by their [CLS] pooler_output. Use pooling: cls.")


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

    ``forwards``: one ``(input_ids, attention_mask) -> vectors`` per model copy; copy ``r`` takes every
    ``len(forwards)``-th batch in its own thread (torch releases the GIL while a device computes).
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
                    array = batch.float().cpu().numpy()
                    target = vectors[0]
                    if target is None:
                        target = vectors[0] = np.empty((len(ids), array.shape[1]), dtype=np.float32)
                    target[rows] = array
                    bar.update(len(rows))

        if len(forwards) == 1 or len(batches) == 1:
            run(0)
        else:
            with ThreadPoolExecutor(len(forwards)) as pool_:
                list(pool_.map(run, range(len(forwards))))
    return vectors[0]  # type: ignore[return-value]
