"""Training turns TF32 on for its own duration on CUDA and puts the caller's flags back
(genxd.pipelines.tf32.with_training_tf32): ``TrainingRun`` set both flags process-wide and left them on, after a
finished run and after a refused one."""

from __future__ import annotations

import pytest
import torch

from genxd.training.config import load_config

from ..conftest import precision_reads, tf32_flags
from .conftest import QUIET, TINY, TINY_VAE


def _flags_during_a_refused_run(tmp_path, monkeypatch, kind: str = "genxd", *overrides: str,
                                read=tf32_flags) -> list:
    """The TF32 flags just after the TrainingRun (and its Accelerator) is made, in a run refused after it started (a
    size the VAE cannot take, checked once the run's folder exists), on a machine that says it has CUDA (``read``
    gives what is recorded)."""
    from genxd.training import loop
    from genxd.training.trainer import train_genxd
    from genxd.training.vae_trainer import train_vae

    seen: list[tuple[bool, bool]] = []
    started = loop.TrainingRun.__init__

    def init(self, *args, **kwargs):
        started(self, *args, **kwargs)
        seen.append(read())

    monkeypatch.setattr(loop.TrainingRun, "__init__", init)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    cfg = load_config(TINY if kind == "genxd" else TINY_VAE,
                      [*QUIET, f"output_dir={tmp_path / 'run'}", "logging.tensorboard=false", "data.height=36",
                       *overrides], kind=kind)
    with pytest.raises(ValueError, match="multiples of"):
        (train_genxd if kind == "genxd" else train_vae)(cfg, cpu=True)
    return seen


@pytest.mark.parametrize("kind", ["genxd", "vae"])
def test_a_training_run_leaves_the_callers_tf32_flags_as_they_were(tmp_path, monkeypatch, tf32_off, kind):
    """The flags were on inside the run, and off again after it."""
    seen = _flags_during_a_refused_run(tmp_path, monkeypatch, kind)
    assert seen == [(True, True)]  # TF32 during the run, as training.allow_tf32 (the default) asks
    assert tf32_flags() == (False, False)


def test_allow_tf32_false_leaves_them_off(tmp_path, monkeypatch, tf32_off):
    seen = _flags_during_a_refused_run(tmp_path, monkeypatch, "genxd", "training.allow_tf32=false")
    assert seen == [(False, False)] and tf32_flags() == (False, False)  # off during the run too


@pytest.mark.parametrize("allow", [True, False])
def test_accelerates_tf32_for_a_dynamo_backend_follows_allow_tf32_and_is_put_back(tmp_path, monkeypatch, tf32_off,
                                                                                  allow):
    """accelerate's AcceleratorState turns ``torch.backends.cuda.matmul.allow_tf32`` on when a dynamo backend is
    configured without mixed precision on CUDA (accelerate/state.py), as the Accelerator is made inside the run. With
    ``training.allow_tf32: false`` the run trained with TF32 all the same, and the flag stayed on after it. Here the
    state does what it does on CUDA; the run now undoes it when allow_tf32 is false, and the caller's flags are as
    they were after the run either way."""
    from accelerate.state import AcceleratorState

    made = AcceleratorState.__init__

    def state_init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        torch.backends.cuda.matmul.allow_tf32 = True  # accelerate's dynamo backend + mixed_precision "no" on CUDA

    monkeypatch.setattr(AcceleratorState, "__init__", state_init)
    seen = _flags_during_a_refused_run(tmp_path, monkeypatch, "genxd", f"training.allow_tf32={str(allow).lower()}")
    assert seen == [(allow, allow)]
    assert tf32_flags() == (False, False)  # the caller's, after the run


@pytest.mark.parametrize("allow", [True, False])
def test_a_caller_on_the_new_precision_api_trains_and_gets_its_settings_back(tmp_path, monkeypatch,
                                                                              precision_restored, allow):
    """A caller who turned TF32 on through PyTorch's newer API (``torch.backends.cuda.matmul.fp32_precision``), whose
    legacy getters then refuse to read: the run raised RuntimeError before it started, from the TF32 scope with
    allow_tf32 true and from reading the legacy flag around accelerate's Accelerator with allow_tf32 false. Now it
    starts (and is refused for its size, as the helper's runs are), under TF32, and leaves every setting as it was,
    accelerate's legacy write undone when allow_tf32 is false."""
    from accelerate.state import AcceleratorState

    made = AcceleratorState.__init__

    def state_init(self, *args, **kwargs):
        made(self, *args, **kwargs)
        torch.backends.cuda.matmul.allow_tf32 = True  # accelerate's dynamo backend + mixed_precision "no" on CUDA

    monkeypatch.setattr(AcceleratorState, "__init__", state_init)
    torch.backends.cuda.matmul.fp32_precision = "tf32"
    before = precision_reads()
    seen = _flags_during_a_refused_run(tmp_path, monkeypatch, "genxd", f"training.allow_tf32={str(allow).lower()}",
                                       read=lambda: torch.backends.cuda.matmul.fp32_precision)
    assert seen == ["tf32"]
    assert precision_reads() == before


def test_a_float32_run_does_not_touch_the_legacy_tf32_flags(monkeypatch):
    """Off, the scope writes nothing: a caller using PyTorch's newer precision API has reads raise once the legacy
    flags are written (``torch.get_float32_matmul_precision()`` after ``set_float32_matmul_precision('medium')``)."""
    from genxd.pipelines.tf32 import tf32_enabled

    written = []
    matmul = type(torch.backends.cuda.matmul)
    monkeypatch.setattr(matmul, "__setattr__", lambda self, name, value: written.append(name))
    with tf32_enabled(False):
        pass
    assert written == []
