"""Check a binary COLMAP model's files before pycolmap reads them: :func:`check_colmap_binary`.

pycolmap trusts the counts in a binary model: a cut-short or corrupt ``points3D.bin`` (an interrupted copy, a
disk error) makes it loop over billions of records that are not there, or allocate for them, and the reading
never returns (found by ``benchmarks/fuzz_inputs.py``: a quarter of mutated models hung). This module walks each
file's records in Python, checking that every count and length fits in the bytes that are left and that the
records end exactly at the end of the file, so pycolmap only sees files that are whole.

Layouts (little-endian; COLMAP's ``reconstruction_io``, as pycolmap 4 writes them):

- ``cameras.bin``: u64 count; per camera: u32 id, i32 model id, u64 width, u64 height, f64 params (as many as
  the model has).
- ``images.bin``: u64 count; per image: u32 id, f64 qvec[4], f64 tvec[3], u32 camera id, the name (bytes up
  to a NUL), u64 number of 2D points, then per point f64 x, f64 y, u64 point3D id.
- ``points3D.bin``: u64 count; per point: u64 id, f64 xyz[3], u8 rgb[3], f64 error, u64 track length, then per
  element u32 image id, u32 point2D index.
- ``rigs.bin`` (COLMAP >= 3.12): u64 count; per rig: u32 id, u32 number of sensors, then when there are
  sensors the reference sensor (i32 type, u32 id) and per other sensor i32 type, u32 id, u8 has-pose and,
  when set, f64 qvec[4], f64 tvec[3].
- ``frames.bin`` (COLMAP >= 3.12): u64 count; per frame: u32 id, u32 rig id, f64 qvec[4], f64 tvec[3], u32
  number of data ids, then per data id i32 sensor type, u32 sensor id, u64 data id.
"""

from __future__ import annotations

import struct
from functools import lru_cache
from pathlib import Path

__all__ = ["check_colmap_binary", "BINARY_MODEL_FILES"]

#: The files pycolmap reads from a binary model: the first three must all be there for it to read binary.
BINARY_MODEL_FILES = ("cameras.bin", "images.bin", "points3D.bin", "rigs.bin", "frames.bin")


@lru_cache(maxsize=1)
def _params_per_model() -> dict[int, int]:
    """``{COLMAP camera model id: number of parameters}``, from pycolmap itself (so new models are known)."""
    from ..utils.pycolmap_import import load_pycolmap

    pycolmap = load_pycolmap()
    counts = {}
    for name in dir(pycolmap.CameraModelId):
        if name.startswith("_") or name in ("name", "value", "INVALID"):
            continue
        model = getattr(pycolmap.CameraModelId, name)
        counts[int(model)] = len(pycolmap.Camera.create_from_model_id(1, model, 1.0, 2, 2).params)
    return counts


class _Records:
    """A cursor over one file's bytes; every read checks that the bytes are there."""

    def __init__(self, path: Path):
        self.path = path
        self.data = path.read_bytes()
        self.pos = 0

    def fail(self, reason: str) -> ValueError:
        return ValueError(f"{self.path}: not a whole COLMAP binary file ({reason})")

    def read(self, fmt: str, what: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.data):
            raise self.fail(f"ends at byte {len(self.data)} inside {what}")
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += size
        return values

    def skip(self, count: int, size: int, what: str) -> None:
        left = len(self.data) - self.pos
        if count * size > left:
            raise self.fail(f"{what}: {count} of {size} bytes each do not fit in the {left} bytes left")
        self.pos += count * size

    def count(self, what: str, min_size: int) -> int:
        (n,) = self.read("<Q", f"the number of {what}")
        left = len(self.data) - self.pos
        if n * min_size > left:
            raise self.fail(f"says {n} {what}, but {left} bytes hold at most {left // min_size}")
        return n

    def name(self, what: str) -> None:
        end = self.data.find(b"\0", self.pos)
        if end < 0:
            raise self.fail(f"{what}: the name has no end")
        self.pos = end + 1

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise self.fail(f"{len(self.data) - self.pos} bytes after the last record")


def _cameras(r: _Records) -> None:
    params = _params_per_model()
    for i in range(r.count("cameras", 24)):
        _, model, width, height = r.read("<IiQQ", f"camera {i}")
        if model not in params:
            raise r.fail(f"camera {i} has the unknown camera model id {model}")
        r.skip(params[model], 8, f"camera {i}'s parameters")


def _images(r: _Records) -> None:
    for i in range(r.count("images", 73)):  # 64 bytes of fields, a name of at least one byte and its NUL, u64
        r.read("<I4d3dI", f"image {i}")
        r.name(f"image {i}")
        (points,) = r.read("<Q", f"image {i}'s number of 2D points")
        r.skip(points, 24, f"image {i}'s 2D points")


def _points(r: _Records) -> None:
    for i in range(r.count("3D points", 51)):
        r.read("<Q3d3Bd", f"3D point {i}")
        (length,) = r.read("<Q", f"3D point {i}'s track length")
        r.skip(length, 8, f"3D point {i}'s track")


def _rigs(r: _Records) -> None:
    for i in range(r.count("rigs", 8)):
        _, sensors = r.read("<II", f"rig {i}")
        if sensors == 0:
            continue
        r.read("<iI", f"rig {i}'s reference sensor")
        for j in range(sensors - 1):
            *_, has_pose = r.read("<iIB", f"rig {i}'s sensor {j + 1}")
            if has_pose:
                r.read("<7d", f"rig {i}'s sensor {j + 1} pose")


def _frames(r: _Records) -> None:
    for i in range(r.count("frames", 68)):
        r.read("<II7d", f"frame {i}")
        (ids,) = r.read("<I", f"frame {i}'s number of data ids")
        r.skip(ids, 16, f"frame {i}'s data ids")


_WALKERS = {"cameras.bin": _cameras, "images.bin": _images, "points3D.bin": _points, "rigs.bin": _rigs,
            "frames.bin": _frames}


def check_colmap_binary(model_dir: str | Path) -> bool:
    """Check the binary files pycolmap would read from ``model_dir``; ValueError naming the first bad one.

    Returns False (nothing checked) when the folder is not a binary model (pycolmap then reads the text
    files), True when every binary file it would read is whole.
    """
    model_dir = Path(model_dir)
    if not all((model_dir / f).is_file() for f in BINARY_MODEL_FILES[:3]):
        return False
    for name, walk in _WALKERS.items():
        path = model_dir / name
        if path.is_file():
            records = _Records(path)
            walk(records)
            records.finish()
    return True
