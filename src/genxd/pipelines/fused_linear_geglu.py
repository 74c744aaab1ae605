"""GEGLU's projection and activation in one kernel (issue 26): ``x @ W.T + b`` then ``h * gelu(gate)``.

diffusers' ``GEGLU`` projects ``x [M, K]`` to ``[M, 2D]`` (``proj = Linear(K, 2D)``) and returns
``proj[:, :D] * gelu(proj[:, D:])``. On the fast path that was a cuBLAS GEMM writing the ``[M, 2D]``
projection, then :func:`genxd.pipelines.fused_kernels.geglu` reading it back: at the first level of a 256 px
call the projection is 126 MB each way, and the GEGLU kernel alone ran at the H200's memory bandwidth
(2.4 ms per 4D call, ``benchmarks/bench_geglu.py``). :func:`linear_geglu` computes, per output tile, the
hidden and the gate columns with two accumulators over the same ``x`` tile, adds the biases, applies the erf
GELU in float32 and writes only ``[M, D]`` (one rounding, where the two-kernel form rounded the projection to
bf16 first).

Triton on CUDA for 16-bit inputs whose shapes the tiles divide (``K`` a multiple of 64, ``D`` of 64); PyTorch
otherwise. ``LinearGegluLaunch`` holds the tile shape; ``benchmarks/bench_geglu.py --linear`` compares choices
against cuBLAS + the GEGLU kernel.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor

from .fused_norms import tl, triton

__all__ = ["LinearGegluLaunch", "LINEAR_GEGLU_LAUNCH", "linear_geglu", "linear_geglu_supported"]

_HALF = (torch.float16, torch.bfloat16)

if triton is not None:

    @triton.jit
    def _linear_geglu_kernel(X, W, B, O, M, D, K, HAS_BIAS: tl.constexpr, BM: tl.constexpr, BN: tl.constexpr,
                             BK: tl.constexpr, GROUP_M: tl.constexpr, ONE_DOT: tl.constexpr):
        """Program p: the output tile of rows ``[pm*BM, +BM)`` and columns ``[pn*BN, +BN)`` (``BN`` divides
        ``D``, ``BK`` divides ``K``), programs grouped by ``GROUP_M`` row tiles so neighbours share ``W``
        tiles in L2. ``X [M, K]``, ``W [2D, K]`` (hidden rows then gate rows), ``B [2D]``, ``O [M, D]``, all
        contiguous."""
        pid = tl.program_id(0)
        num_pm = tl.cdiv(M, BM)
        num_pn = D // BN
        per_group = GROUP_M * num_pn
        first_m = (pid // per_group) * GROUP_M
        group_m = tl.minimum(num_pm - first_m, GROUP_M)
        pm = first_m + (pid % per_group) % group_m
        pn = (pid % per_group) // group_m
        rows = pm.to(tl.int64) * BM + tl.arange(0, BM)
        cols = pn * BN + tl.arange(0, BN)
        ks = tl.arange(0, BK)
        row_ok = (rows < M)[:, None]
        x_ptr = X + rows[:, None] * K + ks[None, :]
        if ONE_DOT:
            # one [BK, 2*BN] tile of W: BN hidden rows then their BN gate rows, one product, split after
            c2 = tl.arange(0, 2 * BN)
            wrow = tl.where(c2 < BN, pn * BN + c2, D + pn * BN + c2 - BN).to(tl.int64)
            w_ptr = W + wrow[None, :] * K + ks[:, None]
            acc = tl.zeros((BM, 2 * BN), dtype=tl.float32)
            for _ in range(0, K // BK):
                acc = tl.dot(tl.load(x_ptr, mask=row_ok, other=0.0), tl.load(w_ptr), acc)
                x_ptr += BK
                w_ptr += BK
            acc_h, acc_g = tl.split(tl.permute(tl.reshape(acc, (BM, 2, BN)), (0, 2, 1)))
        else:
            wh_ptr = W + cols[None, :].to(tl.int64) * K + ks[:, None]  # [BK, BN]: W's hidden rows, transposed
            wg_ptr = wh_ptr + D.to(tl.int64) * K  # the gate rows
            acc_h = tl.zeros((BM, BN), dtype=tl.float32)
            acc_g = tl.zeros((BM, BN), dtype=tl.float32)
            for _ in range(0, K // BK):
                a = tl.load(x_ptr, mask=row_ok, other=0.0)
                acc_h = tl.dot(a, tl.load(wh_ptr), acc_h)
                acc_g = tl.dot(a, tl.load(wg_ptr), acc_g)
                x_ptr += BK
                wh_ptr += BK
                wg_ptr += BK
        if HAS_BIAS:
            acc_h += tl.load(B + cols).to(tl.float32)[None, :]
            acc_g += tl.load(B + D + cols).to(tl.float32)[None, :]
        y = acc_h * (0.5 * acc_g * (1.0 + tl.erf(acc_g * 0.7071067811865476)))
        tl.store(O + rows[:, None] * D + cols[None, :], y.to(O.dtype.element_ty), mask=row_ok)


@dataclasses.dataclass(frozen=True)
class LinearGegluLaunch:
    """Tile shape of :func:`linear_geglu`: ``block_m`` rows x ``block_n`` output columns (each with its gate
    column: two ``block_m x block_n`` float32 accumulators), ``block_k`` of the reduction per step, row tiles
    per L2 group, warps and pipeline stages per program."""

    block_m: int = 128
    block_n: int = 64
    block_k: int = 64
    group_m: int = 8
    warps: int = 8
    stages: int = 3
    one_dot: bool = False


LINEAR_GEGLU_LAUNCH = LinearGegluLaunch()


def linear_geglu_supported(x: Tensor, weight: Tensor, bias: Tensor | None,
                           launch: LinearGegluLaunch | None = None) -> bool:
    """Whether :func:`linear_geglu` runs its kernel for these operands (else PyTorch's operators)."""
    launch = launch or LINEAR_GEGLU_LAUNCH
    if triton is None or not x.is_cuda or x.dtype not in _HALF or weight.dtype != x.dtype or weight.dim() != 2:
        return False
    two_d, K = weight.shape
    D = two_d // 2
    return (x.shape[-1] == K and two_d == 2 * D and K % launch.block_k == 0 and D % launch.block_n == 0
            and weight.is_contiguous() and weight.device == x.device and x.numel() > 0
            and (bias is None or (bias.shape == (two_d,) and bias.dtype == x.dtype and bias.is_contiguous())))


def linear_geglu(x: Tensor, weight: Tensor, bias: Tensor | None = None,
                 launch: LinearGegluLaunch | None = None) -> Tensor:
    """``h * gelu(gate)`` with ``h, gate = (x @ weight.T + bias).chunk(2, -1)`` (erf GELU, diffusers' GEGLU
    order) for ``x [..., K]``, ``weight [2D, K]``, ``bias [2D]``; returns ``[..., D]`` in ``x``'s dtype."""
    launch = launch or LINEAR_GEGLU_LAUNCH
    if not linear_geglu_supported(x, weight, bias, launch):
        h, gate = F.linear(x, weight, bias).chunk(2, dim=-1)
        return h * F.gelu(gate)
    K = x.shape[-1]
    D = weight.shape[0] // 2
    x2 = x.reshape(-1, K)
    if not x2.is_contiguous():
        x2 = x2.contiguous()
    M = x2.shape[0]
    out = torch.empty(M, D, dtype=x.dtype, device=x.device)
    grid = (triton.cdiv(M, launch.block_m) * (D // launch.block_n),)
    _linear_geglu_kernel[grid](x2, weight, bias if bias is not None else weight, out, M, D, K,
                               HAS_BIAS=bias is not None, BM=launch.block_m, BN=launch.block_n, BK=launch.block_k,
                               GROUP_M=launch.group_m, ONE_DOT=launch.one_dot, num_warps=launch.warps, num_stages=launch.stages)
    return out.reshape(*x.shape[:-1], D)
