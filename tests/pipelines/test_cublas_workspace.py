"""genxd.pipelines.cublas_workspace: the command line (generate, fewshot, eval, demo) gives cuBLAS no workspace on the
GPUs where that was measured faster (compute capability 9.x), never over the user's setting and never from the Python
API."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import torch

from genxd.pipelines import cublas_workspace
from genxd.pipelines.cublas_workspace import NO_WORKSPACE, prefer_no_cublas_workspace


@pytest.fixture
def clean_env(monkeypatch):
    """The variables unset for the test, and as they were afterwards: ``delenv`` of a variable that is not set records
    nothing to undo, so the values a test's ``prefer_no_cublas_workspace`` set stayed for the rest of the worker's
    session (and in every process its later tests started)."""
    for name in NO_WORKSPACE:
        monkeypatch.setenv(name, "")  # recorded: put back (or unset) when the test ends
        monkeypatch.delenv(name)


def _fake_gpu(monkeypatch, major: int | None):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: major is not None)
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (major, 0))


@pytest.mark.parametrize("major, device, expected", [
    (9, None, True), (9, "auto", True), (9, "cuda", True), (9, "cuda:0", True),
    (9, "cpu", False),  # a CPU job on a GPU machine
    (8, None, False), (10, "cuda", False),  # not measured there
    (None, None, False),  # no GPU
])
def test_set_only_on_the_measured_gpus(monkeypatch, clean_env, major, device, expected):
    _fake_gpu(monkeypatch, major)
    assert prefer_no_cublas_workspace(device) is expected
    assert {name: os.environ.get(name) for name in NO_WORKSPACE} == (NO_WORKSPACE if expected else
                                                                     dict.fromkeys(NO_WORKSPACE))


@pytest.mark.parametrize("name", list(NO_WORKSPACE))
def test_a_value_the_user_set_is_kept(monkeypatch, clean_env, name):
    _fake_gpu(monkeypatch, 9)
    monkeypatch.setenv(name, ":4096:8" if name == "CUBLAS_WORKSPACE_CONFIG" else "1024")
    before = dict(os.environ)
    assert prefer_no_cublas_workspace(None) is False and dict(os.environ) == before


def test_a_bad_device_is_left_to_the_job_to_name(monkeypatch, clean_env):
    _fake_gpu(monkeypatch, 9)

    def no_such_gpu(device=None):
        raise AssertionError("Invalid device id")

    monkeypatch.setattr(torch.cuda, "get_device_capability", no_such_gpu)
    assert prefer_no_cublas_workspace("cuda:7") is False
    assert prefer_no_cublas_workspace("not-a-device") is False


def _calls_in_order(monkeypatch, module, stage: str) -> list:
    """Record the calls of ``prefer_no_cublas_workspace`` (its device) and of ``module.stage`` (its name), which
    then stops the job."""
    calls = []
    monkeypatch.setattr(cublas_workspace, "prefer_no_cublas_workspace", lambda device: calls.append(device))

    def stop(*a, **k):
        calls.append(stage)
        raise RuntimeError("stop here")

    monkeypatch.setattr(module, stage, stop)
    return calls


def test_generate_sets_it_before_the_model_loads(tmp_path, monkeypatch, clean_env):
    """The command calls it with the job's device before loading the model; the Python API does not."""
    import numpy as np
    import PIL.Image
    from typer.testing import CliRunner

    import genxd.api as api
    from genxd.cli import app

    calls = _calls_in_order(monkeypatch, api, "load_model")
    PIL.Image.fromarray(np.full((24, 24, 3), 9, np.uint8)).save(tmp_path / "a.png")
    CliRunner().invoke(app, ["generate", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--device", "cpu"])
    assert calls == ["cpu", "load_model"]


def test_eval_sets_it_before_the_evaluation(monkeypatch, clean_env):
    """``genxd eval`` samples in a process genxd owns, as ``generate`` does: the same setting, with its device."""
    from typer.testing import CliRunner

    import genxd.evaluation as evaluation
    from genxd.cli import app

    calls = _calls_in_order(monkeypatch, evaluation, "evaluate")
    CliRunner().invoke(app, ["eval", "--num-scenes", "1", "--device", "cpu", "-q"])
    assert calls == ["cpu", "evaluate"]


def test_demo_sets_it_before_a_model_loads(monkeypatch, clean_env):
    """``genxd demo``: with the first of its devices, before the app (which loads the models) is built."""
    pytest.importorskip("gradio")
    import genxd.demo.app as demo_app
    from genxd.cli.demo import serve

    calls = _calls_in_order(monkeypatch, demo_app, "build_app")
    for name in ("GRADIO_TEMP_DIR", "GRADIO_ANALYTICS_ENABLED"):  # serve sets them: put back when the test ends
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    sigterm = signal.getsignal(signal.SIGTERM)  # serve makes SIGTERM stop the server
    try:
        with pytest.raises(RuntimeError, match="stop here"):
            serve(None, "127.0.0.1", 7860, ["cpu"], None, 10.0, 4, None)
    finally:
        signal.signal(signal.SIGTERM, sigterm)
    assert calls == ["cpu", "build_app"]


@pytest.mark.cuda
def test_on_this_gpu_the_command_line_setting_follows_the_compute_capability():
    """In a fresh process (the variables are read at the first cuBLAS call): set on an H100 / H200, not elsewhere,
    and a matmul still runs after it."""
    code = ("import os, torch; from genxd.pipelines.cublas_workspace import prefer_no_cublas_workspace as p; "
            "s = p(None); x = torch.randn(64, 64, device='cuda'); (x @ x).sum().item(); "
            "print(s, os.environ.get('CUBLAS_WORKSPACE_CONFIG'))")
    env = {k: v for k, v in os.environ.items() if k not in NO_WORKSPACE}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout.split()
    hopper = torch.cuda.get_device_capability()[0] == 9
    assert out == (["True", ":0:0"] if hopper else ["False", "None"])
