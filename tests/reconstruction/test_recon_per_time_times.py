"""``ply/times.json`` (``genxd reconstruct --mode 4d --per-time-ply``) lists the times as the shortest decimals that
read back as the float32 times the scenes were written at: ``1 / 7`` was written ``0.1428571492433548`` (the float64
of its float32 bits)."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import torch

from genxd.reconstruction.pipeline import reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig

from .helpers import write_views_folder


def test_times_json_holds_the_shortest_decimals_of_the_times(tmp_path) -> None:
    n = 8  # frames without time stamps: frame i at i / 7
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(-0.2, 0.2, n)
    c2w[:, 2, 3] = -2.0
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(n, 1, 1)
    views = write_views_folder(tmp_path / "in", torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(0)),
                               c2w, K)
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
