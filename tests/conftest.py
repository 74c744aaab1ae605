"""Shared fixtures: paths to the reference fixtures copied from shared/fixtures (see tests/fixtures/README.md)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE_SMALL = FIXTURES / "reference_small"

# The suite's CPU budget is 2 threads (CI's 2 cores). Under pytest-xdist (the README's `-n 2`) each worker
# takes its share, so two workers run one thread each instead of four threads fighting for two cores.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, torch.get_num_threads()) // WORKERS))


def pytest_collection_modifyitems(config, items):
    # Files holding a test marked ``slow`` run first (the order is otherwise kept): with ``--dist loadfile
    # --no-loadscope-reorder`` (pyproject.toml) the workers take files in this order, so the long files start
    # early and the run does not end with one worker on a long file and the other idle.
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def reference_small() -> Path:
    return REFERENCE_SMALL


@pytest.fixture(scope="session")
def reference_cases() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(REFERENCE_SMALL / "cases.safetensors"))


def tf32_flags() -> tuple[bool, bool]:
    """torch's two process-wide TF32 flags (CUDA matmul, cuDNN)."""
    return torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32


@pytest.fixture
def tf32_off():
    """Both TF32 flags off for the test (a caller's float32 settings), put back as they were afterwards."""
    saved = tf32_flags()
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


#: PyTorch's newer float32 precision settings, parents before children (a child set to "none" inherits)
FP32_SETTINGS = ("", "cudnn", "cuda.matmul", "cudnn.conv", "cudnn.rnn", "mkldnn", "mkldnn.matmul", "mkldnn.conv",
                 "mkldnn.rnn")


def fp32_holder(name: str):
    """The object whose ``fp32_precision`` is the setting ``name`` ("" the generic one)."""
    holder = torch.backends
    for part in filter(None, name.split(".")):
        holder = getattr(holder, part)
    return holder


def precision_reads() -> dict[str, object]:
    """What each of torch's float32 precision getters answers, both APIs ("raises" where PyTorch refuses)."""
    reads: dict[str, object] = {name: fp32_holder(name).fp32_precision for name in FP32_SETTINGS}
    for name, read in (("allow_tf32 matmul", lambda: torch.backends.cuda.matmul.allow_tf32),
                       ("allow_tf32 cudnn", lambda: torch.backends.cudnn.allow_tf32),
                       ("float32_matmul_precision", torch.get_float32_matmul_precision)):
        try:
            reads[name] = read()
        except RuntimeError:
            reads[name] = "raises"
    return reads


@pytest.fixture
def precision_restored():
    """Whatever the test does to torch's float32 precision settings (either API) undone afterwards; the process is
    assumed to start the test in a state the legacy getters can read."""
    saved = precision_reads()
    yield
    torch.set_float32_matmul_precision(saved["float32_matmul_precision"])
    torch.backends.cudnn.allow_tf32 = saved["allow_tf32 cudnn"]
    parents = {"": None, "cudnn": "", "cuda.matmul": "cudnn", "cudnn.conv": "cudnn", "cudnn.rnn": "cudnn",
               "mkldnn": "", "mkldnn.matmul": "mkldnn", "mkldnn.conv": "mkldnn", "mkldnn.rnn": "mkldnn"}
    for name in FP32_SETTINGS:
        parent = parents[name]
        inherited = parent is not None and saved[parent] == saved[name]
        fp32_holder(name).fp32_precision = "none" if inherited else saved[name]
    assert precision_reads() == saved
