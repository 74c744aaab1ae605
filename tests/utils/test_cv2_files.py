"""OpenCV and file names that are not UTF-8: ``cv2.imread`` / ``cv2.imwrite`` crash the whole process (SIGSEGV,
OpenCV 4.x) on a path holding undecodable bytes (Python's surrogates: a file or folder name in another encoding,
or any name outside ASCII under ``LC_ALL=C`` without Python's UTF-8 mode). ``genxd curate video.mp4 -o
$'out\\xff'`` died with a C stack trace in its KLT tracking; genxd.utils.cv2_files reads and writes the files in
Python and hands OpenCV the bytes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np

import genxd
from genxd.utils.cv2_files import imread, imwrite

UNDECODABLE = os.fsdecode(b"frames\xff")


def test_images_round_trip_under_a_folder_name_that_is_not_utf8(tmp_path):
    import cv2

    folder = tmp_path / UNDECODABLE
    folder.mkdir()
    image = np.random.default_rng(0).integers(0, 255, (12, 16, 3), dtype=np.uint8)
    assert imwrite(folder / "a.png", image)
    assert np.array_equal(imread(folder / "a.png", cv2.IMREAD_COLOR), image)
    assert imread(folder / "a.png", cv2.IMREAD_GRAYSCALE).shape == (12, 16)


def test_no_module_hands_opencv_an_image_path():
    """Every image file OpenCV reads or writes goes through genxd.utils.cv2_files."""
    root = Path(genxd.__file__).parent
    found = [f"{p.relative_to(root)}:{n}" for p in root.rglob("*.py") if p.name != "cv2_files.py"
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
             if re.search(r"\bcv2\.(imread|imwrite|imreadmulti)\(", line)]
    assert not found, found


def test_curate_into_a_folder_name_that_is_not_utf8(tmp_path):
    """The user's case, end to end (one small clip, KLT tracks: about 6 s on 2 cores)."""
    import cv2

    base = np.random.default_rng(1).integers(0, 255, (140, 200, 3), dtype=np.uint8)
    base = cv2.GaussianBlur(base, (5, 5), 0)
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (128, 96))
    for i in range(8):
        writer.write(np.ascontiguousarray(base[10 + i:106 + i, 20 + 3 * i:148 + 3 * i]))
    writer.release()
    out = tmp_path / os.fsdecode(b"out\xff")
    done = subprocess.run([sys.executable, "-m", "genxd", "curate", str(video), "-o", str(out), "-q",
                           "--features", "klt", "--min-frames", "4"], capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    assert (out / "clip" / "meta.json").is_file()


def _frames(folder: Path, n: int = 4) -> list[str]:
    folder.mkdir()
    rng = np.random.default_rng(0)
    names = [f"{i:05d}.png" for i in range(n)]
    for name in names:
        assert imwrite(folder / name, rng.integers(0, 255, (32, 48, 3), dtype=np.uint8))
    return names


def test_sfm_on_a_frame_that_cannot_be_decoded_names_the_file(tmp_path):
    """``cv2.imread``'s None for a damaged / emptied frame was an AttributeError ('NoneType' object has no attribute
    'shape') in the KLT SfM of genxd curate and trajectory from-video: now a ValueError naming the frame."""
    import pytest

    pytest.importorskip("pycolmap")
    from genxd.cameras.video_sfm import klt_sfm
    from genxd.curation.sfm import run_sfm

    frames = tmp_path / "frames"
    names = _frames(frames)
    for damaged in (names[0], names[2]):
        (frames / damaged).write_bytes(b"not a png")
        if damaged != names[0]:  # run_sfm reads the first frame's size with PIL first (its own error names it)
            with pytest.raises(ValueError, match=re.escape(f"{frames / damaged}: cannot be read as an image")):
                run_sfm(frames, names, tmp_path / "work", features="klt", num_threads=1)
        with pytest.raises(ValueError, match=re.escape(f"{frames / damaged}: cannot be read as an image")):
            klt_sfm(frames, names, tmp_path / "work2", None, None, 0.1, num_threads=1)
        assert imwrite(frames / damaged, np.zeros((32, 48, 3), np.uint8))
    (frames / names[0]).unlink()  # a frame removed while SfM runs
    with pytest.raises(FileNotFoundError, match=re.escape(f"{frames / names[0]}: no such file")):
        klt_sfm(frames, names, tmp_path / "work3", None, None, 0.1, num_threads=1)
