"""Fused kernels for the eager fast path (issue 26): what they are and how a UNet is switched to them.

Inductor fuses normalisations, activations and elementwise work when the blocks are compiled; these give
the eager (default) path the same fusions with no ``torch.compile`` warm-up (Triton compiles each kernel
once per shape class, about a second, and caches it on disk):

- :mod:`genxd.pipelines.fused_norms`: channels-last GroupNorm (+ SiLU, + the time-embedding add) and
  LayerNorm;
- :func:`geglu` here ``(proj [..., 2D])`` -> ``[..., D]``: ``proj[..., :D] * gelu(proj[..., D:])`` (erf GELU,
  diffusers' ``GEGLU`` order) in one pass instead of a chunk, a GELU and a product;
- :mod:`genxd.pipelines.fused_temporal`: attention over frames without regrouping copies, the three-path
  blend in one pass;
- :func:`add_bias_channels_last` here ``(x, h, bias [C])`` -> ``x + h + bias``: the res blocks' residual add
  with the biases of their last convolutions. PyTorch adds a convolution's bias after cuDNN's kernel in a
  pass of its own, with its strided (not vectorised) kernel since the bias is broadcast: 140-170 such passes
  per UNet call, 1.0 (3D) / 1.4 (4D) ms on an H200. The switched res blocks run their convolutions without
  bias and fold ``conv1``'s bias into the GroupNorm's time-embedding add and ``conv2``'s (and the
  shortcut's) into the residual add.

:func:`install_fused_kernels` switches a UNet to all of them in place (same parameters and state dict);
inputs the kernels do not take (not CUDA, not channels-last, not 16/32-bit float) fall back to PyTorch's
operators, so the switched model is correct everywhere (and bitwise the same off CUDA).
"""

from __future__ import annotations

import dataclasses
import types
import weakref
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fused_norms import FLOATS as _FLOATS
from .fused_norms import (GroupNormNHWC, LayerNormRows, add_layer_norm, channels_last_dense, group_norm_nhwc,
                          layer_norm_rows, tl, triton, triton_available)

__all__ = ["triton_available", "group_norm_nhwc", "layer_norm_rows", "geglu", "add_bias_channels_last",
           "install_fused_kernels",
           "GroupNormNHWC", "LayerNormRows"]


if triton is not None:

    @triton.jit
    def _geglu_kernel(P, O, M, D, ROWS: tl.constexpr, BLOCK: tl.constexpr):
        """Program (r, j): rows [r*ROWS, (r+1)*ROWS), columns [j*BLOCK, (j+1)*BLOCK) of the output (BLOCK
        divides D, so every load is a dense run of a row)."""
        rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
        cols = tl.program_id(1) * BLOCK + tl.arange(0, BLOCK)
        m = (rows < M)[:, None] & (cols < D)[None, :]
        src = rows[:, None] * 2 * D + cols[None, :]
        h = tl.load(P + src, mask=m, other=0.0).to(tl.float32)
        gate = tl.load(P + src + D, mask=m, other=0.0).to(tl.float32)
        y = h * (0.5 * gate * (1.0 + tl.erf(gate * 0.7071067811865476)))
        tl.store(O + rows[:, None] * D + cols[None, :], y.to(O.dtype.element_ty), mask=m)


    @triton.jit
    def _add_bias_kernel(X, H, BIAS, O, M, C, ROWS: tl.constexpr, BLOCK_C: tl.constexpr):
        """Program (r, j): rows [r*ROWS, (r+1)*ROWS), channels [j*BLOCK_C, ...) of ``x + h + bias`` in
        float32, one rounding."""
        rows = tl.program_id(0).to(tl.int64) * ROWS + tl.arange(0, ROWS)
        cs = tl.program_id(1) * BLOCK_C + tl.arange(0, BLOCK_C)
        cmask = cs < C
        m = (rows < M)[:, None] & cmask[None, :]
        offs = rows[:, None] * C + cs[None, :]
        y = tl.load(X + offs, mask=m, other=0.0).to(tl.float32) + tl.load(H + offs, mask=m, other=0.0).to(tl.float32)
        y += tl.load(BIAS + cs, mask=cmask, other=0.0).to(tl.float32)[None, :]
        tl.store(O + offs, y.to(O.dtype.element_ty), mask=m)


def add_bias_channels_last(x: Tensor, h: Tensor, bias: Tensor) -> Tensor:
    """``x + h + bias`` for ``x``, ``h`` ``[N, C, *S]`` of one dtype, stored channels-last (4-D) or
    channels_last_3d (5-D), and ``bias [C]`` (broadcast over the positions); the output keeps the layout.
    Triton on CUDA (one pass, float32 sum, one rounding); PyTorch's ``x + h + bias`` elsewhere."""
    C = x.shape[1]
    if not (triton is not None and x.is_cuda and x.dtype in _FLOATS and h.dtype == x.dtype and h.shape == x.shape
            and h.stride() == x.stride() and channels_last_dense(x) and bias.shape == (C,) and x.numel() > 0):
        return x + h + bias.reshape(C, *([1] * (x.dim() - 2)))
    out = torch.empty_like(x)
    M = x.numel() // C
    block_c = min(triton.next_power_of_2(C), 512)
    rows = max(1, 4096 // block_c)
    _add_bias_kernel[(triton.cdiv(M, rows), triton.cdiv(C, block_c))](x, h, bias, out, M, C, ROWS=rows,
                                                                     BLOCK_C=block_c)
    return out


@dataclasses.dataclass(frozen=True)
class GegluLaunch:
    """Launch shape of the GEGLU kernel: column block (the largest power of two dividing ``D``, at most
    ``max_block``), about ``elements`` output elements per program (rows = elements // block), warps per
    program. ``benchmarks/bench_geglu.py`` compares choices."""

    max_block: int = 1024
    elements: int = 2048
    warps: int = 4


GEGLU_LAUNCH = GegluLaunch()


def geglu(proj: Tensor, launch: GegluLaunch | None = None) -> Tensor:
    """``proj[..., :D] * gelu(proj[..., D:])`` for ``proj [..., 2D]`` (diffusers' GEGLU after its projection)."""
    D = proj.shape[-1] // 2
    if not (triton is not None and proj.is_cuda and proj.dtype in _FLOATS and proj.is_contiguous()
            and proj.shape[-1] == 2 * D and proj.numel() > 0):
        h, gate = proj.chunk(2, dim=-1)
        return h * F.gelu(gate)
    out = torch.empty(*proj.shape[:-1], D, dtype=proj.dtype, device=proj.device)
    M = proj.numel() // (2 * D)
    launch = launch or GEGLU_LAUNCH
    block = min(launch.max_block, D & -D)  # the largest power of two dividing D: no masked tail per row
    if block < 16:
        block = min(launch.max_block, triton.next_power_of_2(D))
    rows = max(1, launch.elements // block)
    _geglu_kernel[(triton.cdiv(M, rows), triton.cdiv(D, block))](proj, out, M, D, ROWS=rows, BLOCK=block,
                                                                  num_warps=launch.warps)
    return out


def _fold_conv_biases(x: Tensor) -> bool:
    """Whether the res blocks run their convolutions without bias and add the biases inside the fused
    kernels: where those kernels run (CUDA, Triton, channels-last); elsewhere diffusers' arithmetic, bit for bit."""
    return triton is not None and x.is_cuda and channels_last_dense(x)


def _conv(conv: Any, x: Tensor, with_bias: bool) -> Tensor:  # an nn.Conv2d / nn.Conv3d of a res block
    return conv(x) if with_bias else conv._conv_forward(x, conv.weight, None)


def _version(t: Tensor) -> int | None:
    try:
        return t._version
    except RuntimeError:  # an inference tensor keeps no version counter
        return None


def _bias_sum(owner: nn.Module, name: str, a: Tensor | None, b: Tensor | None) -> Tensor | None:
    """``a + b`` (either may be ``None``): the sum :class:`FoldedBiases` made for this call under ``name`` on
    ``owner`` when there is one on the biases' device and dtype, the sum made here otherwise (offloaded weights
    are on the CPU when the UNet call starts and on the GPU when the block runs)."""
    if a is None or b is None:
        return b if a is None else a
    folded = owner.__dict__.get("_genxd_folded_biases")
    if folded is not None and folded.ready(a.device, a.dtype):
        kept = owner.__dict__.get(name)
        if kept is not None:
            return kept
    return a + b


class FoldedBiases:
    """The pairs of biases the switched res blocks add in one place (``time_emb_proj`` + ``conv1``; ``conv2`` +
    ``conv_shortcut``), all summed by one multi-tensor kernel (``torch._foreach_add``) at the first block of
    each UNet call that asks for one, and kept on the blocks for the rest of the call. The UNet's forward
    pre-hook (:meth:`mark_stale`) only sets a flag, so a call costs no Python loop over the blocks; a CUDA-graph
    capture (which runs the forward without the hook after its eager warm-up) makes the sums inside the graph,
    so every replay makes them again from the current weights (loaded or changed in place at their addresses).
    Summing in every block cost a small kernel per res block (about 0.5 ms of a 4D call on an H200); checking
    the ~280 biases for changes before every call cost 0.4-0.7 ms of host time. The same per-call state keeps the
    res blocks' SiLU of the time embedding (:meth:`silu`)."""

    PAIRS = (("_genxd_norm2_bias", "time_emb_proj", "conv1"), ("_genxd_residual_bias", "conv2", "conv_shortcut"))

    def __init__(self, blocks: Sequence[Any], motion_blocks: set[int] | frozenset[int] = frozenset()) -> None:
        # (blocks: diffusers' res blocks, whose submodules a Module's attributes type as Tensor | Module)
        self.entries = [(blk, name, first, second) for blk in blocks for name, first, second in self.PAIRS
                        if getattr(getattr(blk, first, None), "bias", None) is not None
                        and getattr(getattr(blk, second, None), "bias", None) is not None]
        for blk in {id(e[0]): e[0] for e in self.entries}.values():
            blk.__dict__["_genxd_folded_biases"] = self
        self.stale, self.made_capturing = True, False
        self.made_for: tuple[torch.device, torch.dtype] | None = None
        self._silu: dict[tuple, tuple] = {}
        # time-embedding projections made for a whole group in one GEMM (:meth:`projection`): the blocks whose
        # embedding projection has its conv1 bias folded, grouped by the embedding they take (``motion_blocks``:
        # ids of the temporal paths' blocks, which take the motion part) and its width
        folds_norm2 = {id(blk) for blk, name, _, _ in self.entries if name == "_genxd_norm2_bias"}
        groups: dict[tuple, list[Any]] = {}
        for blk in blocks:
            if id(blk) in folds_norm2:
                groups.setdefault((id(blk) in motion_blocks, blk.time_emb_proj.in_features), []).append(blk)
        self.groups = [g for g in groups.values() if len(g) > 1]
        for index, group in enumerate(self.groups):
            offset = 0
            for blk in group:
                width = blk.time_emb_proj.out_features
                blk.__dict__["_genxd_projection_slot"] = (index, offset, width)
                offset += width
        self._group_params: dict[int, tuple[Tensor, Tensor]] = {}
        self._projections: dict[tuple, tuple] = {}

    def mark_stale(self, *_: object) -> None:
        """The UNet's forward pre-hook: the next block that folds makes the sums again (and the SiLUs and the
        grouped projections)."""
        self.stale = True
        self._silu.clear()
        self._projections.clear()

    def _kept(self, cache: dict, t: Tensor, extra: tuple = ()) -> tuple[tuple, Any]:
        """``(key, value)`` of what ``cache`` keeps for ``t`` (None when nothing valid): for the same source
        tensor (a weak reference to it, not its address: a new embedding may land where a freed one was, and a
        CUDA-graph capture runs without the pre-hook that clears the caches) unchanged since (its version
        counter), viewed the same way."""
        base = t._base if t._base is not None else t
        key = (*extra, id(base), t.storage_offset(), tuple(t.shape), tuple(t.stride()), t.dtype)
        kept = cache.get(key)
        if kept is not None and kept[0]() is base and kept[1] == _version(base):
            return key, kept[2]
        return key, None

    @staticmethod
    def _keep(cache: dict, key: tuple, t: Tensor, value: object) -> None:
        base = t._base if t._base is not None else t
        cache[key] = (weakref.ref(base), _version(base), value)

    def projection(self, blk: Any, temb: Tensor) -> Tensor | None:
        """``time_emb_proj(silu(temb)) + conv1.bias`` of ``blk`` (``[N, C]`` or ``[B, F, C]``, a view), made
        with every block of its group in one GEMM over the concatenated weights (remade each call, like the
        bias sums, so weights loaded in place are read) and kept for the call: one GEMM instead of one per
        block (83 small GEMMs in a 4D call of the released UNet, 0.41 ms on an H200, at a tenth of the
        memory bandwidth). None when ``blk`` is in no group or the sums are not kept (offloaded weights)."""
        slot = blk.__dict__.get("_genxd_projection_slot")
        proj = blk.time_emb_proj
        if slot is None or not self.ready(proj.weight.device, proj.weight.dtype):
            return None
        index, offset, width = slot
        rows = temb.reshape(-1, temb.shape[-1])  # [N, T]: the multiview blocks' [B, F, T] view shares the GEMM
        key, out = self._kept(self._projections, rows, (index,))
        if out is None:
            params = self._group_params.get(index)
            if params is None:  # made once per call (cleared with the sums)
                group = self.groups[index]
                params = (torch.cat([b.time_emb_proj.weight for b in group]),
                          torch.cat([b.__dict__["_genxd_norm2_bias"] for b in group]))
                self._group_params[index] = params
            out = F.linear(self.silu(rows), *params)
            self._keep(self._projections, key, rows, out)
        return out[:, offset:offset + width].reshape(*temb.shape[:-1], width)

    def silu(self, t: Tensor) -> Tensor:
        """``silu(t)``, made once for every view of the same time embedding: the res blocks of a call all take
        views of the UNet's one embedding (66 SiLUs of it in a 4D call of the released UNet: 0.24 ms on an H200);
        kept as :meth:`_kept` says."""
        key, out = self._kept(self._silu, t)
        if out is None:
            out = F.silu(t)
            self._keep(self._silu, key, t, out)
        return out

    def ready(self, device: torch.device, dtype: torch.dtype) -> bool:
        """Whether this call's sums are kept for biases on ``device`` in ``dtype`` (made now when stale; not
        kept when the biases are on several devices or dtypes, as with weights offloaded block by block)."""
        capturing = device.type == "cuda" and torch.cuda.is_current_stream_capturing()
        if self.stale or capturing != self.made_capturing:  # a CUDA-graph capture makes its own (replayed) sums
            self.stale, self.made_capturing = False, capturing
            sources = [(getattr(blk, first).bias, getattr(blk, second).bias) for blk, _, first, second in self.entries]
            kind = (sources[0][0].device, sources[0][0].dtype) if sources else None
            if kind is not None and all((t.device, t.dtype) == kind for pair in sources for t in pair):
                sums = torch._foreach_add([a for a, _ in sources], [b for _, b in sources])
                for (blk, name, _, _), total in zip(self.entries, sums):
                    blk.__dict__[name] = total
                self.made_for = kind
            else:
                self.made_for = None
            self._group_params.clear()  # the group projections' weights and their results follow the sums
            self._projections.clear()
        return self.made_for == (device, dtype)


def _norm2_add(self, temb: Tensor | None, h: Tensor, fold: bool) -> Tensor | None:
    """What ``norm2`` adds before normalising: the projected time embedding (``[N, C]`` or ``[B, F, C]``),
    with ``conv1``'s bias folded into the projection's bias when ``fold`` (the bias alone, ``[N, C]``,
    when there is no embedding)."""
    conv_bias = self.conv1.bias if fold else None
    if self.time_emb_proj is None or temb is None:
        return None if conv_bias is None else conv_bias.expand(h.shape[0], -1)
    proj = self.time_emb_proj
    folded = self.__dict__.get("_genxd_folded_biases") if fold and type(self.nonlinearity) is nn.SiLU else None
    if folded is not None and (out := folded.projection(self, temb)) is not None:
        return out
    act = folded.silu(temb) if folded is not None else self.nonlinearity(temb)
    return F.linear(act, proj.weight, _bias_sum(self, "_genxd_norm2_bias", proj.bias, conv_bias))


def _residual(self, x: Tensor, h: Tensor, fold: bool) -> Tensor:
    """``x + h`` with ``conv2``'s and the shortcut's biases (when folded) added in the same pass."""
    if not fold:
        return x + h
    shortcut = getattr(self, "conv_shortcut", None)
    bias = _bias_sum(self, "_genxd_residual_bias", self.conv2.bias, None if shortcut is None else shortcut.bias)
    return x + h if bias is None else add_bias_channels_last(x, h, bias)


def _resnet2d_forward(self, input_tensor: Tensor, temb: Tensor | None, *args, **kwargs) -> Tensor:
    """diffusers ``ResnetBlock2D.forward`` for the configuration of the GenXD UNet (default time-embedding
    norm, no up/downsampling), with the SiLUs after the norms and the time-embedding add fused into them,
    and (on the kernels' inputs, :func:`_fold_conv_biases`) the convolutions' biases folded into the norm's add
    and the residual add."""
    fold = _fold_conv_biases(input_tensor) and self.output_scale_factor == 1.0
    h = _conv(self.conv1, self.norm1(input_tensor), not fold)  # GroupNorm + SiLU, convolution
    if self.time_emb_proj is None and temb is not None:
        h = h + temb
    h = _conv(self.conv2, self.dropout(self.norm2(h, add=_norm2_add(self, temb, h, fold))), not fold)  # (+ temb)
    x = _conv(self.conv_shortcut, input_tensor, not fold) if self.conv_shortcut is not None else input_tensor
    if self.output_scale_factor == 1.0:
        return _residual(self, x, h, fold)
    return (x + h) / self.output_scale_factor


def _temporal_resnet_forward(self, input_tensor: Tensor, temb: Tensor | None) -> Tensor:
    """diffusers ``TemporalResnetBlock.forward`` with the SiLUs after the norms and the per-frame
    embedding add (``temb [B, F, T]`` -> ``[B, F, C]``) fused into them (and the biases folded as in
    :func:`_resnet2d_forward`)."""
    fold = _fold_conv_biases(input_tensor)
    h = _conv(self.conv1, self.norm1(input_tensor), not fold)
    h = _conv(self.conv2, self.dropout(self.norm2(h, add=_norm2_add(self, temb, h, fold))), not fold)
    x = _conv(self.conv_shortcut, input_tensor, not fold) if self.conv_shortcut is not None else input_tensor
    return _residual(self, x, h, fold)


def _spatial_block_forward(self, hidden_states: Tensor, attention_mask: Tensor | None = None,
                           encoder_hidden_states: Tensor | None = None, *args, **kwargs) -> Tensor:
    """diffusers ``BasicTransformerBlock.forward`` for the GenXD spatial blocks (LayerNorms, self-attention
    only, GEGLU feed-forward) with the residual add before ``norm3`` fused into it; other calls go to
    diffusers' forward."""
    extra = args or any(v is not None for v in kwargs.values())
    if attention_mask is not None or encoder_hidden_states is not None or extra:
        return type(self).forward(self, hidden_states, attention_mask, encoder_hidden_states, *args, **kwargs)
    h = hidden_states
    h, n3 = add_layer_norm(self.attn1(self.norm1(h)), h, self.norm3)
    return self.ff(n3) + h


def _multiview_block_forward(self, hidden_states: Tensor, num_frames: int,
                             encoder_hidden_states: Tensor | None = None) -> Tensor:
    """:class:`~genxd.models.blocks.MultiviewTransformerBlock.forward` with the residual adds before ``norm1``
    and ``norm3`` fused into them."""
    if encoder_hidden_states is not None:
        return type(self).forward(self, hidden_states, num_frames, encoder_hidden_states)
    batch_frames, seq_length, channels = hidden_states.shape
    x = hidden_states.reshape(batch_frames // num_frames, num_frames * seq_length, channels)
    h = self.ff_in(self.norm_in(x))
    h, n1 = add_layer_norm(h, x, self.norm1) if self.is_res else (h, self.norm1(h))
    h, n3 = add_layer_norm(self.attn1(n1), h, self.norm3)
    ff = self.ff(n3)
    h = ff + h if self.is_res else ff
    return h.reshape(batch_frames, seq_length, channels)


def _fusable_spatial_block(block: nn.Module) -> bool:
    from diffusers.models.attention import BasicTransformerBlock

    return (type(block) is BasicTransformerBlock and block.norm_type == "layer_norm" and block.attn2 is None
            and block.pos_embed is None and not block.only_cross_attention and block._chunk_size is None
            and not hasattr(block, "fuser"))


def _geglu_forward(self, hidden_states: Tensor, *args, **kwargs) -> Tensor:
    if not hidden_states.is_cuda:  # the module's own arithmetic (genxd's SplitGEGLU on the CPU), bit for bit
        return type(self).forward(self, hidden_states, *args, **kwargs)
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
    in the res blocks whose configuration allows it), its LayerNorms to :class:`LayerNormRows`, diffusers'
    ``GEGLU`` to :func:`geglu`, and the temporal transformer blocks and blenders to
    :mod:`genxd.pipelines.fused_temporal`'s kernels, in place; parameters, state dict and results (up to float
    rounding) unchanged. Idempotent. Returns the counts switched."""
    from diffusers.models.activations import GEGLU
    from diffusers.models.resnet import ResnetBlock2D

    from ..models.blocks import MultiviewTransformerBlock

    counts = {"group_norms": 0, "layer_norms": 0, "res_blocks": 0, "spatial_blocks": 0, "multiview_blocks": 0,
              "geglus": 0}
    res_blocks = []
    m: Any  # diffusers' blocks: their submodules and patched methods are set and read by name
    for m in unet.modules():
        if _fusable_resnet(m) and not getattr(m, "_genxd_fused", False):
            res_blocks.append(m)
            for norm in (m.norm1, m.norm2):
                norm.fused_silu = True  # read by GroupNormNHWC, switched below with the other norms
            fwd = _resnet2d_forward if type(m) is ResnetBlock2D else _temporal_resnet_forward
            m.forward = types.MethodType(fwd, m)
            m._genxd_fused = True
            counts["res_blocks"] += 1
        elif _fusable_spatial_block(m) and not getattr(m, "_genxd_fused", False):
            m.forward = types.MethodType(_spatial_block_forward, m)
            m._genxd_fused = True
            counts["spatial_blocks"] += 1
        elif type(m) is MultiviewTransformerBlock and m.attn2 is None and not getattr(m, "_genxd_fused", False):
            m.forward = types.MethodType(_multiview_block_forward, m)
            m._genxd_fused = True
            counts["multiview_blocks"] += 1
        elif isinstance(m, GEGLU) and not getattr(m, "_genxd_fused", False):
            m.forward = types.MethodType(_geglu_forward, m)  # type: ignore[method-assign]  # this instance only
            m._genxd_fused = True  # type: ignore[assignment]  # a plain flag (torch types module attributes Tensor | Module)
            counts["geglus"] += 1
    if res_blocks:  # the folded biases' sums, made once per call by the first block that folds
        motion = {id(m.temporal_res_block) for m in unet.modules() if isinstance(getattr(m, "temporal_res_block", None), nn.Module)}
        unet.register_forward_pre_hook(FoldedBiases(res_blocks, motion).mark_stale)
    from .fused_temporal import install_fused_temporal

    counts.update(install_fused_temporal(unet))
    for m in unet.modules():
        if type(m) is nn.GroupNorm:  # the res blocks' (SiLU fused) and the others (transformer inputs, output)
            m.__class__ = GroupNormNHWC
            counts["group_norms"] += 1
        elif type(m) is nn.LayerNorm:  # the transformer blocks'
            m.__class__ = LayerNormRows
            counts["layer_norms"] += 1
    return counts
