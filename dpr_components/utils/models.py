"""Loading transformers checkpoints from a hub id or a local directory, with clear errors."""
import os
from typing import Iterable, Optional

import torch
from transformers import AutoConfig, PretrainedConfig

from dpr_components.errors import ModelLoadError
from dpr_components.utils.choices import Precision


def load_config(name_or_path: str, what: str, use_auth_token: Optional[str] = None) -> PretrainedConfig:
    """Return the model config, or raise :class:`ModelLoadError` saying where it was looked for.

    ``what`` names the expected model in messages, e.g. "a DPR question encoder".
    """
    looks_local = os.path.sep in name_or_path or name_or_path.startswith(".") or os.path.exists(name_or_path)
    if looks_local and not os.path.isdir(name_or_path):
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


def check_architecture(config: PretrainedConfig, name_or_path: str, expected: Iterable[str], what: str) -> None:
    """Raise :class:`ModelLoadError` unless config.json's ``architectures`` includes one of ``expected``."""
    expected = tuple(expected)
    found = tuple(getattr(config, "architectures", None) or ())
    if not set(found) & set(expected):
        raise ModelLoadError(
            f"{name_or_path!r} is a {', '.join(found) or config.model_type} model, but {what} was expected "
            f"(architectures: {', '.join(expected)})."
        )


def prepare_for_inference(model: torch.nn.Module, precision: Precision) -> torch.nn.Module:
    """Put ``model`` in eval mode at the requested precision (CPU).

    bf16 casts the weights (faster than autocast on CPUs with AVX-512 bf16); int8 applies dynamic
    quantisation to the Linear layers. Callers convert outputs back to float32.
    """
    model = model.eval()
    if precision is Precision.BF16:
        return model.to(torch.bfloat16)
    if precision is Precision.INT8:
        return torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    return model


def set_num_threads(num_threads: Optional[int]) -> None:
    """Use ``num_threads`` intra-op threads in torch when given (default: torch's choice, all cores)."""
    if num_threads:
        torch.set_num_threads(int(num_threads))
