"""CamVidDataset's checks of the motion strengths its videos' meta.json give: none for a 4D video, or one in the
units before 17875fa (x over W, y over H) on non-square frames; and of their kinds (a value it does not read)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip
from genxd.data.synthetic.clips import write_clip
from genxd.utils.motion_units import OLD_MOTION_UNITS
from genxd.validation import GenXDWarning


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    """One 4D CamVid video folder of 6 frames of 24 x 32 (synth's meta.json)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        clip = make_clip(5, "4d", 6, 24, 32, camera="orbit")
    finally:
        torch.set_num_threads(threads)
    root = tmp_path_factory.mktemp("camvid")
    write_clip(clip, root, "v", "camvid")
    return root / "v"


def _copy(video: Path, root: Path, name: str, **meta_changes) -> Path:
    """A copy of ``video`` as ``root/name`` with its meta.json's keys changed (None removes one)."""
    folder = root / name
    shutil.copytree(video, folder)
    meta = json.loads((folder / "meta.json").read_text())
    for key, value in meta_changes.items():
        meta.pop(key) if value is None else meta.__setitem__(key, value)
    (folder / "meta.json").write_text(json.dumps(meta))
    return folder


def _genxd_warnings(recwarn) -> list[str]:
    return [str(w.message) for w in recwarn if issubclass(w.category, GenXDWarning)]


def test_4d_meta_without_a_motion_strength_is_counted(video, tmp_path, recwarn):
    """A meta.json saying kind 4d (or verdict dynamic) with neither image_motion_strength nor motion_strength trained
    as 4D with motion strength 0 without a word (only videos without a meta.json were counted). A video too short for
    any clip trains nothing and is not counted."""
    _copy(video, tmp_path, "a")
    _copy(video, tmp_path, "b", image_motion_strength=None, motion_strength=None)
    _copy(video, tmp_path, "c", image_motion_strength=None, motion_strength=None, kind=None, verdict="dynamic")
    short = _copy(video, tmp_path, "d")
    (short / "meta.json").unlink()
    for frame in sorted((short / "images").iterdir())[2:]:
        frame.unlink()
    ds = CamVidDataset(tmp_path, num_frames=4, height=24)
    assert ds.num_skipped_scenes == 1
    messages = _genxd_warnings(recwarn)
    assert len(messages) == 1 and "2 of 3 videos train as 4D with no motion strength" in messages[0], messages
    assert "e.g. b" in messages[0]
    assert float(ds[len(ds) - 1]["motion_strength"]) == 0 and ds[len(ds) - 1]["kind"] == "4d"
    recwarn.clear()
    CamVidDataset(tmp_path, num_frames=4, height=24, default_kind="3d", kind="3d")
    assert not _genxd_warnings(recwarn)


def test_old_unit_motion_strengths_of_non_square_videos_are_one_warning(video, tmp_path, recwarn):
    """A curation written before 17875fa holds motion_strength with x over W and y over H: on non-square frames it
    was read in the new units (over the shorter side) in silence, and a resumed curation mixed both. Such videos
    are one warning now, counted; square ones (the same value in both units) and new records say nothing."""
    old = dict(image_motion_strength=None, motion_strength=0.01, kind=None, verdict="dynamic",
               motion_strength_units=OLD_MOTION_UNITS + " (max over objects of the median over tracked points); see "
               "docs/curation.md")
    _copy(video, tmp_path, "old_wide", **old)
    _copy(video, tmp_path, "old_wide2", **old)
    _copy(video, tmp_path, "old_square", **old, height=32, width=32)
    _copy(video, tmp_path, "new_wide", **{**old, "motion_strength_units": "image displacement per extracted frame, "
                                          "in pixels over the shorter side"})
    CamVidDataset(tmp_path, num_frames=4, height=24)
    messages = _genxd_warnings(recwarn)
    assert len(messages) == 1, messages
    assert "2 of 4 videos (e.g. old_wide) were curated before 2026-12-05 18:45 UTC" in messages[0]
    assert "re-curate them" in messages[0]
    recwarn.clear()
    shutil.rmtree(tmp_path / "old_wide")
    shutil.rmtree(tmp_path / "old_wide2")
    CamVidDataset(tmp_path, num_frames=4, height=24)
    assert not _genxd_warnings(recwarn)


def test_synthetic_clips_say_their_image_motion_units_and_old_non_square_ones_are_one_warning(video, tmp_path,
                                                                                                recwarn):
    """A synthetic clip's meta.json gave image_motion_strength (over the shorter side since 17875fa, x over W and y
    over H before) with no units: an old non-square clip trained beside new ones in silence. New clips say the units
    (as curation's motion_strength_units); non-square ones without them are one warning, square ones nothing."""
    meta = json.loads((video / "meta.json").read_text())
    assert "pixels over the shorter side" in meta.get("image_motion_strength_units", "")
    _copy(video, tmp_path, "new_wide")
    _copy(video, tmp_path, "old_wide", image_motion_strength_units=None)
    _copy(video, tmp_path, "old_square", image_motion_strength_units=None, height=32, width=32)
    CamVidDataset(tmp_path, num_frames=4, height=24)
    messages = _genxd_warnings(recwarn)
    assert len(messages) == 1, messages
    assert "1 of 3 videos (e.g. old_wide) are non-square synthetic clips" in messages[0]
    assert "genxd synth" in messages[0]
    recwarn.clear()
    shutil.rmtree(tmp_path / "old_wide")
    CamVidDataset(tmp_path, num_frames=4, height=24)
    assert not _genxd_warnings(recwarn)


def test_videos_that_train_as_3d_are_not_counted_for_old_units(video, tmp_path, recwarn, monkeypatch):
    """Old-unit motion strengths were counted (a warning to re-curate) for videos that train as 3D, whose motion
    strength is unused, and kind="3d" read every video's meta.json for it. Now only 4D videos count, and kind="3d"
    reads none."""
    old = dict(image_motion_strength=None, motion_strength=0.01, verdict="dynamic",
               motion_strength_units=OLD_MOTION_UNITS + " (max over objects of the median over tracked points)")
    _copy(video, tmp_path, "still", **{**old, "kind": "3d"})
    _copy(video, tmp_path, "synthetic_still", kind="3d", image_motion_strength_units=None)
    CamVidDataset(tmp_path, num_frames=4, height=24)
    assert not _genxd_warnings(recwarn)
    _copy(video, tmp_path, "moving", **{**old, "kind": None})
    CamVidDataset(tmp_path, num_frames=4, height=24)
    messages = _genxd_warnings(recwarn)
    assert len(messages) == 1 and "1 of 3 videos (e.g. moving)" in messages[0], messages
    recwarn.clear()
    peeked: list[str] = []
    peek = CamVidDataset._peek_meta
    monkeypatch.setattr(CamVidDataset, "_peek_meta", lambda self, s: peeked.append(s) or peek(self, s))
    ds = CamVidDataset(tmp_path, num_frames=4, height=24, kind="3d")
    assert not _genxd_warnings(recwarn) and not peeked
    assert ds[0]["kind"] == "3d"


def test_a_meta_kind_of_no_known_value_is_counted(video, tmp_path, recwarn):
    """A hand-written ``"kind": "static"`` (curate's verdict word in the kind field) or ``"kind": "3-D"`` trained as
    default_kind 4D without a word; now counted in one warning naming the first. Known values in any case, a verdict
    beside an unknown kind, and a kind given as null say nothing."""
    _copy(video, tmp_path, "a", kind="static")
    _copy(video, tmp_path, "b", kind="3-D")
    _copy(video, tmp_path, "c", kind="3D")
    _copy(video, tmp_path, "d", kind="video", verdict="static")
    _copy(video, tmp_path, "e", kind=None)  # synth's meta.json has no verdict: default_kind, said by no kind given
    ds = CamVidDataset(tmp_path, num_frames=4, height=24)
    said = [m for m in _genxd_warnings(recwarn) if "kind the dataset does not read" in m]
    assert said == [f"{tmp_path}: 2 of 5 videos have a meta.json whose kind the dataset does not read (e.g. a (kind "
                    "'static')): they train as default_kind 4d; give kind 3d or 4d (or verdict static or dynamic, as "
                    "genxd curate writes it)"]
    kinds = {ds.videos[s].name: ds[i]["kind"] for i, (s, _) in enumerate(ds.clips)}
    assert kinds == {"a": "4d", "b": "4d", "c": "3d", "d": "3d", "e": "4d"}
    recwarn.clear()
    CamVidDataset(tmp_path, num_frames=4, height=24, kind="3d")  # the kind given for all: nothing read, nothing said
    assert not [m for m in _genxd_warnings(recwarn) if "kind the dataset does not read" in m]


def test_a_motion_strength_outside_0_to_1_is_counted(video, tmp_path, recwarn):
    """A meta.json motion strength already scaled (3.5, as genxd generate takes it) trained as 350, in pixels (12.0)
    as 1200, a negative one as a negative condition, in silence: now counted in one warning naming the first file. The
    value is still trained as given; one in 0 to 1, or of a video trained as 3D, says nothing."""
    _copy(video, tmp_path, "a", image_motion_strength=3.5)
    _copy(video, tmp_path, "b", image_motion_strength=None, motion_strength=-0.01)
    _copy(video, tmp_path, "c", image_motion_strength=0.02)
    _copy(video, tmp_path, "d", image_motion_strength=12.0, kind="3d")
    ds = CamVidDataset(tmp_path, num_frames=4, height=24)
    said = [m for m in _genxd_warnings(recwarn) if "outside 0 to 1" in m]
    assert said == [f"{tmp_path}: 2 of 4 videos have a meta.json motion strength outside 0 to 1 (e.g. "
                    f"{tmp_path / 'a' / 'meta.json'}: image_motion_strength 3.5), trained as given (times motion_scale "
                    "100): it is the per-frame image displacement of moving objects over the shorter side, typically "
                    "0.002-0.05 (1: crossing the image every frame; docs/conventions.md); a value already scaled "
                    "(x100) or in pixels?"]
    strengths = {ds.videos[s].name: float(ds[i]["motion_strength"]) for i, (s, _) in enumerate(ds.clips)}
    assert strengths["a"] == pytest.approx(350.0) and strengths["d"] == 0.0
