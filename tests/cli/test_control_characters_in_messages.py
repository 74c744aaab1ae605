"""A file name holding a terminal's escape sequence (ESC [ 3 1 m: text turns red; others move the cursor, retitle
the window) reached the terminal raw in genxd's error and warning lines and in genxd curate's per-video lines:
only whitespace was collapsed. Each is now escaped (``\\x1b``) and shown, not obeyed."""

from __future__ import annotations

from genxd.cli.common import one_line


def test_one_line_escapes_control_characters():
    assert one_line("/tmp/a\x1b[31mb.png: no such file") == "/tmp/a\\x1b[31mb.png: no such file"
    assert one_line("a\x07b\x9bc") == "a\\x07b\\x9bc"
    assert one_line("two\nlines\tand  tabs") == "two lines and tabs"  # whitespace collapsed as before


def test_curate_record_lines_escape_control_characters():
    from genxd.cli.curate import _record_line

    failed = _record_line({"video_id": "clip\x1b]0;owned\x07", "status": "failed", "stage": "decode",
                           "reason": "clip\x1b[2J.mp4: cannot read"})
    assert "\x1b" not in failed and "\x07" not in failed
    assert failed == "clip\\x1b]0;owned\\x07: failed (decode): clip\\x1b[2J.mp4: cannot read"
    ok = _record_line({"video_id": "v\x1b[31m", "status": "ok", "verdict": "dynamic", "motion_strength": 1.0,
                       "num_registered": 3, "num_frames": 4})
    assert ok == "v\\x1b[31m: dynamic, motion 1.0000, 3 of 4 frames registered"


def test_an_error_line_on_the_command_line_escapes_the_name(tmp_path):
    import subprocess
    import sys

    name = tmp_path / "a\x1b[31mb.png"
    proc = subprocess.run([sys.executable, "-m", "genxd", "generate", str(name)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "\x1b" not in proc.stderr and "a\\x1b[31mb.png" in proc.stderr, proc.stderr
