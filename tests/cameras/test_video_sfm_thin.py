"""Reconstructions whose frames see too few points (:func:`genxd.cameras.video_sfm.too_few_points`) in every SfM
pass of ``trajectory from-video``, with stand-ins for KLT and SIFT SfM.

Before: the refusal ran once, after :func:`genxd.cameras.video_sfm.run_video_sfm` had picked KLT or SIFT; with
``features="auto"`` SIFT was not tried when KLT registered every frame, so a thin KLT reconstruction was refused
where SIFT may have worked, and a thin second (masked) pass or small-window retrack replaced a good first one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from genxd.cameras import clip_sfm, video_sfm
from genxd.curation import sfm as csfm
from genxd.curation.sfm import SfmError


def _result(features: str, points: int, registered: int = 8, n: int = 8, c2w: np.ndarray | None = None):
    """A stand-in ``SfmResult`` of ``n`` frames, the first ``registered`` posed, each seeing ``points`` points."""
    reg = np.arange(n) < registered
    images = {i: SimpleNamespace(has_pose=bool(reg[i]), num_points3D=points) for i in range(n)}
    return SimpleNamespace(c2w=np.repeat(np.eye(4)[None], n, 0) if c2w is None else c2w, registered=reg,
                           num_registered=registered, features=features, num_points3D=points * 3,
                           mean_reprojection_error=0.5, timings={"sfm_map": 1.0}, K=np.eye(3),
                           reconstruction=SimpleNamespace(images=images))


def _stand_ins(monkeypatch, klt, sift) -> list[str]:
    """``klt_sfm`` and ``run_sfm`` give ``klt(work)`` and ``sift(work)`` (a result, or an SfmError raised); the
    list returned names the runs made."""
    runs: list[str] = []

    def run(name, make):
        def stand_in(image_dir, names, work, *args, **kwargs):
            runs.append(f"{name} {Path(work).parent.name}")
            got = make(Path(work))
            if isinstance(got, Exception):
                raise got
            return got
        return stand_in

    monkeypatch.setattr(video_sfm, "klt_sfm", run("klt", klt))
    monkeypatch.setattr(csfm, "run_sfm", run("sift", sift))
    return runs


@pytest.mark.parametrize("sift_registered", [8, 6])
def test_sift_is_tried_and_wins_when_klt_registers_every_frame_but_sees_too_few_points(monkeypatch, sift_registered):
    thin, dense = _result("klt", 5), _result("sift", 40, sift_registered)
    runs = _stand_ins(monkeypatch, lambda w: thin, lambda w: dense)
    got = video_sfm.run_video_sfm(Path("images"), [f"{i}.png" for i in range(8)], Path("w"), None, 1.0)
    assert runs == ["klt w", "sift w"]  # before: SIFT never run (KLT registered all 8)
    assert got is dense, got.features  # ahead of KLT's 8 registered frames: they see 5 points each
    assert [t[0] for t in got.tried] == ["klt", "sift"] and [t[5] for t in got.tried] == [False, True]


def test_only_thin_reconstructions_are_refused_naming_why(monkeypatch):
    _stand_ins(monkeypatch, lambda w: _result("klt", 5), lambda w: _result("sift", 3))
    with pytest.raises(SfmError, match=r"SfM \(klt\) registered frames, but its 8 frames see 5 points each .*too few"):
        video_sfm.run_video_sfm(Path("images"), [f"{i}.png" for i in range(8)], Path("w"), None, 1.0)


def test_a_thin_second_pass_keeps_the_first(monkeypatch):
    first = _result("klt", 40)
    runs = _stand_ins(monkeypatch, lambda w: first if w.parent.name == "sfm" else _result("klt", 4),
                      lambda w: SfmError("no model"))
    moving = np.zeros((8, 16, 16), bool)
    moving[:, :4, :4] = True  # 6 % of the frames: a second pass is run
    monkeypatch.setattr(clip_sfm, "inconsistent_track_mask", lambda *a: moving)
    monkeypatch.setattr(clip_sfm, "rebundle_without_turning", lambda sfm: sfm)  # these need pycolmap's models
    monkeypatch.setattr(clip_sfm, "fit_without_turning", lambda sfm: sfm)
    report: dict = {"warnings": []}
    allowed = np.ones((8, 16, 16), bool)
    got, kept_mask = clip_sfm.reconstruct_clip(
        np.zeros((8, 16, 16, 3), np.uint8), Path("images"), [f"{i}.png" for i in range(8)], Path("w"), allowed, 1.0,
        features="auto", num_threads=1, seed=0, mapper="global", refine_masks=True, stage=lambda s: None,
        report=report, timings={})
    assert runs == ["klt sfm", "klt sfm2", "sift sfm2"]  # the thin KLT second pass has SIFT tried too
    assert got is first and kept_mask.all(), got  # before: the second pass, 4 points a frame
    assert [w for w in report["warnings"] if w.startswith("the second SfM pass failed") and "too few to place a camera"
            in w], report["warnings"]


def test_the_small_window_is_not_kept_when_its_frames_see_too_few_points(monkeypatch):
    from genxd.data.synthetic import orbit_cameras

    first = _result("klt", 40, c2w=orbit_cameras(8, 4.0, 0.0, (0, 70))[0].double().numpy())  # 10 degrees a frame
    first.klt_window, first.tried = video_sfm.KLT_WINDOW, [("klt", video_sfm.KLT_WINDOW, 8, 0.5, 10.0, True)]
    small = _result("klt", 6, c2w=orbit_cameras(8, 4.0, 0.0, (0, 68))[0].double().numpy())  # agrees, but thin
    monkeypatch.setattr(video_sfm, "klt_sfm", lambda *a, **k: small)
    got = video_sfm.retrack_if_turning(first, None, [], Path("unused"), None, 1.0)
    assert got is first and not got.tried[-1][5], got.tried  # before: the small window's, 6 points a frame
