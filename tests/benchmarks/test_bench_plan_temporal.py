"""``benchmarks/bench_plan_temporal.py`` plans a small sweep with and without the layout cache, finds the same plans,
and counts fewer layouts computed with the cache (the timings themselves are not checked)."""

from __future__ import annotations

import json

import pytest

from ..helpers import load_script


def test_a_small_sweep_gives_equal_plans_and_fewer_layouts_with_the_cache(tmp_path, capsys):
    out = tmp_path / "res.json"
    script = load_script("benchmarks/bench_plan_temporal.py")
    script.main(["--frames", "6", "9", "--windows", "3", "5", "--repeats", "1", "--out", str(out)])
    figures = json.loads(out.read_text())["figures"]
    assert figures["cases"] == len(script.sweep(range(6, 10), [3, 5], 2)) > 100
    assert figures["plans_equal"] and 0 < figures["planned"] < figures["cases"]  # refusals are in the sweep too
    assert 0 < figures["cached_layouts"] < figures["uncached_layouts"]
    assert "speedup" in capsys.readouterr().out


def test_plans_that_differ_are_an_error(tmp_path, monkeypatch):
    script = load_script("benchmarks/bench_plan_temporal.py")
    real = script._plan_all
    calls = []

    def second_differs(cases):
        calls.append(1)
        plans = real(cases)
        return plans if len(calls) == 1 else plans[:-1] + [["another plan"]]

    monkeypatch.setattr(script, "_plan_all", second_differs)
    with pytest.raises(SystemExit, match="differ"):
        script.main(["--frames", "6", "7", "--windows", "3", "--repeats", "1", "--out", str(tmp_path / "r.json")])
