"""Scene folders ``genxd reconstruct`` reads (``load_views``) as the fuzzer's ``recon-folder`` target
(``benchmarks/fuzz_targets_views.py``) damaged them. Before the fixes: a damaged ``ground_truth.npz`` raised
BadZipFile / OSError / zlib.error, a damaged ``.npy`` header TokenError, a frame without ``file_path``
KeyError, a depth unit that is not a number an unnamed ValueError; NaN or negative depths were read (NaN
losses). Each is now a ValueError naming the file; a short fixed-seed run of the target
finds nothing."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.cameras import trajectories
from genxd.reconstruction.views import load_views
from genxd.scene_outputs import write_scene
from tests.helpers import assert_fuzz_finds_nothing, refuse_reading_large_arrays


@pytest.fixture(scope="module")
def scenes(tmp_path_factory) -> dict[bool, Path]:
    """The two scene folders the tests damage, written once (``{times: folder}``): 3 frames of 12 x 16, 4d, with
    and without frame times; each test damages its own copy (:func:`_scene`)."""
    g = torch.Generator().manual_seed(0)
    frames = torch.rand(3, 3, 12, 16, generator=g)
    c2w, K = trajectories.orbit(num_frames=3)
    root = tmp_path_factory.mktemp("scenes")
    return {times: write_scene(root / f"times_{times}" / "scene", frames, c2w, K, [0], frames, {"mode": "4d"},
                               fps=3.0, times=torch.linspace(0.0, 2.0, 3) if times else None)
            for times in (True, False)}


def _scene(scenes: dict[bool, Path], tmp_path: Path, times: bool = True) -> Path:
    """``tmp_path / "scene"``: a copy of the module's scene folder (with or without frame times), the test's to change."""
    return Path(shutil.copytree(scenes[times], tmp_path / "scene"))


def _edit(scene: Path, change) -> Path:
    path = scene / "transforms.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta, allow_nan=True))
    return path


def _refused(scene: Path, named: Path, *says: str) -> None:
    with pytest.raises(ValueError) as info:
        load_views(scene)
    message = str(info.value)
    assert message.startswith(f"{named}") and "\n" not in message, message
    for text in says:
        assert text in message, message


@pytest.mark.parametrize("value", ["x", float("nan"), float("inf")])
def test_a_frame_time_that_is_not_a_number(scenes, tmp_path, value):
    scene = _scene(scenes, tmp_path)  # the camera reader refuses it before load_views reads the times
    path = _edit(scene, lambda m: m["frames"][1].update(time=value))
    _refused(scene, path, "frames[1]", "'time'")


def test_frame_times_far_beyond_float32_are_normalised(scenes, tmp_path):
    # a time of 1e300 is finite in the file (float64) but not in float32: the times were NaN
    scene = _scene(scenes, tmp_path)
    _edit(scene, lambda m: m["frames"][1].update(time=1e300))
    torch.testing.assert_close(load_views(scene).times, torch.tensor([0.0, 1.0, 0.0]))


def test_frame_times_whose_span_is_beyond_float64_are_normalised(scenes, tmp_path):
    # -1e308 .. 1e308: each time finite, their difference not (the times were all 0)
    scene = _scene(scenes, tmp_path)
    _edit(scene, lambda m: [fr.update(time=t) for fr, t in zip(m["frames"], (-1e308, 1e308, 0.0))])
    torch.testing.assert_close(load_views(scene).times, torch.tensor([0.0, 1.0, 0.5]))


def test_a_frame_without_its_image_path(scenes, tmp_path):
    scene = _scene(scenes, tmp_path)
    path = _edit(scene, lambda m: m["frames"][2].pop("file_path"))
    _refused(scene, path, "frames[2] has no file_path")


def _with_depth(scenes: dict[bool, Path], tmp_path: Path, depth: np.ndarray, unit: object = 0.001) -> Path:
    scene = _scene(scenes, tmp_path, times=False)
    (scene / "depth").mkdir()
    for i in range(3):
        np.save(scene / "depth" / f"{i}.npy", depth if i == 1 else np.ones((12, 16), np.float32))

    def change(meta):
        meta["depth_unit_scale_factor"] = unit
        for i, frame in enumerate(meta["frames"]):
            frame["depth_file_path"] = f"depth/{i}.npy"
    _edit(scene, change)
    return scene


@pytest.mark.parametrize("value", [np.nan, np.inf, -1.0])
def test_a_depth_map_with_values_that_are_no_depth(scenes, tmp_path, value):
    depth = np.ones((12, 16), np.float32)
    depth[3, 4] = value
    scene = _with_depth(scenes, tmp_path, depth)
    _refused(scene, scene / "depth" / "1.npy", "1 values that are NaN, infinite or negative")


def test_a_depth_map_of_zeros_is_unknown_depth_and_read(scenes, tmp_path):
    scene = _with_depth(scenes, tmp_path, np.zeros((12, 16), np.float32))
    assert float(load_views(scene).depths[1].abs().max()) == 0.0


def test_a_damaged_npy_header(scenes, tmp_path):
    scene = _with_depth(scenes, tmp_path, np.ones((12, 16), np.float32))
    path = scene / "depth" / "1.npy"
    data = path.read_bytes()
    path.write_bytes(data[:20] + b"(((((" + data[20:])  # inside the header's dict: TokenError from numpy
    _refused(scene, path, "cannot read depth map")


@pytest.mark.parametrize("unit, says", [("x", "depth_unit_scale_factor: expected a number, got the string 'x'"),
                                        (0, "depth_unit_scale_factor: must be positive, got 0"),
                                        (1e400, "depth_unit_scale_factor: must be finite, got inf")])
def test_a_depth_unit_that_is_not_a_positive_number(scenes, tmp_path, unit, says):
    scene = _with_depth(scenes, tmp_path, np.ones((12, 16), np.float32), unit=unit)
    _refused(scene, scene / "transforms.json", says)


def test_a_damaged_ground_truth_npz(scenes, tmp_path):
    scene = _scene(scenes, tmp_path, times=False)
    np.savez_compressed(scene / "ground_truth.npz", depth=np.ones((3, 12, 16), np.float32))
    assert load_views(scene).depths.shape == (3, 12, 16)
    path = scene / "ground_truth.npz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _refused(scene, path, "cannot read the depth")
    np.savez_compressed(path, depth=np.full((3, 12, 16), np.nan, np.float32))
    _refused(scene, path, "NaN, infinite or negative")


def test_fuzzing_the_scene_folders_finds_nothing(tmp_path):
    assert_fuzz_finds_nothing("recon-folder", 60, tmp_path)


def test_a_ground_truth_depth_of_another_size_is_not_read(scenes, tmp_path, monkeypatch):
    # was: inflated whole before its shape was compared with the frames' (an .npz is a zip: a few MB of compressed
    # zeros can claim gigabytes); such a depth is left out, as one of another size was, without reading it
    scene = _scene(scenes, tmp_path, times=False)
    np.savez_compressed(scene / "ground_truth.npz", depth=np.zeros((300, 120, 160), np.float32))
    refuse_reading_large_arrays(monkeypatch)
    assert load_views(scene).depths is None


def test_a_depth_npy_whose_header_claims_terabytes_names_the_file(scenes, tmp_path):
    # was: numpy allocated the 3.6 TiB the header states before finding 64 bytes of data: a MemoryError, which the
    # command line reported as the machine's memory limit instead of a damaged depth file
    import io

    scene = _with_depth(scenes, tmp_path, np.ones((12, 16), np.float32))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (10**6, 10**6)})
    (scene / "depth" / "1.npy").write_bytes(header.getvalue() + bytes(64))
    _refused(scene, scene / "depth" / "1.npy", "cannot read depth map")
