"""A data root that is no folder of scenes: a loop of symbolic links (``cv -> cv``) stopped ``CamVidDataset`` with
pathlib's ``RuntimeError: Symlink loop from 'cv'`` and its traceback; it is one line naming the root and the loop, as
``genxd eval-camera`` says it (``genxd.utils.paths.loop_note``)."""

from __future__ import annotations

import os
import re

import pytest

from genxd.data.datasets import CamVidDataset


def test_a_camvid_root_that_is_a_loop_of_links_is_named(tmp_path):
    loop = tmp_path / "cv"
    os.symlink(loop, loop)
    with pytest.raises(FileNotFoundError, match=rf"^{re.escape(str(loop))}: no such file or folder "
                                                r"\(a loop of symbolic links: cv -> .*cv\)$"):
        CamVidDataset(loop, num_frames=4, height=16)
