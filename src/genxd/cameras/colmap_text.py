"""Check a text COLMAP model's ``images.txt`` before pycolmap reads it: :func:`check_colmap_images_text`.

COLMAP's text layout gives each image two lines: ``IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME``, then its 2D
points ``X Y POINT3D_ID`` repeated (an empty line for none). COLMAP (and pycolmap) take the line after an image line
as its points whatever it holds, and drop an image whose points line is missing at the end of the file: an
``images.txt`` written by hand with one line per image read as every other image, and one without the empty line
after its last image lost that image, without a word. Comments (``#``) and blank lines between images are skipped,
as COLMAP skips them.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["check_colmap_images_text"]

_BOM = b"\xef\xbb\xbf"
#: a points line longer than this holds many points (an image line is short): its values are not counted
_SHORT_LINE = 4096


def _image(tokens: list[bytes]) -> str:
    """How an image line's tokens name it in a message: ``1 (img1.png)``."""
    name = tokens[9].decode(errors="replace") if len(tokens) > 9 else "?"
    return f"{tokens[0].decode(errors='replace')} ({name})"


def check_colmap_images_text(path: str | Path) -> None:
    """ValueError naming ``path`` (an ``images.txt``) and the line, when COLMAP would read an image line as the 2D
    points of the image before it (a points line whose values are not triplets), or when the last image has no
    points line after it (COLMAP drops that image)."""
    path = Path(path)
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
    if after is not None:
        raise ValueError(f"{path}: image {_image(after[1])} on line {after[0]} has no 2D points line after it "
                         "(COLMAP's images.txt has two lines per image) and COLMAP would drop it: add an empty line "
                         "after it")
