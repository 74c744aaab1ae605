"""Check a text COLMAP model's ``images.txt`` before pycolmap reads it: :func:`check_colmap_images_text`; and the
poses it holds against those pycolmap took from ``frames.txt``: :func:`warn_poses_frames_txt_overrides`.

COLMAP's text layout gives each image two lines: ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME``, then its 2D
points ``X Y POINT3D_ID`` repeated (an empty line for none). COLMAP (and pycolmap) take the line after an image line
as its points whatever it holds, and drop an image whose points line is missing at the end of the file: an
``images.txt`` written by hand with one line per image read as every other image, and one without the empty line
after its last image lost that image, without a word. Comments (``#``) and blank lines between images are skipped,
as COLMAP skips them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["check_colmap_images_text", "warn_poses_frames_txt_overrides"]

_BOM = b"\xef\xbb\xbf"
#: a points line longer than this holds many points (an image line is short): its values are not counted
_SHORT_LINE = 4096


def _image(tokens: list[bytes]) -> str:
    """How an image line's tokens name it in a message: ``1 (img1.png)``."""
    name = tokens[9].decode(errors="replace") if len(tokens) > 9 else "?"
    return f"{tokens[0].decode(errors='replace')} ({name})"


def check_colmap_images_text(path: str | Path) -> dict[int, np.ndarray]:
    """ValueError naming ``path`` (an ``images.txt``) and the line, when COLMAP would read an image line as the 2D
    points of the image before it (a points line whose values are not triplets), or when the last image has no
    points line after it (COLMAP drops that image). Returns the pose of each image line that holds one:
    ``IMAGE_ID -> float64 [7]`` (QW QX QY QZ TX TY TZ, world to camera)."""
    path = Path(path)
    poses: dict[int, np.ndarray] = {}
    after: tuple[int, list[bytes]] | None = None  # the image line (number, tokens) whose points line comes next
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, 1):
            if number == 1 and raw.startswith(_BOM):
                raw = raw[len(_BOM):]
            if after is not None:
                values = len(raw.split()) if len(raw) < _SHORT_LINE else 0
                if values % 3:
                    raise ValueError(
                        f"{path}: line {number} follows image {_image(after[1])} where its 2D points go (X Y "
                        f"POINT3D_ID, repeated; empty for none), but holds {values} values, not triplets; COLMAP's "
                        "images.txt has "
                        "two lines per image and would read it as points, dropping an image: put a line of the "
                        "image's 2D points, or an empty line, after each image line")
                after = None
                continue
            tokens = raw.split()
            if tokens and not tokens[0].startswith(b"#"):
                after = (number, tokens)
                try:  # a line pycolmap cannot read is its error to name
                    poses[int(tokens[0])] = np.array([float(t) for t in tokens[1:8]], np.float64)
                except (ValueError, IndexError):
                    pass
    if after is not None:
        raise ValueError(f"{path}: image {_image(after[1])} on line {after[0]} has no 2D points line after it "
                         "(COLMAP's images.txt has two lines per image) and COLMAP would drop it: add an empty line "
                         "after it")
    return poses


def warn_poses_frames_txt_overrides(model_dir: Path, text_poses: dict[int, np.ndarray], recon: Any) -> None:
    """A warning when poses of ``model_dir/images.txt`` (``text_poses``, :func:`check_colmap_images_text`) differ from
    those pycolmap read into ``recon`` (a ``pycolmap.Reconstruction``): a model in the layout of COLMAP >= 3.12
    (``frames.txt`` and ``rigs.txt`` beside ``images.txt``) takes its poses from ``frames.txt``, so an ``images.txt``
    edited alone (by hand, or by a script that knows the older layout) is not read; the poses stay COLMAP's."""
    differ: list[str] = []
    for image_id, image in sorted(recon.images.items()):
        text = text_poses.get(int(image_id))
        if text is None or not image.has_pose or not np.all(np.isfinite(text)):
            continue
        pose = image.cam_from_world()
        quat = np.asarray(pose.rotation.quat, np.float64)[[3, 0, 1, 2]]  # pycolmap: x, y, z, w
        norm = float(np.linalg.norm(text[:4]))
        same_rotation = norm > 0 and abs(float(quat @ text[:4])) / norm >= 1 - 1e-9  # q and -q: one rotation
        if not (same_rotation and np.allclose(np.asarray(pose.translation, np.float64), text[4:], rtol=1e-6,
                                              atol=1e-6)):
            differ.append(image.name)
    if differ:
        from ..validation import warn

        warn(f"{model_dir / 'images.txt'}: the poses of {len(differ)} of {len(recon.images)} images (first: "
             f"{differ[0]}) differ from those frames.txt gives them; COLMAP (3.12 and later) takes a model's poses "
             "from frames.txt, so images.txt's are not used: to use them, remove frames.txt and rigs.txt (COLMAP "
             "then makes one rig per camera), or edit the poses with COLMAP or pycolmap, which write both")
