"""Opening a transformers checkpoint (hub id or local directory) with one clear error per way it fails, and the
checks every model makes on what it opened.

No token type ids anywhere: DPR gives every token segment 0, the default of every model that has segment
embeddings, and some (MPNet, DeBERTa-v2 with ``type_vocab_size`` 0) have none.

Example::

    config = load_config("/models/all-mpnet-base-v2", "a text encoder")
    check_max_length(config, "/models/all-mpnet-base-v2", "max_seq_len_passage", 256)   # 512 readable: fine
"""
import os
from typing import Any, Optional

from transformers import AutoConfig, AutoTokenizer, DPRConfig, PretrainedConfig

from dpr_components.errors import ConfigurationError, ModelLoadError
from dpr_components.utils.hub import is_local

# Model types whose position ids start after the padding index (transformers' create_position_ids_from_input_ids).
PADDING_OFFSET_POSITIONS = {"roberta", "xlm-roberta", "camembert", "mpnet", "longformer", "data2vec-text",
                            "xlm-roberta-xl", "luke", "ibert", "markuplm", "roberta-prelayernorm"}


def load_config(name_or_path: str, what: str, use_auth_token: Optional[Any] = None) -> PretrainedConfig:
    """Return the model config, or raise :class:`ModelLoadError` saying where it was looked for.

    ``what`` names the expected model in messages, e.g. "a DPR question encoder".
    """
    # Hub ids look like "org/name"; anything else with a path separator is meant as a local directory.
    if is_local(name_or_path) and not os.path.isdir(name_or_path):
        raise ModelLoadError(
            f"Model directory {name_or_path!r} does not exist. Expected {what}: "
            "a local directory with config.json and weights, or a model hub id."
        )
    try:
        return AutoConfig.from_pretrained(name_or_path, token=use_auth_token)
    except (OSError, ValueError) as error:
        if os.path.isdir(name_or_path):
            raise ModelLoadError(
                f"{name_or_path!r} is not a transformers model directory (no readable config.json). "
                f"Expected {what}."
            ) from error
        raise ModelLoadError(
            f"Model {name_or_path!r} was not found locally and could not be downloaded. Expected {what}: "
            "give a local directory that holds the checkpoint, or enable network access to the model hub "
            "(unset HF_HUB_OFFLINE)."
        ) from error


def load_fast_tokenizer(name_or_path: str, what: str, use_auth_token: Optional[Any] = None) -> Any:
    """The checkpoint's fast (Rust) tokenizer: character offsets and batch speed need one."""
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path, use_fast=True, token=use_auth_token)
    except (OSError, ValueError, TypeError) as error:
        raise ModelLoadError(f"Could not load the tokenizer of {name_or_path!r} ({error}). Expected {what} with its "
                             "tokenizer files (tokenizer.json, or vocab.txt / merges / spm model).") from error
    if not tokenizer.is_fast:
        raise ModelLoadError(f"{name_or_path!r} has no fast tokenizer; character offsets need one. Add tokenizer.json "
                             "to the model directory.")
    return tokenizer


def architecture_name(config: PretrainedConfig) -> str:
    """The first of config.json's ``architectures``, else the model type."""
    architectures = list(getattr(config, "architectures", None) or [])
    return architectures[0] if architectures else config.model_type


def refuse_decoder(config: PretrainedConfig, name_or_path: str, what: str) -> None:
    if getattr(config, "is_encoder_decoder", False) or getattr(config, "is_decoder", False):
        raise ModelLoadError(f"{name_or_path!r} is a {architecture_name(config)} (decoder) model, but {what} "
                             "was expected.")


def usable_positions(config: PretrainedConfig) -> Optional[int]:
    """How many tokens one input may hold (None: no absolute position limit recorded)."""
    positions = int(getattr(config, "max_position_embeddings", 0) or 0)
    if not positions:
        return None
    if config.model_type in PADDING_OFFSET_POSITIONS:
        positions -= int(getattr(config, "pad_token_id", 0) or 0) + 1
    return positions


def check_max_length(config: PretrainedConfig, name_or_path: str, parameter: str, max_length: int) -> None:
    """Raise :class:`ConfigurationError` if inputs of ``max_length`` tokens exceed what the model can read."""
    limit = usable_positions(config)
    if limit is not None and max_length > limit:
        raise ConfigurationError(
            f"{parameter}={max_length} exceeds what {name_or_path!r} can read "
            f"(max_position_embeddings={config.max_position_embeddings}). Set {parameter} <= {limit}.")


def dpr_config(config: PretrainedConfig, projection_dim: int = 0) -> DPRConfig:
    """The DPRConfig (a DPR encoder's or reader's) holding the BERT encoder ``config``: BERT weights load into it."""
    if isinstance(config, DPRConfig):
        return config
    settings = {key: value for key, value in config.to_dict().items()
                if key not in ("architectures", "model_type", "auto_map", "transformers_version")}
    return DPRConfig(**{**settings, "projection_dim": projection_dim})
