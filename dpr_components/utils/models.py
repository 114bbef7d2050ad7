"""Preparing a loaded model for inference: precision, int8 quantisation, packed weights, threads.

Loading checkpoints is :mod:`dpr_components.modeling.checkpoints`."""
import logging
from typing import Optional

import torch

from dpr_components.utils.choices import Precision

logger = logging.getLogger(__name__)


def prepare_for_inference(model: torch.nn.Module, precision: Precision,
                          device: Optional[torch.device] = None) -> torch.nn.Module:
    """Put ``model`` in eval mode on ``device`` (default CPU) at ``precision`` (``auto`` resolved here).

    bf16 casts the weights: fast only with native bf16 (AVX-512 BF16 / AMX CPUs, CUDA GPUs); elsewhere torch
    emulates it and it is several times slower than fp32, so that case logs a warning. int8 (CPU only)
    applies dynamic per-channel quantisation to the Linear layers, except each feed-forward block's output
    projection, whose activations are too wide-ranged for 8 bits (quantising it drops the cosine to fp32 from
    ~0.99 to ~0.93 on all-MiniLM-L6-v2). On CPU, fp32 and bf16 Linear layers get their weights packed once
    for oneDNN (:mod:`dpr_components.fastpaths.packed_linear`: same products, 1.5-3x faster here). Callers
    convert outputs back to float32.
    """
    from dpr_components.fastpaths.packed_linear import pack_linear_layers
    from dpr_components.utils.devices import resolve_precision

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
