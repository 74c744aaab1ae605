"""The scale of a path made from a ``genxd synth`` video through its camera file: the scene's depth that the clip's
meta records (its rendered depth), as SfM's route scales by the depth of its points, not the path's own length."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from genxd.cameras.from_video import make_video_path, path_summary, recover_clip_cameras
from genxd.data.synthetic import SURFACE_SKY, make_clip
from genxd.data.synthetic.clips import write_clip


@pytest.fixture(scope="module")
def synth_video(tmp_path_factory):
    clip = make_clip(3, "3d", 8, 32, 32, camera="orbit")
    out = tmp_path_factory.mktemp("synth")
    write_clip(clip, out, "clip", "video")
    write_clip(clip, out, "clip", "folder")  # clip/: images, transforms.json, meta.json
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


def test_a_folder_holding_a_synth_meta_scales_by_its_depth(synth_video, tmp_path):
    """Found by the review: the depth was read again from the path given, so a folder holding the clip's meta.json
    (rather than the file) gave the path no scene depth, and it was scaled by its own length."""
    from genxd.cameras import read_camera_path

    video, depth = synth_video
    folder = tmp_path / "clip"
    folder.mkdir()
    (folder / "meta.json").write_bytes(video.with_suffix(".json").read_bytes())
    cams = recover_clip_cameras(folder, source="file")
    assert make_video_path(cams, 6).report["normalization"] == "scene"
    assert cams.scene_depth == pytest.approx(depth)
    assert cams.report["scene_depth_source"] == "the synthetic clip's rendered depth ('scene_depth')"
    assert read_camera_path(folder).scene_depth == pytest.approx(depth)


def test_a_synth_folder_clip_scales_by_the_depth_of_its_meta(synth_video):
    """``genxd synth --format folder`` writes transforms.json (read first) and the clip's meta.json beside it: the
    path carries the meta's depth, as the same clip's video and camvid forms do (it was scaled by its own length)."""
    from genxd.cameras import read_camera_path
    from genxd.cameras.reader import camera_files

    video, depth = synth_video
    folder = video.parent / "clip"
    cams = recover_clip_cameras(folder)
    assert make_video_path(cams, 6).report["normalization"] == "scene"
    assert cams.scene_depth == pytest.approx(depth)
    assert folder / "meta.json" in camera_files(folder)  # read: an output must not replace it
    cam = read_camera_path(folder)
    assert cam.source_format == "transforms.json" and cam.scene_depth == pytest.approx(depth)


def test_a_meta_json_of_another_clip_or_kind_gives_a_folder_no_depth(synth_video, tmp_path):
    """Beside a transforms.json, only a synthetic clip's meta of as many cameras gives the depth: a genxd generate
    output's meta.json, or one of another clip, does not."""
    import shutil

    from genxd.cameras import read_camera_path

    video, _ = synth_video
    folder = tmp_path / "clip"
    shutil.copytree(video.parent / "clip", folder)
    meta = json.loads((folder / "meta.json").read_text())
    for other in ({"scene_depth": 2.0, "mode": "3d"}, {**meta, "c2w_opencv": meta["c2w_opencv"][:-1]}):
        (folder / "meta.json").write_text(json.dumps(other))
        assert read_camera_path(folder).scene_depth is None


def test_a_curate_samples_model_is_read_once_and_scales_by_its_points(tmp_path, monkeypatch):
    """The camera-file route read a COLMAP model twice: once for the cameras (read_camera_path), again for the depth
    of its points; the reader now carries that depth out (CameraPath.scene_depth)."""
    import torch

    import genxd.cameras.colmap as colmap
    import genxd.cameras.reader as reader
    from genxd.cameras import trajectories, write_colmap_model
    from genxd.data.datasets import median_point_depth

    c2w, K = trajectories.orbit(num_frames=6)
    points = torch.rand(200, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5
    points[:, 2] += 2.0  # in front of the first camera (the identity)
    write_colmap_model(tmp_path / "clip" / "0", c2w, K, 40, 60, [f"{i:06d}.jpg" for i in range(6)], points)
    reads = []
    real = colmap.read_colmap_model

    def counted(*args, **kwargs):
        reads.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(colmap, "read_colmap_model", counted)
    monkeypatch.setattr(reader, "read_colmap_model", counted)
    cams = recover_clip_cameras(tmp_path / "clip")
    assert len(reads) == 1, reads
    assert cams.report["scene_depth_source"] == "COLMAP points"
    assert cams.scene_depth == pytest.approx(median_point_depth(points, c2w[0].double(), K[0].double()), rel=1e-5)


def test_a_camera_folder_is_looked_into_once_per_read(tmp_path, monkeypatch):
    """recover_clip_cameras on a folder looked for its camera source (reader._folder_source) 3 times (whether it holds
    cameras, the read, the report's files; 4 with a depth: its source) and write_video_path more; now the files are
    listed once and the read looks once (and write_video_path's check of its outputs once more)."""
    import genxd.cameras.reader as reader
    from genxd.cameras import trajectories, write_colmap_model
    from genxd.cameras.from_video import write_video_path

    c2w, K = trajectories.orbit(num_frames=6)
    write_colmap_model(tmp_path / "clip" / "0", c2w, K, 40, 60, [f"{i:06d}.jpg" for i in range(6)])
    looks = []
    real = reader._folder_source

    def counted(folder):
        looks.append(folder)
        return real(folder)

    monkeypatch.setattr(reader, "_folder_source", counted)
    cams = recover_clip_cameras(tmp_path / "clip")
    assert len(looks) == 2, looks
    assert cams.report["camera_files"][0] == str(tmp_path / "clip" / "0" / "cameras.bin")
    assert cams.report["format"] == reader.CURATE_SAMPLE
    looks.clear()
    write_video_path(tmp_path / "clip", tmp_path / "path.json", 8)
    assert len(looks) == 3, looks


def test_the_reader_finds_the_scene_depth_only_when_it_is_asked_for(synth_video, tmp_path, monkeypatch):
    """read_camera_path took the median over every point of a COLMAP model, and read the meta.json beside a
    transforms.json (a genxd generate output's too), for every caller (genxd generate --camera, eval-camera), though
    only the camera-file route of a clip uses the depth: now on the first read of CameraPath.scene_depth, once."""
    import pickle

    import torch

    import genxd.cameras.reader as reader
    import genxd.data.datasets as datasets
    from genxd.cameras import read_camera_path, trajectories, write_colmap_model

    medians, metas = [], []
    real_median, real_read = datasets.median_point_depth, reader.read_json
    monkeypatch.setattr(datasets, "median_point_depth", lambda *a: medians.append(1) or real_median(*a))
    monkeypatch.setattr(reader, "read_json", lambda p, *a: metas.append(Path(p).name) or real_read(p, *a))

    c2w, K = trajectories.orbit(num_frames=6)
    points = torch.rand(50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5
    points[:, 2] += 2.0
    write_colmap_model(tmp_path / "model", c2w, K, 40, 60, [f"{i:06d}.jpg" for i in range(6)], points)
    cam = read_camera_path(tmp_path / "model")
    assert medians == []
    depth = cam.scene_depth
    assert depth == pytest.approx(real_median(points, c2w[0].double(), K[0].double()), rel=1e-5)
    assert cam.scene_depth == depth and medians == [1]  # kept
    assert pickle.loads(pickle.dumps(read_camera_path(tmp_path / "model"))).scene_depth == pytest.approx(depth)

    video, synth_depth = synth_video
    cam = read_camera_path(video.parent / "clip")
    assert metas == ["transforms.json"]
    assert cam.scene_depth == pytest.approx(synth_depth) and metas == ["transforms.json", "meta.json"]
    assert cam.scene_depth == pytest.approx(synth_depth) and len(metas) == 2


def test_a_fisheye_camera_file_gives_its_poses_with_the_models_intrinsics_only(tmp_path):
    """--camera-from-video follows a fisheye capture's poses (the model's intrinsics are the path's by default), but
    the clip's own intrinsics (intrinsics='clip') would be the fisheye's focal length read as a perspective camera's:
    refused, naming the file. (A fisheye file was refused as a whole for a moment; generate --camera still is.)"""
    pytest.importorskip("pycolmap")
    import pycolmap
    import torch

    from genxd.cameras import trajectories, write_colmap_model

    c2w, K = trajectories.orbit(num_frames=6)
    folder = tmp_path / "sparse" / "0"
    write_colmap_model(folder, c2w, K, 40, 60, [f"{i:06d}.jpg" for i in range(6)])
    recon = pycolmap.Reconstruction(str(folder))
    for camera in recon.cameras.values():
        camera.model, camera.params = pycolmap.CameraModelId.OPENCV_FISHEYE, [30.0, 30.0, 30.0, 20.0, 0.05, 0, 0, 0]
    recon.write(str(folder))
    cams = recover_clip_cameras(tmp_path)
    assert not cams.intrinsics_known and "a fisheye camera" in cams.report["fisheye"]
    vp = make_video_path(cams, 6, smoothing=0)
    assert torch.allclose(vp.clip_relative[:, :3, :3], (torch.linalg.inv(c2w[0]) @ c2w)[:, :3, :3].double(), atol=1e-5)
    with pytest.raises(ValueError, match=r"has camera model OPENCV_FISHEYE, a fisheye camera: its focal length is no "
                                         r"perspective camera's, so the path cannot take the clip's intrinsics"):
        make_video_path(cams, 6, intrinsics="clip")
