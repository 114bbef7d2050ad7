"""Where a model runs and at which precision: one place that reads the hardware.

``device: auto | cpu | cuda | cuda:N`` (Haystack's ``use_gpu`` maps onto it) and
``precision: auto | fp32 | bf16 | int8``. ``auto`` picks bf16 only where the hardware computes it natively
(CUDA devices with bf16; CPUs with the amx_bf16 or avx512_bf16 flags) and fp32 elsewhere: on AVX2-only CPUs
torch emulates bf16 and it is several times slower than fp32. int8 is never chosen automatically.

Example::

    from dpr_components.utils.devices import resolve_device, resolve_precision
    device = resolve_device("auto")                 # torch.device("cuda:0") on a GPU machine, else cpu
    precision = resolve_precision("auto", device)   # Precision.BF16 on AMX / AVX-512 BF16 CPUs and GPUs
"""
import functools
import logging
import os
from typing import FrozenSet, List, Optional, Sequence, Union

import torch

from dpr_components.errors import ConfigurationError
from dpr_components.utils.choices import Precision

logger = logging.getLogger(__name__)

DeviceSpec = Union[str, torch.device, None]

# What ``precision: auto`` resolves to when set (fp32 | bf16): the test suite pins fp32 with it so that
# parity checks against transformers' fp32 output pass on AMX, AVX-512 BF16 and AVX2 machines alike.
AUTO_PRECISION_ENV = "DPR_COMPONENTS_AUTO_PRECISION"


def resolve_device(device: DeviceSpec = "auto", use_gpu: Optional[bool] = None) -> torch.device:
    """The torch device for ``device`` ("auto", "cpu", "cuda", "cuda:N"); ``use_gpu=False`` forces cpu."""
    if isinstance(device, torch.device):
        return device
    text = "auto" if device is None else str(device).strip().lower()
    if use_gpu is False:
        return torch.device("cpu")
    if text == "auto":
        return torch.device("cuda:0") if torch.cuda.is_available() else torch.device("cpu")
    try:
        resolved = torch.device(text)
    except RuntimeError:
        raise ConfigurationError(f"Unknown device {device!r}. Valid values: 'auto', 'cpu', 'cuda', 'cuda:N'.") from None
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigurationError(f"device {device!r} was asked for, but torch sees no CUDA GPU here. "
                                     "Use device: auto or cpu.")
        index = 0 if resolved.index is None else resolved.index
        if index >= torch.cuda.device_count():
            raise ConfigurationError(f"device {device!r}: only {torch.cuda.device_count()} CUDA device(s) exist.")
        return torch.device("cuda", index)
    if resolved.type != "cpu":
        raise ConfigurationError(f"Unsupported device {device!r}. Valid values: 'auto', 'cpu', 'cuda', 'cuda:N'.")
    return resolved


def resolve_devices(device: DeviceSpec = "auto", devices: Optional[Sequence[DeviceSpec]] = None,
                    use_gpu: Optional[bool] = None) -> List[torch.device]:
    """The devices a model runs on, first one primary (Haystack's ``devices`` / ``use_gpu`` names accepted).

    ``devices`` (a list) wins over ``device``; ``device: auto`` means every CUDA GPU when there are several
    (passage encoding spreads batches over them) and the CPU when there is none; ``use_gpu=False`` is the CPU.
    """
    if use_gpu is False:
        return [torch.device("cpu")]
    if devices:
        return [resolve_device(one) for one in devices]  # a device listed twice holds two copies
    text = "auto" if device is None else str(device).strip().lower()
    if text == "auto" and torch.cuda.is_available():
        return [torch.device("cuda", index) for index in range(torch.cuda.device_count())]
    return [resolve_device(device)]


@functools.cache
def cpu_flags() -> FrozenSet[str]:
    """The CPU feature flags of /proc/cpuinfo (empty where it cannot be read, e.g. macOS)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("flags"):
                    return frozenset(line.split(":", 1)[1].split())
    except OSError:
        pass
    return frozenset()


def cpu_description() -> str:
    """The CPU model and the flags that decide which precision is fast, for benchmark reports and logs."""
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            model = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), model)
    except OSError:
        pass
    relevant = sorted(cpu_flags() & {"avx2", "avx512f", "avx512_bf16", "avx512_vnni", "amx_bf16", "amx_int8",
                                     "amx_tile"})
    return f"{model} ({' '.join(relevant) or 'no AVX-512/AMX flags'})"


def has_native_bf16(device: torch.device) -> bool:
    """True where bf16 matrix products run in hardware rather than emulated."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    return bool(cpu_flags() & {"amx_bf16", "avx512_bf16"})


_logged: set = set()


def resolve_precision(precision: Union[str, Precision], device: torch.device) -> Precision:
    """``precision`` with ``auto`` replaced by bf16 (native hardware) or fp32; the choice is logged once."""
    chosen = Precision.from_str(precision)
    if chosen is Precision.AUTO and os.environ.get(AUTO_PRECISION_ENV):
        chosen = Precision.from_str(os.environ[AUTO_PRECISION_ENV])
        if chosen not in (Precision.FP32, Precision.BF16):
            raise ConfigurationError(f"{AUTO_PRECISION_ENV}={chosen.value!r}: auto resolves only to fp32 or bf16.")
    if chosen is Precision.AUTO:
        chosen = Precision.BF16 if has_native_bf16(device) else Precision.FP32
        key = (str(device), chosen)
        if key not in _logged:
            _logged.add(key)
            reason = "native bf16 on this hardware" if chosen is Precision.BF16 else "no native bf16 here"
            logger.info("precision auto -> %s on %s (%s)", chosen.value, device, reason)
    elif chosen is Precision.BF16 and not has_native_bf16(device):
        logger.warning("precision bf16: %s has no native bf16, so bf16 is emulated and slower than fp32. "
                       "Use precision: auto or fp32 here.", device)
    if chosen is Precision.INT8 and device.type != "cpu":
        raise ConfigurationError("precision int8 is CPU-only (dynamic quantisation). Use bf16 or fp32 on a GPU.")
    return chosen
