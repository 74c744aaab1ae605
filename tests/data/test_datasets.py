"""Training datasets: image fitting with exact intrinsics, CamVid folders and zips (and unsafe zips),
multi-view folders, ReconFusion, synthetic scenes, mixtures."""

from __future__ import annotations

import json
import re
import stat
import zipfile
from pathlib import Path

import pytest
import torch

from genxd.cameras import relative_poses
from genxd.data.archive import ArchiveLimits, SafeZip
from genxd.data.datasets import (
    CamVidDataset,
    MixtureDataset,
    MultiViewDataset,
    ReconFusionDataset,
    SyntheticDataset,
    build_dataset,
    camera_scale,
    fit_views,
    median_point_depth,
)
from genxd.data.synthetic import make_clip, make_scene, render, write_clip


pytestmark = pytest.mark.usefixtures("single_thread")  # tests/data/conftest.py


@pytest.fixture(scope="module")
def clips():
    """A static and a dynamic clip, 10 frames of 48x64 (non-square, to exercise cropping)."""
    return [make_clip(3, "3d", 10, 48, 64, camera="orbit"), make_clip(4, "4d", 10, 48, 64, camera="orbit", motion_strength=0.6)]


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory, clips):
    root = tmp_path_factory.mktemp("camvid")
    for i, clip in enumerate(clips):
        write_clip(clip, root, f"video{i}", "camvid")
    return root


def _zip_folder(folder: Path, archive: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, prefix + str(p.relative_to(folder)))
    return archive


# ---------------------------------------------------------------------------------------- fit_views


def test_crop_keeps_rays_exact():
    """A crop without resize changes only which pixels are kept: rendering with the adjusted K
    reproduces the cropped image exactly."""
    scene = make_scene(5)
    c2w = torch.eye(4)[None]
    c2w[0, :3, 3] = torch.tensor([0.0, 1.0, -4.0])
    K = torch.tensor([[[0.8, 0, 0.52], [0, 1.1, 0.47], [0, 0, 1]]])
    full = render(scene, c2w, K, 48, 64).rgb
    cropped, K2 = fit_views(full, K, 48, 48, "crop")
    direct = render(scene, c2w, K2, 48, 48).rgb
    assert torch.allclose(cropped, direct, atol=1e-3)  # float32 intrinsics round the rays slightly
    assert torch.allclose(cropped, full[..., 8:56])


def test_crop_and_pad_then_resize_match_a_render_at_the_new_intrinsics():
    scene = make_scene(6)
    c2w = torch.eye(4)[None]
    c2w[0, :3, 3] = torch.tensor([0.2, 1.0, -4.0])
    K = torch.tensor([[[0.9, 0, 0.5], [0, 1.2, 0.5], [0, 0, 1]]])
    full = render(scene, c2w, K, 96, 128, supersample=3).rgb
    for mode in ("crop", "pad"):
        out, K2 = fit_views(full, K, 32, 32, mode, pad_value=1.0)
        direct = render(scene, c2w, K2, 32, 32, supersample=3).rgb
        keep = slice(None) if mode == "crop" else slice(5, 27)  # pad: 4 rows of padding top and bottom
        err = (out[..., keep, :] - direct[..., keep, :]).abs().mean()
        wrong = (out[..., keep, :] - render(scene, c2w, K, 32, 32, supersample=3).rgb[..., keep, :]).abs().mean()
        assert err < 0.02, (mode, err)
        assert wrong > 3 * err, (mode, wrong, err)
    padded, _ = fit_views(full, K, 32, 32, "pad", pad_value=1.0)
    assert torch.all(padded[..., :3, :] == 1.0)


def test_fit_views_rejects_bad_input():
    with pytest.raises(ValueError, match="fit"):
        fit_views(torch.rand(1, 3, 8, 8), torch.eye(3), 8, 8, "stretch")
    with pytest.raises(ValueError, match=r"\[N, 3, H, W\]"):
        fit_views(torch.rand(3, 8, 8), torch.eye(3), 8, 8)


def test_camera_scale_modes():
    c2w = torch.eye(4).repeat(3, 1, 1)
    c2w[:, 0, 3] = torch.tensor([0.0, 2.0, 4.0])
    assert camera_scale(c2w, "path") == pytest.approx(0.25)
    assert camera_scale(c2w, "scene", scene_depth=5.0) == pytest.approx(0.2)
    assert camera_scale(c2w, "scene", scene_depth=None) == pytest.approx(0.25)  # falls back to path
    assert camera_scale(torch.eye(4).repeat(3, 1, 1), "path") == 1.0
    assert camera_scale(c2w, "none") == 1.0
    pts = torch.tensor([[0.0, 0.0, 3.0]] * 10 + [[0.0, 0.0, -3.0]] * 10)
    assert median_point_depth(pts, torch.eye(4), torch.tensor([[1.0, 0, 0.5], [0, 1, 0.5], [0, 0, 1]])) == pytest.approx(3.0)


# ---------------------------------------------------------------------------------------- CamVid


def test_camvid_folder(camvid_root, clips):
    ds = CamVidDataset(camvid_root, num_frames=4, height=32, stride=[1, 2], fit="crop")
    # 10 frames: stride 1 -> starts 0, 4; stride 2 (span 7) -> start 0; for each of 2 videos
    assert len(ds) == 6
    sample = ds[1]
    assert sample["frames"].shape == (4, 3, 32, 32) and sample["frames"].dtype == torch.float32
    assert 0 <= float(sample["frames"].min()) and float(sample["frames"].max()) <= 1
    assert sample["kind"] == "3d" and int(sample["indicator"]) == 0 and float(sample["motion_strength"]) == 0
    # cameras: the clip's ground truth up to one scale factor (COLMAP stores world-to-camera in float64)
    gt = clips[0].c2w[4:8].double()
    rel, rel_gt = relative_poses(sample["c2w"].double(), sample["c2w"][0].double()), relative_poses(gt, gt[0])
    assert torch.allclose(rel[:, :3, :3], rel_gt[:, :3, :3], atol=1e-5)
    s = rel[1:, :3, 3].norm() / rel_gt[1:, :3, 3].norm()
    assert torch.allclose(rel[:, :3, 3], s * rel_gt[:, :3, 3], atol=1e-4)
    assert float(sample["K"][0, 0, 0]) == pytest.approx(float(clips[0].K[0, 0, 0]) * 64 / 48, rel=1e-5)

    dyn = ds[3]
    meta = json.loads((camvid_root / "video1" / "meta.json").read_text())
    assert dyn["kind"] == "4d" and int(dyn["indicator"]) == 2
    assert float(dyn["motion_strength"]) == pytest.approx(100 * meta["image_motion_strength"], rel=1e-5)
    assert dyn["name"] == "video1:0"


def test_camvid_motion_strength_is_per_frame_of_the_strided_clip(camvid_root, clips):
    """meta.json's motion is a speed per frame of the video; a clip of every 2nd frame moves twice as far per frame,
    as the exact ground truth of those frames says (it was given the video's value whatever the stride)."""
    import dataclasses

    from genxd.data.synthetic import image_motion_strength

    ds = CamVidDataset(camvid_root / "video1", num_frames=4, height=32, stride=[1, 2])
    strided = [i for i, (_, p) in enumerate(ds.clips) if p == [0, 2, 4, 6]]
    assert len(strided) == 1
    clip, idx = clips[1], torch.tensor([0, 2, 4, 6])
    render = dataclasses.replace(clip.render, **{f.name: getattr(clip.render, f.name)[idx]
                                                 for f in dataclasses.fields(clip.render)})
    truth = 100 * image_motion_strength(clip.scene, render, clip.c2w[idx], clip.K[idx])
    assert float(ds[strided[0]]["motion_strength"]) == pytest.approx(truth, rel=0.15)
    assert float(ds[0]["motion_strength"]) * 2 == pytest.approx(float(ds[strided[0]]["motion_strength"]), rel=1e-5)


def test_camvid_videos_without_meta_trained_as_4d_are_one_warning(camvid_root, tmp_path, recwarn):
    """CamVid-30K as released has no meta.json: its clips trained as 4D with motion strength 0 (still objects) in
    silence. Now one warning counts them and names one; annotated videos, or 3D ones, warn nothing."""
    import shutil

    from genxd.validation import GenXDWarning

    CamVidDataset(camvid_root, num_frames=4, height=32)
    assert not [w for w in recwarn if issubclass(w.category, GenXDWarning)]
    root = tmp_path / "released"
    shutil.copytree(camvid_root, root)
    (root / "video1" / "meta.json").unlink()
    with pytest.warns(GenXDWarning, match=r"1 of 2 videos train as 4D with no motion strength \(no meta\.json, .*e\.g\. video1\).*motion strength 0"):
        ds = CamVidDataset(root, num_frames=4, height=32)
    assert ds[3]["kind"] == "4d" and float(ds[3]["motion_strength"]) == 0
    archive = _zip_folder(root, tmp_path / "batch_1.zip")
    with pytest.warns(GenXDWarning, match="1 of 2 videos train as 4D with no motion strength"):
        CamVidDataset(archive, num_frames=4, height=32)
    recwarn.clear()
    CamVidDataset(root, num_frames=4, height=32, default_kind="3d")
    assert not [w for w in recwarn if issubclass(w.category, GenXDWarning)]


def test_camvid_scene_normalisation(camvid_root):
    ds = CamVidDataset(camvid_root, num_frames=4, height=32, camera_normalization="scene")
    sample = ds[0]
    from genxd.cameras import read_colmap_model

    model = read_colmap_model(camvid_root / "video0" / "0")
    raw = torch.as_tensor(model.c2w[:4]).float()
    scale = float(sample["c2w"][1, :3, 3].sub(sample["c2w"][0, :3, 3]).norm() / raw[1, :3, 3].sub(raw[0, :3, 3]).norm())
    depth = median_point_depth(model.points_xyz.float(), raw[0], torch.as_tensor(model.K[0]).float())
    assert depth is not None and scale * depth == pytest.approx(1.0, rel=1e-4)


def test_camvid_zip_matches_folder(camvid_root, tmp_path):
    archive = _zip_folder(camvid_root, tmp_path / "batch_1.zip", prefix="camvid/")
    folder = CamVidDataset(camvid_root, num_frames=4, height=32)
    zipped = CamVidDataset(tmp_path, num_frames=4, height=32, extract_dir=tmp_path / "x")  # finds batch_1.zip
    assert len(zipped) == len(folder)
    a, b = folder[2], zipped[2]
    assert a["name"] == b["name"]
    for key in ("frames", "c2w", "K", "motion_strength", "indicator"):
        assert torch.equal(a[key], b[key]), key
    assert CamVidDataset(archive, num_frames=4, height=32, extract_dir=tmp_path / "x")[0]["name"] == folder[0]["name"]
    assert (tmp_path / "x").is_dir()


def test_a_camvid_model_cut_short_by_a_full_disk_is_extracted_again(camvid_root, tmp_path, monkeypatch):
    """A full disk while extracting an archived sample's COLMAP model left ``cameras.bin`` (and ``.images.bin.part``)
    in ``extract_dir``; the next read took that for the model and failed ("cannot read COLMAP model"). The model is
    now extracted whole or not at all, and the error names where it was written."""
    import errno
    import pathlib

    archive = _zip_folder(camvid_root, tmp_path / "batch_1.zip")
    extract = tmp_path / "x"
    real_write_bytes = pathlib.Path.write_bytes

    def full_disk(self, data):
        if "images.bin" in self.name:
            real_write_bytes(self, data[:10])
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write_bytes(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full_disk)
    with pytest.raises(OSError, match=rf"No space left on device while writing {re.escape(str(extract))}/.*/0$"):
        CamVidDataset(archive, num_frames=4, height=32, extract_dir=extract)[0]
    assert [p for p in extract.rglob("*") if p.is_file() and p.suffix != ".lock"] == []  # no part of the model
    monkeypatch.undo()
    expected = CamVidDataset(camvid_root, num_frames=4, height=32)[0]
    again = CamVidDataset(archive, num_frames=4, height=32, extract_dir=extract)[0]
    assert again["name"] == expected["name"] and torch.equal(again["c2w"], expected["c2w"])


def test_an_archive_rebuilt_in_place_gives_its_new_cameras(camvid_root, tmp_path):
    """The COLMAP model of an archived sample is extracted once, under a key of the archive's path: an archive
    rebuilt at the same path (a dataset curated again and zipped) was read with the cameras of the old one, in a
    later run with the same ``extract_dir`` as in the same Python session (the default one lives until exit)."""
    import shutil

    archive, extract = tmp_path / "batch_1.zip", tmp_path / "x"
    _zip_folder(camvid_root, archive)
    first = CamVidDataset(archive, num_frames=4, height=32, extract_dir=extract)[0]
    other = tmp_path / "other"
    shutil.copytree(camvid_root, other)
    shutil.rmtree(other / "video0" / "0")
    shutil.copytree(camvid_root / "video1" / "0", other / "video0" / "0")  # other cameras, the same frame names
    _zip_folder(other, archive)
    expected = CamVidDataset(other, num_frames=4, height=32, camera_normalization="none")[0]
    again = CamVidDataset(archive, num_frames=4, height=32, extract_dir=extract, camera_normalization="none")[0]
    assert again["name"] == expected["name"] == first["name"]
    assert not torch.equal(expected["c2w"], CamVidDataset(camvid_root, num_frames=4, height=32,
                                                           camera_normalization="none")[0]["c2w"])
    assert torch.equal(again["c2w"], expected["c2w"])


@pytest.mark.parametrize(
    "name, expected",
    [("../evil.txt", "escapes"), ("video/../../evil.txt", "escapes"), ("/etc/evil", "absolute"), ("C:/evil", "absolute")],
)
def test_zip_path_traversal_is_refused(camvid_root, tmp_path, name, expected):
    archive = _zip_folder(camvid_root, tmp_path / "batch_1.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(name, b"pwned")
    with pytest.raises(ValueError, match=expected):
        CamVidDataset(archive, num_frames=4, height=32)
    assert not (tmp_path.parent / "evil.txt").exists()


def test_zip_symlink_and_bomb_are_refused(tmp_path):
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as zf:
        info = zipfile.ZipInfo("video/images/00000.jpg")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(ValueError, match="symbolic link"):
        SafeZip(link)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("video/0/points3D.bin", b"\0" * (4 << 20))
    with pytest.raises(ValueError, match="compression ratio"):
        SafeZip(bomb)
    with pytest.raises(ValueError, match="add up to more than"):
        SafeZip(bomb, ArchiveLimits(max_total_bytes=1 << 20, max_compression_ratio=1e9))
    SafeZip(bomb, ArchiveLimits(max_compression_ratio=1e9))  # allowed when the caller raises the cap
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a zip"):
        SafeZip(garbage)


def test_safezip_extract_stays_inside(camvid_root, tmp_path):
    archive = SafeZip(_zip_folder(camvid_root, tmp_path / "a.zip"))
    names = [n for n in archive.names() if n.startswith("video0/0/")]
    out = archive.extract(names, tmp_path / "out", strip_prefix="video0/0/")
    assert sorted(p.name for p in out.iterdir()) == sorted(n.rsplit("/", 1)[1] for n in names)


def test_camvid_errors(tmp_path):
    with pytest.raises(ValueError, match="no CamVid samples"):
        CamVidDataset(tmp_path, num_frames=4, height=32)
    with pytest.raises(FileNotFoundError):
        CamVidDataset(tmp_path / "missing", num_frames=4, height=32)


# ---------------------------------------------------------------------------------------- 3D scenes


def test_multiview_colmap_and_transforms(camvid_root, clips, tmp_path):
    colmap = MultiViewDataset(camvid_root / "video0", num_frames=3, height=32, view_sampling="random",
                              samples_per_scene=4, seed=1)
    assert len(colmap) == 4 and colmap[0]["kind"] == "3d"
    again = MultiViewDataset(camvid_root / "video0", num_frames=3, height=32, view_sampling="random",
                             samples_per_scene=4, seed=1)
    assert colmap.clips == again.clips
    write_clip(clips[0], tmp_path, "scene_tf", "folder")
    tf = MultiViewDataset(tmp_path, num_frames=5, height=32, stride=2, camera_normalization="none")
    assert len(tf) == 1
    sample = tf[0]
    assert torch.allclose(sample["c2w"], clips[0].c2w[0:10:2].float(), atol=1e-5)
    assert float(sample["K"][0, 0, 0]) == pytest.approx(float(clips[0].K[0, 0, 0]) * 64 / 48, rel=1e-5)


def test_multiview_reads_listed_images_as_reconstruct_does(clips, tmp_path):
    """A transforms.json naming images without their suffix (NeRF-synthetic's ``./train/r_0``) whose files are
    ``.jpeg``: ``genxd reconstruct`` read them, the training dataset tried only .png and .jpg."""
    folder = write_clip(clips[0], tmp_path, "scene_tf", "folder")
    meta = json.loads((folder / "transforms.json").read_text())
    for frame in meta["frames"]:
        image = folder / frame["file_path"]
        image.rename(image.with_suffix(".jpeg"))
        frame["file_path"] = str(Path(frame["file_path"]).with_suffix(""))
    (folder / "transforms.json").write_text(json.dumps(meta))
    ds = MultiViewDataset(tmp_path, num_frames=5, height=32, stride=2, camera_normalization="none")
    assert len(ds) == 1 and ds[0]["frames"].shape == (5, 3, 32, 32)
    (folder / meta["frames"][0]["file_path"]).with_suffix(".jpeg").unlink()
    with pytest.raises(FileNotFoundError, match=r"image listed in transforms\.json not found$"):
        MultiViewDataset(tmp_path, num_frames=5, height=32, stride=2, camera_normalization="none")


def test_reconfusion_dataset(clips, tmp_path):
    write_clip(clips[1], tmp_path, "scene_a", "reconfusion")
    ds = ReconFusionDataset(tmp_path, num_frames=4, height=32, camera_normalization="none", fit="pad")
    assert len(ds) == 2
    sample = ds[1]
    assert sample["kind"] == "3d" and sample["frames"].shape == (4, 3, 32, 32)
    assert torch.allclose(sample["c2w"], clips[1].c2w[4:8].float(), atol=1e-4)


# ---------------------------------------------------------------------------------------- synthetic, mixture


def test_synthetic_dataset_is_deterministic():
    ds = SyntheticDataset(length=4, num_frames=3, height=32, motion_source="world")
    a, b = ds[1], SyntheticDataset(length=4, num_frames=3, height=32, motion_source="world")[1]
    assert a["name"] == b["name"] and torch.equal(a["frames"], b["frames"]) and torch.equal(a["c2w"], b["c2w"])
    assert a["kind"] == "4d" and int(a["indicator"]) == 2 and float(a["motion_strength"]) > 0
    s0 = ds[0]
    assert s0["kind"] == "3d" and float(s0["motion_strength"]) == 0
    assert s0["frames"].shape == (3, 3, 32, 32)
    with pytest.raises(IndexError):
        ds[4]
    with pytest.raises(ValueError, match="kinds"):
        SyntheticDataset(length=2, kinds=["5d"])


def test_a_full_disk_cache_is_one_warning_and_items_are_rendered_again(tmp_path, monkeypatch):
    """The synthetic data's disk cache (``cache_dir``) on a full disk stopped the training run with safetensors'
    traceback; the cache only saves time: one warning, no temporary left, the items still come (rendered)."""
    import warnings

    import safetensors.torch

    from genxd.validation import GenXDWarning

    class SafetensorError(Exception):  # the type safetensors raises (its Rust core's), stood in
        pass

    def full_disk(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"half")
        raise SafetensorError("Error while serializing: I/O error: No space left on device (os error 28)")

    expected = SyntheticDataset(length=3, num_frames=3, height=32, motion_source="world")
    ds = SyntheticDataset(length=3, num_frames=3, height=32, motion_source="world", cache_dir=str(tmp_path))
    assert torch.equal(ds[0]["frames"], expected[0]["frames"])  # cached whole while there is room
    monkeypatch.setattr(safetensors.torch, "save_file", full_disk)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        items = [ds[1], ds[2], ds[1]]
    said = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]
    assert len(said) == 1 and f"the data cache {ds.cache_dir} cannot be written (no space left on device)" in said[0]
    assert all(torch.equal(a["frames"], expected[i]["frames"]) for a, i in zip(items, (1, 2, 1)))
    assert sorted(p.name for p in ds.cache_dir.iterdir()) == ["0000000.safetensors"]
    assert torch.equal(ds[0]["frames"], expected[0]["frames"])  # what was cached is still read

    def a_bug(tensors, filename, metadata=None):
        raise TypeError("not a full disk")

    monkeypatch.setattr(safetensors.torch, "save_file", a_bug)
    with pytest.raises(TypeError):
        SyntheticDataset(length=3, num_frames=3, height=32, motion_source="world", cache_dir=str(tmp_path / "b"))[0]


def test_mixture_is_deterministic_and_weighted():
    class Const(torch.utils.data.Dataset):
        def __init__(self, tag, n):
            self.tag, self.n = tag, n

        def __len__(self):
            return self.n

        def __getitem__(self, i):
            return (self.tag, i)

    mix = MixtureDataset([Const("a", 3), Const("b", 5), Const("c", 2)], weights=[1, 3, 0], length=400, seed=7)
    items = [mix[i] for i in range(len(mix))]
    assert items == [MixtureDataset([Const("a", 3), Const("b", 5), Const("c", 2)], [1, 3, 0], 400, seed=7)[i] for i in range(400)]
    tags = [t for t, _ in items]
    assert tags.count("c") == 0 and 0.6 < tags.count("b") / 400 < 0.9
    with pytest.raises(ValueError, match="weights"):
        MixtureDataset([Const("a", 1)], weights=[-1])


def test_build_dataset_validates_options():
    ds = build_dataset({"type": "synthetic", "length": 2, "weight": 3}, num_frames=3, height=32, seed=4)
    assert isinstance(ds, SyntheticDataset) and ds.num_frames == 3 and ds.seed == 4
    with pytest.raises(ValueError, match="unknown option"):
        build_dataset({"type": "synthetic", "lenght": 2})
    with pytest.raises(ValueError, match="dataset type"):
        build_dataset({"type": "imagenet"})


@pytest.mark.parametrize("kind", ["camvid", "multiview"])
def test_a_missing_relative_root_says_it_is_taken_from_the_current_folder(tmp_path, monkeypatch, kind):
    """A config's ``root: ../camvid`` is taken from where the command runs, not from the config file's folder;
    the error said only ``../camvid: no such file or folder`` (training audit, 2026-12-04)."""
    from genxd.data.datasets import CamVidDataset, MultiViewDataset

    monkeypatch.chdir(tmp_path)
    cls = CamVidDataset if kind == "camvid" else MultiViewDataset
    with pytest.raises(FileNotFoundError, match=r"^\.\./nowhere: no such .*\(a relative path: from the current folder, "):
        cls("../nowhere", num_frames=2, height=16, width=16)
    with pytest.raises(FileNotFoundError) as info:
        cls(str(tmp_path / "nowhere"), num_frames=2, height=16, width=16)
    assert "relative path" not in str(info.value)


def test_dataloader_workers_leave_no_temporary_folder(camvid_root, tmp_path, monkeypatch):
    """An archived sample read by a DataLoader worker had its COLMAP model extracted to a temporary folder of the
    worker's own, removed by an exit handler that a worker's exit never runs: each worker of each training run left
    one (``genxd-camvid-*``, holding the models it read; measured: 2 folders after a run with 2 workers). The folder
    is now the dataset's, made by the process that builds it (and removed at its exit). The worker is this process
    under another pid (a forked one can hang under pytest-xdist's threads)."""
    import os
    import tempfile

    from genxd.data.datasets import camvid

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(camvid._ExtractDir, "_path", None)
    archive = _zip_folder(camvid_root, tmp_path / "batch_1.zip")
    ds = CamVidDataset(archive, num_frames=4, height=32)
    with monkeypatch.context() as m:
        worker_pid = os.getpid() + 1
        m.setattr(os, "getpid", lambda: worker_pid)
        names = [ds[i]["name"] for i in range(len(ds))]
    CamVidDataset(archive, num_frames=4, height=32)[0]  # the main process reads too (validation, preloading)
    made = list((tmp_path / "tmp").glob("genxd-camvid-*"))
    assert len(names) == len(ds) and len(made) == 1  # one folder, the main process's (removed at its exit)
    assert len(list(made[0].glob("*/*/0/cameras.bin"))) == len(list(camvid_root.glob("*/0/cameras.bin")))


def test_median_point_depth_of_a_turned_camera_by_hand():
    """A camera at (1, 0, 0) turned 90 degrees about y (its z axis, the view direction, along world +x; y along
    world y): 10 points at world (4, 0, 0) are 3 in front of it, in the image centre; 15 at (5, 40, 0) are 4 in
    front but far below the image (v = 10.5, outside [0, 1]); 20 at (-7, 0, 0) are behind it. Median depth of the
    points in view: 3."""
    c2w = torch.eye(4)
    c2w[:3, :3] = torch.tensor([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    c2w[:3, 3] = torch.tensor([1.0, 0.0, 0.0])
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    pts = torch.tensor([[4.0, 0.0, 0.0]] * 10 + [[5.0, 40.0, 0.0]] * 15 + [[-7.0, 0.0, 0.0]] * 20)
    assert median_point_depth(pts, c2w, K) == pytest.approx(3.0)


def test_camera_normalisation_scales_positions_only(camvid_root):
    """Normalising a clip's scale moves its cameras' positions, never their rotations (a c2w's rotation block stays
    orthonormal: R^T R = I) and keeps the bottom row (0, 0, 0, 1); the rotations are the COLMAP model's."""
    from genxd.cameras import read_colmap_model

    raw = torch.as_tensor(read_colmap_model(camvid_root / "video0" / "0").c2w[:4]).float()
    for mode in ("scene", "path"):
        c2w = CamVidDataset(camvid_root, num_frames=4, height=32, camera_normalization=mode)[0]["c2w"]
        R = c2w[:, :3, :3]
        assert torch.allclose(R.transpose(1, 2) @ R, torch.eye(3).expand(4, 3, 3), atol=1e-5), mode
        assert torch.allclose(R, raw[:, :3, :3], atol=1e-5), mode
        assert torch.equal(c2w[:, 3], torch.tensor([0.0, 0.0, 0.0, 1.0]).expand(4, 4)), mode
        assert not torch.allclose(c2w[:, :3, 3], raw[:, :3, 3], atol=1e-3), mode  # the scale did change
