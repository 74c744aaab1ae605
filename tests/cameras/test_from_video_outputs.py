"""``genxd trajectory from-video`` never writes over what it reads.

Before: ``from-video cams.json -o cams.json --overwrite`` read the 20 cameras, then replaced the file by the
5-camera path; ``-o clip.json`` beside ``clip.mp4`` (the video's own camera file, taken by ``--source auto``) and an
input named like the ``OUT_STEM_transforms.json`` written beside ``OUT`` were replaced the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from genxd.cameras import save_camera_json, trajectories
from genxd.cameras.from_video import write_video_path
from genxd.cli import app
from tests.helpers import OTHER_RUNS_TEXT, another_run_writes_meanwhile


def _cameras(path: Path) -> bytes:
    c2w, K = trajectories.orbit(num_frames=10)
    save_camera_json(path, c2w, K, 64, 64)
    return path.read_bytes()


@pytest.mark.parametrize("case", ["same", "transforms", "sidecar", "link"])
def test_the_path_is_never_written_over_its_input(tmp_path, case):
    clip = tmp_path / ("cams_transforms.json" if case == "transforms" else "cams.json")
    before = _cameras(clip)
    out = clip
    if case == "transforms":
        out = tmp_path / "cams.json"
    elif case == "sidecar":  # a video's own camera file, beside it (the video itself is never opened)
        (tmp_path / "cams.mp4").write_bytes(b"not read: its camera file is")
        clip = tmp_path / "cams.mp4"
    elif case == "link":
        out = tmp_path / "link.json"
        out.symlink_to(clip)
    names = sorted(p.name for p in tmp_path.iterdir())
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(clip), "-o", str(out), "-n", "4", "--overwrite"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert len(errors) == 1 and "is the input" in errors[0], res.stderr
    with pytest.raises(ValueError, match="is the input"):
        write_video_path(clip, out, 4, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == names
    assert (tmp_path / ("cams_transforms.json" if case == "transforms" else "cams.json")).read_bytes() == before


def test_a_path_beside_its_input_is_written(tmp_path):
    before = _cameras(tmp_path / "cams.json")
    written = write_video_path(tmp_path / "cams.json", tmp_path / "path.json", 4)
    assert [Path(f).name for f in written["files"]] == ["path.json", "path_transforms.json", "path.png"]
    assert (tmp_path / "cams.json").read_bytes() == before


def test_a_path_file_written_meanwhile_is_kept_without_overwrite(tmp_path, monkeypatch):
    """Two runs writing one path file: the existing-file check is made before the work, and the camera files were
    then written with replacing on, so without --overwrite the later run replaced the earlier one's file (trajectory
    make and from-video). Now the later run keeps it and fails ('written by another run ...')."""
    from genxd.cameras import from_video

    _cameras(tmp_path / "cams.json")
    out = tmp_path / "path.json"
    another_run_writes_meanwhile(monkeypatch, from_video, "recover_clip_cameras", out)
    with pytest.raises(FileExistsError, match="already exists|written by another run"):
        write_video_path(tmp_path / "cams.json", out, 4)
    assert out.read_text() == OTHER_RUNS_TEXT

    from genxd.cameras import trajectories

    another_run_writes_meanwhile(monkeypatch, trajectories.PRESETS, "orbit", tmp_path / "made.json")
    res = CliRunner().invoke(app, ["trajectory", "make", "orbit", "-o", str(tmp_path / "made.json")])
    assert res.exit_code == 2 and ("already exists" in res.stderr or "written by another run" in res.stderr), res.output
    assert (tmp_path / "made.json").read_text() == OTHER_RUNS_TEXT


@pytest.mark.parametrize("name", ["transforms.json", "cameras.json"])
def test_a_folders_camera_file_is_never_written_over(tmp_path, name):
    """Found by the follow-up audit: ``from-video FOLDER -o FOLDER/transforms.json --overwrite`` read the folder's
    transforms.json and replaced it by the path: the reading named the folder as its source, not the file it read
    (an authors' cameras.json likewise)."""
    from genxd.cameras.formats import save_transforms_json

    c2w, K = trajectories.orbit(num_frames=6)
    folder = tmp_path / "clip"
    if name == "transforms.json":
        save_transforms_json(folder / name, c2w, K, 64, 64, file_paths=[f"images/{i}.png" for i in range(6)])
    else:
        folder.mkdir()
        save_camera_json(folder / name, c2w, K, 64, 64)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(folder), "-o", str(folder / name), "-n", "4",
                                   "--overwrite"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert errors == [f"genxd: error: output file {folder / name} is the input {folder / name}: writing the output "
                      "replaces it, and the input with it; give another output file"], res.stderr
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == files
    written = write_video_path(folder, tmp_path / "path.json", 4)  # beside it: written
    assert [Path(f).name for f in written["files"]] == ["path.json", "path_transforms.json", "path.png"]


def test_a_curate_samples_meta_json_is_never_written_over(tmp_path):
    """Found by the follow-up audit: ``from-video SAMPLE -o SAMPLE/meta.json --overwrite`` read the sample's
    meta.json (frame times) and replaced it by the path: the files read named only the COLMAP model's."""
    import torch

    from genxd.cameras.reader import camera_files
    from genxd.data.synthetic.writers import write_camvid_sample

    c2w, K = trajectories.orbit(num_frames=6)
    rgb = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    sample = write_camvid_sample(tmp_path / "curated", "vid0", rgb, c2w, K, num_points=200, meta={"seed": 0})
    meta = sample / "meta.json"
    before = {p: p.read_bytes() for p in sample.rglob("*") if p.is_file()}
    for folder in (sample, sample.parent):  # the sample, a curate output folder holding it alone
        assert meta in camera_files(folder)
    assert meta not in camera_files(sample / "0")  # its model folder alone: no frame times read
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(sample), "-o", str(meta), "-n", "4", "--overwrite"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert errors == [f"genxd: error: output file {meta} is the input {meta}: writing the output "
                      "replaces it, and the input with it; give another output file"], res.stderr
    assert {p: p.read_bytes() for p in sample.rglob("*") if p.is_file()} == before


@pytest.mark.parametrize("folder", ["path.json", "path.png", "path_transforms.json"])
@pytest.mark.parametrize("overwrite", [False, True])
def test_an_output_that_is_a_folder_is_named_as_one_with_or_without_overwrite(tmp_path, folder, overwrite):
    """``-o d.json`` naming a folder (or a folder where ``OUT.png`` / ``OUT_transforms.json`` go): the error said
    'd.json already exists (use --overwrite to replace it)', and with --overwrite 'd.json is a folder; cannot replace
    it with a file'. Now both say it is a folder, and --overwrite is not offered."""
    clip = tmp_path / "cams.json"
    _cameras(clip)
    (tmp_path / folder).mkdir()
    (tmp_path / folder / "kept.txt").write_text("kept")
    res = CliRunner().invoke(app, ["trajectory", "from-video", str(clip), "-o", str(tmp_path / "path.json"), "-n", "4",
                                   *(["--overwrite"] if overwrite else [])])
    errors = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert res.exit_code == 2 and len(errors) == 1, res.stderr
    assert f"{tmp_path / folder} is a folder" in errors[0] and "--overwrite" not in errors[0], errors[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cams.json", folder])
    assert (tmp_path / folder / "kept.txt").read_text() == "kept"
    with pytest.raises(IsADirectoryError, match="is a folder"):
        write_video_path(clip, tmp_path / "path.json", 4, overwrite=overwrite)
