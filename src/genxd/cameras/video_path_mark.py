"""The mark of a camera path made from a clip by ``genxd trajectory from-video``: the key :data:`MARK_KEY` in its
authors' JSON and ``transforms.json`` (readers ignore it), so that the path written beside its video
(``from-video walk.mp4 -o walk.json`` writes ``walk.json`` and ``walk_transforms.json``, the names of a video's own
camera files) is not taken for the video's cameras by ``--source auto`` (:mod:`genxd.cameras.clip_cameras`)."""

from __future__ import annotations

import os
from pathlib import Path

#: top-level key of a from-video path's JSON files; its value: the clip's file name
MARK_KEY = "genxd_path_from_video"


def mark_path_file(path: str | os.PathLike, clip_name: str) -> None:
    """Add :data:`MARK_KEY` (``clip_name``) to the JSON object at ``path`` (a file just written, not yet in place),
    written back as :func:`genxd.utils.json_files.write_json_atomic` writes (indent 4, one newline)."""
    from ..utils.json_files import read_json
    from ..utils.json_text import json_text

    obj = read_json(path)
    obj[MARK_KEY] = clip_name
    Path(path).write_text(json_text(obj, indent=4) + "\n")


def made_from_video(path: str | os.PathLike) -> bool:
    """Whether the camera JSON at ``path`` is a path made by ``genxd trajectory from-video`` (holds
    :data:`MARK_KEY`); False for anything that cannot be read as a JSON object."""
    from ..utils.json_files import read_json

    try:
        obj = read_json(path)
    except (OSError, ValueError):
        return False
    return isinstance(obj, dict) and MARK_KEY in obj
