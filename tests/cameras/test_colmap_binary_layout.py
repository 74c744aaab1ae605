"""``check_colmap_binary`` against binary models built byte by byte from COLMAP's layout (the module's docstring):
every record kind, with the optional parts there and not (a rig without sensors, sensors with and without a pose,
images and points with and without 2D points / tracks), is accepted whole; every cut-short copy and one extra
byte is refused. pycolmap writes no rigs with several sensors nor tracks, so these files are written here."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from genxd.cameras.colmap_binary import check_colmap_binary

PINHOLE = 1  # COLMAP's model id: fx, fy, cx, cy


def _cameras(model=PINHOLE) -> bytes:
    return struct.pack("<Q", 1) + struct.pack("<IiQQ", 1, model, 64, 48) + struct.pack("<4d", 50, 50, 32, 24)


def _images(points=2, name=b"frame_000.png") -> bytes:
    out = struct.pack("<Q", 2)
    for i, n in ((1, name), (2, b"b")):
        out += struct.pack("<I4d3dI", i, 1, 0, 0, 0, 0, 0, i, 1) + n + b"\0"
        k = points if i == 1 else 0  # the second image: no 2D points
        out += struct.pack("<Q", k) + b"".join(struct.pack("<ddQ", j, j, j + 1) for j in range(k))
    return out


def _points(track=2) -> bytes:
    out = struct.pack("<Q", 2)
    for i, k in ((1, track), (2, 0)):  # the second point: an empty track
        out += struct.pack("<Q3d3Bd", i, 0, 0, 1, 10, 20, 30, 0.5) + struct.pack("<Q", k)
        out += b"".join(struct.pack("<II", 1, j) for j in range(k))
    return out


def _rigs() -> bytes:
    out = struct.pack("<Q", 2)
    out += struct.pack("<II", 1, 0)  # a rig without sensors: nothing more
    out += struct.pack("<II", 2, 4) + struct.pack("<iI", 0, 1)  # four sensors: the reference one, then three
    out += struct.pack("<iIB", 0, 2, 1) + struct.pack("<7d", 1, 0, 0, 0, 0.1, 0, 0)  # with a pose
    out += struct.pack("<iIB", 1, 3, 0)  # without
    out += struct.pack("<iIB", 1, 4, 1) + struct.pack("<7d", 1, 0, 0, 0, 0, 0.2, 0)  # with (not as many without)
    return out


def _frames() -> bytes:
    out = struct.pack("<Q", 2)
    out += struct.pack("<II7d", 1, 2, 1, 0, 0, 0, 0, 0, 0) + struct.pack("<I", 2)
    out += struct.pack("<iIQ", 0, 1, 1) + struct.pack("<iIQ", 1, 3, 2)
    out += struct.pack("<II7d", 2, 1, 1, 0, 0, 0, 0, 0, 0) + struct.pack("<I", 0)  # no data ids
    return out


def _model(folder: Path, **files: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    content = {"cameras.bin": _cameras(), "images.bin": _images(), "points3D.bin": _points(), "rigs.bin": _rigs(),
               "frames.bin": _frames(), **files}
    for name, data in content.items():
        if data is not None:
            (folder / name).write_bytes(data)
    return folder


NAMES = ("cameras.bin", "images.bin", "points3D.bin", "rigs.bin", "frames.bin")


def test_a_whole_model_of_every_record_kind_passes(tmp_path):
    assert check_colmap_binary(_model(tmp_path / "m")) is True


def test_the_smallest_records_pass(tmp_path):
    """An image with a one-letter name and no 2D points (74 bytes) and a point with an empty track (51 bytes) are
    whole files: the counts' lower bounds must not refuse them."""
    one_image = struct.pack("<Q", 1) + struct.pack("<I4d3dI", 1, 1, 0, 0, 0, 0, 0, 0, 1) + b"a\0" + struct.pack("<Q", 0)
    one_point = struct.pack("<Q", 1) + struct.pack("<Q3d3Bd", 1, 0, 0, 1, 1, 2, 3, 0.0) + struct.pack("<Q", 0)
    assert len(one_image) == 8 + 74 and len(one_point) == 8 + 51
    assert check_colmap_binary(_model(tmp_path / "m", **{"images.bin": one_image, "points3D.bin": one_point}))


@pytest.mark.parametrize("name", NAMES)
def test_every_cut_short_copy_and_an_extra_byte_are_refused_by_name(tmp_path, name):
    whole = (_model(tmp_path / "whole") / name).read_bytes()
    for n in range(len(whole)):
        folder = _model(tmp_path / f"cut{n}", **{name: whole[:n]})
        with pytest.raises(ValueError, match=rf"{name}: not a whole COLMAP binary file"):
            check_colmap_binary(folder)
    folder = _model(tmp_path / "extra", **{name: whole + b"\0"})
    with pytest.raises(ValueError, match=r"1 bytes after the last record"):
        check_colmap_binary(folder)


def test_an_unknown_camera_model_is_named(tmp_path):
    with pytest.raises(ValueError, match="camera 0 has the unknown camera model id 999"):
        check_colmap_binary(_model(tmp_path / "m", **{"cameras.bin": _cameras(model=999)}))


@pytest.mark.parametrize("missing", NAMES[:3])
def test_without_any_of_the_first_three_files_it_is_no_binary_model(tmp_path, missing):
    """pycolmap reads a binary model only where cameras.bin, images.bin and points3D.bin are all there (else the
    text files): nothing is checked then, whatever the other files hold."""
    folder = _model(tmp_path / "m", **{missing: None, "rigs.bin": b"\1"})
    assert check_colmap_binary(folder) is False
