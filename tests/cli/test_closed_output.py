"""A reader that goes before the output ends (``genxd info | head -1``, ``less`` quit early) ends the command
quietly with exit code 141 (128 + SIGPIPE, as a shell reports for a program that signal ends): click made it exit
code 1, a script under ``set -o pipefail`` could not tell it from a failure, and output still buffered at exit
made Python print "Exception ignored ... BrokenPipeError". The tests give the command a pipe whose reader is
already gone, so the first write fails whatever the timing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

OUTPUT_CLOSED_EXIT = 128 + 13  # 128 + SIGPIPE


def _with_reader_gone(args: list[str], cwd: Path, both: bool = False) -> tuple[int, str]:
    """Run ``python -m genxd ARGS`` with stdout (and stderr when ``both``: ``2>&1 | head``) on a pipe whose reader
    has closed; its exit code and what it wrote to stderr (when not ``both``)."""
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, "-m", "genxd", *args], cwd=cwd, stdout=write,
                              stderr=write if both else subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=120)
    finally:
        os.close(write)
    return done.returncode, (done.stderr or b"").decode(errors="replace")


@pytest.mark.parametrize("args", [["info"], ["--help"], ["trajectory", "make", "--help"], ["generate", "--help"]],
                         ids=lambda a: "-".join(a))
def test_a_reader_gone_ends_the_command_quietly(tmp_path, args):
    code, err = _with_reader_gone(args, tmp_path)
    assert code == OUTPUT_CLOSED_EXIT, err
    assert err == "", err


def test_a_command_that_wrote_its_file_ends_quietly(tmp_path):
    """``genxd trajectory make ... | head``: the file is written, then the line saying so finds no reader."""
    code, err = _with_reader_gone(["trajectory", "make", "orbit", "-o", "path.json"], tmp_path)
    assert code == OUTPUT_CLOSED_EXIT and err == "", err
    assert (tmp_path / "path.json").is_file()


def test_stderr_to_the_same_closed_pipe_ends_quietly_at_the_first_note(tmp_path):
    """``genxd generate ... 2>&1 | head -0``: the first note (no --model given) fails; no traceback, no model run."""
    image = tmp_path / "in.png"
    from PIL import Image

    Image.new("RGB", (16, 16)).save(image)
    code, _ = _with_reader_gone(["generate", str(image), "-o", "out", "--frames", "2", "--steps", "1"], tmp_path,
                                both=True)
    assert code == OUTPUT_CLOSED_EXIT
    assert not (tmp_path / "out" / "in").exists()


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full (Linux's always-full device)")
@pytest.mark.parametrize("args", [["info"], ["--version"], ["--help"]], ids=lambda a: "-".join(a))
def test_output_to_a_full_disk_is_one_line(tmp_path, args):
    """``genxd info > /dev/full`` (and --help / --version) printed click's traceback of the failed write, exit 1:
    these print outside a command's run_cli, which says a full disk in one line itself."""
    with open("/dev/full", "wb") as full:
        done = subprocess.run([sys.executable, "-m", "genxd", *args], cwd=tmp_path, stdout=full, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=120)
    err = done.stderr.decode(errors="replace")
    assert (done.returncode, err) == (2, "genxd: error: cannot write the output: No space left on device\n")
