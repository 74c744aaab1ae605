"""genxd.curation.sfm.run_sfm(mapper="auto"): the global attempt maps the databases the incremental attempt built.

Until 2026-12-06 a clip whose incremental mapping failed had its KLT tracks (or SIFT features) extracted and its
matches verified again for the global mapper: the same frames give the same database, so that was time only
(docs/curation.md, stage 3). The cameras must be those of a global-only run.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("pycolmap")


def test_the_global_attempt_reuses_the_incremental_attempts_database(tmp_path, monkeypatch):
    import torch

    from genxd.curation import sfm as csfm
    from genxd.data.synthetic import make_clip
    from genxd.utils.pycolmap_import import load_pycolmap

    torch.set_num_threads(1)
    clip = make_clip(4, "3d", 8, 96, 96, camera="handheld")
    frames = (clip.images.permute(0, 2, 3, 1).numpy() * 255 + 0.5).clip(0, 255).astype(np.uint8)
    images = tmp_path / "images"
    images.mkdir()
    names = [f"{i:03d}.png" for i in range(len(frames))]
    for name, frame in zip(names, frames):
        Image.fromarray(frame).save(images / name)

    built: list[str] = []
    for kind in ("klt", "sift"):
        original = getattr(csfm, f"_{kind}_database")

        def counted(*args, _original=original, _kind=kind, **kwargs):
            built.append(_kind)
            return _original(*args, **kwargs)

        monkeypatch.setattr(csfm, f"_{kind}_database", counted)
    pycolmap = load_pycolmap()
    monkeypatch.setattr(pycolmap, "incremental_mapping", lambda *args, **kwargs: {})  # no model: SfmError

    auto = csfm.run_sfm(images, names, tmp_path / "auto", focal=1.0, num_threads=1, mapper="auto")
    assert auto.mapper == "global"
    assert built and sorted(built) == sorted(set(built))  # each kind of database built once
    reused = list(built)
    direct = csfm.run_sfm(images, names, tmp_path / "direct", focal=1.0, num_threads=1, mapper="global")
    assert built[len(reused):] and direct.features == auto.features
    # the same database and the same seeded one-thread mapper: the same cameras, bit for bit
    np.testing.assert_array_equal(auto.registered, direct.registered)
    np.testing.assert_array_equal(auto.c2w, direct.c2w)
    assert auto.num_points3D == direct.num_points3D
    assert auto.mean_reprojection_error == direct.mean_reprojection_error
