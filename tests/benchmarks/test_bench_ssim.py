"""``benchmarks/bench_ssim.py`` runs and saves its figures (a few passes: the timings themselves are not checked)."""

from __future__ import annotations

import json

from ..helpers import load_script


def test_a_short_run_saves_the_timing_value_and_gradient(tmp_path, capsys):
    out = tmp_path / "res.json"
    load_script("benchmarks/bench_ssim.py").main(["--sizes", "16", "--calls", "2", "--repeats", "1", "--out", str(out)])
    (run,) = json.loads(out.read_text())["runs"]
    assert run["size"] == 16 and run["forward_backward_ms"] > 0 and run["grad_l1"] > 0
    assert -1 <= run["ssim"] <= 1
    assert "forward + backward" in capsys.readouterr().out
