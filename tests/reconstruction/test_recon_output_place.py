"""Where ``genxd reconstruct`` writes: never over what it reads, and through a symbolic link kept as a link.

Before: ``genxd reconstruct SCENE -o SCENE --overwrite`` (or ``-o`` a folder holding the input, or a link to it)
read the generated scene, trained, and replaced it by the reconstruction: the input's frames and cameras were
gone. A dangling link as ``--out`` was 'exists and is not a folder'."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import trajectories
from genxd.cli import app
from genxd.reconstruction import ReconstructionConfig, reconstruct_scene
from genxd.scene_outputs import write_scene
from tests.helpers import OTHER_RUNS_TEXT, another_run_writes_meanwhile

runner = CliRunner()


def _scene(folder: Path) -> Path:
    frames = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    c2w, K = trajectories.orbit(num_frames=4)
    return write_scene(folder, frames, c2w, K, [0], frames, {"mode": "3d"}, fps=3.0)


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("case", ["same", "holds", "link", "extra"])
def test_an_output_that_would_replace_an_input_is_refused_before_the_work(tmp_path, case):
    out = tmp_path / "out"
    scene = _scene(out / "scene" if case == "holds" else tmp_path / "scene")
    before = _listing(tmp_path)
    extra = []
    if case == "same":
        out = scene
    elif case == "link":
        out.symlink_to(scene)
        before = _listing(tmp_path)
    elif case == "extra":
        out.mkdir()
        extra = ["--extra-views", str(_scene(out / "generated"))]
        before = _listing(tmp_path)
    res = runner.invoke(app, ["reconstruct", str(scene), "-o", str(out), "--overwrite", "--iterations", "2",
                              "--video-frames", "0", *extra])
    assert res.exit_code == 2, res.output
    lines = [line for line in res.stderr.splitlines() if line.startswith("genxd: error")]
    assert len(lines) == 1 and ("is the input" in lines[0] or "holds the input" in lines[0]), res.stderr
    assert _listing(tmp_path) == before
    with pytest.raises(ValueError, match="out_dir .* (is|holds) the input"):  # Python callers too
        reconstruct_scene(scene, out, ReconstructionConfig(iterations=2), overwrite=True, video_frames=0,
                          progress=False, extra_views=extra[1:] or None)
    assert _listing(tmp_path) == before


def test_an_output_through_a_link_keeps_the_link(tmp_path):
    scene = _scene(tmp_path / "scene")
    disk = tmp_path / "disk" / "recon"
    disk.mkdir(parents=True)
    (disk / "old.txt").write_text("old")
    (tmp_path / "out").symlink_to(disk)
    reconstruct_scene(scene, tmp_path / "out", ReconstructionConfig(iterations=2, init_points=100), overwrite=True,
                      video_frames=0, progress=False)
    assert (tmp_path / "out").is_symlink() and (disk / "scene.ply").is_file() and not (disk / "old.txt").exists()
    (tmp_path / "dangling").symlink_to(tmp_path / "unmounted" / "recon")
    res = runner.invoke(app, ["reconstruct", str(scene), "-o", str(tmp_path / "dangling"), "--overwrite",
                              "--iterations", "2", "--video-frames", "0"])
    assert res.exit_code == 2 and "which does not exist" in res.stderr, res.output
    assert not (tmp_path / "unmounted").exists() and os.path.islink(tmp_path / "dangling")


@pytest.mark.parametrize("name", ["reconstruction.json", "cameras.json", "scene.ply", "."])
def test_eval_recon_never_writes_its_metrics_over_the_reconstruction(tmp_path, name):
    """eval-recon SCENE -o SCENE/reconstruction.json --overwrite replaced the record it had read (the input, the
    held-out views) by the metrics, and the scene could no longer be evaluated; -o SCENE failed after the work."""
    from genxd.reconstruction.pipeline import evaluate_scene

    recon = tmp_path / "recon"
    reconstruct_scene(_scene(tmp_path / "scene"), recon, ReconstructionConfig(iterations=2, init_points=100),
                      holdout_every=2, video_frames=0, progress=False)
    before = {p.name: p.read_bytes() for p in recon.iterdir() if p.is_file()}
    out = recon if name == "." else recon / name
    res = runner.invoke(app, ["eval-recon", str(recon), "-o", str(out), "--overwrite", "--no-lpips"])
    assert res.exit_code == 2 and "--out" in res.stderr and "the input" in res.stderr, res.output
    with pytest.raises(ValueError, match="out_path .* (is|holds) the input"):
        evaluate_scene(recon, out_path=out, overwrite=True, use_lpips=False)
    assert {p.name: p.read_bytes() for p in recon.iterdir() if p.is_file()} == before
    evaluate_scene(recon, overwrite=True, use_lpips=False)  # the default metrics.json, replaced: not an input
    evaluate_scene(recon, overwrite=True, use_lpips=False)
    assert (recon / "metrics.json").is_file()


def test_eval_recon_keeps_metrics_another_run_wrote_meanwhile(tmp_path, monkeypatch):
    """The existing-file check was made before the evaluation and the metrics then written with replacing on:
    without --overwrite the later of two runs replaced the earlier one's metrics file."""
    from genxd.reconstruction import scene_evaluation

    recon = tmp_path / "recon"
    reconstruct_scene(_scene(tmp_path / "scene"), recon, ReconstructionConfig(iterations=2, init_points=100),
                      holdout_every=2, video_frames=0, progress=False)
    out = tmp_path / "metrics.json"
    another_run_writes_meanwhile(monkeypatch, scene_evaluation, "load_scene", out)
    with pytest.raises(FileExistsError, match="written by another run"):
        scene_evaluation.evaluate_scene(recon, out_path=out, use_lpips=False)
    assert out.read_text() == OTHER_RUNS_TEXT
