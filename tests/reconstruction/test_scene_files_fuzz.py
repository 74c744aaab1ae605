"""Damaged saved scenes found by the input fuzzer (``benchmarks/fuzz_inputs.py``, target ``gaussian-scene``):
``load_scene`` raises a ValueError naming ``scene.ply`` or ``motion.npz``, never plyfile's or zipfile's own
errors, and never loads NaN parameters.

Before the fixes (1,000 cases): plyfile's ``PlyHeaderParseError`` / ``PlyElementParseError`` (not ValueErrors) for
a damaged header or a cut-short file, ``RuntimeError`` for a PLY with no Gaussians, numpy's "no field of name
f_rest_7" for misnumbered properties, and ``BadZipFile``, ``KeyError``, ``OSError [Errno 22]`` and
``NotImplementedError`` for a damaged ``motion.npz``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.reconstruction import GaussianModel, MotionBasis, load_scene, save_motion, save_ply
from tests.helpers import assert_fuzz_finds_nothing


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scene")
    g = torch.Generator().manual_seed(0)
    model = GaussianModel.from_points(torch.randn(12, 3, generator=g), torch.rand(12, 3, generator=g), sh_degree=1,
                                      motion_basis=MotionBasis(1, 1), temporal_opacity=True)
    save_ply(folder / "scene.ply", model)
    save_motion(folder / "motion.npz", model, times=[0.0, 1.0])
    return folder


def _copy(scene: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(scene, tmp_path / "copy"))


def _refused(folder: Path, file: str, *expected: str) -> None:
    with pytest.raises(ValueError) as info:
        load_scene(folder)
    message = str(info.value)
    assert str(folder / file) in message, message
    for text in expected:
        assert text in message, message


def test_the_scene_loads(scene):
    assert load_scene(scene).num_gaussians == 12


def test_a_damaged_or_cut_short_ply(scene, tmp_path):
    folder = _copy(scene, tmp_path)
    data = (scene / "scene.ply").read_bytes()
    (folder / "scene.ply").write_bytes(data.replace(b"element vertex", b"elemnt vertex", 1))
    _refused(folder, "scene.ply", "not a readable .ply")
    (folder / "scene.ply").write_bytes(data[:-20])
    _refused(folder, "scene.ply", "not a readable .ply")
    (folder / "scene.ply").write_bytes(data.replace(b"element vertex 12", b"element vertex 0", 1)[:data.index(
        b"end_header\n") + len(b"end_header\n")])
    _refused(folder, "scene.ply", "no Gaussians")
    (folder / "scene.ply").write_bytes(data.replace(b"f_rest_7", b"f_rest_x", 1))
    _refused(folder, "scene.ply", "not numbered")


def test_nan_parameters_are_refused(scene, tmp_path):
    folder = _copy(scene, tmp_path)
    data = bytearray((scene / "scene.ply").read_bytes())
    start = data.index(b"end_header\n") + len(b"end_header\n")
    data[start:start + 4] = np.float32(np.nan).tobytes()  # the first Gaussian's x
    (folder / "scene.ply").write_bytes(bytes(data))
    _refused(folder, "scene.ply", "property x holds NaN")


def test_a_damaged_motion_file(scene, tmp_path):
    folder = _copy(scene, tmp_path)
    data = (scene / "motion.npz").read_bytes()
    (folder / "motion.npz").write_bytes(data[:len(data) // 2])
    _refused(folder, "motion.npz", "not a readable genxd motion file")
    end = data.rindex(b"PK\x05\x06")
    directory_at = int.from_bytes(data[end + 16:end + 20], "little")
    (folder / "motion.npz").write_bytes(data[:directory_at - 8] + data[directory_at:])  # the directory moved
    _refused(folder, "motion.npz", "not a readable genxd motion file")


def test_a_short_fuzz_run_finds_nothing(tmp_path):
    counts = assert_fuzz_finds_nothing("gaussian-scene", 60, tmp_path)
    assert counts["ok"] > 0 and counts["clear"] > 0, counts
