"""``benchmarks/bench_cpu_variants.py``: the alternating CPU A/B runs and writes its JSON (its figures are in
docs/benchmarks/cpu_figures.md, "CPU figures")."""

from __future__ import annotations

import json

import torch

from ..helpers import load_script


def test_cpu_variants_alternate_and_agree(tmp_path):
    out = tmp_path / "variants.json"
    # the script sets torch's threads for the rest of the process: this process's share (tests/conftest.py: one
    # thread a worker under -n 2), not 2, which left the xdist worker's later tests running two threads beside the
    # other worker's (the alternation and the agreement checked here do not depend on the count)
    threads = torch.get_num_threads()
    summary = load_script("benchmarks/bench_cpu_variants.py").main(["--threads", str(threads), "--reps", "1",
                                                                     "--out", str(out)])
    assert torch.get_num_threads() == threads
    assert json.loads(out.read_text()) == json.loads(json.dumps(summary))
    names = [r["variant"].split(":")[0] for r in summary["results"]]
    assert names == ["geglu", "vae"]
    for r in summary["results"]:
        assert len(r["old_s"]) == len(r["new_s"]) == r["reps"] >= 1
        assert r["paired_ratio_median"] > 0
        # the two forms compute the same numbers up to float32 rounding (measured <= 2.4e-6)
        assert r["max_abs_difference"] < 1e-4
