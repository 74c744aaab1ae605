"""Every crop, pad, resize and undistortion genxd applies to posed images keeps pixels and intrinsics together: a
3D point drawn as a dot where ``K`` projects it in the source image is found (centroid, sub-pixel) where the
transform's new ``K`` projects it in the new image (docs/conventions.md: pixel centres at +0.5)."""

from __future__ import annotations

from typing import Callable

import numpy as np
import PIL.Image
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import Tensor

from genxd.cameras.camera_path import intrinsics_for_aspect
from genxd.data.datasets.clips import fit_views
from genxd.fewshot import _square
from genxd.reconstruction.views import Views
from genxd.utils.images import decode_side, draft_at_least, fit_image, load_image, pil_to_tensor

#: largest distance (pixels) between a dot's centroid and its projection: the 8-bit rounding of the PIL paths and
#: the sampling of the dots (measured at most 0.06; a rounded crop box or offset is 0.2 to 0.7 off)
TOLERANCE = 0.12
#: the dots' standard deviation in the output, pixels
SIGMA = 1.5

GEOMETRY = settings(max_examples=20, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])

Transform = Callable[[Tensor], tuple[Tensor, Tensor]]  # source image [3, H, W] -> (image [3, h, w], K [3, 3])


def _dot(height: int, width: int, u: float, v: float, sigma: float) -> Tensor:
    """A Gaussian dot centred at pixel coordinates ``(u, v)`` (pixel centres at +0.5) on black, ``[3, H, W]``."""
    jj, ii = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
    dot = np.exp(-((jj - u) ** 2 + (ii - v) ** 2) / (2 * sigma**2))
    return torch.from_numpy(np.repeat(dot[None], 3, 0)).float()


def _centroid(image: Tensor) -> tuple[float, float]:
    a = image[0].double().numpy()
    jj, ii = np.meshgrid(np.arange(a.shape[1]) + 0.5, np.arange(a.shape[0]) + 0.5)
    return float((a * jj).sum() / a.sum()), float((a * ii).sum() / a.sum())


def _camera(draw: st.DrawFn) -> np.ndarray:
    """Normalised intrinsics: non-square pixels allowed, the principal point off-centre."""
    f = st.floats(0.5, 1.6)
    c = st.floats(0.25, 0.75)
    return np.array([[draw(f), 0.0, draw(c)], [0.0, draw(f), draw(c)], [0.0, 0.0, 1.0]])


def _check(K: np.ndarray, height: int, width: int, transform: Transform, at: tuple[float, float],
           scale: float) -> float:
    """Draw a dot at the point seen at fraction ``at`` of the output (found with the output's K), transform, and
    return the distance (pixels) from its centroid to its projection by the output's K. ``scale``: output pixels
    per source pixel (the dot is made wide enough to be sampled on both sides)."""
    out, K_out = transform(torch.zeros(3, height, width))
    K_out = K_out.double().numpy()
    h, w = out.shape[-2:]
    u_out, v_out = at[0] * w, at[1] * h
    x, y = (u_out / w - K_out[0, 2]) / K_out[0, 0], (v_out / h - K_out[1, 2]) / K_out[1, 1]  # the ray's x/z, y/z
    u, v = (K[0, 0] * x + K[0, 2]) * width, (K[1, 1] * y + K[1, 2]) * height
    sigma = max(1.0, SIGMA / scale)
    assume(min(u, v, width - u, height - v) > 4 * sigma)  # the whole dot in the source
    assume(min(u_out, v_out, w - u_out, h - v_out) > 4 * max(SIGMA, sigma * scale) + 2)  # and in the output
    out, K_again = transform(_dot(height, width, u, v, sigma))
    assert np.allclose(K_again.double().numpy(), K_out)
    cu, cv = _centroid(out)
    return max(abs(cu - u_out), abs(cv - v_out))


sizes = st.integers(9, 128)
where = st.tuples(st.floats(0.3, 0.7), st.floats(0.3, 0.7))


@GEOMETRY
@given(st.data(), sizes, sizes, st.integers(8, 120), st.integers(8, 120), st.sampled_from(["crop", "pad"]), where)
def test_fit_image_draws_points_where_intrinsics_for_aspect_puts_them(data, H, W, h, w, fit, at) -> None:
    """``genxd generate --camera FILE --fit pad`` (and the demo): the input photo is fitted by ``fit_image`` and
    the file's intrinsics by ``intrinsics_for_aspect``. ``PIL.ImageOps.pad`` rounded the picture's size and offset
    to pixels: its points up to 0.7 pixel off where the padded frame's K projects them."""
    K = _camera(data.draw)

    def transform(src: Tensor) -> tuple[Tensor, Tensor]:
        pixels = (src.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        fitted = fit_image(PIL.Image.fromarray(pixels), h, w, fit, background=(0, 0, 0))
        return pil_to_tensor(fitted), intrinsics_for_aspect(torch.from_numpy(K), H, W, h, w, fit)

    scale = (max if fit == "crop" else min)(h / H, w / W)
    assert _check(K, H, W, transform, at, scale) < TOLERANCE


@pytest.mark.parametrize("size", [(40, 2000), (2000, 40), (1, 300)])
def test_fit_image_pads_long_thin_images(size: tuple[int, int]) -> None:
    """A panorama much wider than tall, padded to a small square, was rounded by ``PIL.ImageOps.pad`` to a
    picture 0 pixels tall: 'ValueError: height and width must be > 0'."""
    width, height = size
    out = fit_image(PIL.Image.new("RGB", (width, height), (0, 0, 0)), 16, 16, "pad")
    assert out.size == (16, 16)
    a = np.asarray(out)
    assert a[0, 0].tolist() == [255, 255, 255] and a[8, 8].min() < 255  # white padding, the picture in the middle


#: the transpose that stores an image shown upright under each EXIF orientation (the inverse of exif_transpose's)
_STORED = {2: PIL.Image.Transpose.FLIP_LEFT_RIGHT, 3: PIL.Image.Transpose.ROTATE_180,
           4: PIL.Image.Transpose.FLIP_TOP_BOTTOM, 5: PIL.Image.Transpose.TRANSPOSE, 6: PIL.Image.Transpose.ROTATE_90,
           7: PIL.Image.Transpose.TRANSVERSE, 8: PIL.Image.Transpose.ROTATE_270}


@settings(max_examples=12, deadline=None, derandomize=True)
@given(st.data(), st.integers(64, 70), st.integers(64, 70), st.integers(1, 7), st.integers(1, 7),
       st.integers(32, 40), st.integers(32, 40), st.sampled_from(["crop", "pad"]), st.integers(1, 8), where)
def test_load_image_of_a_jpeg_decoded_at_a_reduced_scale_keeps_points_on_their_pixels(
        tmp_path_factory, data, blocks_h, blocks_w, rest_h, rest_w, h, w, fit, orientation, at) -> None:
    """``genxd generate`` decodes a large JPEG at 1/2, 1/4 or 1/8 scale (``draft``): ``ceil(W / s) x ceil(H / s)``
    pixels, the last column and row only partly the photo. Fitted as if all of it were the photo, its points were
    up to 0.28 pixel off where ``intrinsics_for_aspect`` puts them (sides not multiples of 8, any EXIF
    orientation)."""
    H, W = 8 * blocks_h + rest_h, 8 * blocks_w + rest_w  # 1/8 scale at these outputs; not whole 8x8 blocks
    K = _camera(data.draw)
    path = tmp_path_factory.mktemp("draft") / "photo.jpg"

    def transform(src: Tensor) -> tuple[Tensor, Tensor]:
        pixels = ((1 - src.permute(1, 2, 0).numpy()) * 255).round().astype(np.uint8)  # a dark dot: pads are white
        im, exif = PIL.Image.fromarray(pixels), PIL.Image.Exif()
        if orientation != 1:
            im, exif[0x0112] = im.transpose(_STORED[orientation]), orientation
        im.save(path, quality=98, subsampling=0, exif=exif.tobytes())
        return 1 - load_image(path, h, w, fit), intrinsics_for_aspect(torch.from_numpy(K), H, W, h, w, fit)

    scale = (max if fit == "crop" else min)(h / H, w / W)
    assert _check(K, H, W, transform, at, scale) < TOLERANCE
    with PIL.Image.open(path) as im:
        stored = im.size
        draft_at_least(im, decode_side(h, w))
        assert max(im.size) < max(stored) / 3  # decoded at 1/8 scale (1/4: outputs over 36)


@GEOMETRY
@given(st.data(), sizes, sizes, st.integers(8, 120), st.integers(8, 120), st.sampled_from(["crop", "pad"]), where)
def test_training_fit_views_keeps_points_on_their_pixels(data, H, W, h, w, fit, at) -> None:
    """Training clips (``fit_views``): integer crop or pad, then antialiased bilinear resizing."""
    K = _camera(data.draw)

    def transform(src: Tensor) -> tuple[Tensor, Tensor]:
        frames, K_out = fit_views(src[None], torch.from_numpy(K)[None], h, w, fit, pad_value=0.0)
        return frames[0], K_out[0]

    from genxd.data.datasets.clips import fit_shape

    new_h, new_w = fit_shape(H, W, h, w, fit)
    assert _check(K, H, W, transform, at, min(h / new_h, w / new_w)) < TOLERANCE


@GEOMETRY
@given(st.data(), sizes, sizes, st.integers(12, 128), st.booleans(), where)
def test_fewshot_square_views_keep_points_on_their_pixels(data, H, W, resolution, pad, at) -> None:
    """``genxd fewshot``: the centre square (or the padded square) of each view, LANCZOS to the resolution."""
    K = _camera(data.draw)

    def transform(src: Tensor) -> tuple[Tensor, Tensor]:
        images, K_out, _, _ = _square(src[None], torch.from_numpy(K)[None].float(), resolution, pad)
        return images[0], K_out[0]

    side = max(H, W) if pad else min(H, W)
    assert _check(K, H, W, transform, at, resolution / side) < TOLERANCE


@GEOMETRY
@given(st.data(), sizes, sizes, st.integers(12, 128), where)
def test_fewshot_unpadded_outputs_keep_points_on_their_pixels(data, H, W, resolution, at) -> None:
    """``genxd fewshot --pad-to-square``: the generated square is cut back to the picture's box, rounded to pixels,
    and written with ``K_unpadded``. That was the original image's K, up to 0.4 pixel off the rounded box."""
    assume(H != W and min(H, W) * resolution >= 4 * max(H, W))  # the picture at least 4 pixels across
    K = _camera(data.draw)

    def transform(src: Tensor) -> tuple[Tensor, Tensor]:
        images, _, (top, bottom, left, right), K_unpadded = _square(src[None], torch.from_numpy(K)[None].float(),
                                                                    resolution, True)
        return images[0][:, top:bottom, left:right], K_unpadded[0]

    assert _check(K, H, W, transform, at, resolution / max(H, W)) < TOLERANCE


def test_fewshot_unpadded_box_keeps_a_pixel() -> None:
    """A picture less than a pixel tall at the resolution (109x9 at 12): its box was rounded to 0 rows, an empty
    output; it keeps one row, with finite intrinsics."""
    _, _, (top, bottom, left, right), K_unpadded = _square(torch.zeros(1, 3, 9, 109), torch.eye(3)[None], 12, True)
    assert (bottom - top, right - left) == (1, 12)
    assert bool(torch.isfinite(K_unpadded).all())


@GEOMETRY
@given(st.data(), sizes, sizes, st.integers(8, 160), where)
def test_reconstruction_resized_views_keep_points_on_their_pixels(data, H, W, resolution, at) -> None:
    """``genxd reconstruct --resolution`` / ``genxd fewshot-data --resolution`` (``Views.resized``)."""
    K = _camera(data.draw)

    def transform(src: Tensor) -> tuple[Tensor, Tensor]:
        views = Views(images=src[None], c2w=torch.eye(4)[None], K=torch.from_numpy(K)[None].float(), names=["a"])
        resized = views.resized(resolution)
        return resized.images[0], resized.K[0]

    assert _check(K, H, W, transform, at, min(1.0, resolution / max(H, W))) < TOLERANCE


@GEOMETRY
@given(sizes, sizes, st.integers(4, 160))
def test_reconstruction_resized_depths_are_read_under_pixel_centres(H, W, resolution) -> None:
    """``Views.resized`` resamples depth maps by nearest neighbour: each output pixel takes the input pixel under its
    centre (at most half an input pixel away). Torch's ``nearest`` took the one under its top-left corner: the
    depths half an output pixel up and left of their image on average, up to one pixel."""
    jj, ii = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    depths = torch.from_numpy(np.stack([jj, ii]))  # two views: each pixel's centre, column and row
    views = Views(images=torch.zeros(2, 3, H, W), c2w=torch.eye(4).repeat(2, 1, 1), K=torch.eye(3).repeat(2, 1, 1),
                  names=["u", "v"], depths=depths)
    resized = views.resized(resolution)
    assume(resized.depths is not None and resized.depths.shape != depths.shape)
    h, w = resized.depths.shape[-2:]
    u, v = resized.depths.numpy()  # the input pixel centre each output pixel took
    want_u = (np.arange(w) + 0.5)[None] * W / w
    want_v = (np.arange(h) + 0.5)[:, None] * H / h
    assert np.abs(u - want_u).max() <= 0.5 + 1e-9
    assert np.abs(v - want_v).max() <= 0.5 + 1e-9


@GEOMETRY
@given(st.integers(24, 160), st.integers(24, 160), st.sampled_from(["SIMPLE_RADIAL", "OPENCV", "OPENCV_FISHEYE"]),
       st.floats(-0.12, 0.12), st.floats(0.7, 1.3), st.floats(0.4, 0.6), st.floats(0.4, 0.6), where)
def test_undistorted_views_keep_points_on_their_pixels(H, W, model, k, f, cx, cy, at) -> None:
    """``genxd reconstruct`` / training on views with lens distortion (``undistort_images``): a point drawn where
    the distorted camera sees it is found where the pinhole camera's K projects it."""
    pycolmap = pytest.importorskip("pycolmap")
    from genxd.reconstruction.undistort import undistort_images

    focal = f * max(H, W)
    params = {"SIMPLE_RADIAL": [focal, cx * W, cy * H, k],
              "OPENCV": [focal, focal * 1.05, cx * W, cy * H, k, -k / 3, 0.005, -0.004],
              "OPENCV_FISHEYE": [focal, focal, cx * W, cy * H, k / 2, 0.0, 0.0, 0.0]}[model]
    camera = pycolmap.Camera(model=model, width=W, height=H, params=params)
    _, K_out, _ = undistort_images([torch.zeros(3, H, W)], [model], [params])
    K_out = K_out[0].numpy()
    out, _, _ = undistort_images([torch.zeros(3, H, W)], [model], [params])
    h, w = out[0].shape[-2:]
    u_out, v_out = at[0] * w, at[1] * h
    ray = np.array([(u_out / w - K_out[0, 2]) / K_out[0, 0], (v_out / h - K_out[1, 2]) / K_out[1, 1], 1.0])
    u, v = camera.img_from_cam(ray[None])[0]
    assume(min(u, v, W - u, H - v) > 8 and min(u_out, v_out, w - u_out, h - v_out) > 8)
    out, _, _ = undistort_images([_dot(H, W, u, v, SIGMA)], [model], [params])
    cu, cv = _centroid(out[0])
    assert max(abs(cu - u_out), abs(cv - v_out)) < TOLERANCE
