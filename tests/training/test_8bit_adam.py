"""bitsandbytes' 8-bit AdamW (``training.use_8bit_adam``, the ``train`` extra) on the CPU.

bitsandbytes >= 0.45 ships CPU kernels for its 8-bit optimizers, so this path runs in CI.
"""

from __future__ import annotations

import json

import pytest
import torch

from genxd.training.config import OptimConfig, load_config
from genxd.training.trainer import make_optimizer, train_genxd

from .conftest import QUIET, TINY

bnb = pytest.importorskip("bitsandbytes", reason="needs the 'train' extra (bitsandbytes): pip install -e '.[train]'")


def _fit(use_8bit: bool, target: torch.Tensor, steps: int = 50) -> tuple[torch.Tensor, float, torch.optim.Optimizer]:
    p = torch.nn.Parameter(torch.zeros_like(target))
    opt = make_optimizer([p], OptimConfig(learning_rate=1e-2, weight_decay=0.0, use_8bit_adam=use_8bit))
    for _ in range(steps):
        loss = ((p - target) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return p.detach(), float(loss), opt


def test_8bit_adamw_keeps_8bit_states_and_follows_adamw():
    torch.manual_seed(0)
    target = torch.randn(8192)  # above bitsandbytes' min_8bit_size (4096): quantised states
    p8, loss8, opt = _fit(True, target)
    p32, loss32, _ = _fit(False, target)
    assert isinstance(opt, bnb.optim.AdamW8bit)
    state = opt.state[opt.param_groups[0]["params"][0]]
    assert state["state1"].dtype == torch.uint8 and state["state2"].dtype == torch.uint8
    # Measured over seeds 0-2: losses within 0.7 %, mean |p8 - p32| 0.012 (|p| ~ 0.37); 2.5x margins.
    assert loss8 == pytest.approx(loss32, rel=0.02)
    assert (p8 - p32).abs().mean() < 0.03
    assert loss8 < 0.5 * float((target**2).mean())  # it did optimise


def test_tiny_training_with_8bit_adam(tmp_path):
    out = tmp_path / "run"
    cfg = load_config(TINY, [*QUIET, f"output_dir={out}", "data.datasets.0.length=2", "training.max_steps=2",
                             "training.ema.enabled=false", "training.use_8bit_adam=true", "checkpoint.every_steps=2"])
    last = train_genxd(cfg, cpu=True)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2] and all(torch.isfinite(torch.tensor(r["loss"])) for r in rows)
    assert (last / "accelerate_state" / "optimizer.bin").is_file()
