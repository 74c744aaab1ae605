"""Motion strength is one quantity from curation to training (docs/conventions.md): image displacement per frame over
the shorter side, so a non-square video's value is that of the square frames the model trains on."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.datasets.clips import fit_motion_factor
from genxd.data.synthetic import image_motion_strength, make_clip
from genxd.data.synthetic.clips import write_clip
from genxd.data.synthetic.render import render

SEED, FRAMES, H = 1, 9, 32


@pytest.fixture(scope="module")
def wide_and_crop():
    """A 4D clip rendered 2:1 (H x 2H) and its centre H x H crop rendered on its own (same pixel focal)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        wide = make_clip(SEED, "4d", FRAMES, H, 2 * H, camera="orbit")
        K = wide.K.clone()
        K[:, 0, 0] *= 2  # the crop keeps the pixels: normalised fx doubles, the centre stays in the middle
        K[:, 0, 2] = 0.5
        crop = render(wide.scene, wide.c2w, K, H, H, times=wide.times)
    finally:
        torch.set_num_threads(threads)
    return wide, crop, K


def test_ground_truth_of_a_wide_clip_is_that_of_its_centre_square(wide_and_crop):
    """Before, image_motion_strength normalised x by W and y by H: the 2:1 clip read 0.61x its square crop's value
    (which the model, trained on the crop, is conditioned on)."""
    wide, crop, K = wide_and_crop
    value = image_motion_strength(wide.scene, wide.render, wide.c2w, wide.K)
    square = image_motion_strength(wide.scene, crop, wide.c2w, K)
    assert value == pytest.approx(square, rel=0.1)


def test_camvid_clip_of_a_wide_video_gets_the_motion_of_its_fitted_frames(wide_and_crop, tmp_path):
    """A 2:1 CamVid sample (synth's meta.json) trained as a centre-cropped square gets the square's motion strength
    (x100); padded to a square, the shorter side is the padded width: half of it."""
    wide, crop, K = wide_and_crop
    write_clip(wide, tmp_path, "wide", "camvid")
    square = 100 * image_motion_strength(wide.scene, crop, wide.c2w, K)
    cropped = CamVidDataset(tmp_path, num_frames=FRAMES, height=H, fit="crop")[0]["motion_strength"]
    padded = CamVidDataset(tmp_path, num_frames=FRAMES, height=H, fit="pad")[0]["motion_strength"]
    assert float(cropped) == pytest.approx(square, rel=0.1)
    assert float(padded) == pytest.approx(float(cropped) / 2, rel=1e-6)


@pytest.mark.parametrize("h,w,height,width,fit,factor", [
    (90, 160, 64, 64, "crop", 1.0), (90, 160, 64, 64, "pad", 90 / 160), (160, 90, 64, 64, "pad", 90 / 160),
    (64, 64, 64, 64, "pad", 1.0), (100, 100, 50, 100, "crop", 2.0), (100, 100, 50, 100, "pad", 1.0),
])
def test_fit_motion_factor(h, w, height, width, fit, factor):
    assert fit_motion_factor(h, w, height, width, fit) == pytest.approx(factor, rel=0.02)


def test_curation_motion_stage_on_a_wide_clip_reads_its_centre_square():
    """The motion stage (known cameras, depth and object ids) on 2:1 frames reads what it reads on their centre
    square: before (x by W, y by H), 0.6x."""
    pytest.importorskip("pycolmap")
    from genxd.curation.motion import estimate_object_motion
    from genxd.curation.sfm import known_cameras_sfm

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        wide = make_clip(SEED, "4d", 17, 64, 128, camera="orbit", num_objects=1)  # one object, inside the crop
    finally:
        torch.set_num_threads(threads)
    frames = (wide.render.rgb.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    labels = wide.render.object_id.numpy().astype(np.int32)
    depth = wide.render.depth.numpy().astype(np.float32)
    c2w = wide.c2w.double().numpy()
    got = estimate_object_motion(frames, labels, known_cameras_sfm(c2w, wide.K.double().numpy(), 64, 128), depth)
    K = wide.K.double().numpy().copy()
    K[:, 0, 0] *= 2
    K[:, 0, 2] = 0.5
    sl = np.s_[:, :, 32:96]
    square = estimate_object_motion(np.ascontiguousarray(frames[sl]), np.ascontiguousarray(labels[sl]),
                                    known_cameras_sfm(c2w, K, 64, 64), np.ascontiguousarray(depth[sl]))
    assert square.strength > 0.005  # the crop sees the moving objects
    assert got.strength == pytest.approx(square.strength, rel=0.15)
