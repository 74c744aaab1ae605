"""``--ray local`` starts a Ray instance for the run, whatever ``RAY_ADDRESS`` or a running cluster says (found by the
Ray-at-scale audit: ``ray.init()`` without an address joined the cluster named there)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

pytest.importorskip("ray", reason="needs the 'ray' extra: pip install -e '.[ray]'")

SCRIPT = """
from genxd.curation.ray_engine import start_or_join_ray
ray, started = start_or_join_ray("local")
print("started", started, ray.util.get_node_ip_address(), flush=True)
"""


@pytest.mark.slow
def test_ray_local_starts_its_own_instance_whatever_ray_address_says():
    """``ray.init()`` without an address joins the cluster that ``RAY_ADDRESS`` or a running ``ray start --head``
    names: genxd then failed with "When connecting to an existing cluster, object_store_memory must not be
    provided", or waited on an address nothing answers (a head left from an earlier ``ray start``). Here
    ``RAY_ADDRESS`` names a port nothing listens on."""
    with socket.socket() as free:  # a port nothing listens on once closed
        free.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{free.getsockname()[1]}"
    env = {**os.environ, "RAY_ADDRESS": dead}
    try:
        proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired:
        pytest.fail(f"start_or_join_ray('local') waited on RAY_ADDRESS={dead} for 90 s")
    assert proc.returncode == 0 and "started True 127.0.0.1" in proc.stdout, proc.stderr[-2000:]
