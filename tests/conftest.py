"""Shared fixtures: paths to the reference fixtures copied from shared/fixtures (see tests/fixtures/README.md)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE_SMALL = FIXTURES / "reference_small"

# A run started in the background by a script (``pytest ... &`` in a non-interactive shell: POSIX shells without job
# control start it with SIGINT ignored) passed that on to every Python the tests start, and such a Python keeps
# ignoring Ctrl-C, as genxd does for a background job: the tests that stop a genxd command with SIGINT saw it run on
# (tests/cli/test_interrupt_cli.py, 16 failed that way on Python 3.10 and 3.13, session 48). The tests' processes
# take Ctrl-C as a terminal's foreground run does.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# The suite's CPU budget is 2 threads (CI's 2 cores). Under pytest-xdist (the README's `-n 2`) each worker
# takes its share, so two workers run one thread each instead of four threads fighting for two cores.
WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
torch.set_num_threads(max(1, min(2, torch.get_num_threads()) // WORKERS))
if WORKERS > 1:
    # ... and so do the Python children the tests start (CLI runs, compile checks, launches) unless a test sets
    # the variable itself: with CI's OMP_NUM_THREADS=2 inherited, a child beside the other worker spun
    # (test_fast_path's compile child: 32 s of CPU against 24 s with one thread, session 47)
    os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(torch.get_num_threads())
    # and the worker's own BLAS pools (numpy's and scipy's OpenBLAS, three of them, each sized to the machine)
    # and OpenCV's: their threads beside the other worker's spun too (tests/cameras/test_video_sfm.py and
    # test_from_video.py under -n 2: 130 s of user CPU with the machine-sized pools, 102 s with the share)
    import cv2
    import threadpoolctl

    threadpoolctl.threadpool_limits(torch.get_num_threads(), user_api="blas")
    cv2.setNumThreads(torch.get_num_threads())


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


@pytest.fixture(autouse=True)
def _torch_threads_kept():
    """Each test ends with torch's thread count it started with. A test that set it (or a script's ``main()`` it ran
    in-process) changed it for every later test of its xdist worker: tests/benchmarks/test_bench_cpu_variants.py's
    ``--threads 2`` left one worker of CI's ``-n 2`` at two threads beside the other worker's (measured here, this
    machine loaded by another process: test_recon_extra_views.py + test_long_path_state.py took 110 s of CPU at two
    threads against 16 s at one)."""
    threads, cv2_threads = torch.get_num_threads(), _cv2_threads()
    yield
    if torch.get_num_threads() != threads:
        torch.set_num_threads(threads)
    if cv2_threads is not None and _cv2_threads() != cv2_threads:  # OpenCV's too (genxd.curation sets both)
        import cv2

        cv2.setNumThreads(cv2_threads)


def _cv2_threads() -> int | None:
    """OpenCV's thread count, when a test has imported it (None otherwise: the import is not this fixture's)."""
    cv2 = sys.modules.get("cv2")
    return cv2.getNumThreads() if cv2 is not None and hasattr(cv2, "getNumThreads") else None


@pytest.fixture(autouse=True, scope="session")
def _genxd_cli_built_once():
    """typer's ``CliRunner().invoke(app, args)`` builds the click command tree of the whole ``genxd`` app (80
    commands, every option's annotations evaluated) on each call: 0.2-0.5 s a call on the 2-core CI machine, a few
    hundred calls a run. The tree of ``genxd.cli.root.app`` is built once and reused (click commands keep no state of
    a run: each invocation makes its own context); any other typer app is built as before. tests/cli/introspect.py's
    ``invoke`` does the same for its own calls."""
    import sys

    import typer.main
    import typer.testing

    getter = getattr(typer.testing, "_get_command", None)
    if getter is None:  # another typer version: built on each call, as before
        yield
        return
    built: list = []  # (app, its command): the app held, so that an identity check cannot meet a reused id

    def get_command(app):
        root = sys.modules.get("genxd.cli.root")
        if root is None or app is not getattr(root, "app", None):
            return getter(app)
        if not built or built[0][0] is not app:
            built[:] = [(app, typer.main.get_command(app))]
        return built[0][1]

    typer.testing._get_command = get_command
    yield
    typer.testing._get_command = getter


@pytest.fixture(scope="session")
def reference_small() -> Path:
    return REFERENCE_SMALL


@pytest.fixture(scope="session")
def reference_cases() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(REFERENCE_SMALL / "cases.safetensors"))


@pytest.fixture(scope="session")
def reference_unet(reference_small):
    """The reference UNet as loaded (eval mode), built once a process for the files that run it: a test that changes
    the model works on a copy (``copy.deepcopy``) or puts back what it changed."""
    from genxd.models import UNetMVTemporalConditionModel

    model, info = UNetMVTemporalConditionModel.from_pretrained(REFERENCE_SMALL / "unet", output_loading_info=True)
    assert info["missing_keys"] == [] and info["unexpected_keys"] == [], info
    return model.eval()


@pytest.fixture(scope="session")
def reference_unet_4d(reference_unet, reference_cases) -> torch.Tensor:
    """:func:`reference_unet`'s float32 output on the 4D case (``unet.4d.*``) on this machine, computed once a process:
    the parity test of that case, the bfloat16 test's reference and the fast path's plain output were each this
    forward (three times in the parity re-run of tests/test_parity_kernels.py)."""
    p = "unet.4d."
    with torch.no_grad():
        return reference_unet(sample=reference_cases[p + "sample"], timestep=reference_cases[p + "timestep"],
                              added_time_ids=reference_cases[p + "added_time_ids"],
                              indicator=reference_cases[p + "indicator"],
                              motion_ids=reference_cases[p + "motion_ids"]).sample


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
