"""Fused kernels for the eager fast path (issue 26): what they are and how a UNet is switched to them.

Inductor fuses normalisations, activations and elementwise work when the blocks are compiled; these give
the eager (default) path the same fusions with no ``torch.compile`` warm-up (Triton compiles each kernel
once per shape class, about a second, and caches it on disk):

- :mod:`genxd.pipelines.fused_norms`: channels-last GroupNorm (+ SiLU, + the time-embedding add) and
  LayerNorm;
- :func:`geglu` here ``(proj [..., 2D])`` -> ``[..., D]``: ``proj[..., :D] * gelu(proj[..., D:])`` (erf GELU,
  diffusers' ``GEGLU`` order) in one pass instead of a chunk, a GELU and a product;
- :mod:`genxd.pipelines.fused_temporal`: attention over frames without regrouping copies, the three-path
  blend in one pass.

:func:`install_fused_kernels` switches a UNet to all of them in place (same parameters and state dict);
inputs the kernels do not take (not CUDA, not channels-last, not 16/32-bit float) fall back to PyTorch's
operators, so the switched model is correct everywhere (and bitwise the same off CUDA).
"""

from __future__ import annotations

import types

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .fused_norms import FLOATS as _FLOATS
from .fused_norms import (GroupNormNHWC, LayerNormRows, add_layer_norm, group_norm_nhwc, layer_norm_rows, tl, triton,
                          triton_available)

__all__ = ["triton_available", "group_norm_nhwc", "layer_norm_rows", "geglu", "install_fused_kernels",
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


def geglu(proj: Tensor) -> Tensor:
    """``proj[..., :D] * gelu(proj[..., D:])`` for ``proj [..., 2D]`` (diffusers' GEGLU after its projection)."""
    D = proj.shape[-1] // 2
    if not (triton is not None and proj.is_cuda and proj.dtype in _FLOATS and proj.is_contiguous()
            and proj.shape[-1] == 2 * D and proj.numel() > 0):
        h, gate = proj.chunk(2, dim=-1)
        return h * F.gelu(gate)
    out = torch.empty(*proj.shape[:-1], D, dtype=proj.dtype, device=proj.device)
    M = proj.numel() // (2 * D)
    block = min(1024, D & -D)  # the largest power of two dividing D: no masked tail per row
    if block < 16:
        block = min(1024, triton.next_power_of_2(D))
    rows = max(1, 2048 // block)
    _geglu_kernel[(triton.cdiv(M, rows), triton.cdiv(D, block))](proj, out, M, D, ROWS=rows, BLOCK=block)
    return out


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
    for m in unet.modules():
        if _fusable_resnet(m) and not getattr(m, "_genxd_fused", False):
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
        elif type(m) is nn.LayerNorm:  # the transformer blocks'
            m.__class__ = LayerNormRows
            counts["layer_norms"] += 1
    return counts
