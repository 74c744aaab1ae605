"""The still camera's model (:func:`genxd.curation.static_camera.static_camera_sfm`): its pinhole camera follows
``--focal fx/W`` with square pixels (fy = fx in pixels), as the SfM path's camera does."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pycolmap")

from genxd.curation.static_camera import static_camera_sfm  # noqa: E402


@pytest.mark.parametrize("height,width,focal", [(90, 160, 1.2), (160, 90, 0.8), (64, 64, 1.0)])
def test_static_camera_has_square_pixels_and_the_given_focal(height, width, focal):
    """By hand: fx = focal * W pixels, fy = fx (square pixels), principal point at the centre; normalised
    ``K = [[fx/W, 0, 1/2], [0, fy/H, 1/2], [0, 0, 1]]``; a 16:9 frame's fy/H is then focal * 16/9."""
    sfm = static_camera_sfm([f"{i:05d}.jpg" for i in range(3)], height, width, focal)
    fx = fy = focal * width
    expected = np.array([[fx / width, 0.0, 0.5], [0.0, fy / height, 0.5], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(sfm.K, expected, rtol=1e-12)
    camera = next(iter(sfm.reconstruction.cameras.values()))
    np.testing.assert_allclose(np.asarray(camera.calibration_matrix()),
                               [[fx, 0, width / 2], [0, fy, height / 2], [0, 0, 1]], rtol=1e-12)
    np.testing.assert_array_equal(sfm.c2w, np.repeat(np.eye(4)[None], 3, 0))


def test_static_camera_without_a_focal_still_has_square_pixels():
    """No ``--focal``: fx/W = 1 (the docstring's default) and fy = fx in pixels."""
    sfm = static_camera_sfm(["a.jpg", "b.jpg"], 90, 160, None)
    assert sfm.K[0, 0] == pytest.approx(1.0)
    assert sfm.K[1, 1] * 90 == pytest.approx(sfm.K[0, 0] * 160)


def _textured(size: int = 200, seed: int = 0) -> np.ndarray:
    import cv2

    rng = np.random.default_rng(seed)
    img = cv2.GaussianBlur(rng.uniform(0, 255, (size, size)).astype(np.float32), (0, 0), 2.0)
    return cv2.normalize(img, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def test_a_still_camera_reads_static_and_a_pan_does_not():
    """Known facts: frames of a camera that does not move keep every background track where it was first seen; a
    pan of 2 px per frame (a 128 px window sliding over a larger texture) moves all of them, beyond 0.5 px."""
    from genxd.curation.static_camera import is_static_camera

    big = _textured()
    still = [big[20:148, 20:148].copy() for _ in range(8)]
    pan = [big[20:148, 20 + 2 * i: 148 + 2 * i].copy() for i in range(8)]
    assert is_static_camera(still, None)
    assert not is_static_camera(pan, None)


def test_a_few_moving_frames_do_not_make_a_moving_camera_still():
    """The decision is the median frame's share of still tracks: a camera still for 2 frames then panning for 6 is
    moving in most frames, so not static (a maximum over frames would call it still)."""
    from genxd.curation.static_camera import is_static_camera

    big = _textured(seed=1)
    xs = [20, 20, 20, 24, 28, 32, 36, 40]
    frames = [big[20:148, x: x + 128].copy() for x in xs]
    assert not is_static_camera(frames, None)


@pytest.mark.parametrize("level", [0, 128])
def test_frames_where_nothing_can_be_tracked_do_not_count_as_still(level):
    """A still shot cut to a blank frame for half the clip (black, a flat grey; a fade that ends the clip): frames
    with a few background tracks counted as not still, frames with none were left out of the median, so the 4 textured
    frames alone made the clip still and the 4 blank ones were curated "registered" with the still camera's pose."""
    from genxd.curation.static_camera import is_static_camera

    big = _textured(seed=2)
    textured = [big[20:148, 20:148].copy() for _ in range(4)]
    blank = [np.full((128, 128), level, np.uint8) for _ in range(4)]
    assert is_static_camera(textured + textured, None)  # still, tracked throughout
    assert not is_static_camera(textured + blank, None)
