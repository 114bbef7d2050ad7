"""This machine's matrix-multiply rate, the yardstick for encoder efficiency.

The probe runs the Linear layers of one BERT layer (Q, K, V, attention output, feed-forward in and out) on
``tokens`` rows, exactly as the model calls them (``nn.Linear``; for int8, torch's dynamic quantisation),
and reports GFLOP/s: the most a BERT encoder of that width can reach in that precision on this CPU.
"""
import time
from typing import List, Tuple

import torch

PRECISIONS = ("fp32", "bf16", "int8")


def linear_shapes(hidden: int, intermediate: int) -> List[Tuple[int, int]]:
    """(in_features, out_features) of the Linear layers of one BERT layer."""
    return [(hidden, hidden)] * 4 + [(hidden, intermediate), (intermediate, hidden)]


def _layer(hidden: int, intermediate: int, precision: str, packed: bool = False) -> torch.nn.ModuleList:
    layers = torch.nn.ModuleList(torch.nn.Linear(i, o) for i, o in linear_shapes(hidden, intermediate)).eval()
    if precision == "int8":
        return torch.ao.quantization.quantize_dynamic(layers, {torch.nn.Linear}, dtype=torch.qint8)
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}; valid: {', '.join(PRECISIONS)}")
    if precision == "bf16":
        layers = layers.to(torch.bfloat16)
    if packed:
        from dpr_components.fastpaths.packed_linear import pack_linear_layers

        layers = pack_linear_layers(layers)
    return layers


def measure_gemm_gflops(hidden: int = 768, intermediate: int = 3072, precision: str = "fp32",
                        tokens: int = 2048, seconds: float = 1.0, rounds: int = 3) -> float:
    """GFLOP/s of one BERT layer's Linear layers on ``tokens`` rows: the best of ``rounds`` timed rounds,
    with nn.Linear and (fp32, bf16) with the oneDNN-packed layers the encoders use, whichever is faster.

    The best round is the honest estimate of what the CPU can do while other processes share it.
    """
    kinds = [False, True] if precision in ("fp32", "bf16") else [False]
    return max(_measure(hidden, intermediate, precision, tokens, seconds / len(kinds), rounds, packed)
               for packed in kinds)


def _measure(hidden: int, intermediate: int, precision: str, tokens: int, seconds: float, rounds: int,
             packed: bool) -> float:
    torch.manual_seed(0)
    layers = _layer(hidden, intermediate, precision, packed)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    inputs = {i: torch.randn(tokens, i).to(dtype) for i, _ in linear_shapes(hidden, intermediate)}
    flops_per_pass = sum(2 * tokens * i * o for i, o in linear_shapes(hidden, intermediate))

    def one_pass() -> None:
        for (in_features, _), layer in zip(linear_shapes(hidden, intermediate), layers):
            layer(inputs[in_features])

    with torch.inference_mode():
        one_pass()  # warm-up: kernel selection and allocation
        best = 0.0
        for _ in range(rounds):
            passes, start = 0, time.perf_counter()
            while True:
                one_pass()
                passes += 1
                elapsed = time.perf_counter() - start
                if elapsed >= seconds / rounds:
                    break
            best = max(best, passes * flops_per_pass / elapsed / 1e9)
    return best
