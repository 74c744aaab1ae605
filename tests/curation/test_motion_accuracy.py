"""Curation's motion strength against the exact ground truth (issue 19 item 7).

What each test covers (docs/curation_accuracy.md, "Measured"):

- ``test_motion_stage_matches_ground_truth_on_20_clips``: the motion stage alone
  (``estimate_object_motion`` with depth maps, i.e. ``genxd.curation.motion_pairs``: point sampling in
  eroded masks, KLT started at the static prediction, ``M_ij``, per-pair weighting, linking of components
  over frames, aggregation) on 20 synthetic 4D clips (``make_clip`` seeds 0-19, 128 px, 16 frames), fed
  each clip's known cameras, known depth and instance masks (the render's object ids: what a segmentation
  model gives). Not covered: flow masks, SfM, depth estimation.
- ``test_flow_masks_keep_the_verdicts_and_stop_halving``: the same stage on 6 of those clips with the
  classical flow masks (``EpipolarFlowMasker``) instead of instance masks, against the estimator used
  before (long tracks, triangulated depth), which measured about half.
- the full pipeline (frames, masks, SfM, depth, motion) on whole clips is in ``test_curation_pipeline.py``
  (10 verdict clips, monotone strength) and, on 20 clips, in ``benchmarks/bench_motion_accuracy.py``.

The clips are rendered once per session with one torch thread (about 1 s each on 2 cores).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.curation.motion import DEFAULT_MOTION_THRESHOLD, estimate_object_motion, verdict
from genxd.curation.sfm import known_cameras_sfm

pytest.importorskip("pycolmap")

SEEDS = list(range(20))
SIZE, FRAMES = 128, 16


@pytest.fixture(scope="module")
def clips():
    from genxd.data.synthetic import image_motion_strength, make_clip

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # see tests/curation/conftest.py: 2-thread renders crawl on shared cores
    try:
        out = []
        for seed in SEEDS:
            clip = make_clip(seed, "4d", FRAMES, SIZE, SIZE)
            frames = (clip.render.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
            truth = image_motion_strength(clip.scene, clip.render, clip.c2w, clip.K)
            out.append(dict(seed=seed, camera=clip.camera, frames=frames, truth=truth,
                            labels=clip.render.object_id.numpy().astype(np.int32),
                            depth=clip.render.depth.numpy().astype(np.float32),
                            sfm=known_cameras_sfm(clip.c2w.double().numpy(), clip.K.double().numpy(), SIZE, SIZE)))
    finally:
        torch.set_num_threads(threads)
    return out


@pytest.mark.slow
def test_motion_stage_matches_ground_truth_on_20_clips(clips):
    """Measured (AMD EPYC, OpenCV 5): 19 of 20 within 15% (the 20th 16% low), median ratio 1.00, 20 of 20
    verdicts right at the default threshold; the asserted floor leaves one clip of margin for other CPUs'
    OpenCV kernels."""
    ratios, verdicts, rows = [], [], []
    for c in clips:
        result = estimate_object_motion(c["frames"], c["labels"], c["sfm"], c["depth"])
        ratios.append(result.strength / c["truth"])
        verdicts.append(result.verdict == verdict(c["truth"]))
        rows.append(f"seed {c['seed']} {c['camera']}: {result.strength:.4f} vs {c['truth']:.4f}")
    ratios = np.array(ratios)
    report = "\n".join(rows)
    assert int((np.abs(ratios - 1) <= 0.15).sum()) >= 18, report
    assert sum(verdicts) >= 18, report
    assert 0.93 <= np.median(ratios) <= 1.07, report
    # both verdicts occur among the 20 ground truths (so the verdict check is not trivially "dynamic")
    assert {verdict(c["truth"]) for c in clips} == {"static", "dynamic"}


def test_flow_masks_keep_the_verdicts_and_stop_halving(clips):
    """The classical flow masks merge neighbouring objects and miss parts of fast ones, so single clips
    scatter (docs/curation_accuracy.md), but the strength is no longer halved. Measured on these 6 clips (seeds
    1-6): ratios 0.71 / 1.05 / 1.20 / 0.60 / 0.73 / 0.49 (median 0.72), verdicts 5 / 6; before the
    tracked-pairs rule (``PairSettings.reliable_fraction``, which keeps static clips static in the whole
    pipeline and costs fast objects whose masks lose most points, seeds 4 and 6) 0.80 and 1.05 for seeds 4
    and 6 (median 0.93), 6 / 6. The estimator used before issue 19 (tracks from 3 anchors, triangulated depth):
    0.00 / 0.35 / 0.00 / 0.52 / 0.20 / 0.92 (median 0.28; its triangulation is degenerate for the static and
    panning cameras of seeds 1 and 3), 1 / 6."""
    from genxd.curation.masks import EpipolarFlowMasker

    new, old, right_new, right_old = [], [], 0, 0
    for c in clips[1:7]:
        labels = EpipolarFlowMasker()(c["frames"])
        now = estimate_object_motion(c["frames"], labels, c["sfm"], c["depth"]).strength
        before = estimate_object_motion(c["frames"], labels, c["sfm"], None).strength
        new.append(now / c["truth"])
        old.append(before / c["truth"])
        right_new += verdict(now) == verdict(c["truth"])
        right_old += verdict(before) == verdict(c["truth"])
    assert right_new >= 5 and 0.65 <= np.median(new) <= 1.2, (new, right_new)
    assert np.median(new) > 2 * np.median(old) and right_new > right_old, (new, old)


def test_threshold_is_the_documented_default():
    assert DEFAULT_MOTION_THRESHOLD == 0.005
