"""Model offload for small GPUs: which weights sit on the GPU while sampling.

``offload`` of :func:`enable_offload`:

- ``"none"``: UNet and VAE stay on the device (fastest);
- ``"model"``: one model at a time on the device: the VAE while encoding and decoding, the UNet while
  denoising; the other waits in host memory. The host copy is made once and kept (pinned on CUDA), so
  moving a model out is free and moving it in is one host-to-device copy (the UNet at the released size:
  3.6 GiB in bf16). Tensors that share storage (the fused q/k/v projections are views into one weight) keep
  sharing it. The UNet's CUDA graphs are captured again after each move (a graph reads weights by address);
- ``"group"``: as ``"model"`` for the VAE, and the UNet itself streamed block by block during every call
  (diffusers' group offloading, ``offload_type="block_level"``, the next block's copy overlapped with the
  current one's compute on CUDA): only a few blocks are on the device at a time, at the cost of moving the
  whole UNet over PCIe once per call. CUDA-graph replay and fused q/k/v are turned off (weights move during a
  call).

The pipeline announces its phases (:meth:`ModelOffload.use`); without offload that is a no-op.
"""

from __future__ import annotations

import logging
from typing import Literal

import torch
from torch import nn

logger = logging.getLogger(__name__)

OffloadMode = Literal["none", "model", "group"]
OFFLOAD_MODES = ("none", "model", "group")


def _tensors(module: nn.Module):
    for m in module.modules():
        for name, t in list(m._parameters.items()) + list(m._buffers.items()):
            if t is not None:
                yield t


def _pinned(flat: torch.Tensor) -> torch.Tensor:
    if not torch.cuda.is_available() or flat.is_pinned():
        return flat
    try:
        return flat.pin_memory()
    except RuntimeError:  # pinning can fail (limits): pageable memory still works, only slower
        return flat


def move_storages(module: nn.Module, device: torch.device, host_copies: dict | None = None,
                  non_blocking: bool = False) -> None:
    """Move every parameter and buffer of ``module`` to ``device`` storage by storage, so that tensors that
    are views of one storage stay views of one storage (``module.to()`` would copy each view apart).

    ``host_copies``: a cache ``{key: host storage}`` kept between moves (inference weights do not change):
    moving to the host reuses it instead of copying back, moving from the host keeps (pins, on a CUDA machine)
    the host storage it copies from."""
    device = torch.device(device)
    groups: dict[tuple, list[torch.Tensor]] = {}
    for t in _tensors(module):
        st = t.untyped_storage()
        key = (st.data_ptr(), st.nbytes()) if st.nbytes() else ("empty", id(t))
        groups.setdefault(key, []).append(t)
    for tensors in groups.values():
        first = tensors[0]
        if first.device == device:
            continue
        copy_key = id(first)  # stable: the parameter objects live as long as the module
        flat = torch.empty(0, dtype=torch.uint8, device=first.device).set_(first.untyped_storage())  # its bytes
        if device.type == "cpu" and host_copies is not None and copy_key in host_copies:
            new = host_copies[copy_key]
        elif device.type == "cpu":
            new = _pinned(flat.to(device)).untyped_storage()
            if host_copies is not None:
                host_copies[copy_key] = new
        else:
            if first.device.type == "cpu" and host_copies is not None:
                flat = _pinned(flat)
                host_copies[copy_key] = flat.untyped_storage()
            new = flat.to(device, non_blocking=non_blocking).untyped_storage()
        for t in tensors:
            t.data = torch.empty(0, dtype=t.dtype, device=device).set_(new, t.storage_offset(), t.size(), t.stride())


class ModelOffload:
    """Keeps at most one of the pipeline's models on ``device`` (``mode="model"``/``"group"``).

    ``use(name)`` before a phase: ``"vae"`` (encode / decode) or ``"unet"`` (denoising). ``log`` records
    the moves (for tests and benchmarks)."""

    def __init__(self, pipe, mode: OffloadMode | str, device: torch.device,
                 offload_device: torch.device | str = "cpu") -> None:
        if mode not in OFFLOAD_MODES:
            raise ValueError(f"offload must be one of {', '.join(OFFLOAD_MODES)}; got {mode!r}")
        self.pipe, self.mode = pipe, mode
        self.device, self.offload_device = torch.device(device), torch.device(offload_device)
        self.host: dict[str, dict] = {"unet": {}, "vae": {}}
        self.current: str | None = None
        self.log: list[str] = []
        if mode == "group":
            self._group_offload_unet()

    def _group_offload_unet(self) -> None:
        from diffusers.hooks import apply_group_offloading

        from .fast import CUDAGraphForward

        CUDAGraphForward.remove(self.pipe.unet)
        use_stream = self.device.type == "cuda"
        apply_group_offloading(self.pipe.unet, onload_device=self.device, offload_device=self.offload_device,
                               offload_type="block_level", num_blocks_per_group=1, use_stream=use_stream)

    def _drop_graphs(self) -> None:
        from .fast import CUDAGraphForward

        runner = self.pipe.unet.__dict__.get("forward")
        if isinstance(runner, CUDAGraphForward):
            runner.reset()

    def use(self, name: str) -> None:
        if self.mode == "none" or name == self.current:
            return
        other = "unet" if name == "vae" else "vae"
        if other == "unet":
            self._drop_graphs()  # a captured graph keeps its activations' memory pool: free it for decoding
        if not (self.mode == "group" and other == "unet"):
            move_storages(getattr(self.pipe, other), self.offload_device, self.host[other])
        if not (self.mode == "group" and name == "unet"):
            move_storages(getattr(self.pipe, name), self.device, self.host[name], non_blocking=True)
        self.log.append(f"{name}->{self.device.type}")
        self.current = name


def enable_offload(pipe, mode: OffloadMode | str, device: str | torch.device | None = None) -> ModelOffload:
    """Offload the pipeline's models (see the module docstring); ``device``: where they compute (default: the
    pipeline's device, or CUDA if the pipeline is on the CPU and CUDA exists). Returns the controller, also
    kept as ``pipe.offload``. ``mode="none"`` undoes nothing already moved: call it on a fresh pipeline."""
    if device is None:
        device = pipe.unet.device if pipe.unet.device.type != "cpu" or not torch.cuda.is_available() else torch.device("cuda")
    if mode == "group":
        _unfuse_note(pipe)
    ctl = ModelOffload(pipe, mode, torch.device(device))
    pipe.offload = ctl
    if mode != "none":
        ctl.use("vae")  # the first phase (encoding); the UNet waits on the host
    return ctl


def _unfuse_note(pipe) -> None:
    fused = any(getattr(m, "fused_projections", False) for m in pipe.unet.modules())
    if fused:
        logger.warning("group offload with fused q/k/v projections: each fused weight and its views are moved "
                       "separately (more memory); build the fast path with fuse_qkv=False")
