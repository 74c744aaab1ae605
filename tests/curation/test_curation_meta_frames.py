"""meta.json's per-frame records of a curated clip against the COLMAP model written beside them: a frame SfM
could not register (a blank frame at the end of a textured clip) is the one marked unregistered."""

from __future__ import annotations

import json

import pytest

pycolmap = pytest.importorskip("pycolmap")  # a core dependency, absent only on a bare GPU host

from genxd.curation import CurationConfig, VideoSource, curate_video  # noqa: E402

from .conftest import render_clip, write_frames  # noqa: E402


@pytest.mark.slow  # one SfM run (~10-20 s on a CPU core)
def test_meta_marks_the_frames_the_colmap_model_registered(tmp_path):
    clip = render_clip("blank_end", 0, "handheld", 0.0, frames=12)
    clip.frames[-1] = 128  # a flat grey frame: no features, never registered
    source = VideoSource("clip", write_frames(clip, tmp_path / "in"), "frames")
    record = curate_video(source, tmp_path / "out", CurationConfig(min_frames=3, min_registered=0.5))
    assert record["status"] == "ok", record
    meta = json.loads((tmp_path / "out" / "clip" / "meta.json").read_text())
    model = pycolmap.Reconstruction(str(tmp_path / "out" / "clip" / "0"))
    in_model = {image.name for image in model.images.values()}
    frames = meta["frames"]
    assert [f["source_index"] for f in frames] == list(range(12))
    assert {f["name"] for f in frames if f["registered"]} == in_model
    assert not frames[-1]["registered"] and 8 <= len(in_model) == meta["num_registered"] < 12
