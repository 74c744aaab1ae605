"""A ``--resume`` checkpoint made elsewhere: its accelerate_state torch files (``optimizer.bin``, ...) are zips that
``torch.load`` inflates whole, so each is checked as an archive (size, compression ratio) before it is read."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch
from typer.testing import CliRunner

from genxd.cli import app

from .conftest import QUIET, TINY


def _train(config: Path, out: Path, *extra: str):
    return CliRunner().invoke(app, ["train", str(config), f"output_dir={out}", *QUIET, "--cpu", *extra])


def _deflated_zeros(path: Path) -> None:
    """A torch file of 20 MB of zeros, its records deflated (about 20 kB: 1000:1)."""
    stored = path.with_name("stored.pt")
    torch.save({"state": {0: {"exp_avg": torch.zeros(5_000_000)}}, "param_groups": []}, stored)
    with zipfile.ZipFile(stored) as zin, zipfile.ZipFile(path, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info), compress_type=zipfile.ZIP_DEFLATED)
    stored.unlink()


def test_a_resume_checkpoint_whose_optimizer_file_is_a_zip_bomb_is_refused_before_torch_load(tmp_path, monkeypatch):
    # was: accelerate's load_state read optimizer.bin with torch.load, which inflated it whole
    out = tmp_path / "run"
    assert _train(TINY, out, "training.max_steps=1").exit_code == 0
    checkpoint = out / "checkpoints" / "checkpoint-0000001"
    bomb = checkpoint / "accelerate_state" / "optimizer.bin"
    _deflated_zeros(bomb)
    assert bomb.stat().st_size < 200_000
    read = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda f, *a, **k: (read.append(Path(str(f)).name), real_load(f, *a, **k))[1])
    res = _train(TINY, out, "--resume", str(checkpoint), "training.max_steps=2")
    assert res.exit_code == 2, res.output
    lines = [line for line in res.output.splitlines() if line.startswith("genxd: error:")]
    assert len(lines) == 1 and "Traceback" not in res.output, res.output
    assert lines[0].startswith(f"genxd: error: {bomb}: refused unsafe archive: ") and "compression ratio" in lines[0]
    assert "optimizer.bin" not in read
