"""``evaluate_scene(..., save_renders=True, overwrite=True)`` (``genxd eval --save-renders --overwrite``) replaces
``eval_renders/`` and ``metrics.json`` as one.

Before (2026-12-06), the renders folder was renamed in, then the metrics file: a stop between the two left the new
renders beside the old metrics. Here the write is stopped at every rename it makes; old and new are told apart by
the files' identities (a replacement is a new file / folder)."""

from __future__ import annotations

import os

from genxd.reconstruction.pipeline import evaluate_scene, reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig
from genxd.utils import io
from genxd.utils.json_files import read_json

from .helpers import line_of_views


def _identity(out):
    io.clean_stale(out)  # what the next write there does (puts back a folder stopped between its two renames)
    read_json(out / "metrics.json")  # read first: finishes a stopped replacement
    return (out / "metrics.json").stat().st_ino, (out / "eval_renders").stat().st_ino


def test_a_stop_at_any_rename_leaves_renders_and_metrics_of_one_evaluation(tmp_path, monkeypatch):
    views = line_of_views(tmp_path / "in")
    out = tmp_path / "out"
    reconstruct_scene(views, out, ReconstructionConfig(iterations=2, seed=0, init="random", init_points=100),
                      resolution=16, holdout_every=2, video_frames=0, inria_model=False, progress=False,
                      use_lpips=False)
    at = 0
    while True:
        evaluate_scene(out, use_lpips=False, save_renders=True, overwrite=True)
        before = _identity(out)
        calls, real = [0], (os.replace, os.rename)

        def stop(real_fn):
            def call(*args):  # from call `at` on, every rename raises: the process was stopped there
                calls[0] += 1
                if calls[0] > at:
                    raise KeyboardInterrupt
                return real_fn(*args)
            return call

        monkeypatch.setattr(os, "replace", stop(real[0]))
        monkeypatch.setattr(os, "rename", stop(real[1]))
        try:
            evaluate_scene(out, use_lpips=False, save_renders=True, overwrite=True)
            stopped = False
        except KeyboardInterrupt:
            stopped = True
        monkeypatch.undo()
        monkeypatch.setattr(io, "_writer_alive", lambda pid, modified: False)  # the stopped process is gone
        after = _identity(out)
        monkeypatch.undo()
        same = [a == b for a, b in zip(before, after)]
        assert same[0] == same[1], f"stopped at rename {at}: metrics.json {'old' if same[0] else 'new'}, " \
                                   f"eval_renders/ {'old' if same[1] else 'new'}"
        assert not [p for p in out.iterdir() if p.name.startswith(".")]
        if not stopped:
            break
        at += 1
    assert at >= 3
