"""Exact single-query flat search that reads a quarter of the bytes: int8 codes of the vectors pick the
candidates, which are then scored exactly in float32.

Why: an exact flat search over 100k x 768 float32 vectors reads 307 MB, so it is bound by memory bandwidth
(9.0 ms on a 2-core AMD EPYC). The int8 codes are 77 MB, and one int8 x int8 product (``torch._int_mm``,
exact int32 sums) scans them in 1.7 ms there.

What is quantised is each vector's difference from the mean vector, ``r = v - m``: DPR's [CLS] vectors share a
large common part (and BERT's outlier dimensions), which would otherwise set every row's scale and leave the
codes too coarse to tell passages apart. ``q . v = q . m + q . r``, and ``q . m`` is the same for every row.

Why the result stays exact: code row ``r8`` has its own scale ``s_r = max|r| / 127`` and the query its own
``s_q``, so the approximate ``s_q * s_r * (q8 . r8)`` differs from ``q . r`` by at most

    bound(r) = |q|_1 * s_r / 2 + s_q / 2 * |s_r * r8|_1      (plus float32 rounding slack, see below)

Score the k best approximate rows exactly: their lowest exact score ``t`` is at most the true k-th score.
Every vector whose exact score reaches ``t`` has ``approx + bound >= t``; scoring those candidates exactly
therefore gives the same top k as scoring every vector. When the bound prunes too little (more than
:data:`MAX_CANDIDATE_SHARE` of the vectors are candidates) the caller scans them all instead.

Memory: one byte per dimension, a quarter of the float32 vectors, built on the first search and extended
when vectors are appended.

Example::

    prefilter = Int8Prefilter.of(vectors)                  # (n, d) float32
    found = prefilter.candidates(query, vectors, k=100)    # (positions, exact scores), or None: scan all
"""
from functools import lru_cache
from typing import Optional, Tuple

import numpy as np
import torch

MAX_CANDIDATE_SHARE = 0.25
CHUNK_ROWS = 4096  # quantise in chunks of 12 MB (768-d): small temporaries are reused, not page-faulted
MEAN_SAMPLE_ROWS = 65_536
CODE_MAX = 127
FLOAT32_UNIT = 2.0 ** -24  # float32's unit roundoff


@lru_cache(maxsize=1)
def int8_product_available() -> bool:
    """Whether this torch computes int8 x int8 -> int32 products on the CPU (``torch._int_mm``)."""
    try:
        probe = torch.ones((1, 8), dtype=torch.int8)
        return int(torch._int_mm(probe, probe.T)[0, 0]) == 8
    except (AttributeError, RuntimeError):
        return False


def quantize_rows(vectors: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Symmetric int8 codes with one scale per row: (codes, scales); a zero row gets scale 0."""
    scales = torch.linalg.vector_norm(vectors, ord=float("inf"), dim=1) / CODE_MAX
    divisors = torch.where(scales > 0, scales, torch.ones_like(scales))
    codes = torch.div(vectors, divisors[:, None]).round_().clamp_(-CODE_MAX, CODE_MAX).to(torch.int8)
    return codes, scales


class Int8Prefilter:
    """int8 codes of a flat index's vectors, their scales and the L1 norms of what the codes represent."""

    def __init__(self, mean: torch.Tensor, codes: torch.Tensor, scales: torch.Tensor, l1_norms: torch.Tensor):
        self.mean, self.codes, self.scales, self.l1_norms = mean, codes, scales, l1_norms

    @classmethod
    def of(cls, vectors: np.ndarray) -> "Int8Prefilter":
        mean = torch.from_numpy(vectors[:MEAN_SAMPLE_ROWS]).mean(dim=0)  # any fixed vector keeps it exact
        empty = torch.empty((0, vectors.shape[1]), dtype=torch.int8)
        return cls(mean, empty, torch.empty(0), torch.empty(0)).extended(vectors)

    @property
    def rows(self) -> int:
        return len(self.codes)

    def extended(self, vectors: np.ndarray) -> "Int8Prefilter":
        """A prefilter over these rows' vectors followed by ``vectors`` (a new object: searches running on
        this one are not disturbed)."""
        total = self.rows + len(vectors)
        codes = torch.empty((total, self.codes.shape[1]), dtype=torch.int8)
        scales, l1_norms = torch.empty(total), torch.empty(total)
        codes[:self.rows], scales[:self.rows], l1_norms[:self.rows] = self.codes, self.scales, self.l1_norms
        for start in range(0, len(vectors), CHUNK_ROWS):
            rows = slice(self.rows + start, min(total, self.rows + start + CHUNK_ROWS))
            codes[rows], scales[rows] = quantize_rows(torch.from_numpy(vectors[start:start + CHUNK_ROWS]) - self.mean)
            l1_norms[rows] = scales[rows] * codes[rows].abs().sum(dim=1, dtype=torch.int32).float()
        return Int8Prefilter(self.mean, codes, scales, l1_norms)

    def candidates(self, query: np.ndarray, vectors: np.ndarray, k: int) -> Optional[Tuple[np.ndarray, np.ndarray]]:
        """(positions, exact float32 scores) of a set of rows of ``vectors`` (which these codes were made of)
        that holds the exact top ``k`` of ``vectors @ query``; None when the set would not be small."""
        query_t = torch.from_numpy(np.ascontiguousarray(query, dtype=np.float32))
        query_scale = float(query_t.abs().max()) / CODE_MAX
        if not np.isfinite(query_scale) or query_scale == 0 or k > self.rows:
            return None
        query_codes = torch.round(query_t / query_scale).clamp_(-CODE_MAX, CODE_MAX).to(torch.int8)
        sums = torch._int_mm(query_codes[None], self.codes.T)[0]  # exact int32 dot products
        approximate = sums.float() * (self.scales * query_scale)
        # The quantisation bound, 1% wider, plus float32 rounding: an exact score is a float32 sum of d
        # products (error <= d u |q|_1 max|v|, max|v| <= max|m| + 127 s_r), computed twice (threshold, then
        # candidates), and q . m and r = v - m are rounded too: 4x that. ``approximate`` is rounded twice
        # (<= 2u |approximate|, doubled).
        query_l1 = float(query_t.abs().sum())
        largest = float(self.mean.abs().max()) + CODE_MAX * self.scales
        bound = (0.505 * (query_l1 * self.scales + query_scale * self.l1_norms)
                 + 4 * self.codes.shape[1] * FLOAT32_UNIT * query_l1 * largest
                 + 4 * FLOAT32_UNIT * approximate.abs())
        vectors_t = torch.from_numpy(vectors)
        best = torch.topk(approximate, k, sorted=False).indices
        threshold = (vectors_t[best] @ query_t).min()
        positions = torch.nonzero(approximate + bound >= threshold - query_t @ self.mean).squeeze(1)
        if len(positions) > MAX_CANDIDATE_SHARE * self.rows:
            return None
        return positions.numpy(), (vectors_t[positions] @ query_t).numpy()
