"""benchmarks/bench_undistort_grids.py: it times a grid, and training items with and without the grid cache, for a
shared camera and a camera per view; a bad size is one usage line."""

from __future__ import annotations

import json

import pytest

from ..helpers import load_script

pytest.importorskip("pycolmap", reason="undistortion needs pycolmap")


def test_the_grid_benchmark_times_both_cameras_with_and_without_the_cache(tmp_path):
    bench = load_script("benchmarks/bench_undistort_grids.py")
    out = tmp_path / "grids.json"
    assert bench.main(["--sizes", "30x40", "--views", "3", "--reps", "1", "--out", str(out)]) == 0
    (row,) = json.loads(out.read_text())["sizes"]
    assert (row["height"], row["width"], row["views"]) == (30, 40, 3) and row["grid_build_s"] > 0
    assert row["shared_camera_grids_kept"] == 1 and row["camera_per_view_grids_kept"] == 3
    assert all(row[f"{c}_{k}_s"] > 0 for c in ("shared_camera", "camera_per_view") for k in ("no_cache", "cached"))


def test_a_bad_size_is_a_usage_error(tmp_path, capsys):
    bench = load_script("benchmarks/bench_undistort_grids.py")
    with pytest.raises(SystemExit) as info:
        bench.main(["--sizes", "1080by1920", "--out", str(tmp_path / "x.json")])
    assert info.value.code == 2 and "expected HEIGHTxWIDTH" in capsys.readouterr().err
    assert not (tmp_path / "x.json").exists()
