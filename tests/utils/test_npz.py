"""``genxd.utils.npz.npz_shape``: the shape of the array ``z[name]`` reads, from its header alone."""

from __future__ import annotations

import io
import zipfile

import numpy as np

from genxd.utils.npz import npz_shape


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, array)
    return out.getvalue()


def test_the_shape_is_that_of_the_member_np_load_reads(tmp_path):
    """A zip holding ``a.npy`` and ``a``: ``z["a"]`` reads ``a``; the header of ``a.npy`` was the one read."""
    with zipfile.ZipFile(tmp_path / "x.npz", "w") as zf:
        zf.writestr("a.npy", _npy(np.zeros(3)))
        zf.writestr("a", _npy(np.zeros((2, 5))))
        zf.writestr("b.npy", _npy(np.zeros((4, 1), dtype=np.float32)))
    with np.load(tmp_path / "x.npz") as z:
        assert npz_shape(z, "a") == z["a"].shape == (2, 5)
        assert npz_shape(z, "b") == z["b"].shape == (4, 1)


def test_numpy_files_are_told_from_others_by_how_they_begin(tmp_path):
    """np.load takes any other file for a pickle (and says to load it with allow_pickle): refused first."""
    import pytest

    from genxd.utils.npz import require_numpy_file

    np.save(tmp_path / "a.npy", np.zeros(3))
    np.savez(tmp_path / "b.npz", x=np.zeros(2))
    with zipfile.ZipFile(tmp_path / "empty.npz", "w"):
        pass
    for name in ("a.npy", "b.npz", "empty.npz"):
        require_numpy_file(tmp_path / name)
    (tmp_path / "page.npz").write_bytes(b"<html>")
    (tmp_path / "short.npy").write_bytes(b"")
    for name in ("page.npz", "short.npy"):
        with pytest.raises(ValueError, match="not a NumPy .npy or .npz file"):
            require_numpy_file(tmp_path / name)
    with pytest.raises(FileNotFoundError):
        require_numpy_file(tmp_path / "missing.npy")
