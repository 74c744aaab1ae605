"""A finished video found without its index line (a run killed between its rename and its line) is reported from its
``meta.json``; one that lacks a number the line shows (written by hand or by another tool, or damaged: a string
where the motion strength should be) stopped ``genxd curate`` with a traceback ("unsupported format string passed to
NoneType.__format__"). The line now says what it does not know."""

from __future__ import annotations

import json

import pytest


@pytest.mark.parametrize("meta", [{"verdict": "static"}, {"verdict": "dynamic", "motion_strength": "fast",
                                                          "num_frames": 12, "num_registered": None}])
def test_a_recovered_video_whose_meta_lacks_numbers_is_one_line(tmp_path, meta):
    from typer.testing import CliRunner

    from genxd.cli import app

    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "clip.mp4").write_bytes(b"only the name is read: the video is done")
    (tmp_path / "out" / "clip").mkdir(parents=True)
    (tmp_path / "out" / "clip" / "meta.json").write_text(json.dumps(meta))
    result = CliRunner().invoke(app, ["curate", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.stdout + result.stderr
    line = result.stdout.splitlines()[0]
    assert line.startswith(f"clip: {meta['verdict']}, motion ?, ") and line.endswith(" frames registered (recovered)")
    assert "0 ok, 0 failed, 1 already done" in result.stdout
