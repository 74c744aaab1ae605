"""``benchmarks/bench_training_scaling.py --smoke``: the 1-vs-N driver runs and computes the scaling
efficiency from its runs (the real figures need a multi-GPU machine)."""

import json
import os
from pathlib import Path

import pytest

from ..helpers import load_script


def _load():
    return load_script("benchmarks/bench_training_scaling.py")


@pytest.mark.slow
def test_scaling_driver_on_cpu_processes(tmp_path):
    """Two launches (each one interpreter start under ``accelerate launch``, the test's cost): the two-process DDP
    run and the equivalence reference, one process with the whole batch. The efficiency arithmetic against a
    one-GPU run is checked without launching one (``test_scaling_efficiency_against_one_gpu``)."""
    out = tmp_path / "scaling.json"
    result = _load().main(["--smoke", "--gpus", "2", "--steps", "2", "--warmup", "1", "--equivalence",
                           "--out", str(out)])
    runs = {(r["setting"], r["gpus"], r["batch_per_gpu"]): r for r in json.loads(out.read_text())["runs"]}
    assert set(runs) == {("ddp", 2, 1), ("single", 1, 2)} and result["runs"]
    assert all(r["returncode"] == 0 for r in runs.values()), [(r.get("errors"), r.get("error_tail"))
                                                              for r in runs.values()]
    ddp = runs[("ddp", 2, 1)]
    # bench_training.py --accelerate under accelerate launch (2 CPU processes, gloo): global throughput and the
    # per-process figures come back in the main process's JSON
    assert ddp["num_processes"] == 2 and ddp["distributed"] == "MULTI_CPU" and ddp["global_batch"] == 2
    assert len(ddp["seconds_per_step_median_per_process"]) == 2
    assert ddp["samples_per_s"] == pytest.approx(2 / max(ddp["seconds_per_step_median_per_process"]))
    assert "scaling_efficiency" not in ddp  # no one-GPU run at batch 1 to compare with
    # two processes with batch 1 see, step by step, the samples one process with batch 2 sees: float32 on CPU
    # processes, so the per-step losses agree up to the reduction order (measured here: < 1e-6 relative)
    eq = result["equivalence"]
    assert eq["reference"] == "single x 1, batch 2" and [r["setting"] for r in eq["runs"]] == ["ddp"]
    assert len(eq["runs"][0]["losses"]) == 3
    assert eq["runs"][0]["max_relative_difference"] < 1e-4 and eq["runs"][0]["equal"], eq


def test_scaling_efficiency_against_one_gpu():
    runs = [{"setting": "single", "gpus": 1, "batch_per_gpu": 1, "samples_per_s": 4.0},
            {"setting": "ddp", "gpus": 2, "batch_per_gpu": 1, "samples_per_s": 6.0},
            {"setting": "ddp", "gpus": 2, "batch_per_gpu": 2, "samples_per_s": 10.0},
            {"setting": "fsdp", "gpus": 1, "batch_per_gpu": 1, "samples_per_s": 3.0}]
    _load().add_scaling_efficiency(runs)
    assert [r.get("scaling_efficiency") for r in runs] == [1.0, 0.75, None, 0.75]


def test_launch_command_names_the_setting():
    cmd = _load().launch_command("fsdp_offload", 4, Path("x.json"), ["--steps", "2"])
    assert cmd[cmd.index("--num_processes") + 1] == "4" and "--use_fsdp" in cmd
    assert cmd[cmd.index("--fsdp_offload_params") + 1] == "true" and cmd[-2:] == ["--steps", "2"]
    assert cmd[cmd.index("--num_cpu_threads_per_process") + 1] == str(max(1, (os.cpu_count() or 1) // 4))
    cmd = _load().launch_command("single", 1, Path("x.json"), [], threads=1)  # --smoke: one thread a process
    assert cmd[cmd.index("--num_cpu_threads_per_process") + 1] == "1"

