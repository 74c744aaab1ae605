"""CamVid archives: the COLMAP models extracted from them. A kept ``extract_dir`` holds one version of each sample's
model (older versions are removed when a rebuilt archive is extracted), and the private default folder is removed at
exit after the DataLoader workers that extract into it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest
import torch

from genxd.data.datasets import CamVidDataset
from genxd.data.synthetic import make_clip, write_clip


def _zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, str(p.relative_to(folder)))
    return archive


@pytest.fixture(scope="module")
def camvid_root(tmp_path_factory) -> Path:
    """Two samples of 6 frames, 24x32."""
    root = tmp_path_factory.mktemp("camvid")
    for i in range(2):
        write_clip(make_clip(3 + i, "3d", 6, 24, 32, camera="orbit"), root, f"video{i}", "camvid")
    return root


def _models(extract: Path) -> list[Path]:
    return sorted(p.parent for p in extract.rglob("cameras.bin"))


def test_a_rebuilt_archive_replaces_its_older_extracted_model(camvid_root, tmp_path):
    """An archive rebuilt at the same path (a dataset curated again) got a new folder in ``extract_dir`` for each
    version, none ever removed: a kept folder grew by a model per sample and version. The older versions of a sample
    are now removed when its new one is extracted; the other samples' models stay."""
    archive, extract = tmp_path / "batch_1.zip", tmp_path / "x"
    _zip_folder(camvid_root, archive)
    first = CamVidDataset(archive, num_frames=4, height=24, extract_dir=extract, camera_normalization="none")
    first[0]
    video1 = first[len(first) - 1]["c2w"]  # both samples' models extracted
    assert len(_models(extract)) == 2
    other = tmp_path / "other"
    shutil.copytree(camvid_root, other)
    shutil.rmtree(other / "video0" / "0")
    shutil.copytree(camvid_root / "video1" / "0", other / "video0" / "0")  # other cameras, the same frame names
    _zip_folder(other, archive)
    again = CamVidDataset(archive, num_frames=4, height=24, extract_dir=extract, camera_normalization="none")
    sample = again[0]
    assert len(_models(extract)) == 2  # video0's new model in place of its old one, video1's kept
    expected = CamVidDataset(other, num_frames=4, height=24, camera_normalization="none")[0]
    assert sample["name"] == expected["name"] and torch.equal(sample["c2w"], expected["c2w"])
    assert torch.equal(again[len(again) - 1]["c2w"], video1)
    assert len(_models(extract)) == 2


def test_models_extracted_in_the_old_layout_are_removed(camvid_root, tmp_path):
    """A kept ``extract_dir`` used before the per-sample layout (``extract_dir/<hash of archive, sample and
    version>/0``) kept those models for good: no later run looked at them. They are removed now; a folder of the
    user's that is not one (a sample with its images, another name, more than ``0/``) stays."""
    archive, extract = _zip_folder(camvid_root, tmp_path / "batch_1.zip"), tmp_path / "x"
    old = [extract / "0123456789abcdef" / "0", extract / "fedcba9876543210" / "0"]
    for model in old:
        shutil.copytree(camvid_root / "video0" / "0", model)
    kept = [extract / "aaaaaaaaaaaaaaaa" / "0", extract / "mine" / "0", extract / "bbbbbbbbbbbbbbbb" / "0"]
    for model in kept:
        shutil.copytree(camvid_root / "video0" / "0", model)
    (extract / "aaaaaaaaaaaaaaaa" / "images").mkdir()  # a sample folder of the user's
    (extract / "bbbbbbbbbbbbbbbb" / "0" / "sub").mkdir()  # not a model of files only
    CamVidDataset(archive, num_frames=4, height=24, extract_dir=extract, camera_normalization="none")[0]
    assert not any(model.parent.exists() for model in old)
    assert all((model / "cameras.bin").is_file() for model in kept)
    assert len(_models(extract)) == len(kept) + 1  # and video0's model, in the current layout


@pytest.mark.skipif(sys.platform == "win32", reason="fork")
def test_the_private_extract_folder_is_removed_after_the_workers_at_exit(camvid_root, tmp_path):
    """The default extract folder was removed by an ``atexit`` handler that ran before ``multiprocessing`` ended the
    daemonic DataLoader workers, so a worker still extracting made it again (left in the temp folder) or failed
    half-way. It is now removed after the workers are gone (a child process stands for a worker here)."""
    archive = _zip_folder(camvid_root, tmp_path / "batch_1.zip")
    script = textwrap.dedent(f"""
        import multiprocessing, shutil, time
        from genxd.data.datasets import CamVidDataset
        from genxd.data.datasets.camvid import _ExtractDir

        data = CamVidDataset({str(archive)!r}, num_frames=4, height=24)
        data[0]
        worker = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,), daemon=True)
        worker.start()
        real = shutil.rmtree

        def watched(path, *args, **kwargs):
            print("removed while a worker runs:", worker.is_alive(), flush=True)
            return real(path, *args, **kwargs)

        shutil.rmtree = watched
        print("folder:", _ExtractDir.get(), flush=True)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(": ", 1) for line in out.stdout.splitlines())
    assert lines["removed while a worker runs"] == "False"
    assert not Path(lines["folder"]).exists()


def test_a_broken_archived_model_is_named_by_the_archive(camvid_root, tmp_path):
    """An archived sample whose COLMAP model lacks a file was refused naming the temporary folder it had been
    extracted to ("/tmp/genxd-camvid-XXXX/<hash>/<hash>/0: no images.bin ...", gone after the run), not the archive;
    it is named as the archive and its member folder now."""
    root = tmp_path / "camvid"
    shutil.copytree(camvid_root, root)
    (root / "video0" / "0" / "images.bin").unlink()
    archive = _zip_folder(root, tmp_path / "batch_1.zip")
    dataset = CamVidDataset(archive, num_frames=4, height=24, extract_dir=tmp_path / "x", kind="3d")
    first = next(i for i, (s, _) in enumerate(dataset.clips) if dataset.videos[s].name == "video0")
    with pytest.raises(ValueError, match=rf"^{re.escape(str(archive))}: video0/0: no images\.bin or images\.txt "
                                         r"beside its cameras\.bin") as info:
        dataset[first]
    assert str(tmp_path / "x") not in str(info.value)


@pytest.mark.parametrize("obstacle", ["file", "loop"])
def test_an_extract_dir_that_cannot_be_a_folder_is_refused_when_the_dataset_is_made(camvid_root, tmp_path, obstacle):
    """An ``extract_dir`` that is a file, or a loop of symbolic links, was found only when the first clip was read:
    in a DataLoader worker, after the model was built ("exists and is not a folder", of the loop too)."""
    archive = _zip_folder(camvid_root, tmp_path / "batch_1.zip")
    extract = tmp_path / "models"
    if obstacle == "file":
        extract.write_text("x")
        said = rf"^extract_dir {re.escape(str(extract))} exists and is not a folder$"
    else:
        os.symlink(extract, extract)
        said = rf"^{re.escape(str(extract))} is a symbolic link to .*models, which does not exist \(.*a loop of links\)"
    with pytest.raises(OSError, match=said):
        CamVidDataset(archive, num_frames=4, height=24, extract_dir=extract)
    CamVidDataset(camvid_root, num_frames=4, height=24, extract_dir=extract)  # no archive: extract_dir unused
