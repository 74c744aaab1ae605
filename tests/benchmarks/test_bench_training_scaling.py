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
    result = _load().main(["--smoke", "--gpus", "1", "2", "--steps", "2", "--warmup", "1", "--equivalence",
                           "--out", str(out)])
    runs = {(r["setting"], r["gpus"], r["batch_per_gpu"]): r for r in json.loads(out.read_text())["runs"]}
    assert set(runs) == {("single", 1, 1), ("ddp", 2, 1), ("single", 1, 2)} and result["runs"]
    runs = {(s, g): r for (s, g, b), r in runs.items() if b == 1}
    assert all(r["returncode"] == 0 for r in runs.values()), [r.get("error_tail") for r in runs.values()]
    single, ddp = runs[("single", 1)], runs[("ddp", 2)]
    # bench_training.py --accelerate under accelerate launch (2 CPU processes, gloo): global throughput and the
    # per-process figures come back in the main process's JSON
    assert ddp["num_processes"] == 2 and ddp["distributed"] == "MULTI_CPU" and ddp["global_batch"] == 2
    assert len(ddp["seconds_per_step_median_per_process"]) == 2
    assert ddp["samples_per_s"] == pytest.approx(2 / max(ddp["seconds_per_step_median_per_process"]))
    assert single["scaling_efficiency"] == pytest.approx(1.0)
    assert ddp["scaling_efficiency"] == pytest.approx(ddp["samples_per_s"] / (2 * single["samples_per_s"]))
    # two processes with batch 1 see, step by step, the samples one process with batch 2 sees: float32 on CPU
    # processes, so the per-step losses agree up to the reduction order (measured here: < 1e-6 relative)
    eq = result["equivalence"]
    assert eq["reference"] == "single x 1, batch 2" and [r["setting"] for r in eq["runs"]] == ["ddp"]
    assert len(eq["runs"][0]["losses"]) == 3
    assert eq["runs"][0]["max_relative_difference"] < 1e-4 and eq["runs"][0]["equal"], eq


def test_launch_command_names_the_setting():
    cmd = _load().launch_command("fsdp_offload", 4, Path("x.json"), ["--steps", "2"])
    assert cmd[cmd.index("--num_processes") + 1] == "4" and "--use_fsdp" in cmd
    assert cmd[cmd.index("--fsdp_offload_params") + 1] == "true" and cmd[-2:] == ["--steps", "2"]

