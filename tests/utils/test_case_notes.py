"""Listings made on macOS or Windows (file systems that ignore letter case) read on Linux: a transforms.json or
COLMAP model naming ``000.png`` beside a file ``000.PNG``. Not found, as before, but the error names the file
that differs only in case and what to do; before it said 'not found' only, though the file was plainly there."""

from __future__ import annotations

import pytest
import torch

from genxd.cameras import trajectories
from genxd.cameras.formats import write_colmap_model
from genxd.reconstruction.views import load_views
from genxd.utils.paths import listed_image

from ..reconstruction.helpers import write_views_folder

NOTE = r"not found \(its folder holds 000\.PNG, which differs only in letter case: .* rename the file or correct"


def test_a_transforms_listing_of_another_case_names_the_file(tmp_path):
    c2w, K = trajectories.orbit(num_frames=2)
    folder = write_views_folder(tmp_path / "in", torch.rand(2, 3, 8, 8), c2w, K)
    (folder / "frames" / "frame_0000.png").rename(folder / "frames" / "FRAME_0000.png")
    with pytest.raises(FileNotFoundError, match=r"frame_0000\.png: image listed in transforms\.json not found \(its "
                                                r"folder holds FRAME_0000\.png, which differs only in letter case"):
        load_views(folder)
    (folder / "frames" / "FRAME_0000.png").rename(folder / "frames" / "other.png")
    with pytest.raises(FileNotFoundError, match=r"frame_0000\.png: image listed in transforms\.json not found$"):
        listed_image(folder, "frames/frame_0000.png", folder / "transforms.json")


def test_a_colmap_listing_of_another_case_names_the_file(tmp_path):
    from genxd.data.datasets import MultiViewDataset

    c2w, K = trajectories.orbit(num_frames=2)
    scene = tmp_path / "scene"
    write_colmap_model(scene / "sparse" / "0", c2w, K, 8, 8, ["000.png", "001.png"])
    (scene / "images").mkdir()
    for name in ("000.PNG", "001.png"):
        (scene / "images" / name).write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=NOTE):
        load_views(scene)
    with pytest.raises(FileNotFoundError, match=NOTE):
        MultiViewDataset(tmp_path, num_frames=2, height=8)


def test_no_case_note_for_names_that_are_not_the_listed_one_in_another_case(tmp_path):
    """``000.png`` missing beside ``000.png.bak``, ``frame`` beside ``frame.json``, a dangling link or a folder named
    as listed: each was said to differ 'only in letter case', advice that cannot help."""
    import os
    import unicodedata

    img = tmp_path / "images"
    img.mkdir()
    (img / "000.png.bak").write_bytes(b"x")
    (img / "frame.json").write_bytes(b"x")
    os.symlink(img / "gone.png", img / "001.png")
    (img / "002.png").mkdir()
    for name in ("000.png", "frame", "001.png", "002.png"):
        with pytest.raises(FileNotFoundError, match=r"image listed in transforms\.json not found$"):
            listed_image(tmp_path, f"images/{name}", tmp_path / "transforms.json")
    (img / "FRAME.PNG").write_bytes(b"x")  # listed without a suffix, read as FRAME.PNG on macOS
    with pytest.raises(FileNotFoundError, match=r"holds FRAME\.PNG, which differs only in letter case:"):
        listed_image(tmp_path, "images/frame", tmp_path / "transforms.json")
    (img / unicodedata.normalize("NFD", "café.png")).write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=r"differs only in letter case or Unicode form:"):
        listed_image(tmp_path, f"images/{unicodedata.normalize('NFC', 'café.png')}", tmp_path / "transforms.json")


def test_a_name_listed_with_a_dot_but_no_image_suffix_keeps_its_case_note(tmp_path):
    """``frame.0001`` is read as ``frame.0001.png`` (the suffix is not an image's), so ``Frame.0001.png`` differs
    from it in case only; the note was lost (any dot made the name one with a suffix)."""
    (tmp_path / "Frame.0001.png").write_bytes(b"x")
    with pytest.raises(FileNotFoundError, match=r"holds Frame\.0001\.png, which differs only in letter case:"):
        listed_image(tmp_path, "frame.0001", tmp_path / "transforms.json")


def test_the_listed_name_that_a_c_locale_cannot_encode_is_not_blamed_on_letter_case(tmp_path):
    """Under ``LC_ALL=C`` without UTF-8 mode, ``café.png`` on disk cannot be opened by that name: the note said it
    differed 'only in letter case or Unicode form' from the very name listed."""
    import os
    import subprocess
    import sys

    (tmp_path / "café.png").write_bytes(b"x")
    code = ("from genxd.utils.paths import listed_image\n"
            "for name in ('caf\\u00e9.png', 'CAF\\u00c9.png'):\n"
            "    try: listed_image(%r, name, 'transforms.json')\n"
            "    except FileNotFoundError as e: print(ascii(str(e)))\n" % str(tmp_path))
    env = {**os.environ, "PYTHONUTF8": "0", "LC_ALL": "C", "LANG": "C", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    same, other = done.stdout.splitlines()
    assert "holds caf\\xe9.png, the name listed, which this Python cannot name" in same
    assert "PYTHONUTF8=1" in same and "letter case" not in same
    assert "holds caf\\xe9.png, which differs only in letter case:" in other


def test_require_file_adds_the_case_note_to_its_not_found(tmp_path):
    from genxd.utils.paths import require_file

    (tmp_path / "000.PNG").write_bytes(b"")
    with pytest.raises(FileNotFoundError, match=r"000\.png: image " + NOTE):
        require_file(tmp_path / "000.png", "image not found")
    with pytest.raises(FileNotFoundError, match=r"001\.png: image not found$"):  # no such file in another case
        require_file(tmp_path / "001.png", "image not found")
