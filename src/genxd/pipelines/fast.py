"""The GPU fast path: bfloat16, fused attention, batched guidance, ``torch.compile`` (+ CUDA graphs).

What the float32 eager path does (and the authors' code, numerically):
one guided UNet call runs both guidance branches as one batch of ``2B`` (already batched in
:class:`~genxd.pipelines.GenXDPipeline`), every attention through PyTorch's
``scaled_dot_product_attention`` (diffusers' ``AttnProcessor2_0``), float32 weights.

What :func:`enable_fast_path` adds (each switchable):

- ``dtype=torch.bfloat16`` UNet weights and activations (the model computes in the dtype of its
  weights; time/motion sinusoids are made in float32 and cast), bf16 flash attention kernels; the
  VAE stays float32 by default (``vae_dtype``), decoding is cheap next to 25 UNet calls;
- ``compile=True``: ``torch.compile`` of the UNet (inductor, ``mode="default"``; ``"reduce-overhead"``
  adds CUDA graphs; ``max-autotune`` spends over ten minutes autotuning this model and is not
  worth it). Compilation is cached on disk (``TORCHINDUCTOR_CACHE_DIR``, default
  ``~/.cache/genxd/torchinductor``), so the warm-up is paid once per machine and shape; if
  compilation fails the UNet runs eagerly (dynamo falls back) with a warning;
- ``cuda_graph=True``: the UNet call is captured in a CUDA graph per input signature (shapes, dtypes,
  non-tensor arguments) and replayed (:class:`CUDAGraphForward`). The bf16 guided call of the released
  model launches about 3,900 kernels; eagerly the CPU cannot issue them as fast as the GPU runs them
  (81-106 ms per call against 61 ms of kernel time on an H100), the replay issues them at once. Capture
  takes a fraction of a second (against about 5 minutes for ``torch.compile``) and the replayed output is
  bitwise the eager one. Used when the UNet is not compiled (``compile_mode="reduce-overhead"`` makes
  its own graphs);
- ``channels_last`` memory format for the convolutions (off by default: measure).

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
    module._check_inputs = lambda *args, **kwargs: None  # instance attribute shadows the method
    try:
        yield
    finally:
        if had:
            module._check_inputs = previous
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
    when the module's parameters move (``.to()``), since a graph reads weights by address.
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
        return tuple((p.data_ptr(), p.dtype, p.device) for p in params)

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
        key_parts = []
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
        unet = self.module
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


def enable_fast_path(
    pipe,
    dtype: torch.dtype = torch.bfloat16,
    compile: bool = False,
    compile_mode: str = "default",
    vae_dtype: torch.dtype = torch.float32,
    channels_last: bool = False,
    cuda_graph: bool = True,
    device: str | torch.device | None = None,
):
    """Switch ``pipe`` (a :class:`~genxd.pipelines.GenXDPipeline`) to the fast path, in place.

    Defaults: bfloat16 UNet, float32 VAE, CUDA-graph replays of the UNet call, no ``torch.compile``
    (it costs minutes per input shape for a few percent at this size; see docs/benchmarks.md).
    Returns the pipeline. Without CUDA it is returned unchanged.
    """
    if not torch.cuda.is_available():
        logger.warning("genxd fast path: CUDA is not available, keeping the float32 eager path")
        return pipe
    device = torch.device(device) if device is not None else (
        pipe.device if pipe.device.type == "cuda" else torch.device("cuda")
    )
    if dtype != torch.float32:  # a float32 UNet keeps PyTorch's defaults (the authors' numerics)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    pipe.unet.to(device=device, dtype=dtype)
    pipe.vae.to(device=device, dtype=vae_dtype)
    if channels_last:
        pipe.unet.to(memory_format=torch.channels_last)
    if compile and compile_available():
        os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", str(Path.home() / ".cache" / "genxd" / "torchinductor"))
        os.environ.setdefault("TORCHINDUCTOR_FX_GRAPH_CACHE", "1")
        import torch._dynamo as dynamo

        dynamo.config.suppress_errors = True  # fall back to eager if compilation fails
        if not getattr(pipe.unet, "_genxd_compiled", False):
            pipe.unet.compile(mode=None if compile_mode == "default" else compile_mode, dynamic=False)
            pipe.unet._genxd_compiled = True
    elif compile:
        logger.warning("genxd fast path: torch.compile unavailable (no Triton?), running eagerly")
    compiled = getattr(pipe.unet, "_genxd_compiled", False)
    if cuda_graph and not compiled:
        CUDAGraphForward.install(pipe.unet)
    else:
        CUDAGraphForward.remove(pipe.unet)
    return pipe
