"""Triton normalisation kernels for the eager fast path (issue 26): channels-last GroupNorm (+ SiLU, + a
broadcast add before it) and LayerNorm.

Why: on CUDA, PyTorch's ``group_norm`` makes a channels-last input contiguous (NCHW) and returns NCHW, so
every GroupNorm of the channels-last UNet costs two layout copies besides its statistics, normalisation and
the SiLU after it; its LayerNorm runs one row per thread block, which leaves the GPU idle on the short rows
(320-1280 channels) of the UNet's tokens. Inductor fuses these when the blocks are compiled; these kernels
give the eager path the same with no ``torch.compile`` warm-up (Triton compiles each kernel once per shape
class and caches it on disk, ``~/.triton/cache``).

- :func:`group_norm_nhwc` ``(x [N, C, *S] channels-last, weight [C], bias [C], groups, eps, silu, add)`` ->
  the same shape and memory format, statistics in float32, in three kernels that read whole rows of
  channels (coalesced): per-channel mean and squared deviations of chunks of positions (one read, values
  shifted by the chunk's first row), an exact merge per (sample, group) (Chan et al.'s pairwise formula),
  then normalise (+ SiLU). ``add`` (``[N, C]``, or
  ``[N, D, C]`` per frame of a 5-D input) is added to ``x`` on the fly: the res blocks' time embedding;
- :func:`layer_norm_rows` ``(x [..., C] contiguous, weight, bias, eps)``: several rows per program, one read;
  :func:`add_layer_norm` ``(x, residual, norm)`` -> ``(x + residual, norm(x + residual))`` in one pass.

:class:`GroupNormNHWC` and :class:`LayerNormRows` are ``nn.GroupNorm`` / ``nn.LayerNorm`` with these forwards
(same parameters and state dict); inputs the kernels do not take (not CUDA, not channels-last, not 16/32-bit
float) fall back to PyTorch's operators.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F
from torch import Tensor, nn

try:  # Triton ships with the CUDA builds of PyTorch; the CPU build has none
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the install
    triton = None
    tl = None

__all__ = ["triton_available", "group_norm_nhwc", "layer_norm_rows", "add_layer_norm", "GroupNormNHWC", "LayerNormRows"]

FLOATS = (torch.float16, torch.bfloat16, torch.float32)
_TARGET_PROGRAMS = 1024  # about 8 per SM of an H100 / H200


def triton_available() -> bool:
    """True when Triton imports and a CUDA device is present (what the kernels need)."""
    return triton is not None and torch.cuda.is_available()


def channels_last_dense(x: Tensor) -> bool:
    """``x`` is 4-D channels-last or 5-D channels_last_3d, densely stored."""
    fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(x.dim())
    return fmt is not None and x.is_contiguous(memory_format=fmt)


if triton is not None:

    @triton.jit
    def _gn_partial_kernel(X, T, PMEAN, PM2, S, C, SPLIT, CHUNK, HW, stn, stf, stc, ADD: tl.constexpr,
                           BLOCK_S: tl.constexpr, BLOCK_C: tl.constexpr):
        """Program (n*SPLIT + k, cb): per-channel mean and squared deviations about it over positions
        [k*CHUNK, (k+1)*CHUNK) of sample n, channels of block cb (of ``x + t[n, s // HW, c]`` with ADD), in
        one read: sums of the values shifted by the chunk's first row (no cancellation for data far from 0)."""
        pid = tl.program_id(0)
        cb = tl.program_id(1)
        n = pid // SPLIT
        k = pid % SPLIT
        cs = cb * BLOCK_C + tl.arange(0, BLOCK_C)
        cmask = cs < C
        lo = k * CHUNK
        hi = tl.minimum(lo + CHUNK, S)
        base = n.to(tl.int64) * S * C
        shift = tl.load(X + base + lo.to(tl.int64) * C + cs, mask=cmask, other=0.0).to(tl.float32)
        if ADD:
            shift += tl.load(T + n * stn + (lo // HW) * stf + cs * stc, mask=cmask, other=0.0).to(tl.float32)
        s1 = tl.zeros([BLOCK_S, BLOCK_C], dtype=tl.float32)
        s2 = tl.zeros([BLOCK_S, BLOCK_C], dtype=tl.float32)
        for s0 in range(lo, hi, BLOCK_S):
            ss = s0 + tl.arange(0, BLOCK_S)
            m = (ss < hi)[:, None] & cmask[None, :]
            x = tl.load(X + base + ss[:, None].to(tl.int64) * C + cs[None, :], mask=m, other=0.0).to(tl.float32)
            if ADD:
                x += tl.load(T + n * stn + (ss // HW)[:, None] * stf + cs[None, :] * stc, mask=m,
                             other=0.0).to(tl.float32)
            d = tl.where(m, x - shift[None, :], 0.0)
            s1 += d
            s2 += d * d
        rows = (hi - lo) * 1.0
        d1 = tl.sum(s1, axis=0)
        tl.store(PMEAN + pid.to(tl.int64) * C + cs, shift + d1 / rows, mask=cmask)
        tl.store(PM2 + pid.to(tl.int64) * C + cs, tl.maximum(tl.sum(s2, axis=0) - d1 * d1 / rows, 0.0), mask=cmask)

    @triton.jit
    def _gn_merge_kernel(PMEAN, PM2, MEAN, RSTD, S, C, CPG, G, SPLIT, CHUNK, eps, BLOCK_K: tl.constexpr,
                         BLOCK_CPG: tl.constexpr):
        """Program n*G + g: merge the chunk/channel statistics of group g of sample n exactly."""
        pid = tl.program_id(0)
        n = pid // G
        g = pid % G
        js = tl.arange(0, BLOCK_CPG)
        cmask = js < CPG
        cs = g * CPG + js
        count = S * CPG * 1.0
        tot = tl.zeros([BLOCK_K, BLOCK_CPG], dtype=tl.float32)
        for k0 in range(0, SPLIT, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            km = ks < SPLIT
            rows = tl.where(km, (tl.minimum((ks + 1) * CHUNK, S) - ks * CHUNK).to(tl.float32), 0.0)
            m = km[:, None] & cmask[None, :]
            pm = tl.load(PMEAN + (n * SPLIT + ks).to(tl.int64)[:, None] * C + cs[None, :], mask=m, other=0.0)
            tot += rows[:, None] * pm
        mean = tl.sum(tl.sum(tot, axis=1), axis=0) / count
        acc = tl.zeros([BLOCK_K, BLOCK_CPG], dtype=tl.float32)
        for k0 in range(0, SPLIT, BLOCK_K):
            ks = k0 + tl.arange(0, BLOCK_K)
            km = ks < SPLIT
            rows = tl.where(km, (tl.minimum((ks + 1) * CHUNK, S) - ks * CHUNK).to(tl.float32), 0.0)
            m = km[:, None] & cmask[None, :]
            offs = (n * SPLIT + ks).to(tl.int64)[:, None] * C + cs[None, :]
            d = tl.where(m, tl.load(PMEAN + offs, mask=m, other=0.0) - mean, 0.0)
            acc += tl.load(PM2 + offs, mask=m, other=0.0) + rows[:, None] * d * d
        var = tl.sum(tl.sum(acc, axis=1), axis=0) / count
        tl.store(MEAN + pid, mean)
        tl.store(RSTD + pid, 1.0 / tl.sqrt(var + eps))

    @triton.jit
    def _gn_apply_kernel(X, T, Y, W, B, MEAN, RSTD, S, C, CPG, G, SPLIT, CHUNK, HW, stn, stf, stc,
                         ADD: tl.constexpr, SILU: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_C: tl.constexpr):
        """Program (n*SPLIT + k, cb): normalise (and SiLU) positions of chunk k, channels of block cb."""
        pid = tl.program_id(0)
        cb = tl.program_id(1)
        n = pid // SPLIT
        k = pid % SPLIT
        cs = cb * BLOCK_C + tl.arange(0, BLOCK_C)
        cmask = cs < C
        grp = n * G + cs // CPG
        mean = tl.load(MEAN + grp, mask=cmask, other=0.0)
        rstd = tl.load(RSTD + grp, mask=cmask, other=0.0)
        scale = tl.load(W + cs, mask=cmask, other=0.0).to(tl.float32) * rstd
        shift = tl.load(B + cs, mask=cmask, other=0.0).to(tl.float32) - mean * scale
        lo = k * CHUNK
        hi = tl.minimum(lo + CHUNK, S)
        base = n.to(tl.int64) * S * C
        for s0 in range(lo, hi, BLOCK_S):
            ss = s0 + tl.arange(0, BLOCK_S)
            m = (ss < hi)[:, None] & cmask[None, :]
            offs = base + ss[:, None].to(tl.int64) * C + cs[None, :]
            x = tl.load(X + offs, mask=m, other=0.0).to(tl.float32)
            if ADD:
                x += tl.load(T + n * stn + (ss // HW)[:, None] * stf + cs[None, :] * stc, mask=m,
                             other=0.0).to(tl.float32)
            y = x * scale[None, :] + shift[None, :]
            if SILU:
                y = y * tl.sigmoid(y)
            tl.store(Y + offs, y.to(Y.dtype.element_ty), mask=m)

    @triton.jit
    def _layer_norm_kernel(X, R, S_OUT, Y, W, B, M, C, R_DIV, eps, ADD: tl.constexpr, ROWS: tl.constexpr,
                           BLOCK_C: tl.constexpr):
        """Program r: LayerNorm of rows [r*ROWS, (r+1)*ROWS) of the contiguous ``[M, C]`` input; with ADD, of
        ``s = x + r`` (rounded to the output dtype, as the separate add would store it), ``s`` also stored;
        row ``i`` of ``x`` takes row ``i // R_DIV`` of ``r`` (1: same shape; else a residual broadcast over
        ``R_DIV`` consecutive rows)."""
        rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
        cs = tl.arange(0, BLOCK_C)
        cmask = cs < C
        m = (rows < M)[:, None] & cmask[None, :]
        offs = rows[:, None] * C + cs[None, :]
        x = tl.load(X + offs, mask=m, other=0.0)
        if ADD:
            r_offs = (rows // R_DIV)[:, None] * C + cs[None, :]
            x = (x.to(tl.float32) + tl.load(R + r_offs, mask=m, other=0.0).to(tl.float32)).to(S_OUT.dtype.element_ty)
            tl.store(S_OUT + offs, x, mask=m)
        x = x.to(tl.float32)
        mean = tl.sum(x, axis=1) / C
        d = tl.where(m, x - mean[:, None], 0.0)
        rstd = 1.0 / tl.sqrt(tl.sum(d * d, axis=1) / C + eps)
        w = tl.load(W + cs, mask=cmask, other=0.0).to(tl.float32)
        b = tl.load(B + cs, mask=cmask, other=0.0).to(tl.float32)
        y = d * rstd[:, None] * w[None, :] + b[None, :]
        tl.store(Y + offs, y.to(Y.dtype.element_ty), mask=m)


def _add_broadcast(x: Tensor, add: Tensor) -> Tensor:
    """``add`` ([N, C], or [N, D, C] for 5-D ``x``) broadcast to ``x [N, C, ...]``, as the res blocks add it."""
    if add.dim() == 2:
        return add.reshape(*add.shape, *([1] * (x.dim() - 2)))
    return add.permute(0, 2, 1)[..., None, None]


def group_norm_nhwc(x: Tensor, weight: Tensor, bias: Tensor, groups: int, eps: float, silu: bool = False,
                    add: Tensor | None = None) -> Tensor:
    """GroupNorm (and SiLU when ``silu``) of ``x [N, C, H, W]`` / ``[N, C, D, H, W]`` stored channels-last;
    with ``add`` (``[N, C]``, or ``[N, D, C]`` for a 5-D ``x``: a per-frame embedding), of ``x + add``
    broadcast over the positions (the res blocks' time-embedding add, fused). Falls back to PyTorch's
    operators for inputs the kernel does not take."""
    N, C = x.shape[:2]
    shapes = [(N, C)] + ([(N, x.shape[2], C)] if x.dim() == 5 else [])
    if add is not None and tuple(add.shape) not in shapes:
        raise ValueError(f"add must be [N, C] (or [N, D, C] for 5-D input), got {tuple(add.shape)} for "
                         f"{tuple(x.shape)}")
    if not (triton is not None and x.is_cuda and x.dtype in FLOATS and channels_last_dense(x)
            and weight is not None and bias is not None and C % groups == 0):
        if add is not None:
            x = x + _add_broadcast(x, add)
        y = F.group_norm(x, groups, weight, bias, eps)
        return F.silu(y) if silu else y
    return _group_norm_triton(x, weight, bias, groups, eps, silu, add, GN_LAUNCH)


@dataclasses.dataclass(frozen=True)
class GroupNormLaunch:
    """Launch shape of the GroupNorm kernels: channel block (at most ``max_block_c``), positions per loop step
    (``tile // block_c``), about ``target_programs`` programs (positions cut into chunks), warps per program
    of the statistics and the normalising kernels. ``benchmarks/bench_group_norm.py`` compares choices."""

    max_block_c: int = 64  # 64 rather than 256: 3.96 -> 2.40 ms of GroupNorm per 4D call (H200)
    tile: int = 4096
    target_programs: int = _TARGET_PROGRAMS
    partial_warps: int = 4
    apply_warps: int = 4


GN_LAUNCH = GroupNormLaunch()


def _group_norm_triton(x: Tensor, weight: Tensor, bias: Tensor, groups: int, eps: float, silu: bool,
                       add: Tensor | None, launch: GroupNormLaunch) -> Tensor:
    """:func:`group_norm_nhwc` on the kernels (inputs already checked)."""
    N, C = x.shape[:2]
    S = x.numel() // (N * C)
    if add is None:
        t, stn, stf, stc, hw = x, 0, 0, 0, S  # unused (ADD off)
    elif add.dim() == 2:
        t, (stn, stc), stf, hw = add, add.stride(), 0, S
    else:
        t, (stn, stf, stc), hw = add, add.stride(), S // x.shape[2]
    cpg = C // groups
    y = torch.empty_like(x)  # keeps the channels-last strides
    block_c = min(triton.next_power_of_2(C), launch.max_block_c)
    block_s = max(1, launch.tile // block_c)
    cblocks = triton.cdiv(C, block_c)
    # positions cut into chunks so that there are about a GPU's worth of programs even for 2 volumes
    split = max(1, min(triton.cdiv(launch.target_programs, N * cblocks), triton.cdiv(S, block_s)))
    chunk = triton.cdiv(S, split)
    split = triton.cdiv(S, chunk)
    pmean = torch.empty(N * split * C, dtype=torch.float32, device=x.device)
    pm2 = torch.empty_like(pmean)
    mean = torch.empty(N * groups, dtype=torch.float32, device=x.device)
    rstd = torch.empty_like(mean)
    grid = (N * split, cblocks)
    _gn_partial_kernel[grid](x, t, pmean, pm2, S, C, split, chunk, hw, stn, stf, stc, ADD=add is not None,
                             BLOCK_S=block_s, BLOCK_C=block_c, num_warps=launch.partial_warps)
    _gn_merge_kernel[(N * groups,)](pmean, pm2, mean, rstd, S, C, cpg, groups, split, chunk, float(eps),
                                    BLOCK_K=min(64, max(triton.next_power_of_2(split), 2)),
                                    BLOCK_CPG=max(triton.next_power_of_2(cpg), 2))
    _gn_apply_kernel[grid](x, t, y, weight, bias, mean, rstd, S, C, cpg, groups, split, chunk, hw, stn, stf, stc,
                           ADD=add is not None, SILU=bool(silu), BLOCK_S=block_s, BLOCK_C=block_c,
                           num_warps=launch.apply_warps)
    return y


def _layer_norm_kernel_ok(x: Tensor, weight: Tensor | None, bias: Tensor | None) -> bool:
    return (triton is not None and x.is_cuda and x.dtype in FLOATS and x.is_contiguous() and weight is not None
            and bias is not None and x.shape[-1] <= 8192 and x.numel() > 0)


def _launch_layer_norm(x: Tensor, residual: Tensor | None, weight: Tensor, bias: Tensor, eps: float,
                       residual_rows_every: int = 1):
    C = x.shape[-1]
    y = torch.empty_like(x)
    s = torch.empty_like(x) if residual is not None else y
    M = x.numel() // C
    block_c = triton.next_power_of_2(C)
    rows = max(1, min(64, 4096 // block_c))
    _layer_norm_kernel[(triton.cdiv(M, rows),)](x, residual if residual is not None else x, s, y, weight, bias, M, C,
                                                int(residual_rows_every), float(eps), ADD=residual is not None,
                                                ROWS=rows, BLOCK_C=block_c, num_warps=4 if block_c <= 1024 else 8)
    return s, y


def layer_norm_rows(x: Tensor, weight: Tensor | None, bias: Tensor | None, eps: float) -> Tensor:
    """LayerNorm over the last dimension of ``x [..., C]``; Triton (several rows per program) for contiguous
    CUDA inputs with an affine transform, PyTorch's ``layer_norm`` otherwise."""
    if weight is None or bias is None or not _layer_norm_kernel_ok(x, weight, bias):
        return F.layer_norm(x, (x.shape[-1],), weight, bias, eps)
    return _launch_layer_norm(x, None, weight, bias, eps)[1]


def add_layer_norm(x: Tensor, residual: Tensor, norm: nn.LayerNorm) -> tuple[Tensor, Tensor]:
    """``s = x + residual`` and ``norm(s)`` in one pass (the transformer blocks' residual add and the
    LayerNorm after it); ``residual`` of ``x``'s shape, or ``[N, 1, C]`` for ``x [N, S, C]`` (broadcast over
    the ``S`` positions: the temporal blocks' frame embedding). PyTorch's add and ``norm`` where the kernel does
    not apply."""
    every = 1
    if x.dim() == 3 and residual.shape == (x.shape[0], 1, x.shape[2]):
        every = x.shape[1]
    if not (isinstance(norm, LayerNormRows) and len(norm.normalized_shape) == 1
            and (residual.shape == x.shape or every > 1) and residual.dtype == x.dtype and residual.is_contiguous()
            and _layer_norm_kernel_ok(x, norm.weight, norm.bias)):
        s = x + residual
        return s, norm(s)
    return _launch_layer_norm(x, residual, norm.weight, norm.bias, norm.eps, every)


class GroupNormNHWC(nn.GroupNorm):
    """``nn.GroupNorm`` that runs :func:`group_norm_nhwc` (``fused_silu``: with the SiLU after it; ``add``:
    of ``x + add`` broadcast over positions)."""

    fused_silu: bool = False

    def forward(self, x: Tensor, add: Tensor | None = None) -> Tensor:
        return group_norm_nhwc(x, self.weight, self.bias, self.num_groups, self.eps, silu=self.fused_silu, add=add)


class LayerNormRows(nn.LayerNorm):
    """``nn.LayerNorm`` (one normalised dimension) that runs :func:`layer_norm_rows`."""

    def forward(self, x: Tensor) -> Tensor:
        if len(self.normalized_shape) != 1:
            return super().forward(x)
        return layer_norm_rows(x, self.weight, self.bias, self.eps)
