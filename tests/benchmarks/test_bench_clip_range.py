"""``benchmarks/bench_clip_range.py`` runs on a short clip and finds the two reads identical (the times not checked)."""

from __future__ import annotations

import json

import pytest

from ..helpers import load_script

pytest.importorskip("av")


def test_a_short_run_reads_the_same_frames_both_ways(tmp_path):
    out = tmp_path / "res.json"
    load_script("benchmarks/bench_clip_range.py").main(["--frames", "300", "--size", "64x32", "--start", "270f",
                                                         "--max-frames", "8", "--out", str(out)])
    figures = json.loads(out.read_text())["figures"]
    assert figures["identical"] is True and figures["range"] == [270, 300] and figures["frames_read"] == 8
