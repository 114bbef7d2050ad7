import pytest
import torch

from dpr_components.errors import ConfigurationError
from dpr_components.utils import devices
from dpr_components.utils.choices import Precision


def test_auto_and_cpu_devices():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert devices.resolve_device("auto").type == expected
    assert devices.resolve_device(None).type == expected
    assert devices.resolve_device("CPU") == torch.device("cpu")
    assert devices.resolve_device("auto", use_gpu=False) == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_cuda_without_gpu_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="no CUDA GPU"):
        devices.resolve_device("cuda:0")


def test_unknown_device_lists_valid_values():
    with pytest.raises(ConfigurationError, match="Valid values: 'auto', 'cpu'"):
        devices.resolve_device("tpu")


def test_auto_precision_follows_the_cpu_flags(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset({"avx2", "avx512_bf16"}))
    assert devices.resolve_precision("auto", cpu) is Precision.BF16
    monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16"}))
    assert devices.resolve_precision("auto", cpu) is Precision.BF16
    monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset({"avx2", "fma"}))
    assert devices.resolve_precision("auto", cpu) is Precision.FP32
    assert devices.resolve_precision("int8", cpu) is Precision.INT8  # never chosen by auto, kept when asked


def test_cpu_description_names_the_flags():
    text = devices.cpu_description()
    assert "(" in text and text.endswith(")")
