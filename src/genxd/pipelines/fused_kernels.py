"""Triton kernels for the eager fast path (issue 26): channels-last GroupNorm (+ SiLU) and GEGLU.

Why: on CUDA, PyTorch's ``group_norm`` makes a channels-last input contiguous (NCHW) and returns NCHW, so
every GroupNorm of the channels-last UNet costs two layout copies (in, and back for the next NHWC
convolution) besides its statistics, normalisation and the SiLU after it: in the default (not compiled)
3D call that was 5.6 ms of copies and 5.4 ms of normalisation and activation out of 38 ms. Inductor fuses
these when the blocks are compiled; these kernels give the eager path the same fusion with no
``torch.compile`` warm-up (Triton compiles each kernel once per shape class, about a second, and caches it
on disk).

- :func:`group_norm_nhwc` ``(x [N, C, *S] channels-last, weight [C], bias [C], groups, eps, silu)`` -> the
  same shape and memory format: one program per (sample, group) reads its ``prod(S) * C/groups`` values
  three times (mean, variance about the mean, normalise), in float32;
- :func:`geglu` ``(proj [..., 2D])`` -> ``[..., D]``: ``proj[..., :D] * gelu(proj[..., D:])`` (erf GELU,
  diffusers' ``GEGLU`` order) in one pass instead of a chunk, a GELU and a product.

:func:`install_fused_kernels` switches a UNet's GroupNorms, res blocks and GEGLUs to them in place (same
parameters and state dict); inputs the kernels do not take (not CUDA, not channels-last, not 16/32-bit
float) fall back to PyTorch's operators, so the switched model is correct everywhere.
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from torch import Tensor, nn

try:  # Triton ships with the CUDA builds of PyTorch; the CPU build has none
    import triton
    import triton.language as tl
except ImportError:  # pragma: no cover - depends on the install
    triton = None
    tl = None

__all__ = ["triton_available", "group_norm_nhwc", "geglu", "install_fused_kernels", "GroupNormNHWC"]


def triton_available() -> bool:
    """True when Triton imports and a CUDA device is present (what the kernels need)."""
    return triton is not None and torch.cuda.is_available()


if triton is not None:

    @triton.jit
    def _group_norm_stats_kernel(X, T, MEAN, M2, S, C, CPG, G, SPLIT, CHUNK, HW, stn, stf, stc,
                                 ADD: tl.constexpr, BLOCK_S: tl.constexpr, BLOCK_C: tl.constexpr):
        """Program (n*G + g, k): mean and sum of squared deviations about it of chunk k of group g of
        sample n (of ``x + t`` when ``ADD``: ``t[n, s // HW, c]`` by strides)."""
        pid = tl.program_id(0)
        k = tl.program_id(1)
        n = pid // G
        g = pid % G
        base = n.to(tl.int64) * S * C + g * CPG
        cs = tl.arange(0, BLOCK_C)
        cmask = cs < CPG
        lo = k * CHUNK
        hi = tl.minimum(lo + CHUNK, S)
        acc = tl.zeros([BLOCK_S, BLOCK_C], dtype=tl.float32)
        for s0 in range(lo, hi, BLOCK_S):
            ss = s0 + tl.arange(0, BLOCK_S)
            m = (ss < hi)[:, None] & cmask[None, :]
            x = tl.load(X + base + ss[:, None].to(tl.int64) * C + cs[None, :], mask=m, other=0.0).to(tl.float32)
            if ADD:
                t_offs = n * stn + (ss // HW)[:, None] * stf + (g * CPG + cs)[None, :] * stc
                x += tl.load(T + t_offs, mask=m, other=0.0).to(tl.float32)
            acc += x
        count = tl.maximum(hi - lo, 0) * CPG
        mean = tl.sum(tl.sum(acc, axis=1), axis=0) / tl.maximum(count, 1)
        acc = tl.zeros([BLOCK_S, BLOCK_C], dtype=tl.float32)
        for s0 in range(lo, hi, BLOCK_S):
            ss = s0 + tl.arange(0, BLOCK_S)
            m = (ss < hi)[:, None] & cmask[None, :]
            x = tl.load(X + base + ss[:, None].to(tl.int64) * C + cs[None, :], mask=m, other=0.0).to(tl.float32)
            if ADD:
                t_offs = n * stn + (ss // HW)[:, None] * stf + (g * CPG + cs)[None, :] * stc
                x += tl.load(T + t_offs, mask=m, other=0.0).to(tl.float32)
            d = tl.where(m, x - mean, 0.0)
            acc += d * d
        tl.store(MEAN + pid * SPLIT + k, mean)
        tl.store(M2 + pid * SPLIT + k, tl.sum(tl.sum(acc, axis=1), axis=0))

    @triton.jit
    def _group_norm_apply_kernel(X, T, Y, W, B, MEAN, M2, S, C, CPG, G, SPLIT, CHUNK, HW, stn, stf, stc, eps,
                                 ADD: tl.constexpr, SILU: tl.constexpr, BLOCK_S: tl.constexpr,
                                 BLOCK_C: tl.constexpr, BLOCK_K: tl.constexpr):
        """Program (n*G + g, k): merge the group's chunk statistics exactly (Chan et al.'s pairwise
        formula), normalise chunk k (and apply SiLU when ``SILU``)."""
        pid = tl.program_id(0)
        k = tl.program_id(1)
        n = pid // G
        g = pid % G
        ks = tl.arange(0, BLOCK_K)
        kmask = ks < SPLIT
        counts = (tl.minimum((ks + 1) * CHUNK, S) - ks * CHUNK).to(tl.float32) * CPG
        counts = tl.where(kmask & (counts > 0), counts, 0.0)
        means = tl.load(MEAN + pid * SPLIT + ks, mask=kmask, other=0.0)
        m2s = tl.load(M2 + pid * SPLIT + ks, mask=kmask, other=0.0)
        total = tl.sum(counts, axis=0)
        mean = tl.sum(counts * means, axis=0) / total
        dev = means - mean
        var = (tl.sum(m2s, axis=0) + tl.sum(counts * dev * dev, axis=0)) / total
        rstd = 1.0 / tl.sqrt(var + eps)
        cs = tl.arange(0, BLOCK_C)
        cmask = cs < CPG
        w = tl.load(W + g * CPG + cs, mask=cmask, other=0.0).to(tl.float32)
        b = tl.load(B + g * CPG + cs, mask=cmask, other=0.0).to(tl.float32)
        scale = w * rstd
        shift = b - mean * scale
        base = n.to(tl.int64) * S * C + g * CPG
        lo = k * CHUNK
        hi = tl.minimum(lo + CHUNK, S)
        for s0 in range(lo, hi, BLOCK_S):
            ss = s0 + tl.arange(0, BLOCK_S)
            m = (ss < hi)[:, None] & cmask[None, :]
            offs = base + ss[:, None].to(tl.int64) * C + cs[None, :]
            x = tl.load(X + offs, mask=m, other=0.0).to(tl.float32)
            if ADD:
                t_offs = n * stn + (ss // HW)[:, None] * stf + (g * CPG + cs)[None, :] * stc
                x += tl.load(T + t_offs, mask=m, other=0.0).to(tl.float32)
            y = x * scale[None, :] + shift[None, :]
            if SILU:
                y = y * tl.sigmoid(y)
            tl.store(Y + offs, y.to(Y.dtype.element_ty), mask=m)

    @triton.jit
    def _geglu_kernel(P, O, D, BLOCK: tl.constexpr):
        row = tl.program_id(0).to(tl.int64)
        cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        mask = cols < D
        h = tl.load(P + row * 2 * D + cols, mask=mask, other=0.0).to(tl.float32)
        gate = tl.load(P + row * 2 * D + D + cols, mask=mask, other=0.0).to(tl.float32)
        y = h * (0.5 * gate * (1.0 + tl.erf(gate * 0.7071067811865476)))
        tl.store(O + row * D + cols, y.to(O.dtype.element_ty), mask=mask)


_FLOATS = (torch.float16, torch.bfloat16, torch.float32)


def _channels_last_dense(x: Tensor) -> bool:
    fmt = {4: torch.channels_last, 5: torch.channels_last_3d}.get(x.dim())
    return fmt is not None and x.is_contiguous(memory_format=fmt)


def group_norm_nhwc(x: Tensor, weight: Tensor, bias: Tensor, groups: int, eps: float, silu: bool = False,
                    add: Tensor | None = None) -> Tensor:
    """GroupNorm (and SiLU when ``silu``) of ``x [N, C, H, W]`` / ``[N, C, D, H, W]`` stored channels-last;
    with ``add`` (``[N, C]``, or ``[N, D, C]`` for a 5-D ``x``: a per-frame embedding), of ``x + add``
    broadcast over the positions (the res blocks' time-embedding add, fused). Falls back to PyTorch's
    operators for inputs the kernel does not take."""
    N, C = x.shape[:2]
    if add is not None and not (tuple(add.shape) == (N, C) or (x.dim() == 5 and tuple(add.shape) == (N, x.shape[2], C))):
        raise ValueError(f"add must be [N, C] (or [N, D, C] for 5-D input), got {tuple(add.shape)} for {tuple(x.shape)}")
    if not (triton is not None and x.is_cuda and x.dtype in _FLOATS and _channels_last_dense(x)
            and weight is not None and bias is not None and C % groups == 0):
        if add is not None:
            x = x + (add[:, :, None, None] if add.dim() == 2 and x.dim() == 4 else
                     add[:, :, None, None, None] if add.dim() == 2 else add.permute(0, 2, 1)[..., None, None])
        y = F.group_norm(x, groups, weight, bias, eps)
        return F.silu(y) if silu else y
    S = x.numel() // (N * C)
    hw = S // x.shape[2] if (add is not None and add.dim() == 3) else S  # positions per add row
    if add is None:
        t, stn, stf, stc = x, 0, 0, 0  # unused (ADD off)
    elif add.dim() == 2:
        t, (stn, stc), stf = add, add.stride(), 0
    else:
        t, (stn, stf, stc) = add, add.stride()
    cpg = C // groups
    y = torch.empty_like(x)  # keeps the channels-last strides
    block_c = max(triton.next_power_of_2(cpg), 1)
    block_s = max(16, min(256, 4096 // block_c))
    # each group's positions cut into chunks so that there are >= ~2048 programs (a GPU's worth) even for
    # a batch of two volumes; the chunks' statistics are merged exactly
    split = max(1, min(triton.cdiv(2048, N * groups), triton.cdiv(S, block_s), 64))
    chunk = triton.cdiv(S, split)
    split = triton.cdiv(S, chunk)
    mean = torch.empty(N * groups * split, dtype=torch.float32, device=x.device)
    m2 = torch.empty_like(mean)
    grid = (N * groups, split)
    _group_norm_stats_kernel[grid](x, t, mean, m2, S, C, cpg, groups, split, chunk, hw, stn, stf, stc,
                                   ADD=add is not None, BLOCK_S=block_s, BLOCK_C=block_c)
    _group_norm_apply_kernel[grid](x, t, y, weight, bias, mean, m2, S, C, cpg, groups, split, chunk, hw, stn, stf,
                                   stc, float(eps), ADD=add is not None, SILU=bool(silu), BLOCK_S=block_s,
                                   BLOCK_C=block_c, BLOCK_K=max(triton.next_power_of_2(split), 2))
    return y


def geglu(proj: Tensor) -> Tensor:
    """``proj[..., :D] * gelu(proj[..., D:])`` for ``proj [..., 2D]`` (diffusers' GEGLU after its projection)."""
    D = proj.shape[-1] // 2
    if not (triton is not None and proj.is_cuda and proj.dtype in _FLOATS and proj.is_contiguous()
            and proj.shape[-1] == 2 * D):
        h, gate = proj.chunk(2, dim=-1)
        return h * F.gelu(gate)
    out = torch.empty(*proj.shape[:-1], D, dtype=proj.dtype, device=proj.device)
    M = proj.numel() // (2 * D)
    block = min(1024, triton.next_power_of_2(D))
    _geglu_kernel[(M, triton.cdiv(D, block))](proj, out, D, BLOCK=block)
    return out


class GroupNormNHWC(nn.GroupNorm):
    """``nn.GroupNorm`` that runs :func:`group_norm_nhwc` (``fused_silu``: with the SiLU after it; ``add``:
    of ``x + add`` broadcast over positions)."""

    fused_silu: bool = False

    def forward(self, x: Tensor, add: Tensor | None = None) -> Tensor:
        return group_norm_nhwc(x, self.weight, self.bias, self.num_groups, self.eps, silu=self.fused_silu, add=add)


def _resnet2d_forward(self, input_tensor: Tensor, temb: Tensor | None, *args, **kwargs) -> Tensor:
    """diffusers ``ResnetBlock2D.forward`` for the configuration of the GenXD UNet (default time-embedding
    norm, no up/downsampling), with the SiLUs after the norms and the time-embedding add fused into them."""
    h = self.conv1(self.norm1(input_tensor))  # GroupNorm + SiLU, convolution
    add = None
    if self.time_emb_proj is not None and temb is not None:
        add = self.time_emb_proj(self.nonlinearity(temb))  # [N, C], added inside the GroupNorm
    elif temb is not None:
        h = h + temb
    h = self.conv2(self.dropout(self.norm2(h, add=add)))  # (+ temb) GroupNorm + SiLU, convolution
    x = self.conv_shortcut(input_tensor) if self.conv_shortcut is not None else input_tensor
    return x + h if self.output_scale_factor == 1.0 else (x + h) / self.output_scale_factor


def _temporal_resnet_forward(self, input_tensor: Tensor, temb: Tensor | None) -> Tensor:
    """diffusers ``TemporalResnetBlock.forward`` with the SiLUs after the norms and the per-frame
    embedding add (``temb [B, F, T]``) fused into them."""
    h = self.conv1(self.norm1(input_tensor))
    add = self.time_emb_proj(self.nonlinearity(temb)) if self.time_emb_proj is not None else None  # [B, F, C]
    h = self.conv2(self.dropout(self.norm2(h, add=add)))
    x = self.conv_shortcut(input_tensor) if self.conv_shortcut is not None else input_tensor
    return x + h


def _geglu_forward(self, hidden_states: Tensor, *args, **kwargs) -> Tensor:
    return geglu(self.proj(hidden_states))


def _fusable_resnet(block: nn.Module) -> bool:
    from diffusers.models.resnet import ResnetBlock2D, TemporalResnetBlock

    if type(block) is TemporalResnetBlock:
        return isinstance(block.nonlinearity, nn.SiLU)
    if type(block) is ResnetBlock2D:
        return (isinstance(block.nonlinearity, nn.SiLU) and block.upsample is None and block.downsample is None
                and block.time_embedding_norm == "default" and not block.skip_time_act)
    return False


def install_fused_kernels(unet: nn.Module) -> dict[str, int]:
    """Switch ``unet``'s GroupNorms to :class:`GroupNormNHWC` (with the SiLU and the time-embedding add fused
    in the res blocks whose configuration allows it), diffusers' ``GEGLU`` to :func:`geglu`, and the temporal
    transformer blocks and blenders to :mod:`genxd.pipelines.fused_temporal`'s kernels, in place;
    parameters, state dict and results (up to float rounding) unchanged. Idempotent. Returns the counts switched."""
    from diffusers.models.activations import GEGLU
    from diffusers.models.resnet import ResnetBlock2D

    counts = {"group_norms": 0, "res_blocks": 0, "geglus": 0}
    for m in unet.modules():
        if _fusable_resnet(m) and not getattr(m, "_genxd_fused", False):
            for norm in (m.norm1, m.norm2):
                norm.fused_silu = True  # read by GroupNormNHWC, switched below with the other norms
            fwd = _resnet2d_forward if type(m) is ResnetBlock2D else _temporal_resnet_forward
            m.forward = types.MethodType(fwd, m)
            m._genxd_fused = True
            counts["res_blocks"] += 1
        elif type(m) is GEGLU and not getattr(m, "_genxd_fused", False):
            m.forward = types.MethodType(_geglu_forward, m)
            m._genxd_fused = True
            counts["geglus"] += 1
    from .fused_temporal import install_fused_temporal

    counts.update(install_fused_temporal(unet))
    for m in unet.modules():
        if type(m) is nn.GroupNorm:  # the res blocks' (SiLU fused) and the others (transformer inputs, output)
            m.__class__ = GroupNormNHWC
            counts["group_norms"] += 1
    return counts
