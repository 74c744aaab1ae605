"""Several training processes on one CPU share its cores (``TrainingRun._share_cpus``)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from genxd.training.loop import TrainingRun


@pytest.fixture
def threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def _acc(device: str, processes: int):
    return SimpleNamespace(device=torch.device(device), num_processes=processes, is_main_process=True)


@pytest.mark.parametrize("local, expected", [(2, 2), (4, 1), (1, 4)])  # processes on this machine -> threads each
def test_processes_on_a_cpu_get_their_share_of_its_cores(threads, monkeypatch, local, expected):
    """docs/training.md's 2-process CPU run with ``OMP_NUM_THREADS=2`` exported on a 2-core machine (torchrun sets
    1 only when the variable is unset): 4 threads on 2 cores, 2.75 s a step instead of about 0.2 s. Four usable
    cores here; two processes in all (one a machine: ``LOCAL_WORLD_SIZE`` 1 keeps all four)."""
    import genxd.utils.machine as machine

    monkeypatch.setattr(machine, "usable_cpus", lambda: 4)
    monkeypatch.setenv("LOCAL_WORLD_SIZE", str(local))
    torch.set_num_threads(4)
    said: list[str] = []
    TrainingRun._share_cpus(SimpleNamespace(print=said.append), _acc("cpu", max(local, 2)))
    assert torch.get_num_threads() == expected
    assert said == ([f"{local} processes on 4 CPU cores: {expected} torch thread(s) each (was 4)"] if expected < 4 else [])


def test_one_process_or_a_gpu_keeps_its_threads(threads, monkeypatch):
    import genxd.utils.machine as machine

    monkeypatch.setattr(machine, "usable_cpus", lambda: 2)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    torch.set_num_threads(2)
    run = SimpleNamespace(print=lambda *a: None)
    TrainingRun._share_cpus(run, _acc("cpu", 1))
    TrainingRun._share_cpus(run, _acc("cuda", 2))
    assert torch.get_num_threads() == 2
