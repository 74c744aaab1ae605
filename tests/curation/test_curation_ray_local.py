"""``--ray local`` in a fresh driver process: genxd starts its own Ray instance whatever ``RAY_ADDRESS`` says, and
a SIGTERM while the driver waits on Ray ends it as genxd's ``terminated``.

One child process checks both (each Ray start is about 10 s of the 2 cores; these were two files, each starting
its own): it takes SIGTERM as genxd's commands do (``stop_cleanly_on_sigterm``), starts Ray with ``RAY_ADDRESS``
naming a port nothing listens on, says what it started, and waits in ``ray.wait`` on a task that sleeps, as
``genxd curate``'s driver waits for its videos; the module then sends it SIGTERM.

- ``ray.init()`` without an address joined the cluster named by ``RAY_ADDRESS`` or a running ``ray start --head``
  (found by the Ray-at-scale audit): genxd then failed with "When connecting to an existing cluster,
  object_store_memory must not be provided", or waited on an address nothing answers.
- ``ray.init`` installs a C-level failure handler for SIGTERM in the driver (found by the curation-at-scale audit):
  a ``kill`` of ``genxd curate --ray local`` printed a C stack trace and exited 15, skipping genxd's cleanup and
  its ``genxd: terminated`` line.
- ``ray.wait`` runs Python's signal handlers as it waits and turns what they raise into a plain
  ``KeyboardInterrupt``: a ``kill`` of ``genxd curate --ray local`` ended "genxd: interrupted" with Ctrl-C's 130.
- The child waited in ``signal.pause()`` before: with Ray's threads running the kernel may deliver the signal to
  one of them, and Python's handler then waits for the main thread to run bytecode, which ``pause()`` never does
  (CI hung once; here one run in 24 with two Ray instances at once, as under ``pytest -n 2``; ``py-spy dump``: the
  main thread in ``pause``). ``ray.wait`` checks for signals whichever thread took them.
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
import sys, time
from genxd.cli.process_exit import interrupted_exit, stop_cleanly_on_sigterm
from genxd.curation.ray_engine import start_or_join_ray

stop_cleanly_on_sigterm()
ray, started = start_or_join_ray("local")
print("started", started, ray.util.get_node_ip_address(), flush=True)

@ray.remote
def forever():
    time.sleep(600)

ref = forever.remote()
try:
    print("ready", flush=True)  # in the try: the signal may come before ray.wait
    ray.wait([ref], num_returns=1)  # as genxd curate's driver waits for its videos
except KeyboardInterrupt as exc:
    ray.cancel(ref, force=True)
    interrupted_exit(exc)
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


def test_sigterm_during_ray_wait_ends_as_genxd_terminated(terminated_driver):
    assert terminated_driver["ready"], terminated_driver["err"][-2000:]
    assert "genxd: terminated" in terminated_driver["err"], terminated_driver["err"][-2000:]
    assert terminated_driver["returncode"] == 143 and "SIGTERM received" not in terminated_driver["err"]
