"""SIGTERM stays Python's after ``--ray`` starts or joins Ray (found by the curation-at-scale audit: ``ray.init``
installs a C-level failure handler for SIGTERM in the driver, and a ``kill`` of ``genxd curate --ray local`` printed
a C stack trace and exited 15, skipping genxd's cleanup and its ``genxd: terminated`` line)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

pytest.importorskip("ray", reason="needs the 'ray' extra: pip install -e '.[ray]'")

SCRIPT = """
import signal, sys
from genxd.curation.ray_engine import start_or_join_ray

def handler(signum, frame):
    print("python handler", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, handler)
start_or_join_ray("local")
print("ready", flush=True)
signal.pause()
"""


def test_sigterm_reaches_pythons_handler_after_ray_starts():
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout.readline().strip() == "ready", process.stderr.read()
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "python handler" in out, err[-2000:]
    assert process.returncode == 0 and "SIGTERM received" not in err
