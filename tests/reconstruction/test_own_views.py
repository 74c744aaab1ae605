"""Reconstruction from Python on one's own frames (``train_gaussians(Views(images, c2w, K, names))``): numpy arrays
are taken, bad values refused naming the attribute before any step. Before, numpy failed with "expected Tensor
as element 0", uint8 or 0-255 images and a scaled rotation were fitted silently, and a NaN pose failed as "no
sampled point is seen by two cameras"."""

from __future__ import annotations

import pytest
import torch

from genxd.reconstruction.trainer import ReconstructionConfig, train_gaussians
from genxd.reconstruction.views import Views


def _views(n: int = 4, **change) -> Views:
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 0.3, n)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(n, 1, 1)
    images = torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    args = dict(images=images, c2w=c2w, K=K, names=[f"v{i}" for i in range(n)])
    args.update({k: f(args[k]) for k, f in change.items()})
    return Views(**args)


def test_numpy_frames_are_fitted_as_tensors_are():
    config = ReconstructionConfig(iterations=2, seed=0)
    views = _views()
    as_numpy = Views(views.images.numpy(), views.c2w.numpy(), views.K.numpy(), views.names)
    assert torch.is_tensor(as_numpy.images) and torch.equal(as_numpy.c2w, views.c2w)
    a = train_gaussians(views, config, progress=False).model.params
    b = train_gaussians(as_numpy, config, progress=False).model.params
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _nan_pose(c2w):
    c2w = c2w.clone()
    c2w[1, 0, 3] = float("nan")
    return c2w


def _scaled(c2w):
    c2w = c2w.clone()
    c2w[:, :3, :3] *= 2
    return c2w


@pytest.mark.parametrize("change, message", [
    (dict(images=lambda x: (x * 255).round().to(torch.uint8)), r"^Views.images must be"),
    (dict(images=lambda x: x * 255), r"^Views.images must be in \[0, 1\], got values in .* \(8-bit levels: divide by 255\)$"),
    (dict(c2w=_nan_pose), r"^Views.c2w: contains NaN or infinite values$"),
    (dict(c2w=_scaled), r"^Views.c2w: rotation part is not orthonormal"),
    (dict(K=lambda K: -K), r"^Views.K: focal lengths must be positive$"),
])
def test_bad_frames_or_cameras_are_refused_before_fitting(change, message):
    with pytest.raises(ValueError, match=message):
        train_gaussians(_views(**change), ReconstructionConfig(iterations=2), progress=False)


@pytest.mark.parametrize("to_integer, dtype", [
    (lambda x: x.round().to(torch.uint8), "torch.uint8"),  # levels 0 and 1 (a mask-like image): in range as floats
    (lambda x: x.round().numpy().astype("uint8"), "torch.uint8"),
    (lambda x: x.round().to(torch.int64), "torch.int64"),
])
def test_integer_images_are_refused_even_with_values_in_0_1(to_integer, dtype):
    views = _views(images=to_integer)
    assert str(views.images.dtype) == dtype  # kept as given
    hint = r" \(divide 8-bit images by 255\)" if "uint8" in dtype else ""  # not for other integers
    with pytest.raises(ValueError, match=rf"^Views.images must be float in \[0, 1\], got {dtype}{hint}$"):
        views.check_values()
    with pytest.raises(ValueError, match=rf"got {dtype}"):
        views.subset([0, 1]).check_values()
    _views(images=lambda x: x.round()).check_values()  # the same values as floats: taken


def test_integer_images_made_float_as_the_message_asks_are_taken():
    """The given dtype was a constructor argument, so dataclasses.replace copied it: views rebuilt with the images
    divided by 255 were still refused as uint8; it now follows the images given (subset and resized keep it)."""
    from dataclasses import replace

    views = _views(images=lambda x: x.round().to(torch.uint8))
    replace(views, images=views.images / 255).check_values()
    with pytest.raises(ValueError, match="got torch.uint8"):
        views.resized(8).check_values()
