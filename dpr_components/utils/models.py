"""Loading transformers checkpoints from a hub id or a local directory, with clear errors."""
import logging
import os
from typing import Iterable, Optional

import torch
from transformers import AutoConfig, PretrainedConfig

from dpr_components.errors import ModelLoadError
from dpr_components.utils.choices import Precision
from dpr_components.utils.hub import is_local

logger = logging.getLogger(__name__)


def load_config(name_or_path: str, what: str, use_auth_token: Optional[str] = None) -> PretrainedConfig:
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


def check_architecture(config: PretrainedConfig, name_or_path: str, expected: Iterable[str], what: str) -> None:
    """Raise :class:`ModelLoadError` unless config.json's ``architectures`` includes one of ``expected``."""
    expected = tuple(expected)
    found = tuple(getattr(config, "architectures", None) or ())
    if not set(found) & set(expected):
        raise ModelLoadError(
            f"{name_or_path!r} is a {', '.join(found) or config.model_type} model, but {what} was expected "
            f"(architectures: {', '.join(expected)})."
        )


def prepare_for_inference(model: torch.nn.Module, precision: Precision,
                          device: Optional[torch.device] = None) -> torch.nn.Module:
    """Put ``model`` in eval mode on ``device`` (default CPU) at ``precision`` (``auto`` resolved here).

    bf16 casts the weights: fast only with native bf16 (AVX-512 BF16 / AMX CPUs, CUDA GPUs); elsewhere torch
    emulates it and it is several times slower than fp32, so that case logs a warning. int8 (CPU only)
    applies dynamic per-channel quantisation to the Linear layers, except each feed-forward block's output
    projection, whose activations are too wide-ranged for 8 bits (quantising it drops the cosine to fp32 from
    ~0.99 to ~0.93 on all-MiniLM-L6-v2). On CPU, fp32 and bf16 Linear layers get their weights packed once
    for oneDNN (:mod:`dpr_components.utils.packed_linear`: same products, 1.5-3x faster here). Callers
    convert outputs back to float32.
    """
    from dpr_components.utils.devices import resolve_precision
    from dpr_components.utils.packed_linear import pack_linear_layers

    device = device or torch.device("cpu")
    precision = resolve_precision(precision, device)  # warns where bf16 is emulated
    model = model.eval().to(device)
    if precision is Precision.BF16:
        model = model.to(torch.bfloat16)
    if precision is Precision.INT8:
        qconfig = torch.ao.quantization.per_channel_dynamic_qconfig
        quantized = {name: qconfig for name, module in model.named_modules()
                     if isinstance(module, torch.nn.Linear) and not is_feed_forward_output(name)}
        model = torch.ao.quantization.quantize_dynamic(model, quantized, dtype=torch.qint8)
    if device.type == "cpu":  # int8: the fp32 layers left out of quantisation
        model = pack_linear_layers(model)
    return model


def is_feed_forward_output(module_name: str) -> bool:
    # BERT names the FFN's down-projection "layer.N.output.dense" and the attention's "attention.output.dense".
    return module_name.endswith("output.dense") and "attention" not in module_name


def set_num_threads(num_threads: Optional[int]) -> None:
    """Use ``num_threads`` intra-op threads in torch when given (default: torch's choice, all cores)."""
    if num_threads:
        torch.set_num_threads(int(num_threads))
