"""A launched run's prepared model kept until its process exits (PyTorch 2.13, gloo process groups on the CPU).

As the trainer returned, the DDP model it prepared was freed, and with it the process group its reducer held last:
pybind11 frees the reducer with the GIL held (``dealloc_without_manipulating_gil`` -> ``c10d::Reducer::~Reducer``
-> ``ProcessGroupGloo::~ProcessGroupGloo`` -> ``std::thread::join``), while a gloo worker thread still freeing a
finished all-reduce whose tensors Python made (``~AsyncAllreduceWork`` -> ``decref_pyobject``) waited for the GIL:
a two-process ``genxd train`` printed ``done`` and never ended (native stacks of a hung CI run, session 46,
docs/benchmarks/cuda_tests.md "CUDA tests"). Kept here, the model and its group live until the interpreter's exit, by when the
workers have long been idle; a process that ran on its own keeps nothing."""

from __future__ import annotations

from typing import Any

__all__ = ["keep_until_exit"]

#: the accelerators (with the models they prepared) of the runs this launched process completed
_KEPT: list[Any] = []


def keep_until_exit(accelerator: Any) -> None:
    """Keep ``accelerator`` (and so its prepared models and their process group) referenced until the process
    exits, when it ran with other processes (``num_processes > 1``); nothing otherwise."""
    if getattr(accelerator, "num_processes", 1) > 1:
        _KEPT.append(accelerator)
