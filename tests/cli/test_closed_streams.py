"""``genxd ... 2>&-``: a closed standard error keeps the exit codes (a usage error exits 2). Started through a
shell-script launcher (pyenv's shims), descriptor 2 was the script, open for reading: the error line failed with
"Bad file descriptor" and the exit code was 1. ``genxd ... >&-``: the first file opened took descriptor 1; a
read-only descriptor 1 (``1<file``) ended in a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str], tmp_path: Path, how: str) -> subprocess.CompletedProcess:
    """``python -m genxd ARGS`` with descriptor 2 closed (``closed``), open read-only (``read-only``), or through a
    bash launcher script run with ``2>&-`` (``launcher``, as a pyenv shim)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    command = [sys.executable, "-m", "genxd", *args]
    if how == "launcher":
        script = tmp_path / "genxd-launcher"
        script.write_text('#!/bin/bash\nexec "$@"\n')
        script.chmod(0o755)
        command = [str(script), *command]
    if how == "read-only":
        with open(os.devnull, "rb") as readonly:
            return subprocess.run(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=readonly,
                                  stdin=subprocess.DEVNULL, timeout=120)
    return subprocess.run(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          preexec_fn=lambda: os.close(2), timeout=120)


@pytest.mark.parametrize("how", ["closed", "read-only", "launcher"])
def test_a_usage_error_exits_2_with_stderr_closed(tmp_path, how):
    done = _run(["trajectory", "make", "--bogus-option"], tmp_path, how)
    assert done.returncode == 2, (done.returncode, done.stdout)
    assert done.stdout == b""


@pytest.mark.parametrize("how", ["closed", "launcher"])
def test_a_command_that_succeeds_exits_0_with_stderr_closed(tmp_path, how):
    done = _run(["--version"], tmp_path, how)
    assert done.returncode == 0 and done.stdout.startswith(b"genxd "), done


@pytest.mark.parametrize("closed", [1, 2], ids=["stdout", "stderr"])
def test_a_closed_descriptor_is_not_handed_to_a_file_the_command_opens(tmp_path, closed):
    # With descriptor 1 or 2 closed (`genxd ... >&-`, `2>&-`), the first file opened took it: what a library or a
    # child process wrote to stdout / stderr went into that file. The file's descriptor is reported on the other one.
    other, stream = 3 - closed, "sys.stdout" if closed == 1 else "sys.stderr"
    script = ("import os, sys; from genxd.cli.closed_streams import discard_closed_streams; discard_closed_streams(); "
              f"fd = os.open('out.txt', os.O_WRONLY | os.O_CREAT); os.write({closed}, b'a library line'); "
              f"print('printed', file={stream}); {stream}.flush(); os.write({other}, str(fd).encode())")
    pipe = {"stdout" if other == 1 else "stderr": subprocess.PIPE}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=60, **pipe,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, preexec_fn=lambda: os.close(closed))
    reported = done.stdout if other == 1 else done.stderr
    assert (tmp_path / "out.txt").read_bytes() == b""
    assert done.returncode == 0 and reported not in (b"", str(closed).encode()), reported


def test_both_closed_are_pointed_at_devnull(tmp_path):
    script = ("import os, sys; from genxd.cli.closed_streams import discard_closed_streams; discard_closed_streams(); "
              "fd = os.open('out.txt', os.O_WRONLY | os.O_CREAT); os.write(1, b'out'); os.write(2, b'err'); "
              "print('printed'); print('warned', file=sys.stderr); sys.exit(3 if fd in (1, 2) else 0)")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                          preexec_fn=lambda: (os.close(1), os.close(2)))
    assert (tmp_path / "out.txt").read_bytes() == b""
    assert done.returncode == 0


def test_a_read_only_stdout_is_one_line_and_exit_2(tmp_path):
    # `genxd --version 1<file`: a traceback ("Bad file descriptor", exit 1); now one line, as `> /dev/full` is
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")])}
    with open(os.devnull, "rb") as readonly:
        done = subprocess.run([sys.executable, "-m", "genxd", "--version"], cwd=tmp_path, env=env, stdout=readonly,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert done.stderr == "genxd: error: cannot write the output: standard output is open for reading only\n"


def test_a_closed_stdout_is_silence_and_exit_0(tmp_path):
    done = subprocess.run([sys.executable, "-m", "genxd", "--version"], cwd=tmp_path, stderr=subprocess.PIPE,
                          env={**os.environ, "PYTHONPATH": str(ROOT / "src")}, stdin=subprocess.DEVNULL, text=True,
                          preexec_fn=lambda: os.close(1), timeout=120)
    assert done.returncode == 0 and done.stderr == "", done.stderr
