"""genxd.utils.frame_files: a frame folder's frames in frame order, listed without heavy imports."""

from __future__ import annotations

import subprocess
import sys

from genxd.utils.frame_files import IMAGE_EXTENSIONS, frame_files, is_frame_image


def test_a_frame_folder_lists_its_images_numbers_compared_as_numbers(tmp_path):
    for name in ("f_10.png", "f_2.JPG", "f_1.webp", "._f_3.png", ".hidden.png", "notes.txt", "cameras.json"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "f_0.png").mkdir()  # a folder named as an image is not a frame
    assert [f.name for f in frame_files(tmp_path)] == ["f_1.webp", "f_2.JPG", "f_10.png"]
    assert is_frame_image(tmp_path / "f_2.JPG") and not is_frame_image(tmp_path / "f_0.png")
    assert not is_frame_image(tmp_path / "missing.png")
    assert {".png", ".jpg", ".mpo"} <= IMAGE_EXTENSIONS


def test_listing_frames_loads_no_heavy_library():
    code = ("import sys, genxd.utils.frame_files; "
            "print(sorted(m for m in ('torch', 'numpy', 'cv2', 'av', 'PIL', 'genxd.curation') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_curation_reader_lists_frame_folders_with_it():
    from genxd.curation import frames

    assert frames.IMAGE_EXTENSIONS is IMAGE_EXTENSIONS and frames.frame_files is frame_files
