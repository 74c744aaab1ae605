"""The whole curation pipeline (flow masks, SfM, sparse depth, motion) against the exact ground truth (issue 19
item 7; docs/curation.md, "The whole pipeline").

Subset of ``benchmarks/bench_motion_accuracy.py --clips 20 --static 20`` small enough for CI (about 30 s on 2
cores): a still camera (4D seed 0: SfM finds no parallax, the clip gets identity poses), two sway paths and a
sideways pan (seeds 8, 15, 18: incremental mapping registered 6-10 of 16 frames, the global mapper takes over;
seed 8 read 16 % high before objects got the ground's depth where they stand), a hand-held static 3D clip
(seed 1000) and two static 3D clips that read dynamic before the tracked-pairs rule of
``genxd.curation.motion_pairs`` (seeds 1017 orbit and 1019 sway: 0.0225 and 0.053, flow masks on checkered
ground that KLT tracks badly). Still short (benchmark): 11 of 20 4D clips within 15 %, 16 of 20 4D and 14 of 20
static verdicts right.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.curation import CurationConfig, VideoSource, curate_video
from genxd.curation.motion import verdict

pytest.importorskip("pycolmap")

CLIPS = [("4d", 0), ("4d", 8), ("4d", 15), ("4d", 18), ("3d", 1000), ("3d", 1017), ("3d", 1019)]


def _curate(clips, size: int, root) -> list[dict]:
    """Render each ``(kind, seed)`` clip (16 frames, ``size`` px), curate it with the defaults (known focal), and
    return rows with the truth and the record."""
    from PIL import Image

    from genxd.data.synthetic import image_motion_strength, make_clip

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/curation/conftest.py: 2-thread renders crawl on shared cores
    out = []
    try:
        for kind, seed in clips:
            clip = make_clip(seed, kind, 16, size, size)
            truth = image_motion_strength(clip.scene, clip.render, clip.c2w, clip.K) if kind == "4d" else 0.0
            frames = (clip.render.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            folder = root / "in" / f"{kind}_{seed}"
            folder.mkdir(parents=True)
            for i, frame in enumerate(frames):
                Image.fromarray(frame).save(folder / f"{i:04d}.png")
            record = curate_video(VideoSource(folder.name, folder, "frames"), root / "out",
                                  CurationConfig(focal=1.0, num_threads=1))
            out.append(dict(kind=kind, seed=seed, camera=clip.camera, truth=truth, record=record))
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.fixture(scope="module")
def curated(tmp_path_factory):
    return _curate(CLIPS, 128, tmp_path_factory.mktemp("motion_pipeline"))


def _report(rows) -> str:
    return "\n".join(
        f"{r['kind']} seed {r['seed']} {r['camera']}: truth {r['truth']:.4f} -> "
        + (f"{r['record']['motion_strength']:.4f}" if r["record"]["status"] == "ok" else r["record"].get("reason", "?"))
        for r in rows
    )


@pytest.mark.slow
def test_every_clip_is_curated(curated):
    """Before: the still camera and the sway / pan clips failed SfM (fewer than 12 of 16 frames registered)."""  # 12 = min_registered 0.75
    assert all(r["record"]["status"] == "ok" and r["record"]["num_registered"] >= 12 for r in curated), _report(curated)


def test_still_camera_gets_identity_poses(curated, tmp_path):
    import json
    from pathlib import Path

    still = next(r for r in curated if r["camera"] == "static")
    meta = json.loads((Path(still["record"]["source"]).parent.parent / "out" / f"4d_{still['seed']}" / "meta.json").read_text())
    assert meta["sfm_mapper"] == "static_camera" and meta["depth_source"] == "none_static_camera"


def test_verdicts_and_strength_against_ground_truth(curated):
    """Every verdict right; the dynamic clips' strength within 15 % of the truth at the median of the four, and each
    within a factor of 2 (a clip read static, or at several times its motion, fails).

    Why not each clip within 15 or 20 %: the sway and pan clips (seeds 8, 15, 18) are ill-conditioned for SfM, and
    their figures move with the last bits of the frames. Measured (AMD EPYC, 2 cores), ratios for seeds 0 / 8 /
    15 / 18 of the same clips rendered three ways: float32 with AVX-512 kernels (this project's CPU) 1.11 / 1.02 /
    1.05 / 0.86 (median 1.04); float32 without SIMD (``ATEN_CPU_CAPABILITY=default``, a CPU older than AVX2: the
    renders differ in the last bits, up to 9e-4 on object pixels, and a few 8-bit values change) 1.11 / 1.02 /
    0.87 / 0.68 (0.95); float64 renders 1.11 / 1.24 / 0.73 / 0.62 (0.92). So asserting each clip within 20 % (as before) failed on the second
    and third. The static clips read 0.0007 - 0.0014 in all three (threshold 0.005; before the tracked-pairs rule
    1017 and 1019 read 0.0225 and 0.053)."""
    report = _report(curated)
    ratios = []
    for r in curated:
        assert r["record"]["verdict"] == verdict(r["truth"]), report
        if r["kind"] == "4d":
            ratios.append(r["record"]["motion_strength"] / r["truth"])
            assert 0.5 <= ratios[-1] <= 2.0, report
    assert abs(float(np.median(ratios)) - 1) <= 0.15, report


CLIPS_256 = [("4d", 1), ("3d", 1006)]


@pytest.mark.slow
def test_verdicts_at_256_px(tmp_path):
    """At 256 px the flow masker's texture test is scaled to the frame size (``EpipolarFlowMasker.texture_reference_size``):
    with the 128-px threshold most of an object's pixels counted as flat, so a moving object went unseen while mask
    fragments on static ground decided. Measured (AMD EPYC, 2 cores): 4D seed 1 (pan, truth 0.0177) read 0.0043
    (static) before and 0.0148 now; static 3D seed 1006 (sway) read 0.0084 (dynamic) before and 0.0011 now
    (docs/curation.md, "At 256 px")."""
    rows = _curate(CLIPS_256, 256, tmp_path)
    report = _report(rows)
    assert all(r["record"]["status"] == "ok" for r in rows), report
    for r in rows:
        assert r["record"]["verdict"] == verdict(r["truth"]), report
