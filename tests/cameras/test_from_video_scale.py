"""The scale of a path made from a ``genxd synth`` video through its camera file: the scene's depth that the clip's
meta records (its rendered depth), as SfM's route scales by the depth of its points, not the path's own length."""

from __future__ import annotations

import json

import pytest

from genxd.cameras.from_video import make_video_path, path_summary, recover_clip_cameras
from genxd.data.synthetic import SURFACE_SKY, make_clip
from genxd.data.synthetic.clips import write_clip


@pytest.fixture(scope="module")
def synth_video(tmp_path_factory):
    clip = make_clip(3, "3d", 8, 32, 32, camera="orbit")
    out = tmp_path_factory.mktemp("synth")
    write_clip(clip, out, "clip", "video")
    not_sky = clip.render.surface[0] != SURFACE_SKY
    return out / "clip.mp4", float(clip.render.depth[0][not_sky].median())


def test_synth_meta_records_the_depth_seen_from_the_first_camera(synth_video):
    video, depth = synth_video
    assert json.loads(video.with_suffix(".json").read_text())["scene_depth"] == pytest.approx(depth)


@pytest.mark.parametrize("source", ["auto", "file"])
def test_camera_file_of_a_synth_video_scales_the_path_by_the_scene_depth(synth_video, source):
    video, depth = synth_video
    cams = recover_clip_cameras(video, source=source)
    assert cams.scene_depth == pytest.approx(depth)
    vp = make_video_path(cams, 6)
    assert vp.report["normalization"] == "scene" and vp.scale == pytest.approx(1 / depth)
    assert f"scale scene x {1 / depth:.4g} (scene depth {depth:.3g}: the synthetic clip's rendered depth " \
        "('scene_depth')); path length" in path_summary(vp.report), path_summary(vp.report)


def test_a_synth_meta_without_a_depth_falls_back_to_the_path_length(synth_video, tmp_path):
    video, _ = synth_video
    meta = json.loads(video.with_suffix(".json").read_text())
    for name, value in (("old", None), ("bad", -1.0), ("text", "2")):
        meta.pop("scene_depth")
        if value is not None:
            meta["scene_depth"] = value
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(meta))
        cams = recover_clip_cameras(path)
        assert cams.scene_depth is None, name
        assert make_video_path(cams, 6).report["normalization"] == "path", name
        meta["scene_depth"] = 1.0
