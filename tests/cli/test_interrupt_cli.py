"""Ctrl-C (SIGINT) and SIGTERM at the command line: one line (``genxd: interrupted`` / ``genxd: terminated``) and
exit code 130 / 143, at any point of the command. Before, a signal while the command line started (importing
typer and the command modules, about a third of a second) printed a traceback of the import it stopped and died
of the signal, and one while the command was being set up before its body (typer's own handler) exited 130
without a word.

The signal is sent by the process to itself from an import hook (a ``sitecustomize`` on ``PYTHONPATH``) when a
given module starts to be imported, so that it lands in that phase whatever the machine's speed; after the
progress has started it is sent from the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ..helpers import env_with_path

HOOK = """
    import os, signal, sys

    class SignalOnImport:
        def find_spec(self, name, path=None, target=None):
            if name == os.environ["GENXD_TEST_SIGNAL_AT"]:
                sys.meta_path.remove(self)
                os.kill(os.getpid(), getattr(signal, os.environ["GENXD_TEST_SIGNAL"]))
            return None

    sys.meta_path.insert(0, SignalOnImport())
"""

#: where the signal lands: while the command modules are imported (``typer``), and in the command's set-up just
#: before its body (genxd.cli.common.run_cli's first import)
PHASES = ["typer", "genxd.utils.shared_work"]
LINES = {"SIGINT": ("genxd: interrupted", 130), "SIGTERM": ("genxd: terminated", 143)}


@pytest.mark.parametrize("sig", sorted(LINES))
@pytest.mark.parametrize("phase", PHASES)
def test_a_signal_while_the_command_starts_is_one_line_and_its_exit_code(tmp_path, phase, sig):
    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent(HOOK))
    env = env_with_path(hook, GENXD_TEST_SIGNAL_AT=phase, GENXD_TEST_SIGNAL=sig)
    done = subprocess.run([sys.executable, "-m", "genxd", "trajectory", "make", "orbit", "-o", "path.json"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    line, code = LINES[sig]
    assert (done.returncode, done.stderr) == (code, line + "\n"), done.stderr
    assert not (tmp_path / "path.json").exists()


def test_ctrl_c_after_generate_started_is_one_line_and_130(tmp_path):
    """``genxd generate`` with the bundled model, stopped once its progress shows: no traceback, no output."""
    from PIL import Image

    Image.new("RGB", (32, 32), (90, 120, 150)).save(tmp_path / "in.png")
    process = subprocess.Popen([sys.executable, "-m", "genxd", "generate", "in.png", "-o", "out", "--frames", "2",
                                "--steps", "200", "--resolution", "32"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    seen = b""
    deadline = time.monotonic() + 60
    while b"%|" not in seen and time.monotonic() < deadline:  # the first progress bar
        chunk = os.read(process.stderr.fileno(), 4096)
        if not chunk:
            break
        seen += chunk
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    err = (seen + err).decode(errors="replace")
    assert process.returncode == 130, err
    assert err.rstrip().endswith("genxd: interrupted") and "Traceback" not in err, err
    assert not (Path(tmp_path) / "out" / "in").exists()
