"""``benchmarks/bench_training.py --smoke`` runs (the CUDA benchmark itself runs on a GPU machine); its
``--accelerate`` run on two CPU processes is tested through the 1-vs-N driver
(``tests/benchmarks/test_bench_training_scaling.py``)."""

from __future__ import annotations

import json

import pytest
import torch

from ..helpers import load_script


def _load():
    return load_script("benchmarks/bench_training.py")


def test_bench_training_smoke(tmp_path):
    out = tmp_path / "bench.json"
    result = _load().main(["--smoke", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["samples_per_s"] == result["samples_per_s"] > 0
    assert saved["mode"].startswith("smoke") and all(l > 0 for l in saved["losses"])


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bench_training_released_size_cuda(tmp_path):
    result = _load().main(["--steps", "2", "--warmup", "1", "--out", str(tmp_path / "bench.json")])
    assert result["unet_parameters"] == 1932125520 and result["peak_memory_gib"] > 0
