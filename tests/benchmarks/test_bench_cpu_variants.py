"""``benchmarks/bench_cpu_variants.py``: the alternating CPU A/B runs and writes its JSON (its figures are in
docs/benchmarks.md, "CPU figures")."""

from __future__ import annotations

import json

from ..helpers import load_script


def test_cpu_variants_alternate_and_agree(tmp_path):
    out = tmp_path / "variants.json"
    summary = load_script("benchmarks/bench_cpu_variants.py").main(["--threads", "2", "--reps", "1", "--out", str(out)])
    assert json.loads(out.read_text()) == json.loads(json.dumps(summary))
    names = [r["variant"].split(":")[0] for r in summary["results"]]
    assert names == ["geglu", "vae"]
    for r in summary["results"]:
        assert len(r["old_s"]) == len(r["new_s"]) == r["reps"] >= 1
        assert r["paired_ratio_median"] > 0
        # the two forms compute the same numbers up to float32 rounding (measured <= 2.4e-6)
        assert r["max_abs_difference"] < 1e-4
