"""``--ray local`` in a fresh driver process: genxd starts its own Ray instance whatever ``RAY_ADDRESS`` says, and
a SIGTERM while the driver waits on Ray ends it as genxd's ``terminated``.

One child process checks all three below (each Ray start is about 10 s of the 2 cores; these were three tests in
two files, each starting its own instance): it takes SIGTERM as genxd's commands do (``stop_cleanly_on_sigterm``),
asks ``curate_dataset(..., ray_address="local")`` for more threads than the machine has, with ``RAY_ADDRESS`` naming a
port nothing listens on (genxd starts its own instance, then refuses), curates a clip on that instance, says what it
saw, and waits in ``ray.wait`` on a task that sleeps, as ``genxd curate``'s driver waits for its videos; the module
then sends it SIGTERM.

- ``genxd curate --ray local --threads 64`` on 2 CPUs waited until killed: a task asking for more CPUs than any node
  has is never scheduled, and on the instance genxd starts itself nothing else can join. Refused up front, naming the
  argument, with nothing written; the instance started for it is the one the next call curates on (this was
  test_curation_ray.py's first test, in the test process).

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
import json, sys, time
from genxd.cli.process_exit import interrupted_exit, stop_cleanly_on_sigterm
from genxd.curation import CurationConfig, curate_dataset
from genxd.curation.ray_engine import check_ray_task_cpus, start_or_join_ray

stop_cleanly_on_sigterm()
inputs, root = sys.argv[1], sys.argv[2]
config = CurationConfig(focal=1.0, num_threads=1)
begun = time.monotonic()
try:  # Ray counts this machine's CPUs its own way (cgroups): 1024 is more than any
    curate_dataset(inputs, root + "/refused", CurationConfig(focal=1.0, num_threads=1024), ray_address="local",
                   progress=False)
    print("refused", json.dumps(None), flush=True)
except ValueError as exc:
    print("refused", json.dumps([str(exc), time.monotonic() - begun]), flush=True)
# the instance the refused call started, joined here (started False); threads that fit pass the check a call that
# starts the instance makes (`--ray local` refused whatever the threads would go unseen without this)
ray, started = start_or_join_ray("local")
check_ray_task_cpus(ray, config, started_here=True)
print("started", ray.is_initialized() and not started, ray.util.get_node_ip_address(), flush=True)
summary = curate_dataset(inputs, root + "/out", config, ray_address="local", progress=False)
print("curated", summary.ok, ray.util.get_node_ip_address(), flush=True)

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
def terminated_driver(verdict_clips, tmp_path_factory) -> dict:
    """The child's output once it said "ready" (or did not within 240 s), then its exit after SIGTERM; ``root``: the
    folder it curated into (``refused``, ``out``)."""
    from .conftest import write_frames

    root = tmp_path_factory.mktemp("ray_local")
    write_frames(verdict_clips["static_b"], root / "in" / "static_b")
    with socket.socket() as free:  # a port nothing listens on once closed
        free.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{free.getsockname()[1]}"
    env = {**os.environ, "RAY_ADDRESS": dead}
    process = subprocess.Popen([sys.executable, "-c", SCRIPT, str(root / "in"), str(root)], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(line) for line in process.stdout] + [lines.put(None)],
                              daemon=True)
    reader.start()
    before: list[str] = []
    try:
        while True:
            try:
                line = lines.get(timeout=240)  # a Ray start, then a worker importing genxd: 6-74 s when loaded
            except queue.Empty:
                return {"dead": dead, "root": root, "before": before, "ready": False, "out": "", "err": "",
                        "returncode": None}
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
        return {"dead": dead, "root": root, "before": before, "ready": ready, "out": "".join(after), "err": err,
                "returncode": process.returncode}
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.slow
def test_ray_local_starts_its_own_instance_whatever_ray_address_says(terminated_driver):
    """Here ``RAY_ADDRESS`` names a port nothing listens on."""
    if not terminated_driver["ready"] and terminated_driver["returncode"] is None:
        pytest.fail(f"the child was not ready in 240 s: --ray local waited on RAY_ADDRESS={terminated_driver['dead']}"
                    f", or a curation on it never ended (it said {terminated_driver['before']})")
    # the refusal is made only on an instance the call started itself (check_ray_task_cpus(started_here=True));
    # joined, the same call warns and waits
    assert [line.split()[0] for line in terminated_driver["before"]] == ["refused", "started", "curated"], (
        terminated_driver["before"], terminated_driver["err"][-2000:])
    assert "CPUs at most): each video's task asks for that many CPUs" in terminated_driver["before"][0]
    assert terminated_driver["before"][1] == "started True 127.0.0.1", terminated_driver["err"][-2000:]


def _said(terminated_driver: dict, what: str) -> str:
    """What the child printed after ``what`` (its line for that step)."""
    found = [line[len(what) + 1:] for line in terminated_driver["before"] if line.startswith(what + " ")]
    assert len(found) == 1, (terminated_driver["before"], terminated_driver["err"][-2000:])
    return found[0]


@pytest.mark.slow
def test_local_instance_started_by_genxd_refuses_more_threads_than_it_has_then_curates(terminated_driver):
    """``--ray local``: genxd starts a one-machine Ray instance itself, on 127.0.0.1, and curates on it.

    A task asking for more CPUs than any node has is never scheduled: ``genxd curate --ray local --threads 64``
    on 2 CPUs waited until killed. On the instance genxd started itself nothing else can join: refused up front,
    naming the argument, with nothing written. The refusal comes after the start (the instance's CPUs are asked
    of it), so the instance genxd started for it is the one the second call curates on."""
    import json
    import re

    pytest.importorskip("pycolmap")
    from genxd.curation import read_index

    refused = json.loads(_said(terminated_driver, "refused"))
    assert refused is not None, "curate_dataset(num_threads=1024, ray_address='local') was not refused"
    message, seconds = refused
    assert re.match(r"^num_threads=1024 is more than any node of the Ray cluster has \(\d+ CPUs at most\): each "
                    r"video's task asks for that many CPUs$", message), message
    assert seconds < 60
    root = terminated_driver["root"]
    assert not (root / "refused").exists()
    # the instance genxd started: a one-machine instance on the loopback address, joined by the second call
    assert _said(terminated_driver, "started") == "True 127.0.0.1"
    assert _said(terminated_driver, "curated") == "1 127.0.0.1"
    assert [r["status"] for r in read_index(root / "out")] == ["ok"]


def test_sigterm_during_ray_wait_ends_as_genxd_terminated(terminated_driver):
    assert terminated_driver["ready"], terminated_driver["err"][-2000:]
    assert "genxd: terminated" in terminated_driver["err"], terminated_driver["err"][-2000:]
    assert terminated_driver["returncode"] == 143 and "SIGTERM received" not in terminated_driver["err"]
