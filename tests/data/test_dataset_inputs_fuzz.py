"""Corrupt training data found by the input fuzzer (``benchmarks/fuzz_inputs.py``, targets ``camvid-folder`` and
``camvid-zip``): a ValueError naming the file (the frame, or the archive and its member), not PIL's or zipfile's
``OSError`` from inside a data loader.

Before the fixes: a cut-short or damaged JPEG frame raised ``OSError: Truncated File Read`` / ``broken data
stream``, and an archive whose central directory had moved (bytes lost before it) raised ``OSError: [Errno 22]
Invalid argument`` when a frame was read.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path

import pytest

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip
from tests.helpers import assert_fuzz_finds_nothing

pytest.importorskip("pycolmap", reason="a core dependency (the samples' COLMAP models), absent only on a bare GPU host")


@pytest.fixture(scope="module")
def samples(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("camvid")
    write_clip(make_clip(3, "3d", 4, 24, 32, camera="orbit"), root, "video0", "camvid")
    return root


def _copy(samples: Path, dest: Path) -> Path:
    import shutil

    shutil.copytree(samples, dest)
    return dest


def test_a_cut_short_frame_names_the_frame(samples, tmp_path):
    root = _copy(samples, tmp_path / "camvid")
    frame = root / "video0" / "images" / "00001.jpg"
    frame.write_bytes(frame.read_bytes()[:148])
    dataset = CamVidDataset(root, num_frames=2, height=16)
    with pytest.raises(ValueError, match="cannot read image") as info:
        for i in range(len(dataset)):
            dataset[i]
    assert str(frame) in str(info.value)


def test_an_archive_whose_directory_moved_names_the_archive_and_member(samples, tmp_path):
    archive = tmp_path / "batch_1.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(samples.rglob("*")):
            if p.is_file():
                zf.write(p, str(p.relative_to(samples)))
    data = archive.read_bytes()
    end = data.rindex(b"PK\x05\x06")
    (directory_at,) = struct.unpack_from("<I", data, end + 16)
    archive.write_bytes(data[:directory_at - 4] + data[directory_at:])  # 4 bytes lost before the directory
    with pytest.raises(ValueError, match="is corrupt") as info:
        dataset = CamVidDataset(archive, num_frames=2, height=16, extract_dir=tmp_path / "x")
        dataset[0]
    assert str(archive) in str(info.value) and "member" in str(info.value)


def test_the_fuzzer_finds_nothing_in_the_training_data_readers(tmp_path):
    """A fixed-seed run of the three targets (cases 3 and 19 of seed 0 of the camvid ones were findings before the
    fixes). 20 cases each: both findings, and every target reaches both outcomes (seed 0: ok / clear 17 / 3, 5 / 15,
    14 / 6; 40 cases added no other outcome)."""
    for name in ("camvid-folder", "camvid-zip", "multiview-folder"):
        counts = assert_fuzz_finds_nothing(name, 20, tmp_path)
        assert counts["ok"] > 0 and counts["clear"] > 0, counts


@pytest.mark.parametrize("where", ["../outside.png", "ABSOLUTE"])
def test_a_transforms_json_listing_an_image_outside_its_scene_is_refused(tmp_path, where):
    # was: MultiViewDataset read whatever file a downloaded transforms.json named (../x, /home/u/x) into training
    # batches; genxd reconstruct refused the same file
    from genxd.data.datasets import MultiViewDataset

    write_clip(make_clip(3, "3d", 4, 24, 32, camera="orbit"), tmp_path, "scene", "folder")
    scene = tmp_path / "scene"
    outside = tmp_path / "outside.png"
    (scene / "images" / "frame_00001.png").rename(outside)  # a readable image there: reading it would succeed
    where = str(outside) if where == "ABSOLUTE" else where
    transforms = json.loads((scene / "transforms.json").read_text())
    transforms["frames"][0]["file_path"] = where
    (scene / "transforms.json").write_text(json.dumps(transforms))
    with pytest.raises(ValueError, match=f"transforms.json: file path '{re.escape(where)}' (is absolute|points outside)"):
        MultiViewDataset(scene, num_frames=2, height=16)


def test_a_colmap_model_naming_an_image_outside_its_images_folder_is_refused(samples, tmp_path):
    from genxd.cameras import read_colmap_model, write_colmap_model
    from genxd.data.datasets import MultiViewDataset

    scene = _copy(samples, tmp_path / "camvid") / "video0"
    model = read_colmap_model(scene / "0")
    names = ["../../outside.jpg", *model.image_names[1:]]
    (scene / "images" / model.image_names[0]).rename(tmp_path / "outside.jpg")
    write_colmap_model(scene / "0", model.c2w, model.K, model.heights, model.widths, names)
    with pytest.raises(ValueError, match=r"0: file path '\.\./\.\./outside\.jpg' points outside"):
        MultiViewDataset(scene, num_frames=2, height=16)


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "{\"kind\": 1" + "0" * 5000 + "}"],
                         ids=["deep-nesting", "huge-integer"])
def test_a_meta_json_python_cannot_parse_names_the_sample(samples, tmp_path, text):
    # was: RecursionError's traceback from the data loader, or Python's 'Exceeds the limit (4300 digits)'
    root = _copy(samples, tmp_path / "camvid")
    (root / "video0" / "meta.json").write_text(text)
    with pytest.raises(ValueError, match="video0: meta.json is not valid JSON"):
        CamVidDataset(root, num_frames=2, height=16)[0]
