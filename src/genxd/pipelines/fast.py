"""The GPU fast path: bfloat16, fused attention, batched guidance, ``torch.compile`` (+ CUDA graphs).

What the float32 eager path does (and the authors' code, numerically):
one guided UNet call runs both guidance branches as one batch of ``2B`` (already batched in
:class:`~genxd.pipelines.GenXDPipeline`), every attention through PyTorch's
``scaled_dot_product_attention`` (diffusers' ``AttnProcessor2_0``), float32 weights.

What :func:`enable_fast_path` adds (each switchable):

- ``dtype=torch.bfloat16`` UNet weights and activations (the model computes in the dtype of its
  weights; time/motion sinusoids are made in float32 and cast), bf16 flash attention kernels; the
  VAE's encoder stays float32 (``vae_dtype``: the context latents every step depends on) and its decoder
  runs in bfloat16 (``vae_decoder_dtype``: half the decoding memory, the largest part of a sample's peak at
  512x512; frames 60 dB PSNR from the float32 decoder's on the bundled model: benchmarks/bench_decoding.py);
- ``skip_zero_weight_paths``: in 3D mode the blend weight of the temporal path is exactly 0
  (``out = 1 * multiview + 0 * temporal``), so the temporal res blocks and transformers are not run
  (bitwise the same output; 8.9 instead of 11.6 TFLOP per guided call). The pipeline passes the mode as a
  Python int, so the UNet knows it on the host;
- ``channels_last``: convolution weights channels-last (2-D) / channels_last_3d (the multiview and temporal
  (3,1,1) convolutions), and the blocks keep activations in that order, so cuDNN's NHWC kernels run without
  converting their inputs (that conversion was 11% of the compiled call's kernel time);
- ``fuse_qkv``: one q/k/v projection per self-attention (views into one weight: no memory added);
- ``fused_kernels`` (when not compiling; needs Triton): Triton kernels for channels-last GroupNorm with the
  SiLU and time-embedding add around it (PyTorch's CUDA GroupNorm converts channels-last to NCHW and back,
  two copies each), LayerNorm with the residual add before it, GEGLU, attention over frames without
  regrouping copies and the three-path blend (:mod:`genxd.pipelines.fused_kernels`);
- ``compile=True``: ``torch.compile`` (inductor). ``compile_scope="blocks"`` (default) compiles the
  repeated res blocks and transformers one by one (one graph per block signature, shared by instances):
  about 1.5 minutes of warm-up per input shape on an H100 the first time, cached on disk
  (``TORCHINDUCTOR_CACHE_DIR``, default ``~/.cache/genxd/torchinductor``) so later processes take seconds;
  the CUDA-graph replay below covers the whole call. ``compile_scope="unet"`` compiles the whole UNet
  (``compile_mode="reduce-overhead"`` for inductor's own graphs; a warm-up of minutes; before the skip and
  channels-last it gave 45 ms per guided call at 256x256, not measured since). If compilation
  fails the UNet runs eagerly (dynamo falls back) with a warning;
- ``cuda_graph=True``: the UNet call is captured in a CUDA graph per input signature (shapes, dtypes,
  non-tensor arguments) and replayed (:class:`CUDAGraphForward`). The bf16 guided call of the released
  model is about a thousand kernels; eagerly the CPU cannot issue them as fast as the GPU runs them, the
  replay issues them at once. Capture takes a fraction of a second and the replayed output is bitwise the
  eager one.

Measured (docs/benchmarks.md), one guided call at 256x256: on an H200 float32 eager 260-263 ms, default fast
path with the Triton kernels 24.3 ms in 3D (10.7x) and 32.6 ms in 4D (8.0x); earlier on an H100 ``compile=True``
26.3-26.5 ms (10.2-10.3x).

On a machine without CUDA the function returns the pipeline unchanged (with a notice), so code can
call it unconditionally.
"""

from __future__ import annotations

import inspect
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn
from .fused_kernels import install_fused_kernels, triton_available

logger = logging.getLogger(__name__)


def compile_available() -> bool:
    """Whether ``torch.compile`` with inductor can run here (CUDA with Triton)."""
    if not torch.cuda.is_available():
        return False
    try:
        import triton  # noqa: F401
    except Exception:  # noqa: BLE001
        return False
    return hasattr(torch, "compile")


@contextmanager
def input_checks_skipped(module: nn.Module) -> Iterator[None]:
    """Skip the UNet's ``_check_inputs`` (it reads tensor values, a GPU synchronisation that a CUDA graph
    capture forbids); the caller has checked the real inputs already."""
    had = "_check_inputs" in module.__dict__
    previous = module.__dict__.get("_check_inputs")
    # instance attribute shadows the method (torch's Module.__setattr__ stub takes only tensors and modules)
    module._check_inputs = lambda *args, **kwargs: None  # type: ignore[assignment]
    try:
        yield
    finally:
        if had:
            module._check_inputs = previous  # type: ignore[assignment]  # (the same stub)
        else:
            del module._check_inputs


class CUDAGraphForward:
    """Replace ``module.forward`` by CUDA-graph replays, one graph per input signature.

    ``CUDAGraphForward.install(module)`` wraps the module's forward in place (``remove`` undoes it).
    A call runs the original forward eagerly (unchanged) when gradients are enabled, while compiling,
    inside another CUDA graph capture, or when any tensor argument is not on CUDA. Otherwise the arguments are bound to the forward's
    signature; the key is (name, shape, dtype, device) for tensors and the value for everything else
    (unhashable values fall back to eager). A new key is warmed up eagerly on a side stream and captured
    (inputs copied into static tensors owned by the graph); later calls copy the inputs in, replay and
    return clones of the static outputs. The module's own input checks run on the real inputs before every
    replay. At most ``max_graphs`` signatures are kept (least recently used dropped). Graphs are dropped
    when the module's parameters move (``.to()``), since a graph reads weights by address. The module's
    forward pre-hooks run once per call, before this wrapper: a call that captures runs the eager call, the
    warm-up and the capture after them without running them again (code that must run inside each capture
    checks ``torch.cuda.is_current_stream_capturing()``, as ``fused_kernels.FoldedBiases.ready`` does).
    """

    def __init__(self, module: nn.Module, forward: Callable[..., Any], max_graphs: int = 4, warmup: int = 2) -> None:
        self.module, self.forward, self.max_graphs, self.warmup = module, forward, int(max_graphs), int(warmup)
        self.signature = inspect.signature(forward)
        self.graphs: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self.captures = 0
        self._weights_key: tuple | None = None
        # a graph reads weights by address: watch three of them (first, middle, last) for moves or
        # replacement, by (owning module, name), so that a call costs no walk over all parameters
        named = [(owner, name) for owner in module.modules() for name in owner._parameters
                 if owner._parameters[name] is not None]
        self._probes = [named[0], named[len(named) // 2], named[-1]] if named else []

    @classmethod
    def install(cls, module: nn.Module, **kwargs: Any) -> "CUDAGraphForward":
        """Wrap ``module.forward`` (idempotent: an installed wrapper is returned as is)."""
        current = module.__dict__.get("forward")
        if isinstance(current, cls):
            return current
        runner = cls(module, module.forward, **kwargs)
        module.forward = runner
        return runner

    @classmethod
    def remove(cls, module: nn.Module) -> None:
        if isinstance(module.__dict__.get("forward"), cls):
            del module.forward

    def reset(self) -> None:
        """Drop every captured graph (and its memory)."""
        self.graphs.clear()

    def _weights_signature(self) -> tuple:
        params = [owner._parameters[name] for owner, name in self._probes]
        return tuple(None if p is None else (p.data_ptr(), p.dtype, p.device) for p in params)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if torch.is_grad_enabled() or torch.compiler.is_compiling() or (
            torch.cuda.is_available() and torch.cuda.is_current_stream_capturing()  # inside someone else's capture
        ):
            return self.forward(*args, **kwargs)
        try:
            bound = self.signature.bind(*args, **kwargs)
        except TypeError:
            return self.forward(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        tensors = {k: v for k, v in values.items() if torch.is_tensor(v)}
        if not tensors or any(t.device.type != "cuda" for t in tensors.values()):
            return self.forward(*args, **kwargs)
        key_parts: list[tuple] = []
        for name, value in values.items():
            if torch.is_tensor(value):
                key_parts.append((name, tuple(value.shape), value.dtype, str(value.device)))
            else:
                try:
                    hash(value)
                except TypeError:
                    return self.forward(*args, **kwargs)
                key_parts.append((name, value))
        key = tuple(key_parts)
        weights = self._weights_signature()
        if weights != self._weights_key:
            self.reset()
            self._weights_key = weights
        check = getattr(self.module, "_check_inputs", None)
        if key in self.graphs and check is not None:  # replays skip forward's own checks: run them here
            self._run_checks(values)
        entry = self.graphs.get(key)
        if entry is None:
            entry = self._capture(values)
            self.graphs[key] = entry
            while len(self.graphs) > self.max_graphs:
                self.graphs.popitem(last=False)
        self.graphs.move_to_end(key)
        for name, static in entry["inputs"].items():
            static.copy_(values[name])
        entry["graph"].replay()
        return _clone_outputs(entry["outputs"])

    def _run_checks(self, values: dict[str, Any]) -> None:
        """The module's forward-time validation on the real inputs (an eager forward that returns
        right after the checks would cost a whole call; the UNet exposes its checks directly)."""
        unet: Any = self.module  # the GenXD UNet's own methods (a Module's attributes type as Tensor | Module)
        sample, indicator = values.get("sample"), values.get("indicator")
        if sample is None or indicator is None or not hasattr(unet, "normalize_conditions"):
            return
        indicator, motion_ids = unet.normalize_conditions(sample, indicator, values.get("motion_ids"))
        unet._check_inputs(sample, values.get("added_time_ids"), indicator, motion_ids)

    def _capture(self, values: dict[str, Any]) -> dict[str, Any]:
        static = {k: v.clone() for k, v in values.items() if torch.is_tensor(v)}
        call_args = dict(values)
        call_args.update(static)
        device = next(iter(static.values())).device
        self.forward(**call_args)  # first call eagerly, with the module's checks (raises on bad input)
        stream = torch.cuda.Stream(device)
        stream.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(stream), input_checks_skipped(self.module):
            for _ in range(max(0, self.warmup - 1)):
                self.forward(**call_args)
        torch.cuda.current_stream(device).wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with input_checks_skipped(self.module), torch.cuda.graph(graph):
            outputs = self.forward(**call_args)
        self.captures += 1
        return {"graph": graph, "inputs": static, "outputs": outputs}


def _clone_outputs(value: Any) -> Any:
    if torch.is_tensor(value):
        return value.clone()
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return type(value)(*(_clone_outputs(v) for v in value))
    if isinstance(value, (tuple, list)):
        return type(value)(_clone_outputs(v) for v in value)
    if isinstance(value, dict):
        return type(value)({k: _clone_outputs(v) for k, v in value.items()})
    if hasattr(value, "to_tuple") and hasattr(value, "keys"):  # diffusers BaseOutput
        return type(value)(**{k: _clone_outputs(value[k]) for k in value.keys()})
    return value


def to_channels_last(module: nn.Module) -> int:
    """Store every 2-D convolution weight channels-last and every 3-D one channels_last_3d (``module.to(
    memory_format=torch.channels_last)`` refuses the 5-D weights). Convolutions then run on cuDNN's NHWC
    kernels without converting their inputs, and the blocks keep activations channels-last (frames
    ``[B*F, H, W, C]`` are the ``[B, F, H, W, C]`` volumes of the multiview/temporal convolutions as a
    view). Returns how many weights were converted."""
    n = 0
    formats: dict[type[nn.Module], torch.memory_format] = {nn.Conv2d: torch.channels_last,
                                                           nn.Conv3d: torch.channels_last_3d}
    for m in module.modules():
        fmt = formats.get(type(m))
        if fmt is not None and isinstance(m, (nn.Conv2d, nn.Conv3d)):  # (exactly these types)
            m.weight.data = m.weight.data.contiguous(memory_format=fmt)
            n += 1
    return n


def _unfused_state_dict(module: nn.Module, state: dict, prefix: str, local_metadata: Any) -> None:
    """State-dict hook of a fused attention: the released keys only (``to_qkv`` dropped), with ``to_q``,
    ``to_k``, ``to_v`` as their own tensors (safetensors refuses tensors that share memory)."""
    for key in [k for k in state if k.startswith(prefix + "to_qkv.")]:
        del state[key]
    for name in ("to_q", "to_k", "to_v"):
        for kind in ("weight", "bias"):
            key = f"{prefix}{name}.{kind}"
            if key in state:
                state[key] = state[key].clone()


def fuse_qkv_projections(unet: nn.Module) -> int:
    """One ``[3C, C]`` projection per self-attention instead of three ``[C, C]`` ones (one GEMM of thrice
    the width: better tile use at these token counts, fewer kernels), with diffusers'
    ``FusedAttnProcessor2_0``. ``to_q``/``to_k``/``to_v`` stay (same state-dict keys) as views into the
    fused weight, so no memory is added. Returns how many attentions were fused."""
    from diffusers.models.attention_processor import Attention, FusedAttnProcessor2_0

    n = 0
    for m in list(unet.modules()):
        if not isinstance(m, Attention) or m.is_cross_attention or getattr(m, "fused_projections", False):
            continue
        parts = [m.to_q, m.to_k, m.to_v]
        sizes = [p.weight.shape[0] for p in parts]
        m.fuse_projections()  # diffusers: to_qkv with the concatenated weights (a copy)
        for kind in ("weight", "bias"):
            fused = getattr(m.to_qkv, kind)
            if fused is not None:  # the separate projections become views into it: the copies are freed
                for p, view in zip(parts, fused.data.split(sizes)):
                    getattr(p, kind).data = view
        m._register_state_dict_hook(_unfused_state_dict)
        # diffusers' AttnProcessor annotation lists its own processor classes only
        m.set_processor(FusedAttnProcessor2_0())  # type: ignore[arg-type]
        n += 1
    return n


#: the UNet's repeated blocks, compiled one by one with ``compile_scope="blocks"`` (instances of one
#: class with the same shapes share one compiled graph)
REPEATED_BLOCKS = ("MVCascadeTemporalResBlock", "TransformerMVCascadeTemporalModel")


def _configure_inductor() -> None:
    os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path.home() / ".cache" / "genxd" / "torchinductor"))
    os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
    import torch._dynamo as dynamo

    dynamo.config.suppress_errors = True  # fall back to eager if compilation fails
    # one code object per block class, recompiled per shape (about 30 block signatures in the released UNet)
    dynamo.config.cache_size_limit = max(dynamo.config.cache_size_limit, 64)
    if hasattr(dynamo.config, "accumulated_cache_size_limit"):
        dynamo.config.accumulated_cache_size_limit = max(dynamo.config.accumulated_cache_size_limit, 256)


def compile_repeated_blocks(unet: nn.Module, mode: str | None = None, backend: str = "inductor") -> int:
    """``torch.compile`` every repeated block of ``unet`` in place (regional compilation); returns how
    many modules were compiled. Compiling blocks instead of the whole UNet keeps the graphs small (one per
    block signature, shared by the instances), so the warm-up is a fraction of a whole-model compile; the
    code between blocks (embeddings, down/upsamplers, skips) runs eagerly and is covered by the CUDA-graph
    replay of the whole call."""
    n = 0
    for module in unet.modules():
        if type(module).__name__ in REPEATED_BLOCKS:
            module.compile(mode=mode, backend=backend, dynamic=False)
            n += 1
    return n


def enable_fast_path(
    pipe,
    dtype: torch.dtype = torch.bfloat16,
    compile: bool = False,
    compile_mode: str = "default",
    compile_scope: str = "blocks",
    vae_dtype: torch.dtype = torch.float32,
    vae_decoder_dtype: torch.dtype | None = None,
    channels_last: bool | None = None,
    cuda_graph: bool = True,
    skip_zero_weight_paths: bool = True,
    fuse_qkv: bool | None = None,
    device: str | torch.device | None = None,
    offload: str = "none",
    fused_kernels: bool | None = None,
):
    """Switch ``pipe`` (a :class:`~genxd.pipelines.GenXDPipeline`) to the fast path, in place.

    Defaults: bfloat16 UNet, float32 VAE, CUDA-graph replays of the UNet call, the zero-weight temporal
    path skipped in 3D mode (``skip_zero_weight_paths``: same output, a quarter fewer FLOPs), no
    ``torch.compile``. ``compile=True`` with ``compile_scope="blocks"`` compiles the repeated blocks
    (inductor, ``compile_mode`` "default") under the CUDA-graph replay; ``compile_scope="unet"`` compiles
    the whole UNet (``compile_mode="reduce-overhead"`` for inductor's own CUDA graphs).
    ``channels_last`` and ``fuse_qkv`` default to on for bf16/fp16 and off for ``dtype=torch.float32``, which
    keeps the authors' arithmetic (the 3D skip is exact, so it stays on). ``vae_decoder_dtype`` defaults to
    bfloat16 with a bf16/fp16 UNet and to ``vae_dtype`` with a float32 one.
    ``offload`` (:mod:`genxd.pipelines.offload`): ``"model"`` keeps only the model in use on the GPU (the
    weights are not moved there here), ``"group"`` also streams the UNet block by block (no CUDA graphs, no
    fused q/k/v: weights move during a call).
    ``fused_kernels`` (default: on with channels-last when the blocks are not compiled and Triton is
    there): :mod:`genxd.pipelines.fused_kernels`' Triton kernels (GroupNorm, LayerNorm, GEGLU, attention over
    frames, the blend), which give the eager path the fusions inductor gives the compiled one, without its
    warm-up; not with ``compile`` (a ``ValueError``).
    Returns the pipeline. Without CUDA it is returned unchanged.
    """
    from .offload import OFFLOAD_MODES, enable_offload

    if offload not in OFFLOAD_MODES:
        raise ValueError(f"offload must be one of {', '.join(OFFLOAD_MODES)}; got {offload!r}")
    if vae_decoder_dtype is None:
        vae_decoder_dtype = torch.bfloat16 if dtype != torch.float32 else vae_dtype
    if channels_last is None:
        channels_last = dtype != torch.float32
    if fuse_qkv is None:
        fuse_qkv = dtype != torch.float32 and offload != "group"
    if compile_scope not in ("blocks", "unet"):
        raise ValueError(f"compile_scope must be 'blocks' or 'unet', got {compile_scope!r}")
    compiled_before = getattr(getattr(pipe, "unet", None), "_genxd_compiled", False)  # by an earlier call
    if fused_kernels and (compile or compiled_before):
        # tried on an H200 (2026-12-01): the blocks compiled around the kernels fail inside the CUDA-graph
        # capture (cudaErrorStreamCaptureInvalidated)
        raise ValueError("fused_kernels=True and compile=True exclude each other: compiling replaces the Triton "
                         "kernels with inductor's (leave fused_kernels unset)")
    if not torch.cuda.is_available():
        logger.warning("genxd fast path: CUDA is not available, keeping the float32 eager path")
        return pipe
    device = torch.device(device) if device is not None else (
        pipe.device if pipe.device.type == "cuda" else torch.device("cuda")
    )
    # TF32 while the pipeline samples, not process-wide (genxd.pipelines.tf32); a float32 UNet keeps PyTorch's
    # defaults (the authors' numerics)
    pipe.tf32 = dtype != torch.float32
    # with offload the weights stay on the host: the offload moves each model in when it is used
    pipe.unet.to(device=None if offload != "none" else device, dtype=dtype)
    pipe.vae.to(device=None if offload != "none" else device, dtype=vae_dtype)
    if hasattr(pipe.vae, "decoder"):
        pipe.vae.decoder.to(dtype=vae_decoder_dtype)
    pipe.unet.skip_zero_weight_paths = bool(skip_zero_weight_paths)
    if channels_last:
        to_channels_last(pipe.unet)
    if fuse_qkv:
        fuse_qkv_projections(pipe.unet)
    compiling = bool(compile and compile_available()) or bool(compiled_before)
    if fused_kernels is None:
        fused_kernels = channels_last and not compiling and triton_available()
    if fused_kernels:
        if not triton_available():
            raise RuntimeError("fused_kernels=True needs Triton (it ships with PyTorch's CUDA builds)")
        pipe.unet._genxd_fused_kernels = install_fused_kernels(pipe.unet)
    graph_replay = cuda_graph and offload != "group"
    if compile and compile_available():
        _configure_inductor()
        if not compiled_before:
            mode = None if compile_mode == "default" else compile_mode
            if compile_scope == "blocks":
                if mode not in (None, "max-autotune-no-cudagraphs"):
                    raise ValueError("compile_scope='blocks' runs under genxd's CUDA-graph replay: compile_mode "
                                     "must be 'default' or 'max-autotune-no-cudagraphs'")
                compile_repeated_blocks(pipe.unet, mode=mode)
            else:
                pipe.unet.compile(mode=mode, dynamic=False)
            pipe.unet._genxd_compiled = compile_scope
    elif compile:
        logger.warning("genxd fast path: torch.compile unavailable (no Triton?), running eagerly")
    if getattr(pipe.unet, "_genxd_compiled", None) == "unet":
        graph_replay = False  # inductor's own graphs (reduce-overhead) or none
    if graph_replay:
        CUDAGraphForward.install(pipe.unet)
    else:
        CUDAGraphForward.remove(pipe.unet)
    if offload != "none":
        enable_offload(pipe, offload, device)
    return pipe


def enable_cpu_path(pipe, channels_last: bool = True):
    """Switch ``pipe`` to genxd's CPU defaults, in place; returns it.

    - ``skip_zero_weight_paths``: in 3D mode the temporal path's blend weight is exactly 0, so it is not run
      (bitwise the same output; 38% less CPU time per UNet call of the bundled model);
    - ``channels_last`` convolution weights of the UNet and the VAE: oneDNN's NHWC kernels without converting
      every activation (UNet: another 9% on an AVX-512 EPYC; VAE decoding of the bundled model's 8 frames:
      0.89x the time on an AVX2 EPYC, paired median of 20 alternating runs, ``benchmarks/bench_cpu_variants.py``;
      the output moves by ~2e-6, float32 summation order).

    Measured with ``benchmarks/bench_generate_cpu.py`` (docs/benchmarks.md). bfloat16 (``--dtype bf16``) is
    not a default: it is faster only on CPUs with bf16 instructions and its frames differ more.
    """
    pipe.unet.skip_zero_weight_paths = True
    if channels_last:
        to_channels_last(pipe.unet)
        to_channels_last(pipe.vae)
    return pipe

