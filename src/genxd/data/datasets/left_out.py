"""Folders a dataset's search passed over that hold half a scene (images without cameras, cameras without images,
frames where the layout does not look) or scenes where it does not search: one warning for each kind, counting them
and naming the first, as ``genxd eval-camera`` says those it leaves out (:func:`genxd.cameras.evaluate.find_scenes`).
They were left out in silence: a scene whose COLMAP model was in ``sparse/1`` or another layout's folder trained none
of its views, and the data line counted nothing."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Sequence

from ...validation import warn

__all__ = ["CamVidLeftOut", "MultiViewLeftOut", "warn_left_out"]


def warn_left_out(dataset: str, folders: Sequence[str | os.PathLike], holding: str) -> None:
    """One warning ``"DATASET: N folders with HOLDING left out (not trained): a, b, c, ..."`` naming the first 3 of
    ``folders`` (as given; an archive's member folder as ``batch_1.zip/v1``); nothing when there are none."""
    if folders:
        shown = ", ".join(str(f) for f in folders[:3]) + (", ..." if len(folders) > 3 else "")
        warn(f"{dataset}: {len(folders)} folder{'s' if len(folders) > 1 else ''} with {holding} left out (not "
             f"trained): {shown}")


@dataclass
class CamVidLeftOut:
    """The folders a CamVid root's search left out (each as a path, an archive's as ``ARCHIVE/FOLDER``), by what
    they hold: ``images/`` without a model ``0/``; a model without ``images/`` (or with no image in it); a model with
    its frames in sub-folders of ``images/`` only (``images/cam1/x.jpg``: the layout reads ``images/*.jpg``)."""

    no_model: list[str] = field(default_factory=list)
    no_images: list[str] = field(default_factory=list)
    nested_images: list[str] = field(default_factory=list)

    def warn(self) -> None:
        """One warning for each kind (:func:`warn_left_out`)."""
        warn_left_out("CamVidDataset", self.no_model, "images/ but no COLMAP model 0/ (cameras.bin or cameras.txt)")
        warn_left_out("CamVidDataset", self.no_images, "a COLMAP model 0/ but no images/")
        warn_left_out("CamVidDataset", self.nested_images, "a COLMAP model 0/ and frames in sub-folders of images/ "
                      "only (the camvid layout reads images/FRAME; a multiview dataset reads such a folder, as 3D)")


@dataclass
class MultiViewLeftOut:
    """The folders of a multiview root (a folder of scene folders) left out, by what they hold: ``images/`` without
    cameras (``colmap_dirs``' model or a ``transforms.json``); a COLMAP model without ``images/``; scene folders one
    level further down (a folder of categories: the root's folders are searched, not theirs)."""

    colmap_dirs: str
    no_cameras: list[str] = field(default_factory=list)
    no_images: list[str] = field(default_factory=list)
    scenes_below: list[str] = field(default_factory=list)

    def warn(self) -> None:
        """One warning for each kind (:func:`warn_left_out`)."""
        warn_left_out("MultiViewDataset", self.no_cameras,
                      f"images/ but no COLMAP model ({self.colmap_dirs}) or transforms.json")
        warn_left_out("MultiViewDataset", self.no_images, f"a COLMAP model ({self.colmap_dirs}) but no images/")
        warn_left_out("MultiViewDataset", self.scenes_below, "scene folders inside, one level further down than a "
                      "root's scenes are searched (give such a folder as a root too: root: [ROOT, ROOT/FOLDER])")
