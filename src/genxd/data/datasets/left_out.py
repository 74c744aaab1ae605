"""Folders a dataset's search passed over that hold half a scene (images without cameras, cameras without images):
one warning for each kind, counting them and naming the first, as ``genxd eval-camera`` says those it leaves out
(:func:`genxd.cameras.evaluate.find_scenes`). They were left out in silence: a scene whose COLMAP model was in
``sparse/1`` or another layout's folder trained none of its views, and the data line counted nothing."""

from __future__ import annotations

import os
from typing import Sequence

from ...validation import warn

__all__ = ["warn_left_out"]


def warn_left_out(dataset: str, folders: Sequence[str | os.PathLike], holding: str) -> None:
    """One warning ``"DATASET: N folders with HOLDING left out (not trained): a, b, c, ..."`` naming the first 3 of
    ``folders`` (as given; an archive's member folder as ``batch_1.zip/v1``); nothing when there are none."""
    if folders:
        shown = ", ".join(str(f) for f in folders[:3]) + (", ..." if len(folders) > 3 else "")
        warn(f"{dataset}: {len(folders)} folder{'s' if len(folders) > 1 else ''} with {holding} left out (not "
             f"trained): {shown}")
