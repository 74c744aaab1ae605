"""``genxd fewshot-data``'s output folder: never the capture's own folder, whose kind its ``index.json`` would
change."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from genxd.cli import app
from genxd.reconstruction.views import detect_input_kind
from tests.reconstruction.dtu_scans import known_cameras, write_idr_scan

runner = CliRunner()


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_the_captures_own_folder_is_refused_as_the_output_and_the_capture_kept(tmp_path) -> None:
    """``genxd fewshot-data scan -o scan`` wrote ``scan/index.json``: the IDR scan was then a ReconFusion folder to
    ``reconstruct`` (which asked for ``--n-views``) and to ``fewshot-data`` itself ("already a ReconFusion folder")."""
    K = np.array([[20.0, 0.0, 8.0], [0.0, 20.0, 6.0], [0.0, 0.0, 1.0]])
    scan = write_idr_scan(tmp_path / "scan114", K, known_cameras(3.0), None)
    (tmp_path / "link").symlink_to(scan)
    for out in (scan, tmp_path / "link", scan / "."):
        result = _cli("fewshot-data", scan, "-o", out, "--n-views", 3)
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines() == [
            f"genxd: error: {out} is the capture's own folder: the ReconFusion folder written there (index.json) "
            "would take the capture's place as an input; write it to another folder"]
        assert sorted(p.name for p in scan.iterdir()) == ["cameras.npz", "image", "mask"]
        assert detect_input_kind(scan) == "idr"
    result = _cli("fewshot-data", scan, "-o", scan / "rf", "--n-views", 3)  # a folder inside it is another folder
    assert result.exit_code == 0, result.output
    assert detect_input_kind(scan) == "idr" and detect_input_kind(scan / "rf") == "reconfusion"
