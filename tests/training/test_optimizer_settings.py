"""An optimiser resumed from a checkpoint keeps its own settings (genxd.training.optimizer_settings), and the state it
loaded fits them: a CPU run's checkpoint (not fused) resumed on CUDA (fused)."""

from __future__ import annotations

import pytest
import torch

from genxd.training.optimizer_settings import keep_optimizer_settings


def _cpu_checkpoint() -> dict:
    """The optimiser state of a CPU run (``make_optimizer``: not fused off CUDA) after one step."""
    p = torch.nn.Parameter(torch.randn(4, generator=torch.Generator().manual_seed(0)))
    opt = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.1, fused=False)
    p.grad = torch.ones(4)
    opt.step()
    return opt.state_dict()


def _made(opt: torch.optim.Optimizer, **changes) -> list[dict]:
    return [{**{k: v for k, v in g.items() if k != "params"}, **changes} for g in opt.param_groups]


def test_a_fused_optimizer_resumed_from_a_cpu_checkpoint_gets_its_steps_on_the_parameters_device():
    """The resumed optimiser is fused (CUDA); the checkpoint's group was not, so loading left each ``step`` on the
    CPU (torch moves it to the parameter's device only for a fused or capturable group); putting ``fused`` back must
    move it there too, or ``_fused_adamw_`` fails at the first step. The parameter is on the ``meta`` device here,
    standing for CUDA (a CPU has no other device; the CUDA run: the test below)."""
    q = torch.nn.Parameter(torch.zeros(4, device="meta"))
    opt = torch.optim.AdamW([q], lr=1e-3, weight_decay=0.1, fused=False)  # fused AdamW has no meta kernel
    made = _made(opt, fused=True)  # as make_optimizer made it on CUDA
    opt.load_state_dict(_cpu_checkpoint())
    assert opt.state[q]["step"].device.type == "cpu"  # as torch loads a state into a group that is not fused
    assert keep_optimizer_settings(opt, made) is None
    assert opt.param_groups[0]["fused"] is True
    step = opt.state[q]["step"]
    assert step.device == q.device and step.dtype == torch.float32 and opt.state[q]["exp_avg"].device == q.device


def test_a_group_neither_fused_nor_capturable_keeps_its_steps_where_loaded():
    """Not fused: torch's own steps stay on the CPU (as loaded); the config's settings are put back, named."""
    q = torch.nn.Parameter(torch.zeros(4))
    opt = torch.optim.AdamW([q], lr=1e-3, weight_decay=0.5, fused=False)
    made = _made(opt)
    opt.load_state_dict(_cpu_checkpoint())
    note = keep_optimizer_settings(opt, made)
    assert note is not None and "weight decay 0.1 -> 0.5" in note
    assert opt.param_groups[0]["weight_decay"] == 0.5 and opt.state[q]["step"].device.type == "cpu"


@pytest.mark.cuda
def test_a_cpu_checkpoint_resumes_on_cuda_fused():
    """The whole case on a GPU: the CPU run's state into a fused CUDA AdamW, its settings kept, then a step (it
    failed in ``_fused_adamw_``: the step on the CPU), close to the CPU run's own second step."""
    p = torch.nn.Parameter(torch.randn(4, generator=torch.Generator().manual_seed(0)))
    cpu = torch.optim.AdamW([p], lr=1e-3, weight_decay=0.1, fused=False)
    p.grad = torch.ones(4)
    cpu.step()
    checkpoint = cpu.state_dict()
    q = torch.nn.Parameter(p.detach().cuda())
    opt = torch.optim.AdamW([q], lr=1e-3, weight_decay=0.1, fused=True)
    made = _made(opt)
    opt.load_state_dict(checkpoint)
    keep_optimizer_settings(opt, made)
    assert opt.param_groups[0]["fused"] is True
    q.grad = torch.ones(4, device="cuda")
    opt.step()
    torch.cuda.synchronize()
    cpu.step()  # the CPU run's second step
    assert float(opt.state[q]["step"]) == 2.0
    torch.testing.assert_close(q.detach().cpu(), p.detach())
