"""Bad arguments of the benchmark scripts: argparse's one-line ``error:`` (exit 2), no traceback, nothing written.

Every case stops in argument parsing (``main(argv)``), before any benchmark work.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch

from ..helpers import ROOT, load_script

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the refusal when CUDA is missing")


def refused(script: str, argv: list[str], capsys, *expected: str) -> str:
    """Run ``script``'s ``main(argv)``; it must exit 2 with one ``error:`` line holding every ``expected``."""
    module = load_script(f"benchmarks/{script}")
    with pytest.raises(SystemExit) as exc:
        module.main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1 and "Traceback" not in err, err
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def out(tmp_path):
    path = tmp_path / "res.json"
    yield path
    assert not path.exists() and not path.with_suffix(".jsonl").exists()  # nothing written


# 1. bench_schedulers
@pytest.mark.parametrize("argv, expected", [
    (["--scenes", "0"], "--scenes"),
    (["--scenes", "-2"], "--scenes"),
    (["--model", "/nonexistent"], "/nonexistent"),
    (["--configs", "euler:0"], "euler:0"),
    (["--workers", "0"], "--workers"),
])
def test_bench_schedulers_refuses(argv, expected, out, capsys):
    refused("bench_schedulers.py", [*argv, "--out", str(out)], capsys, expected)


def test_bench_schedulers_resume_key_holds_the_run_settings(tmp_path):
    bench = load_script("benchmarks/bench_schedulers.py")
    base = bench.run_settings(None, 7, None, "cpu")
    tags = {bench.run_tag(s) for s in (base, bench.run_settings(str(tmp_path), 7, None, "cpu"),
                                       bench.run_settings(None, 8, None, "cpu"), bench.run_settings(None, 7, 3.0, "cpu"),
                                       bench.run_settings(None, 7, None, "cuda"))}
    assert len(tags) == 5
    assert bench.run_settings("rel", 7, None, "cpu")["model"] == str(Path("rel").resolve())  # resolved path
    # rows of another model are not this run's results
    old, new = bench.run_tag(base), bench.run_tag(bench.run_settings(str(tmp_path), 7, None, "cpu"))
    row = {"scene": 0, "mode": "3d-1view", "psnr": 20.0, "ssim": 0.5, "seconds": 1.0}
    done = {bench.item_key(0, "3d-1view", c, old): {**row, "config": c} for c in ("euler:25", "euler:10")}
    summary = bench.summarize(done, ["euler:25", "euler:10"], "euler:25", ["3d-1view"], 1, tmp_path, 0.2, new)
    assert all(not r["modes"] for r in summary["configs"].values())
    summary = bench.summarize(done, ["euler:25", "euler:10"], "euler:25", ["3d-1view"], 1, tmp_path, 0.2, old)
    assert all(r["modes"] for r in summary["configs"].values())


# 2. bench_camera_paths
@pytest.mark.parametrize("argv, expected", [
    (["--parts", "eval-camra"], ("eval-camra", "from-video, eval-camera, model")),
    (["--parts", ","], ("--parts",)),
    (["--parts", "eval-camera", "--eval-settings", "64"], ("--eval-settings", "'64'")),
    (["--parts", "eval-camera", "--eval-settings", "64x8,0x4"], ("'0x4'",)),
    (["--keep-other-parts"], ("--out",)),
])
def test_bench_camera_paths_refuses(argv, expected, tmp_path, capsys):
    out = tmp_path / "res.json"
    argv = argv if "--keep-other-parts" in argv else [*argv, "--out", str(out)]
    refused("bench_camera_paths.py", argv, capsys, *expected)
    assert not out.exists()


# 3. bench_synthetic
@pytest.mark.parametrize("argv, expected", [
    (["--repeats", "0"], "--repeats"),
    (["--devices", "gpu"], "'gpu'"),
    pytest.param(["--devices", "cuda"], "cuda requested but not available", marks=NO_CUDA),
])
def test_bench_synthetic_refuses(argv, expected, out, capsys):
    refused("bench_synthetic.py", [*argv, "--out", str(out)], capsys, expected)


def test_bench_synthetic_refuses_a_folder_as_out(tmp_path, capsys):
    refused("bench_synthetic.py", ["--out", str(tmp_path)], capsys, "is a folder")


# 4. bench_generate_cpu
@pytest.mark.parametrize("argv, expected", [
    (["--repeats", "0"], "--repeats"),
    (["--image", "/nonexistent.png"], "/nonexistent.png"),
])
def test_bench_generate_cpu_refuses(argv, expected, out, capsys):
    refused("bench_generate_cpu.py", [*argv, "--out", str(out)], capsys, expected)


def test_bench_generate_cpu_shows_the_childs_error():
    bench = load_script("benchmarks/bench_generate_cpu.py")
    child = "import sys; print('noise', file=sys.stderr); print('genxd: error: --camera orbt', file=sys.stderr); sys.exit(2)"
    with pytest.raises(SystemExit) as exc:
        bench.timed_run([sys.executable, "-c", child], {})
    assert "exit 2" in str(exc.value) and "genxd: error: --camera orbt" in str(exc.value)


# 5. the others
@pytest.mark.parametrize("script, argv, expected", [
    ("bench_sparse_depth.py", ["--reps", "0"], "--reps"),
    ("eval_preset_scale.py", ["--scenes", "0"], "--scenes"),
    ("eval_preset_scale.py", ["--scales", "0"], "--scales"),
    ("eval_preset_scale.py", ["--scales", "1,x"], "'x'"),
    ("eval_preset_scale.py", ["--paths", "forwrd"], "forwrd"),
    ("bench_reconstruction.py", ["--device", "gpu"], "'gpu'"),
    ("bench_reconstruction.py", ["--iterations", "0"], "--iterations"),
    ("bench_no_turn_fit.py", ["--clips", "/nonexistent.mp4"], "/nonexistent.mp4"),
    ("pipeline_spread.py", ["--clips", "4d:0,5d:1"], "'5d:1'"),
    ("pipeline_spread.py", ["--clips", "4d:x"], "'4d:x'"),
    ("pipeline_spread.py", ["--size", "0"], "--size"),
    ("pipeline_spread.py", ["--render-dtype", "float16"], "float16"),
    ("pipeline_spread.py", ["--compare", "/nonexistent_a.json", "/nonexistent_b.json"], "/nonexistent_a.json"),
])
def test_other_scripts_refuse(script, argv, expected, out, capsys):
    refused(script, [*argv, "--out", str(out)], capsys, expected)


def test_photo_contact_sheets_refuses_unknown_modes(tmp_path, capsys):
    out = tmp_path / "sheet.png"
    refused("photo_contact_sheets.py", ["--modes", "forwrd", "--out", str(out)], capsys, "forwrd", "orbit")
    refused("photo_contact_sheets.py", ["--photos", "nope", "--out", str(out)], capsys, "nope")
    assert not out.exists()


# 7. bench_training imports genxd (which quiets bitsandbytes' log line) before diffusers
def test_bench_training_imports_genxd_before_diffusers():
    lines = (ROOT / "benchmarks" / "bench_training.py").read_text().splitlines()
    first_genxd = next(i for i, line in enumerate(lines) if line.strip() == "import genxd  # noqa: F401" or
                       line.startswith("import genxd "))
    first_diffusers = next(i for i, line in enumerate(lines) if "diffusers import" in line or "import diffusers" in line)
    assert first_genxd < first_diffusers


def test_bench_generate_cpu_unknown_camera_ends_with_genxds_error(out, capsys):
    bench = load_script("benchmarks/bench_generate_cpu.py")
    with pytest.raises(SystemExit) as exc:
        bench.main(["--camera", "orbt", "--out", str(out)])
    assert exc.value.code != 0 and "genxd: error:" in str(exc.value) and "orbt" in str(exc.value)


# the input fuzzer
@pytest.mark.parametrize("argv, expected", [
    (["--targets", "colmap-bin,nope"], "nope"),
    (["--cases", "0"], "--cases"),
    (["--timeout", "0"], "--timeout"),
])
def test_fuzz_inputs_refuses(argv, expected, out, capsys):
    refused("fuzz_inputs.py", [*argv, "--json", str(out)], capsys, expected)


def test_fuzz_inputs_refuses_a_folder_as_its_report(tmp_path, capsys):
    refused("fuzz_inputs.py", ["--json", str(tmp_path)], capsys, "--json", "is a folder")


def test_fuzz_inputs_skips_a_target_whose_optional_package_is_missing(monkeypatch, out, tmp_path, capsys):
    """demo-api needs gradio (the demo extra; the README's [dev] install has none): asked for, it is refused in one
    line; in a run of every target it is skipped, said so and recorded."""
    import importlib.util

    fuzz = load_script("benchmarks/fuzz_inputs.py")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    refused("fuzz_inputs.py", ["--targets", "demo-api", "--json", str(out)], capsys,
            "demo-api needs an optional package: pip install -e '.[demo]'")
    targets = {name: entry for name, entry in fuzz.all_targets().items() if name in ("demo-api", "train-config")}
    monkeypatch.setattr(fuzz, "all_targets", lambda: targets)
    report_path = tmp_path / "report.json"
    assert fuzz.main(["--cases", "3", "--json", str(report_path)]) == 0
    printed = capsys.readouterr().out
    assert "demo-api: skipped, it needs an optional package: pip install -e '.[demo]'" in printed
    assert "train-config: 3 cases" in printed
    report = json.loads(report_path.read_text())
    assert report["skipped"] == [{"target": "demo-api", "needs": "pip install -e '.[demo]'"}]
    assert [t["target"] for t in report["targets"]] == ["train-config"]


@pytest.mark.parametrize("script", ["bench_ray_memory.py", "bench_ray_collect.py"])
@pytest.mark.parametrize("argv, expected", [(["--tasks", "x"], ["--tasks", "invalid int value: 'x'"]),
                                            (["--tasks", "0"], ["--tasks", "must be at least 1, got 0"]),
                                            (["--tasks", "2000,-5"], ["--tasks", "got -5"]),
                                            (["--tasks", ","], ["--tasks", "comma-separated integers"]),
                                            (["--cpus", "0"], ["--cpus", "must be at least 1, got 0"]),
                                            (["--cpus", "two"], ["--cpus", "invalid int value"])])
def test_local_ray_counts_are_checked_by_argparse(script, argv, expected, capsys, out):
    # Before: --tasks x was a ValueError traceback once Ray had started; --tasks 0 / --cpus 0 started Ray for nothing
    refused(script, [*argv, "--out", str(out)], capsys, *expected)


@pytest.mark.parametrize("argv, expected", [(["--stops", "0"], ["--stops", "must be at least 1, got 0"]),
                                            (["--cpus", "0"], ["--cpus", "must be at least 1, got 0"]),
                                            (["--task-s", "0.1"], ["--task-s", "0.5 to 600 seconds, got 0.1"]),
                                            (["--task-s", "nan"], ["--task-s", "got nan"])])
def test_bench_ray_cancel_refuses_bad_counts_before_ray_starts(argv, expected, capsys, out):
    refused("bench_ray_cancel.py", [*argv, "--out", str(out)], capsys, *expected)


def test_a_bad_task_count_from_the_shell_is_one_line(tmp_path):
    import subprocess

    res = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_ray_memory.py"), "--tasks", "x", "--out",
                          str(tmp_path / "res.json")], capture_output=True, text=True, timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    assert res.stderr.strip().splitlines()[-1].endswith("argument --tasks: invalid int value: 'x'")
    assert not (tmp_path / "res.json").exists()


def test_bench_weights_check_refuses_no_repeats(capsys):
    refused("bench_weights_check.py", ["--repeats", "0"], capsys, "--repeats", "at least 1")
