"""genxd eval-camera's files: the frames it pairs with cameras, listed without the curation package."""

from __future__ import annotations

import subprocess
import sys


def test_pairing_cameras_with_listed_frames_does_not_load_the_curation_package(tmp_path):
    """``_listed_order`` imported ``genxd.curation.frames._frame_files``, a private function, and with it the
    curation package (cv2, PyAV) to list a folder's files; now the shared ``genxd.utils.frame_files``."""
    images = tmp_path / "images"
    images.mkdir()
    for name in ("f_10.png", "f_2.png"):
        (images / name).write_bytes(b"x")
    code = ("import sys; from pathlib import Path; from genxd.cameras.evaluate import _frames_of, _listed_order; "
            f"root = Path({str(tmp_path)!r}); assert _frames_of(root) == root / 'images'; "
            "print(_listed_order(root / 'images', root / 'transforms.json', ['images/f_10.png', 'images/f_2.png'])); "
            "print(sorted(m for m in ('genxd.curation', 'cv2', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[1, 0]", "[]"]

