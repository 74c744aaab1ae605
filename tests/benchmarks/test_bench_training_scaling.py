"""``benchmarks/bench_training_scaling.py --smoke``: the 1-vs-N driver runs and computes the scaling
efficiency from its runs (the real figures need a multi-GPU machine)."""

import json
from pathlib import Path

import pytest

from ..helpers import load_script


def _load():
    return load_script("benchmarks/bench_training_scaling.py")


def test_scaling_driver_on_cpu_processes(tmp_path):
    out = tmp_path / "scaling.json"
    result = _load().main(["--smoke", "--gpus", "1", "2", "--steps", "2", "--warmup", "1", "--out", str(out)])
    runs = {(r["setting"], r["gpus"]): r for r in json.loads(out.read_text())["runs"]}
    assert set(runs) == {("single", 1), ("ddp", 2)} and result["runs"]
    assert all(r["returncode"] == 0 for r in runs.values()), [r.get("error_tail") for r in runs.values()]
    single, ddp = runs[("single", 1)], runs[("ddp", 2)]
    assert ddp["num_processes"] == 2 and ddp["distributed"] == "MULTI_CPU"
    assert single["scaling_efficiency"] == pytest.approx(1.0)
    assert ddp["scaling_efficiency"] == pytest.approx(ddp["samples_per_s"] / (2 * single["samples_per_s"]))


def test_launch_command_names_the_setting():
    cmd = _load().launch_command("fsdp_offload", 4, Path("x.json"), ["--steps", "2"])
    assert cmd[cmd.index("--num_processes") + 1] == "4" and "--use_fsdp" in cmd
    assert cmd[cmd.index("--fsdp_offload_params") + 1] == "true" and cmd[-2:] == ["--steps", "2"]
