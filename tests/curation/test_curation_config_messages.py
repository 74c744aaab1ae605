"""``--max-frames`` below ``--min-frames``: every video would fail as having too few frames, so it is refused up front;
the command line's refusal named the Python fields ("max_frames (4) is below min_frames (8)"), not its options."""

from __future__ import annotations

import pytest

from genxd.curation import CurationConfig


def test_python_names_the_fields():
    with pytest.raises(ValueError, match=r"^max_frames=4 is below min_frames=8: every video would have too few "
                                         r"frames$"):
        CurationConfig(max_frames=4)


def test_the_command_line_names_its_options(tmp_path):
    from typer.testing import CliRunner

    from genxd.cli import app

    (tmp_path / "a.mp4").write_bytes(b"x")
    result = CliRunner().invoke(app, ["curate", str(tmp_path / "a.mp4"), "--out", str(tmp_path / "out"),
                                      "--max-frames", "4", "--min-frames", "5"])
    assert result.exit_code == 2
    assert result.stderr.strip() == ("genxd: error: --max-frames 4 is below --min-frames 5: every video would have "
                                     "too few frames"), result.stderr
    assert not (tmp_path / "out").exists()
