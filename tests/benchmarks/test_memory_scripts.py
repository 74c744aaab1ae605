"""CPU checks of bench_memory.py (--smoke), bench_schedulers.py (summary, resume) and bench_decoding.py."""

from __future__ import annotations

import inspect
import json

import pytest

from ..helpers import load_script


def test_bench_memory_switch_sets_are_real_switches():
    from genxd.pipelines.fast import enable_fast_path
    from genxd.pipelines.memory import configure_memory

    bench = load_script("benchmarks/bench_memory.py")
    fast, memory = (set(inspect.signature(f).parameters) for f in (enable_fast_path, configure_memory))
    for name, (f, m) in bench.SWITCH_SETS.items():
        assert set(f) <= fast and set(m) <= memory, name
    assert bench.SWITCH_SETS["default"] == ({}, {})  # the defaults are what genxd generate uses


def test_bench_memory_smoke_runs(tmp_path):
    bench = load_script("benchmarks/bench_memory.py")
    out = tmp_path / "mem.json"
    result = bench.main(["--smoke", "--switches", "default", "model_offload", "group_offload_sequential",
                         "--resolutions", "32", "--frames", "3", "--out", str(out)])
    rows = result["rows"]
    assert [r["switches"] for r in rows] == ["default", "model_offload", "group_offload_sequential"]
    assert all("error" not in r and r["output_finite"] for r in rows), rows
    assert rows[1]["offload_moves"][:3] == ["vae->cpu", "unet->cpu", "vae->cpu"]
    assert json.loads(out.read_text())["rows"] == rows


def test_bench_schedulers_summary_and_resume(tmp_path):
    bench = load_script("benchmarks/bench_schedulers.py")
    assert bench.parse_config("dpmpp-2m:10") == ("dpmpp-2m", 10)
    with pytest.raises(SystemExit, match="NAME:STEPS"):
        bench.parse_config("ddim:10")
    rows = []
    for scene in range(4):
        for mode in ("3d-1view", "3d-3view"):
            for config, offset in (("euler:25", 0.0), ("euler:10", -0.1 if scene % 2 else 0.0), ("heun:5", -1.0)):
                rows.append({"key": bench.item_key(scene, mode, config), "scene": scene, "mode": mode, "config": config,
                             "psnr": 20.0 + scene + offset, "ssim": 0.5, "seconds": 1.0})
    jsonl = tmp_path / "s.jsonl"
    jsonl.write_text("".join(json.dumps(r) + "\n" for r in rows[:-1]))
    done = bench.load_done(jsonl)
    assert len(done) == len(rows) - 1  # the last item would run again
    done[rows[-1]["key"]] = rows[-1]
    summary = bench.summarize(done, ["euler:25", "euler:10", "heun:5"], "euler:25", ["3d-1view", "3d-3view"], 4,
                              tmp_path, 0.2)
    e10, heun = summary["configs"]["euler:10"], summary["configs"]["heun:5"]
    assert e10["modes"]["3d-1view"]["psnr_minus_reference"] == pytest.approx(-0.05)
    assert e10["matches_reference"] and not heun["matches_reference"]
    assert e10["no_worse_than_reference"] and not heun["no_worse_than_reference"]
    assert heun["unet_calls"] == 9 and e10["unet_calls"] == 10
    assert e10["modes"]["3d-1view"]["psnr_vs_reference_frames"] is None  # no cached frames here


def test_bench_decoding_settings_parse():
    bench = load_script("benchmarks/bench_decoding.py")
    for s in bench.SETTINGS:
        assert s == "bf16" or all(x.isdigit() for x in s.split(":"))
