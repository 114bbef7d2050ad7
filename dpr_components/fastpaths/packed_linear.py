"""Linear layers with their weights packed once for oneDNN, for CPU inference in fp32 and bf16.

``torch.nn.Linear`` on CPU sends fp32 products to MKL's sgemm and re-lays out the weight inside oneDNN on
every bf16 call. Packing the weight once into oneDNN's blocked layout (what torch.compile's freezing pass
does) and calling oneDNN's linear directly removes that work. Measured on an AMD EPYC with AVX-512 BF16,
one thread, a 768 x 3072 layer (under load; see docs/performance.md): fp32 2.2x faster for 2400 rows and 3x
for 10 rows (MKL takes a slow path on this CPU), bf16 1.9x for 10 rows and equal for 2400 rows. Results
are the same products: bf16 bit for bit, fp32 within float rounding (max abs difference ~2e-6).

Inference only (no gradients): the packed weight replaces the module's parameter.

Example::

    from dpr_components.fastpaths.packed_linear import pack_linear_layers
    model = pack_linear_layers(model.eval())   # every nn.Linear of model now runs through packed oneDNN

Private internals: ``torch.ops.mkldnn._reorder_linear_weight`` and ``_linear_pointwise``.
``DPR_FASTPATHS=-packed_linear`` keeps ``nn.Linear``.
"""
import functools
import logging

import torch

from dpr_components.fastpaths import FastPath, enabled

logger = logging.getLogger(__name__)

PACKABLE = (torch.float32, torch.bfloat16)


def packing_available() -> bool:
    """True where this torch build has oneDNN's packed linear operators (x86 and ARM CPU builds do)."""
    return (torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_reorder_linear_weight")
            and hasattr(torch.ops.mkldnn, "_linear_pointwise"))


@functools.cache
def can_pack(dtype: torch.dtype) -> bool:
    """Whether oneDNN packs weights of ``dtype`` on this CPU: its bf16 path needs AVX-512 (BW/VL/DQ) or
    AVX-NE-CONVERT, and refuses bf16 elsewhere (AVX2-only CPUs), where the layer stays ``nn.Linear``."""
    try:
        torch.ops.mkldnn._reorder_linear_weight(torch.zeros(8, 8, dtype=dtype), None)
        return True
    except RuntimeError as error:
        logger.info("oneDNN cannot pack %s weights on this CPU (%s): nn.Linear kept", dtype, error)
        return False


class PackedLinear(torch.nn.Module):
    """``y = x W^T + b`` with ``W`` packed for oneDNN; the same maths as the ``nn.Linear`` it replaces."""

    def __init__(self, linear: torch.nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        weight = linear.weight.detach()
        self.dtype = weight.dtype
        self.register_buffer("packed_weight", torch.ops.mkldnn._reorder_linear_weight(weight, None))
        self.register_buffer("bias", None if linear.bias is None else linear.bias.detach().clone())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        if not inputs.is_contiguous():
            inputs = inputs.contiguous()
        return torch.ops.mkldnn._linear_pointwise(inputs, self.packed_weight, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, dtype={self.dtype}, packed"


def pack_linear_layers(model: torch.nn.Module) -> torch.nn.Module:
    """Replace every fp32/bf16 ``nn.Linear`` of a CPU model by a :class:`PackedLinear` (in place; returned).

    Left as they are: quantised layers (int8), other dtypes, models on a GPU, torch builds without oneDNN,
    dtypes oneDNN cannot pack on this CPU (bf16 without AVX-512).
    """
    if not enabled(FastPath.PACKED_LINEAR):
        return model
    if not packing_available():
        logger.info("oneDNN packed linear not available in this torch build: nn.Linear kept")
        return model
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if (type(child) is torch.nn.Linear and child.weight.device.type == "cpu"
                    and child.weight.dtype in PACKABLE and can_pack(child.weight.dtype)):
                setattr(parent, name, PackedLinear(child))
    return model
