"""``ply/times.json`` (``genxd reconstruct --mode 4d --per-time-ply``) lists the times as the shortest decimals that
read back as the float32 times the scenes were written at: ``1 / 7`` was written ``0.1428571492433548`` (the float64
of its float32 bits)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np

from genxd.reconstruction.pipeline import reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig

from .helpers import line_of_views


def test_times_json_holds_the_shortest_decimals_of_the_times(tmp_path) -> None:
    n = 8  # frames without time stamps: frame i at i / 7
    views = line_of_views(tmp_path / "in", n)
    out = tmp_path / "out"
    reconstruct_scene(views, out, ReconstructionConfig(iterations=1, mode="4d", init="random", init_points=50),
                      resolution=16, per_time_ply=True, video_frames=0, progress=False, use_lpips=False)
    text = (out / "ply" / "times.json").read_text()
    times = json.loads(text)
    with np.load(out / "motion.npz") as motion:  # the float32 times the scenes were written at
        written = motion["times"]
    assert written.dtype == np.float32 and len(written) == n == len(list((out / "ply").glob("time_*.ply")))
    assert np.array_equal(np.asarray(times, dtype=np.float32), written)  # each reads back as its float32 time
    assert "0.1428571492433548" not in text and times[1] == 0.14285715  # before: the float64 of its bits
    for value in times:  # one significant digit fewer reads back another float32
        digits = len(Decimal(repr(value)).normalize().as_tuple().digits)
        assert digits == 1 or np.float32(float(f"{value:.{digits - 2}e}")) != np.float32(value), value
