"""``genxd synth`` asked for more pixels than the machine has memory: one error line before anything is rendered."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from .introspect import invoke

runner = CliRunner()


def test_a_clip_larger_than_the_memory_is_one_error_line(tmp_path):
    """``--size 4096 --frames 10000 --supersample 15`` (the largest each option takes) asks for render buffers of
    1.66 PB: torch's allocator failed with a traceback of 40 lines ("DefaultCPUAllocator: can't allocate memory"),
    and a clip that fit in the address space but not in memory (7 TB at --supersample 1) could instead be killed
    mid-render without a word. Now it is refused before rendering, saying what it needs and has."""
    out = tmp_path / "out"
    res = invoke(runner, ["synth", str(out), "--size", "4096", "--frames", "10000", "--supersample", "15", "-q"])
    assert res.exit_code == 2, res.output
    errors = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and re.fullmatch(
        r"genxd: error: rendering 10000 views of 4096x4096 at supersample 15 \(61440x61440 samples each\) needs "
        r"1\.66 PB of memory, more than this machine's [\d.]+ [GTP]B: render fewer or smaller views", errors[0]), \
        res.stderr
    assert not out.exists() or not any(out.iterdir())
