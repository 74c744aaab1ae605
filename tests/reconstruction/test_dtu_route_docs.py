"""docs/reconstruction.md's few-shot DTU route, run as written on a tiny IDR scan: from ``image/``, ``mask/`` and
``cameras.npz`` to masked metrics of 3 views, without and with generated views (only options that make it fast are
added: the tests' small model, 1 denoising step, a few training steps, no video)."""

from __future__ import annotations

import json
import math
import shlex

import numpy as np
from typer.testing import CliRunner

from genxd.cli import app

from tests.helpers import ROOT

from .dtu_scans import known_cameras, write_idr_scan

HEADING = "#### Few-shot DTU from an IDR scan, end to end"


def route_commands() -> list[list[str]]:
    """The ``genxd`` commands of the section's first fenced block (continuation lines joined, comments dropped)."""
    text = (ROOT / "docs" / "reconstruction.md").read_text()
    assert HEADING in text, f"docs/reconstruction.md has no section {HEADING!r}"
    block = text.split(HEADING, 1)[1].split("```bash\n", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True)
        lexer.whitespace_split, lexer.commenters = True, "#"
        words = list(lexer)
        if words:
            assert words[0] == "genxd", line
            commands.append(words[1:])
    return commands


def test_the_dtu_route_of_the_docs_runs_and_scores_masked(tmp_path, monkeypatch, reference_small) -> None:
    commands = route_commands()
    assert [c[0] for c in commands] == ["fewshot-data", "fewshot", "reconstruct", "reconstruct"]
    K = np.array([[30.0, 0.0, 16.0], [0.0, 30.0, 12.0], [0.0, 0.0, 1.0]])
    scale = np.diag([2.0, 2.0, 2.0, 1.0])
    scale[:3, 3] = [5.0, -3.0, 1.0]
    write_idr_scan(tmp_path / "idr" / "scan114", K, known_cameras(radius=3.0), scale, height=24, width=32)
    monkeypatch.chdir(tmp_path)  # the docs' relative folders land here
    fast = {"fewshot": ["--model", str(reference_small), "--steps", "1", "--resolution", "64"],
            "reconstruct": ["--iterations", "5", "--video-frames", "0"]}
    runner = CliRunner()
    for words in commands:
        result = runner.invoke(app, [*words, *fast.get(words[0], []), "-q"])
        assert result.exit_code == 0, f"genxd {shlex.join(words)}:\n{result.output}"
    outs = [c[c.index("-o") + 1] for c in commands if c[0] == "reconstruct"]
    records = [json.loads((tmp_path / out / "reconstruction.json").read_text()) for out in outs]
    for record in records:
        masked = record["test_metrics"]["masked"]
        assert record["num_train_views"] == 3 + record["num_extra_views"]
        assert len(masked["per_view"]) == 25 and math.isfinite(masked["psnr"])
        assert masked["masks"] == str((tmp_path / "idr" / "scan114" / "mask").resolve())
    assert records[0]["num_extra_views"] == 0 and records[1]["num_extra_views"] > 0
