"""``--ray local`` in a fresh driver process: genxd starts its own Ray instance whatever ``RAY_ADDRESS`` says, and
SIGTERM stays Python's after it did.

One child process checks both (each Ray start is about 10 s of the 2 cores; these were two files, each starting
its own): it installs a SIGTERM handler, starts Ray with ``RAY_ADDRESS`` naming a port nothing listens on, says
what it started and waits; the module then sends it SIGTERM.

- ``ray.init()`` without an address joined the cluster named by ``RAY_ADDRESS`` or a running ``ray start --head``
  (found by the Ray-at-scale audit): genxd then failed with "When connecting to an existing cluster,
  object_store_memory must not be provided", or waited on an address nothing answers.
- ``ray.init`` installs a C-level failure handler for SIGTERM in the driver (found by the curation-at-scale audit):
  a ``kill`` of ``genxd curate --ray local`` printed a C stack trace and exited 15, skipping genxd's cleanup and
  its ``genxd: terminated`` line.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading

import pytest

pytest.importorskip("ray", reason="needs the 'ray' extra: pip install -e '.[ray]'")

SCRIPT = """
import signal, sys
from genxd.curation.ray_engine import start_or_join_ray

def handler(signum, frame):
    print("python handler", flush=True)
    sys.exit(0)

signal.signal(signal.SIGTERM, handler)
ray, started = start_or_join_ray("local")
print("started", started, ray.util.get_node_ip_address(), flush=True)
print("ready", flush=True)
signal.pause()
"""


@pytest.fixture(scope="module")
def terminated_driver() -> dict:
    """The child's output once it said "ready" (or did not within 90 s), then its exit after SIGTERM."""
    with socket.socket() as free:  # a port nothing listens on once closed
        free.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{free.getsockname()[1]}"
    env = {**os.environ, "RAY_ADDRESS": dead}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout] + [lines.put(None)],
                              daemon=True)
    reader.start()
    before: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=90)
            except queue.Empty:
                return {"dead": dead, "before": before, "ready": False, "out": "", "err": "", "returncode": None}
            if line is None or line.strip() == "ready":
                break
            before.append(line.strip())
        ready = line is not None
        if ready:
            process.send_signal(signal.SIGTERM)
        err = process.stderr.read() if process.wait(timeout=120) is not None else ""
        reader.join(timeout=10)
        after = []
        while not lines.empty():
            item = lines.get()
            if item is not None:
                after.append(item)
        return {"dead": dead, "before": before, "ready": ready, "out": "".join(after), "err": err,
                "returncode": process.returncode}
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_ray_local_starts_its_own_instance_whatever_ray_address_says(terminated_driver):
    """Here ``RAY_ADDRESS`` names a port nothing listens on."""
    if not terminated_driver["ready"] and terminated_driver["returncode"] is None:
        pytest.fail(f"start_or_join_ray('local') waited on RAY_ADDRESS={terminated_driver['dead']} for 90 s")
    assert terminated_driver["before"] == ["started True 127.0.0.1"], terminated_driver["err"][-2000:]


def test_sigterm_reaches_pythons_handler_after_ray_starts(terminated_driver):
    assert terminated_driver["ready"], terminated_driver["err"][-2000:]
    assert "python handler" in terminated_driver["out"], terminated_driver["err"][-2000:]
    assert terminated_driver["returncode"] == 0 and "SIGTERM received" not in terminated_driver["err"]
