"""The renders of ``genxd reconstruct`` (``renders/``) and ``genxd eval --save-renders`` (``eval_renders/``) are
named after their views: one file per view, also where two view names make one file name."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest
import torch

from genxd.reconstruction.pipeline import evaluate_scene, reconstruct_scene
from genxd.reconstruction.trainer import ReconstructionConfig

from .helpers import write_views_folder

#: ``a b`` and ``a_b`` make one safe name; ``IMG`` / ``img`` and ``café`` in two Unicode forms one file on macOS;
#: ``x.png`` / ``x.jpg`` one stem. A macOS folder holds all eight images (names of other letters or suffixes).
NAMES = ["a b.png", "a_b.png", "IMG.png", "img.jpg", unicodedata.normalize("NFC", "café.png"),
         unicodedata.normalize("NFD", "café.jpg"), "x.png", "x.jpg"]


def _one_file_on_macos(name: str) -> str:
    return unicodedata.normalize("NFC", name).lower()


def _scene(tmp_path: Path, names: list[str] = NAMES) -> Path:
    n = len(names)
    c2w = torch.eye(4).repeat(n, 1, 1)
    c2w[:, 0, 3] = torch.linspace(-0.2, 0.2, n)
    c2w[:, 2, 3] = -2.0
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(n, 1, 1)
    folder = write_views_folder(tmp_path / "in", torch.rand(n, 3, 16, 16, generator=torch.Generator().manual_seed(0)),
                                c2w, K)
    meta = json.loads((folder / "transforms.json").read_text())
    for frame, name in zip(meta["frames"], names):
        (folder / frame["file_path"]).rename(folder / "frames" / name)
        frame["file_path"] = f"frames/{name}"
    (folder / "transforms.json").write_text(json.dumps(meta))
    return folder


def test_every_view_keeps_its_render(tmp_path):
    """Views ``a b.png`` and ``a_b.png`` (or ``x.png`` and ``x.jpg``) both rendered to ``renders/a_b.png`` in eval's
    ``eval_renders/``, the second over the first, and ``IMG`` / ``img`` to two files that are one on macOS."""
    out = tmp_path / "out"
    reconstruct_scene(_scene(tmp_path), out, ReconstructionConfig(iterations=2, seed=0, init="random",
                                                                 init_points=200), resolution=16, holdout_every=2,
                      video_frames=0, inria_model=False, progress=False, use_lpips=False)
    renders = sorted(p.name for p in (out / "renders").iterdir())
    assert len({_one_file_on_macos(r) for r in renders}) == len(NAMES), renders
    evaluate_scene(out, use_lpips=False, save_renders=True)
    held_out = sorted(p.name for p in (out / "eval_renders").iterdir())
    assert len({_one_file_on_macos(r) for r in held_out}) == len(NAMES) // 2, held_out


@pytest.mark.slow  # two tiny reconstructions: about 18 s on 2 cores
def test_a_held_out_view_has_one_name_in_renders_and_eval_renders(tmp_path):
    """eval_renders/ named the held-out views among themselves, renders/ among all views: of ``a b.png`` (trained on)
    and ``a_b.png`` (held out), renders/a_b.png was the first and eval_renders/a_b.png the second view."""
    import numpy as np
    from PIL import Image

    names = ["o.png", "a b.png", "a_b.png", "p.png"]
    out = tmp_path / "out"
    reconstruct_scene(_scene(tmp_path, names), out, ReconstructionConfig(iterations=2, seed=0, init="random",
                                                                        init_points=200), resolution=16,
                      holdout_every=2, video_frames=0, inria_model=False, progress=False, use_lpips=False)
    test = json.loads((out / "cameras.json").read_text())["test"]
    assert names.index("a_b.png") in test and names.index("a b.png") not in test, test
    evaluate_scene(out, use_lpips=False, save_renders=True)
    held_out = sorted(p.name for p in (out / "eval_renders").iterdir())
    assert len(held_out) == len(test)
    for name in held_out:  # the same view, the same model: the same picture under the same name
        a, b = (np.asarray(Image.open(out / d / name)).astype(int) for d in ("renders", "eval_renders"))
        assert np.abs(a - b).max() <= 1, name
