"""cuBLAS without a workspace in genxd's own sampling processes (``genxd generate``, ``fewshot``, ``eval``, ``demo``).

On an H200, cuBLAS with no workspace (``CUBLAS_WORKSPACE_CONFIG=:0:0``, ``CUBLASLT_WORKSPACE_SIZE=0``) rules
out the cooperative GEMM kernels and the memsets before them: 2.5-3 % off each guided UNet call of the fast
path, frames as close to float32 as before (docs/benchmarks/sampling.md, "cuBLAS without a workspace"). The variables
are read once per process, at its first cuBLAS call, and change every cuBLAS call of that process; so only
the command line sets them (a process genxd owns), before the model loads, only on GPUs of the generation it
was measured on (compute capability 9.x), and never over a value the user set (setting either variable,
e.g. ``CUBLAS_WORKSPACE_CONFIG=:4096:8``, PyTorch's default, keeps cuBLAS as it is). The Python API leaves
them to the caller.
"""

from __future__ import annotations

import os

import torch

#: the variables and the values that give cuBLAS / cuBLASLt no workspace
NO_WORKSPACE = {"CUBLAS_WORKSPACE_CONFIG": ":0:0", "CUBLASLT_WORKSPACE_SIZE": "0"}
#: compute capability (major) of the GPUs where it was measured faster (H100 / H200)
MEASURED_MAJOR = 9


def prefer_no_cublas_workspace(device: str | torch.device | None) -> bool:
    """Set :data:`NO_WORKSPACE` in this process's environment when ``device`` (None or ``"auto"``: the current
    CUDA device, if any) is a CUDA GPU of compute capability 9.x and the user set neither variable; call it
    before the first cuBLAS call. Returns whether it set them."""
    if any(name in os.environ for name in NO_WORKSPACE) or not torch.cuda.is_available():
        return False
    try:
        device = torch.device("cuda") if device is None or str(device) == "auto" else torch.device(device)
        if device.type != "cuda" or torch.cuda.get_device_capability(device)[0] != MEASURED_MAJOR:
            return False
    except (RuntimeError, ValueError, AssertionError):  # a bad device: the job's own check names it
        return False
    os.environ.update(NO_WORKSPACE)
    return True


__all__ = ["NO_WORKSPACE", "MEASURED_MAJOR", "prefer_no_cublas_workspace"]
