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
    monkeypatch.delenv(devices.AUTO_PRECISION_ENV, raising=False)
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


def test_auto_precision_can_be_pinned_by_the_environment(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(devices, "cpu_flags", lambda: frozenset({"avx2", "amx_bf16"}))
    monkeypatch.setenv(devices.AUTO_PRECISION_ENV, "fp32")
    assert devices.resolve_precision("auto", cpu) is Precision.FP32
    assert devices.resolve_precision("bf16", cpu) is Precision.BF16  # explicit choices are kept
    monkeypatch.setenv(devices.AUTO_PRECISION_ENV, "int8")
    with pytest.raises(ConfigurationError, match="only to fp32 or bf16"):
        devices.resolve_precision("auto", cpu)


def test_device_lists_and_haystack_names():
    cpu = torch.device("cpu")
    assert devices.resolve_devices("cpu") == [cpu]
    assert devices.resolve_devices("auto", devices=["cpu", "cpu"]) == [cpu, cpu]
    assert devices.resolve_devices("auto", devices=["cuda:0"], use_gpu=False) == [cpu]
    expected = torch.cuda.device_count() if torch.cuda.is_available() else 1
    assert len(devices.resolve_devices("auto")) == expected
    with pytest.raises(ConfigurationError, match="Unknown device"):
        devices.resolve_devices(devices=["cpu", "gpu0"])
