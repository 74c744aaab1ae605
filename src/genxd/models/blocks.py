"""GenXD's multiview-temporal building blocks.

Every res block and transformer block has three paths applied **in cascade**:

1. a spatial path (per frame; diffusers' ``ResnetBlock2D`` / ``BasicTransformerBlock``),
2. a multiview path on the spatial output (3D conv across frames / joint attention over the tokens
   of all frames: ``TemporalResnetBlock`` / :class:`MultiviewTransformerBlock`),
3. a temporal path on the multiview output (``TemporalResnetBlock`` conditioned on the motion
   embedding / ``TemporalBasicTransformerBlock`` with a frame-index embedding).

:class:`MVTemporalBlender` mixes them: ``mv = a * spatial + (1 - a) * multiview`` with
``a = sigmoid(spatial_mv_factor)``; ``out = g * mv + (1 - g) * temporal`` where ``g`` is chosen by the
per-sample indicator: 0 (3D) -> 1, 1 (video) -> 0, 2 (4D) -> ``sigmoid(gamma)``.

Shapes: ``B`` batch, ``F`` frames, activations enter blocks flattened as ``[B*F, C, H, W]``; the
indicator is ``[B]`` (long). Key names match the authors' released checkpoint.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from diffusers.models.attention import BasicTransformerBlock, TemporalBasicTransformerBlock
from diffusers.models.embeddings import TimestepEmbedding, Timesteps
from diffusers.models.resnet import Downsample2D, ResnetBlock2D, TemporalResnetBlock, Upsample2D
from torch import Tensor, nn

from .activations import use_split_geglu

MODE_3D, MODE_VIDEO, MODE_4D = 0, 1, 2


def _is_channels_last(x: Tensor) -> bool:
    """``[N, C, H, W]`` stored as ``[N, H, W, C]`` (and not also plain contiguous, as when C or H*W is 1)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def _image_format(x: Tensor) -> torch.memory_format:
    return torch.channels_last if _is_channels_last(x) else torch.contiguous_format


def _frames_format(x: Tensor) -> torch.memory_format:
    """Memory format for ``[B, C, F, H, W]`` made from frames ``x [B*F, C, H, W]``: channels_last_3d
    when the frames are channels-last (the fast path's ``channels_last``), else contiguous."""
    return torch.channels_last_3d if _is_channels_last(x) else torch.contiguous_format


def mode_weights(indicator: Tensor, gamma: Tensor, dtype: torch.dtype) -> Tensor:
    """``[B]`` weight of the multiview branch against the temporal one for each sample's mode
    (``indicator [B]``): 1 (3D), 0 (video), ``sigmoid(gamma)`` (4D; ``gamma`` a 1-element parameter)."""
    learned = torch.sigmoid(gamma.to(dtype))
    ones = torch.ones_like(learned)
    g = torch.where(indicator == MODE_4D, learned, torch.zeros_like(learned))
    g = torch.where(indicator == MODE_3D, ones, g)
    return g.to(dtype)


class MVTemporalBlender(nn.Module):
    """Blends spatial, multiview and temporal features (learned factors, switched by indicator).

    Parameters (the released names): ``spatial_mv_factor`` (init 0.5 -> a = sigmoid(0.5)) and
    ``gamma`` (init 5 -> sigmoid(5) ~ 0.99, i.e. multiview-dominated 4D at initialisation).
    Unlike the authors' blender, the mixing weights are computed in the activations' dtype, so a
    bfloat16 model computes in bfloat16.
    """

    def __init__(self, alpha_spatial_mv: float = 0.5, gamma: float = 5.0) -> None:
        super().__init__()
        self.spatial_mv_factor = nn.Parameter(torch.tensor([float(alpha_spatial_mv)]))
        self.gamma = nn.Parameter(torch.tensor([float(gamma)]))

    def gamma_per_sample(self, indicator: Tensor, dtype: torch.dtype) -> Tensor:
        """``[B]`` mixing weight of the multiview branch: 1 (3D), 0 (video), sigmoid(gamma) (4D)."""
        return mode_weights(indicator, self.gamma, dtype)

    def multiview_mix(self, x_spatial: Tensor, x_multiview: Tensor) -> Tensor:
        """``a * spatial + (1 - a) * multiview``: the whole output when every sample is 3D."""
        a = torch.sigmoid(self.spatial_mv_factor.to(x_spatial.dtype))
        return a * x_spatial + (1.0 - a) * x_multiview

    def forward(self, x_spatial: Tensor, x_multiview: Tensor, x_temporal: Tensor, gamma: Tensor) -> Tensor:
        """``gamma`` is broadcastable to the inputs (already expanded per sample/frame)."""
        x_mv = self.multiview_mix(x_spatial, x_multiview)
        return gamma * x_mv + (1.0 - gamma) * x_temporal

    def blend_by_mode(self, x_spatial: Tensor, x_multiview: Tensor, x_temporal: Tensor, indicator: Tensor) -> Tensor:
        """:meth:`forward` with the weight of each sample from its mode (``indicator [B]``); the inputs' first
        dimension is ``B`` or ``B*F`` (sample-major)."""
        gamma = self.gamma_per_sample(indicator, x_spatial.dtype)
        if x_spatial.shape[0] != gamma.shape[0]:  # one weight per frame
            gamma = gamma.repeat_interleave(x_spatial.shape[0] // gamma.shape[0])
        return self(x_spatial, x_multiview, x_temporal, gamma.reshape(-1, *([1] * (x_spatial.dim() - 1))))


class MVCascadeTemporalResBlock(nn.Module):
    """Res block: spatial ResnetBlock2D -> multiview 3D-conv block -> temporal 3D-conv block.

    ``temb`` is ``[B*F, T]`` or, with a motion embedding, ``[B*F, 2T]`` = [time | motion]: the
    spatial and multiview paths use the time part, the temporal path the motion part.
    """

    def __init__(self, in_channels: int, out_channels: int | None, temb_channels: int, eps: float = 1e-6) -> None:
        super().__init__()
        out_channels = out_channels or in_channels
        self.temb_channels = temb_channels
        self.spatial_res_block = ResnetBlock2D(
            in_channels=in_channels, out_channels=out_channels, temb_channels=temb_channels, eps=eps
        )
        self.temporal_res_block = TemporalResnetBlock(out_channels, out_channels, temb_channels, eps=eps)
        self.mv_res_block = TemporalResnetBlock(out_channels, out_channels, temb_channels, eps=eps)
        self.time_mixer = MVTemporalBlender(alpha_spatial_mv=0.5, gamma=5.0)

    def forward(self, hidden_states: Tensor, temb: Tensor | None, indicator: Tensor, num_frames: int,
                skip_temporal: bool = False) -> Tensor:
        """``skip_temporal``: every sample is 3D (blend weight of the temporal path exactly 0), so the
        temporal path is not computed; the output is the same (``1 * mv + 0 * temporal == mv``)."""
        batch_frames = hidden_states.shape[0]
        batch = batch_frames // num_frames
        motion_emb = None
        if temb is not None and temb.shape[-1] > self.temb_channels:
            temb, motion_emb = temb.chunk(2, dim=-1)
        h = self.spatial_res_block(hidden_states, temb)
        _, c, height, width = h.shape
        # dense (compiled group norms need it; values are the authors' strided view's), in the memory order
        # of the input: channels-last frames [B*F, H, W, C] become channels_last_3d [B, F, H, W, C] for free
        h_spatial = h.reshape(batch, num_frames, c, height, width).permute(0, 2, 1, 3, 4)  # B C F H W
        h_spatial = h_spatial.contiguous(memory_format=_frames_format(h))
        temb_bf = temb.reshape(batch, num_frames, -1) if temb is not None else None
        h_mv = self.mv_res_block(h_spatial, temb_bf)
        if skip_temporal:
            out = self.time_mixer.multiview_mix(h_spatial, h_mv)
        else:
            temporal_emb = motion_emb.reshape(batch, num_frames, -1) if motion_emb is not None else temb_bf
            h_temporal = self.temporal_res_block(h_mv, temporal_emb)
            out = self.time_mixer.blend_by_mode(h_spatial, h_mv, h_temporal, indicator)
        return out.permute(0, 2, 1, 3, 4).reshape(batch_frames, c, height, width)


class MultiviewTransformerBlock(TemporalBasicTransformerBlock):
    """Joint attention over the tokens of all frames of a sample (3D attention).

    Same parameters as diffusers' ``TemporalBasicTransformerBlock`` (so it initialises from the
    temporal weights, as the paper does); the sequence is the ``F*HW`` tokens of one sample instead
    of the ``F`` tokens of one pixel. Input/output ``[B*F, HW, C]``.
    """

    def forward(self, hidden_states: Tensor, num_frames: int, encoder_hidden_states: Tensor | None = None) -> Tensor:
        if self.attn2 is not None:
            raise NotImplementedError("cross-attention in the multiview block is not supported (released config has none)")
        batch_frames, seq_length, channels = hidden_states.shape
        batch = batch_frames // num_frames
        h = hidden_states.reshape(batch, num_frames * seq_length, channels)
        residual = h
        h = self.ff_in(self.norm_in(h))
        if self.is_res:
            h = h + residual
        h = self.attn1(self.norm1(h)) + h
        ff = self.ff(self.norm3(h))
        h = ff + h if self.is_res else ff
        return h.reshape(batch_frames, seq_length, channels)


class TransformerMVCascadeTemporalModel(nn.Module):
    """Transformer with spatial -> multiview -> temporal paths (one of each per layer).

    Input/output ``[B*F, C, H, W]``; the temporal path gets a sinusoidal frame-index embedding
    (``time_pos_embed``) added to its input.
    """

    def __init__(self, num_attention_heads: int, attention_head_dim: int, in_channels: int, num_layers: int = 1) -> None:
        super().__init__()
        inner_dim = num_attention_heads * attention_head_dim
        self.norm = nn.GroupNorm(num_groups=32, num_channels=in_channels, eps=1e-6)
        self.proj_in = nn.Linear(in_channels, inner_dim)
        self.transformer_blocks = nn.ModuleList(
            [BasicTransformerBlock(inner_dim, num_attention_heads, attention_head_dim) for _ in range(num_layers)]
        )
        self.temporal_transformer_blocks = nn.ModuleList(
            [
                TemporalBasicTransformerBlock(inner_dim, inner_dim, num_attention_heads, attention_head_dim)
                for _ in range(num_layers)
            ]
        )
        self.multiview_transformer_blocks = nn.ModuleList(
            [MultiviewTransformerBlock(inner_dim, inner_dim, num_attention_heads, attention_head_dim) for _ in range(num_layers)]
        )
        self.time_pos_embed = TimestepEmbedding(in_channels, in_channels * 4, out_dim=in_channels)
        self.time_proj = Timesteps(in_channels, True, 0)
        self.time_mixer = MVTemporalBlender(alpha_spatial_mv=0.5, gamma=5.0)
        self.proj_out = nn.Linear(inner_dim, in_channels)
        use_split_geglu(self)  # dense GEGLU halves on the CPU (genxd.models.activations)

    def frame_sinusoids(self, num_frames: int, batch: int, dtype: torch.dtype, device: torch.device) -> Tensor:
        """``[B*F, C]`` sinusoidal code of each frame's index (0..F-1, for each of the ``batch`` samples); no
        weights."""
        frame_index = torch.arange(num_frames, device=device).repeat(batch)
        return self.time_proj(frame_index).to(dtype)

    def frame_embedding(self, num_frames: int, batch: int, dtype: torch.dtype, device: torch.device) -> Tensor:
        """``[B*F, C]`` learned embedding of each frame's index."""
        return self.time_pos_embed(self.frame_sinusoids(num_frames, batch, dtype, device))

    def run_temporal_block(self, block: nn.Module, hidden_states: Tensor, frame_emb: Tensor, num_frames: int) -> Tensor:
        """The temporal path of one layer: ``block(hidden_states + frame_emb)`` (``frame_emb [B*F, 1, C]``
        broadcast over the positions; the GPU fast path adds it inside the block's first LayerNorm)."""
        return block(hidden_states + frame_emb, num_frames=num_frames)

    def forward(self, hidden_states: Tensor, indicator: Tensor, num_frames: int, skip_temporal: bool = False) -> Tensor:
        """``skip_temporal``: every sample is 3D, the temporal path (weight exactly 0) is not computed."""
        batch_frames, _, height, width = hidden_states.shape
        batch = batch_frames // num_frames
        residual = hidden_states
        h = self.norm(hidden_states)
        inner_dim = h.shape[1]
        h = h.permute(0, 2, 3, 1).reshape(batch_frames, height * width, inner_dim)
        h = self.proj_in(h)

        if not skip_temporal:
            frame_emb = self.frame_embedding(num_frames, batch, h.dtype, h.device)[:, None, :]  # B*F 1 C

        for block, temporal_block, mv_block in zip(
            self.transformer_blocks, self.temporal_transformer_blocks, self.multiview_transformer_blocks
        ):
            h = block(h)
            h_mv = mv_block(h, num_frames=num_frames)
            if skip_temporal:
                h = self.time_mixer.multiview_mix(h, h_mv)
            else:
                h_temporal = self.run_temporal_block(temporal_block, h_mv, frame_emb, num_frames)
                h = self.time_mixer.blend_by_mode(h, h_mv, h_temporal, indicator)

        h = self.proj_out(h)
        h = h.reshape(batch_frames, height, width, inner_dim).permute(0, 3, 1, 2)
        h = h.contiguous(memory_format=_image_format(residual))  # the input's memory order (free when channels-last)
        return h + residual


class _CheckpointMixin:
    """Gradient checkpointing per sub-module (diffusers sets ``gradient_checkpointing`` and
    ``_gradient_checkpointing_func`` through ``ModelMixin.enable_gradient_checkpointing``)."""

    gradient_checkpointing: bool = False
    _gradient_checkpointing_func: Callable[..., Any]  # set by diffusers with gradient_checkpointing

    def _run(self, module: nn.Module, *args):
        if self.gradient_checkpointing and torch.is_grad_enabled():
            return self._gradient_checkpointing_func(module, *args)
        return module(*args)


class DownBlockMVCascadeTemporal(_CheckpointMixin, nn.Module):
    """Down block of res blocks only (the lowest resolution level)."""

    has_cross_attention = False

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, num_layers: int = 2,
                 add_downsample: bool = True, resnet_eps: float = 1e-5, **_: object) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            [
                MVCascadeTemporalResBlock(in_channels if i == 0 else out_channels, out_channels, temb_channels, eps=resnet_eps)
                for i in range(num_layers)
            ]
        )
        self.downsamplers = (
            nn.ModuleList([Downsample2D(out_channels, use_conv=True, out_channels=out_channels, padding=1, name="op")])
            if add_downsample
            else None
        )
        self.gradient_checkpointing = False

    def forward(self, hidden_states: Tensor, temb: Tensor, indicator: Tensor, num_frames: int,
                skip_temporal: bool = False) -> tuple[Tensor, tuple[Tensor, ...]]:
        outputs: tuple[Tensor, ...] = ()
        for resnet in self.resnets:
            hidden_states = self._run(resnet, hidden_states, temb, indicator, num_frames, skip_temporal)
            outputs += (hidden_states,)
        if self.downsamplers is not None:
            for down in self.downsamplers:
                hidden_states = down(hidden_states)
            outputs += (hidden_states,)
        return hidden_states, outputs


class CrossAttnDownBlockMVCascadeTemporal(DownBlockMVCascadeTemporal):
    """Down block of (res block, transformer) pairs. The name follows the released config; the model
    has no cross-attention (``cross_attention_dim`` is None)."""

    has_cross_attention = True

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, num_layers: int = 2,
                 transformer_layers_per_block: int = 1, num_attention_heads: int = 1,
                 add_downsample: bool = True, resnet_eps: float = 1e-6, **_: object) -> None:
        super().__init__(in_channels, out_channels, temb_channels, num_layers, add_downsample, resnet_eps)
        self.attentions = nn.ModuleList(
            [
                TransformerMVCascadeTemporalModel(
                    num_attention_heads, out_channels // num_attention_heads, out_channels, transformer_layers_per_block
                )
                for _ in range(num_layers)
            ]
        )

    def forward(self, hidden_states: Tensor, temb: Tensor, indicator: Tensor, num_frames: int,
                skip_temporal: bool = False) -> tuple[Tensor, tuple[Tensor, ...]]:
        outputs: tuple[Tensor, ...] = ()
        for resnet, attn in zip(self.resnets, self.attentions):
            hidden_states = self._run(resnet, hidden_states, temb, indicator, num_frames, skip_temporal)
            hidden_states = self._run(attn, hidden_states, indicator, num_frames, skip_temporal)
            outputs += (hidden_states,)
        if self.downsamplers is not None:
            for down in self.downsamplers:
                hidden_states = down(hidden_states)
            outputs += (hidden_states,)
        return hidden_states, outputs


class UpBlockMVCascadeTemporal(_CheckpointMixin, nn.Module):
    """Up block of res blocks only, taking the skip connections of the matching down block."""

    has_cross_attention = False

    def __init__(self, in_channels: int, prev_output_channel: int, out_channels: int, temb_channels: int,
                 num_layers: int = 3, add_upsample: bool = True, resnet_eps: float = 1e-6, **_: object) -> None:
        super().__init__()
        resnets = []
        for i in range(num_layers):
            skip = in_channels if i == num_layers - 1 else out_channels
            res_in = prev_output_channel if i == 0 else out_channels
            resnets.append(MVCascadeTemporalResBlock(res_in + skip, out_channels, temb_channels, eps=resnet_eps))
        self.resnets = nn.ModuleList(resnets)
        self.upsamplers = (
            nn.ModuleList([Upsample2D(out_channels, use_conv=True, out_channels=out_channels)]) if add_upsample else None
        )
        self.gradient_checkpointing = False

    def _upsample(self, hidden_states: Tensor) -> Tensor:
        if self.upsamplers is not None:
            for up in self.upsamplers:
                hidden_states = up(hidden_states)
        return hidden_states

    def forward(self, hidden_states: Tensor, res_hidden_states: tuple[Tensor, ...], temb: Tensor,
                indicator: Tensor, num_frames: int, skip_temporal: bool = False) -> Tensor:
        for resnet in self.resnets:
            hidden_states = torch.cat([hidden_states, res_hidden_states[-1]], dim=1)
            res_hidden_states = res_hidden_states[:-1]
            hidden_states = self._run(resnet, hidden_states, temb, indicator, num_frames, skip_temporal)
        return self._upsample(hidden_states)


class CrossAttnUpBlockMVCascadeTemporal(UpBlockMVCascadeTemporal):
    """Up block of (res block, transformer) pairs (no cross-attention, see the down block)."""

    has_cross_attention = True

    def __init__(self, in_channels: int, prev_output_channel: int, out_channels: int, temb_channels: int,
                 num_layers: int = 3, transformer_layers_per_block: int = 1, num_attention_heads: int = 1,
                 add_upsample: bool = True, resnet_eps: float = 1e-6, **_: object) -> None:
        super().__init__(in_channels, prev_output_channel, out_channels, temb_channels, num_layers, add_upsample, resnet_eps)
        self.attentions = nn.ModuleList(
            [
                TransformerMVCascadeTemporalModel(
                    num_attention_heads, out_channels // num_attention_heads, out_channels, transformer_layers_per_block
                )
                for _ in range(num_layers)
            ]
        )

    def forward(self, hidden_states: Tensor, res_hidden_states: tuple[Tensor, ...], temb: Tensor,
                indicator: Tensor, num_frames: int, skip_temporal: bool = False) -> Tensor:
        for resnet, attn in zip(self.resnets, self.attentions):
            hidden_states = torch.cat([hidden_states, res_hidden_states[-1]], dim=1)
            res_hidden_states = res_hidden_states[:-1]
            hidden_states = self._run(resnet, hidden_states, temb, indicator, num_frames, skip_temporal)
            hidden_states = self._run(attn, hidden_states, indicator, num_frames, skip_temporal)
        return self._upsample(hidden_states)


class UNetMidBlockMVCascadeTemporal(_CheckpointMixin, nn.Module):
    """Mid block: res block, then (transformer, res block) pairs."""

    def __init__(self, in_channels: int, temb_channels: int, num_layers: int = 1,
                 transformer_layers_per_block: int = 1, num_attention_heads: int = 1) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            [MVCascadeTemporalResBlock(in_channels, in_channels, temb_channels, eps=1e-5) for _ in range(num_layers + 1)]
        )
        self.attentions = nn.ModuleList(
            [
                TransformerMVCascadeTemporalModel(
                    num_attention_heads, in_channels // num_attention_heads, in_channels, transformer_layers_per_block
                )
                for _ in range(num_layers)
            ]
        )
        self.gradient_checkpointing = False

    def forward(self, hidden_states: Tensor, temb: Tensor, indicator: Tensor, num_frames: int,
                skip_temporal: bool = False) -> Tensor:
        hidden_states = self._run(self.resnets[0], hidden_states, temb, indicator, num_frames, skip_temporal)
        for attn, resnet in zip(self.attentions, self.resnets[1:]):
            hidden_states = self._run(attn, hidden_states, indicator, num_frames, skip_temporal)
            hidden_states = self._run(resnet, hidden_states, temb, indicator, num_frames, skip_temporal)
        return hidden_states


DOWN_BLOCKS = {
    "DownBlockMVCascadeTemporal": DownBlockMVCascadeTemporal,
    "CrossAttnDownBlockMVCascadeTemporal": CrossAttnDownBlockMVCascadeTemporal,
}
UP_BLOCKS = {
    "UpBlockMVCascadeTemporal": UpBlockMVCascadeTemporal,
    "CrossAttnUpBlockMVCascadeTemporal": CrossAttnUpBlockMVCascadeTemporal,
}
