import pytest
import torch

from dpr_components.fastpaths.packed_linear import PackedLinear, can_pack, pack_linear_layers, packing_available

pytestmark = pytest.mark.skipif(not packing_available(), reason="this torch build has no oneDNN packed linear")


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-5), (torch.bfloat16, 0.0)])
def test_packed_linear_computes_the_same_products(dtype, tolerance):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(48, 96), torch.nn.GELU(), torch.nn.Linear(96, 16, bias=False))
    model = model.eval().to(dtype)
    inputs = torch.randn(3, 7, 48).to(dtype)
    with torch.inference_mode():
        expected = model(inputs)
        packed = pack_linear_layers(model)
        got = packed(inputs)
        transposed = packed(inputs.transpose(0, 1))  # non-contiguous input
    # oneDNN packs bf16 only on AVX-512 CPUs; elsewhere (AVX2) the layer must stay a working nn.Linear
    linear = PackedLinear if can_pack(dtype) else torch.nn.Linear
    assert [type(m) for m in packed] == [linear, torch.nn.GELU, linear]
    assert got.dtype == dtype and got.shape == (3, 7, 16)
    torch.testing.assert_close(got.float(), expected.float(), atol=tolerance, rtol=tolerance)
    if linear is PackedLinear:  # plain bf16 nn.Linear may round a non-contiguous input differently
        torch.testing.assert_close(transposed.transpose(0, 1).float(), expected.float(), atol=tolerance,
                                   rtol=tolerance)


def test_quantised_and_other_layers_are_left_alone():
    model = torch.ao.quantization.quantize_dynamic(torch.nn.Sequential(torch.nn.Linear(8, 8)), {torch.nn.Linear},
                                                   dtype=torch.qint8)
    assert type(pack_linear_layers(model)[0]) is not PackedLinear
    half = torch.nn.Sequential(torch.nn.Linear(8, 8)).half()
    assert type(pack_linear_layers(half)[0]) is torch.nn.Linear
