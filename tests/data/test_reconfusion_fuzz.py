"""ReconFusion scenes the fuzzer (``benchmarks/fuzz_targets_files.py``, ``reconfusion-scene``) found misread: a
damaged torch file, cameras that are not ``[N, 18]`` finite numbers, splits that are not lists of view indices,
images that are not byte tensors: each a ValueError naming the scene file; and a short fixed-seed run of that
target finds nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from genxd.cameras import trajectories
from genxd.data.reconfusion import load_reconfusion, load_reconfusion_scene, write_reconfusion_scene
from genxd.utils.json_text import json_text
from genxd.reconstruction.views import load_views, reconfusion_split
from tests.helpers import assert_fuzz_finds_nothing


@pytest.fixture
def scene_file(tmp_path) -> Path:
    c2w, K = trajectories.orbit(num_frames=6)
    images = torch.rand(6, 3, 8, 12, generator=torch.Generator().manual_seed(0))
    return write_reconfusion_scene(tmp_path / "rf", "scene_a", images, c2w, K, {3: ([0, 2, 4], [1, 3, 5])})


def _edit(path: Path, **fields) -> Path:
    scene = torch.load(path, weights_only=True)[0]
    scene.update(fields)
    torch.save([scene], path)
    return path


def _refused(path: Path, says: str) -> None:
    with pytest.raises(ValueError, match=says) as info:
        load_reconfusion(path.parent)
    assert str(path) in str(info.value)


def test_a_truncated_scene_file_names_it(scene_file):
    scene_file.write_bytes(scene_file.read_bytes()[:-1300])  # was: RuntimeError from the zip reader
    _refused(scene_file, "not a readable torch file")


@pytest.mark.parametrize("rows, says", [
    (lambda c: [r[:17] if i == 5 else r for i, r in enumerate(c)], r"cameras: expected \[N, 18\]"),  # ragged
    (lambda c: [r[:16] + [[1, 2]] + r[17:] if i == 1 else r for i, r in enumerate(c)], r"cameras: expected"),
    (lambda c: [r[:5] + [None] + r[6:] if i == 5 else r for i, r in enumerate(c)], r"cameras: expected"),
    (lambda c: [r[:14] + [float("inf")] + r[15:] if i == 1 else r for i, r in enumerate(c)], "NaN or infinite"),
    (lambda c: [[0.0] + r[1:] for r in c], "focal lengths"),
    (lambda c: torch.zeros(0, 18), "expected"),
])
def test_bad_cameras_name_the_scene_file(scene_file, rows, says):
    cameras = torch.load(scene_file, weights_only=True)[0]["cameras"].tolist()
    _edit(scene_file, cameras=rows(cameras))  # was: TypeError, RuntimeError, an unnamed ValueError, or accepted
    _refused(scene_file, says)


@pytest.mark.parametrize("split, says", [
    ({"a": 1}, "train_test_split_3: expected"),  # was: KeyError
    ({"train_ids": [0, 2, 4], "test_ids": [{}, 3]}, "test_ids: expected view indices"),  # was: TypeError
    ({"train_ids": [0, 2, 4], "test_ids": ["1.5"]}, "test_ids: expected view indices"),  # was: unnamed
    ({"train_ids": [0, 2, 6], "test_ids": [1]}, r"train_ids: indices \[6\] outside the scene's 6 views"),
    ({"train_ids": 3, "test_ids": [1]}, "train_ids: expected a list"),
    ([0, 1], "train_test_split_3: expected"),
])
def test_bad_splits_name_the_scene_file(scene_file, split, says):
    _edit(scene_file, train_test_split_3=split)
    _refused(scene_file, says)


@pytest.mark.parametrize("images, says", [
    (7, "images: expected a list"),  # was: TypeError
    ([[1, 2]] * 6, "image 0: expected a 1-D uint8 tensor"),
])
def test_bad_images_name_the_scene_file(scene_file, images, says):
    _edit(scene_file, images=images)
    with pytest.raises(ValueError, match=says) as info:
        load_reconfusion_scene(scene_file, decode_images=False)
    assert str(scene_file) in str(info.value)


def test_valid_scenes_still_read(scene_file):
    # ids as a tensor and as numbers that are whole, as older writers stored them
    _edit(scene_file, train_test_split_3={"train_ids": torch.tensor([0, 2, 4]), "test_ids": [1.0, 3, 5]},
          train_test_split_6={"train_ids": (0, 1, 2, 3, 4, 5), "test_ids": []})
    scene = load_reconfusion_scene(scene_file)
    assert scene.splits == {3: ([0, 2, 4], [1, 3, 5]), 6: ([0, 1, 2, 3, 4, 5], [])}
    assert len(load_views(scene_file.parent)) == 6
    assert reconfusion_split(scene_file.parent, None, 3) == ("scene_a", [0, 2, 4], [1, 3, 5])


def test_fuzzing_the_scenes_finds_nothing(tmp_path):
    assert_fuzz_finds_nothing("reconfusion-scene", 40, tmp_path)


@pytest.mark.parametrize("name", ["../outside.torch", "sub/../../outside.torch", "ABSOLUTE"])
def test_an_index_naming_a_file_outside_its_folder_is_refused_for_reading_and_writing(scene_file, name):
    # was: write_reconfusion_scene(..., overwrite=True) saved the scene where a downloaded index.json pointed
    # (beside the folder, or any absolute path), and ReconFusionDataset read a torch file from there
    from genxd.data.datasets.reconfusion import ReconFusionDataset

    root = scene_file.parent
    target = root.parent / "outside.torch"
    name = str(target) if name == "ABSOLUTE" else name
    target.write_bytes(scene_file.read_bytes())  # a readable scene there: reading it would succeed
    before = target.read_bytes()
    (root / "index.json").write_text(json_text({"scene_a": name}))
    for attempt in (lambda: load_reconfusion(root),
                    lambda: ReconFusionDataset(root, num_frames=2, height=8),
                    lambda: write_reconfusion_scene(root, "scene_a", torch.rand(6, 3, 8, 12), *trajectories.orbit(num_frames=6),
                                                    {3: ([0, 2, 4], [1, 3, 5])}, overwrite=True)):
        with pytest.raises(ValueError, match=f"index.json: .*{re.escape(name)!s}.*(outside|absolute)"):
            attempt()
    assert target.read_bytes() == before


def test_a_scene_file_whose_records_are_compressed_zeros_is_refused_before_they_are_inflated(tmp_path, monkeypatch):
    # was: torch.load inflates deflated records: a 200 kB .torch file held a 200 MB tensor (1000:1), so a few MB
    # downloaded could claim gigabytes; the archive is now checked as SafeZip checks one (genxd.data.archive)
    import zipfile

    stored = tmp_path / "stored.torch"
    torch.save([{"cameras": torch.zeros(5_000_000)}], stored)
    root = tmp_path / "rf"
    root.mkdir()
    with zipfile.ZipFile(stored) as zin, zipfile.ZipFile(root / "scene_a.torch", "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info), compress_type=zipfile.ZIP_DEFLATED)
    (root / "index.json").write_text(json_text({"scene_a": "scene_a.torch"}))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load was called"))
    with pytest.raises(ValueError, match=r"scene_a.torch: .*compression ratio"):
        load_reconfusion(root)
