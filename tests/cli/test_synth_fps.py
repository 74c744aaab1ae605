"""``genxd synth --fps``: the frame rate of ``--format video`` only. The other formats write frames and no frame rate;
``--fps`` given with them was ignored without a word (a folder of PNGs made at "--fps 30" read as if it had one). It
is refused there before anything is rendered, as ``--motion-strength`` is for ``--kind 3d``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from .introspect import invoke

runner = CliRunner()


@pytest.mark.parametrize("fmt", ["folder", "camvid", "reconfusion"])
def test_a_frame_rate_for_a_format_without_one_is_refused_before_any_work(tmp_path, fmt):
    out = tmp_path / "out"
    res = invoke(runner, ["synth", str(out), "--format", fmt, "--fps", "30", "--size", "8", "--frames", "2"])
    assert res.exit_code == 2, res.output
    assert res.stderr.splitlines() == [f"genxd: error: --fps needs --format video (--format {fmt} writes no frame "
                                       "rate)"], res.stderr
    assert not out.exists()


@pytest.mark.parametrize("given, rate", [([], 8), (["--fps", "5"], 5)])
def test_a_video_is_written_at_the_frame_rate_asked_or_8(tmp_path, given, rate):
    av = pytest.importorskip("av")
    out = tmp_path / "out"
    res = invoke(runner, ["synth", str(out), "--format", "video", "--size", "8", "--frames", "2", "-q", *given])
    assert res.exit_code == 0, res.output
    with av.open(str(out / "synth_3d_000000.mp4")) as container:
        assert container.streams.video[0].average_rate == rate
