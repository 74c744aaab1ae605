"""A researcher's own camera path from Python (``CameraPath(c2w, K, height, width)``) is checked when it is made,
as a camera file is: numpy arrays failed inside ``genxd.generate`` with "'numpy.ndarray' object has no attribute
'float'", NaN and non-rigid poses only after the model had loaded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.cameras import CameraPath


def _path(n: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(0, 0.3, n)
    K = torch.tensor([[1.1, 0, 0.5], [0, 1.1, 0.5], [0, 0, 1.0]])
    return c2w, K


def test_numpy_arrays_become_tensors():
    c2w, K = _path()
    path = CameraPath(c2w.numpy().astype(np.float64), K.numpy(), 64, 48)
    assert torch.is_tensor(path.c2w) and path.c2w.dtype == torch.float64 and torch.equal(path.c2w.float(), c2w)
    assert path.K.shape == (4, 3, 3) and torch.equal(path.K[2], K)
    assert path.height == 64 and path.width == 48


def _nan(c2w, K):
    c2w[1, 0, 3] = float("nan")


def _scaled(c2w, K):
    c2w[:, :3, :3] *= 2


def _reflection(c2w, K):
    c2w[:, 0, 0] = -1


def _last_row(c2w, K):
    c2w[:, 3, 0] = 1


def _negative_focal(c2w, K):
    K[0, 0] = -1.1


def _k_nan(c2w, K):
    K[1, 2] = float("inf")


@pytest.mark.parametrize("spoil, message", [
    (_nan, r"^CameraPath.c2w: contains NaN or infinite values$"),
    (_scaled, r"^CameraPath.c2w: rotation part is not orthonormal"),
    (_reflection, r"^CameraPath.c2w: rotation has determinant != \+1"),
    (_last_row, r"^CameraPath.c2w: last row must be \[0, 0, 0, 1\]$"),
    (_negative_focal, r"^CameraPath.K: focal lengths must be positive$"),
    (_k_nan, r"^CameraPath.K: contains NaN or infinite values$"),
])
def test_a_bad_camera_is_refused_when_the_path_is_made(spoil, message):
    c2w, K = _path()
    spoil(c2w, K)
    with pytest.raises(ValueError, match=message):
        CameraPath(c2w, K, 64, 64)


def test_a_size_that_is_not_positive_is_refused():
    c2w, K = _path()
    with pytest.raises(ValueError, match=r"^CameraPath: height and width must be positive, got 0x64$"):
        CameraPath(c2w, K, 0, 64)


@pytest.mark.parametrize("size, error", [(64.5, ValueError), (True, TypeError), ("64", TypeError),
                                         (torch.tensor([64, 64]), TypeError)])
def test_a_size_that_is_not_a_whole_number_of_pixels_is_refused(size, error):
    """64.5 was cut to 64 and True read as 1 (found by this session's Python API review); "64" read as 64."""
    c2w, K = _path()
    with pytest.raises(error, match=r"^CameraPath.height must be a whole number of pixels, got "):
        CameraPath(c2w, K, size, 64)


@pytest.mark.parametrize("size", [64, 64.0, np.int64(64), torch.tensor(64)])
def test_whole_sizes_of_any_number_type_are_taken(size):  # camera files give 64.0
    c2w, K = _path()
    path = CameraPath(c2w, K, size, size)
    assert (path.height, path.width) == (64, 64) and type(path.height) is int


def test_pixel_intrinsics_taken_for_normalised_are_warned():
    """K in pixels (cx = 32 for a 64-pixel image: 32 image widths) made a 70x zoom silently."""
    from genxd.validation import GenXDWarning

    c2w, _ = _path()
    pixels = torch.tensor([[70.0, 0, 32], [0, 70.0, 32], [0, 0, 1]])
    with pytest.warns(GenXDWarning, match=r"^CameraPath.K: principal point at \(32, 32\) image sizes, far outside the "
                                          r"image: K looks like pixel intrinsics"):
        CameraPath(c2w, pixels, 64, 64)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        CameraPath(c2w, torch.tensor([[1.1, 0, 0.5], [0, 1.1, 0.5], [0, 0, 1.0]]), 64, 64)
        CameraPath(c2w, torch.tensor([[1.1, 0, 1.8], [0, 1.1, -0.7], [0, 0, 1.0]]), 64, 64)  # off-centre crops


def test_times_may_be_a_list_or_numpy_array():
    """times=[0, 0.5, 1] was "'list' object has no attribute 'shape'"; a numpy array stayed one (not a Tensor)."""
    import numpy as np
    import torch

    from genxd.cameras import CameraPath, orbit

    c2w, K = orbit(num_frames=3)
    for times in ([0.0, 0.5, 1.0], np.array([0.0, 0.5, 1.0])):
        path = CameraPath(c2w, K, 64, 64, times=times)
        assert isinstance(path.times, torch.Tensor)
        torch.testing.assert_close(path.times, torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64), atol=0, rtol=0)


def test_times_must_be_finite():
    """CameraPath(times=[0, nan, 1]) was taken: genxd.generate sampled the whole path, then refused to write
    cameras.json ("times: contains NaN or infinite values")."""
    import pytest

    from genxd.cameras import CameraPath, orbit

    c2w, K = orbit(num_frames=3)
    for times in ([0.0, float("nan"), 1.0], [0.0, 0.5, float("inf")]):
        with pytest.raises(ValueError, match=r"^CameraPath.times: must be finite"):
            CameraPath(c2w, K, 64, 64, times=times)


def test_times_are_float64_as_written_in_every_format_that_stores_them(tmp_path):
    """One rule for CameraPath.times (float64, finite), whatever the reader's dtype: a transforms.json time of 1e300
    was read in float64 and the same time in an authors' camera JSON was cast to float32 (inf) and refused
    ("CameraPath.times: must be finite, got [0.0, inf, 0.5]"), a time of 0.1 read back as 0.10000000149011612."""
    from genxd.cameras import orbit, read_camera_path, save_camera_json, save_transforms_json

    c2w, K = orbit(num_frames=3)
    times = [0.0, 1e300, 0.1]
    for save, name in ((save_camera_json, "authors.json"), (save_transforms_json, "transforms.json")):
        written = save(tmp_path / name, c2w, K, 64, 64, times=times)
        for dtype in (torch.float32, torch.float64):
            path = read_camera_path(written, dtype=dtype)
            assert path.c2w.dtype == dtype, name
            assert path.times.dtype == torch.float64 and path.times.tolist() == times, (name, dtype)
    c2w32 = CameraPath(c2w.float(), K, 64, 64, times=torch.tensor([0, 1, 2], dtype=torch.int64) + (1 << 40))
    assert c2w32.times.tolist() == [float((1 << 40) + i) for i in range(3)]  # integers exactly, not via float32
