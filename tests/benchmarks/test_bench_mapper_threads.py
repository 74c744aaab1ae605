"""benchmarks/bench_mapper_threads.py: it times SfM with the mappers on 1 and on N threads and says how far apart
the cameras are; the mapper setting it changes is put back."""

from __future__ import annotations

import json

import pytest

from ..helpers import load_script

pytest.importorskip("pycolmap", reason="SfM needs pycolmap")


def test_the_mapper_benchmark_times_both_settings_and_puts_the_setting_back(tmp_path):
    from genxd.curation import sfm

    bench = load_script("benchmarks/bench_mapper_threads.py")
    kept = sfm.MAPPER_THREADS
    out = tmp_path / "mapper.json"
    # the smallest clip SfM still maps (8 frames, 96 px: mapped in both settings, no fallback; 16 x 128 px cost twice
    # the CPU time and reach no other code)
    assert bench.main(["--cameras", "orbit", "--frames", "8", "--size", "96", "--threads", "2", "--reps", "1",
                       "--out", str(out)]) == 0
    assert sfm.MAPPER_THREADS == kept
    (row,) = json.loads(out.read_text())["clips"]
    assert row["method"] == "sfm"
    assert row["camera"] == "orbit" and row["map_s_1"] > 0 and row["map_s_2"] > 0 and row["wall_s_1"] > row["map_s_1"]
    assert row["rot_apart_deg_max"] is not None  # the two settings' cameras compared
