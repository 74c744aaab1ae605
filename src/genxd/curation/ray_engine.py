"""The Ray engine of :func:`genxd.curation.curate_dataset` (``genxd curate --ray ADDRESS``): start or join a Ray
instance, check what it can run, and curate one video per Ray task.

Addresses: ``local`` (a one-machine instance started here, on 127.0.0.1, no dashboard, a small object store),
``auto`` (the instance running on this machine), ``HOST:PORT`` or ``ray://HOST:PORT``. Everything that can be
checked is checked before the caller writes anything (the address answers, the tasks fit a node).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
import uuid
import warnings
from pathlib import Path
from typing import Any, Callable, Iterator

from ..validation import GenXDWarning, arg, caller, setting, text_setting
from ..utils.extras import install_extra
from .frames import VideoSource
from .pipeline import CurationConfig, video_record
from .task_window import tasks_in_flight

__all__ = ["LOCAL_RAY_OBJECT_STORE_BYTES", "RAY_CANCEL_AGAIN_S", "RAY_CANCEL_WAIT_S", "RAY_CONNECT_TIMEOUT_S",
           "cancel_tasks", "check_ray_address", "check_ray_task_cpus", "finished_tasks", "import_ray",
           "ray_auto_address", "ray_tasks_in_flight", "ray_token_hint", "run_ray", "start_or_join_ray"]


#: Seconds to wait for a TCP connection to a ``--ray host:port`` address before giving up.
RAY_CONNECT_TIMEOUT_S = 5.0


def check_ray_address(address: str, timeout: float = RAY_CONNECT_TIMEOUT_S) -> None:
    """For a ``host:port`` (or ``ray://host:port``) Ray address, raise a one-line ``ValueError`` naming ``--ray``
    (``ray_address`` from Python) unless the port is 1-65535 and something accepts a TCP connection there within
    ``timeout`` seconds (``ray.init`` itself retries for minutes). For ``auto`` the same for the address Ray would
    join (:func:`ray_auto_address`: ``RAY_ADDRESS``, else the cluster Ray recorded as last started on this
    machine). ``local``, ``ray://`` addresses without a port, and ``auto`` where Ray finds nothing are left to Ray;
    any other address without a port is none Ray reads (its "Invalid address format", which the token hint of
    :func:`ray_token_hint` followed)."""
    if address == "local":
        return
    if address != "auto" and not address.startswith("ray://") and ":" not in address:
        raise ValueError(f"{text_setting('ray_address', address)}: not a Ray address (HOST:PORT, ray://HOST:PORT, auto "
                         "for the instance running on this machine, or local to start one for this run)")
    source = ""
    if address == "auto":
        found = ray_auto_address()
        if found is None:
            return
        address_to_check, source = found
    else:
        address_to_check = address
    rest = address_to_check[len("ray://"):] if address_to_check.startswith("ray://") else address_to_check
    if ":" not in rest:
        return
    host, _, port_text = rest.rpartition(":")
    host = host.strip("[]")  # [::1]:6379
    try:
        port = int(port_text)
    except ValueError:
        port = -1
    where = text_setting("ray_address", address) + (f" ({source})" if source else "")
    if not 1 <= port <= 65535:
        raise ValueError(f"{where}: the port must be an integer 1-65535, got {port_text!r}")
    if not host:
        raise ValueError(f"{where}: no host before the port (host:port, ray://host:port, local or auto)")
    _check_answers(where, host, port, timeout)


def _check_answers(where: str, host: str, port: int, timeout: float) -> None:
    """Raise a one-line ``ValueError`` starting with ``where`` unless ``host:port`` accepts a TCP connection."""
    import socket

    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        why = "no answer" if isinstance(exc, socket.timeout) else (exc.strerror or type(exc).__name__)
        raise ValueError(f"{where}: nothing answers at {host}:{port} within {timeout:g} s ({why}); "
                         "is the Ray head running and reachable?") from None


def ray_auto_address() -> tuple[str, str] | None:
    """``(address, where it comes from)``: the cluster ``ray.init(address="auto")`` joins, found as Ray finds it
    (``RAY_ADDRESS``; else the address the last ``ray start --head`` on this machine recorded, which stays after
    the head dies, or a running head's); None where Ray finds none (its own error then says so) or cannot say.

    ``ray.init`` retries a dead address for about two minutes with no word (Ray 2.60: ``RAY_ADDRESS`` naming a
    port nothing listens on, or a head that crashed), where ``--ray HOST:PORT`` fails in 5 s."""
    named = os.environ.get("RAY_ADDRESS", "")
    try:
        from ray._private.services import get_ray_address_from_environment  # Ray's own search for "auto"

        found = get_ray_address_from_environment("auto", None)
    except Exception:  # noqa: BLE001 - no running instance (ConnectionError), or a Ray without this function
        return None
    if not isinstance(found, str) or found in ("auto", "local"):
        return None
    if named and found == named:
        return found, f"RAY_ADDRESS={named}"
    return found, "the address Ray recorded for the last `ray start --head` on this machine"


def largest_ray_node_cpus(ray) -> float | None:
    """The most CPUs any live node of the Ray cluster has (None when Ray does not say)."""
    try:
        return max((node.get("Resources", {}).get("CPU", 0.0) for node in ray.nodes() if node.get("Alive")),
                   default=None)
    except Exception:  # noqa: BLE001 - an older or remote Ray that cannot list its nodes: do not check
        return None


#: Object store of a Ray instance started by ``--ray local``: tasks move only paths and records.
LOCAL_RAY_OBJECT_STORE_BYTES = 128 * 1024**2


def import_ray(local: bool = False):
    """Import ray; for ``local`` (a one-machine instance started here) first ask it to stay on the
    loopback address and send no usage statistics (environment, read when ray is first imported)."""
    if local:
        import sys

        if "ray" not in sys.modules:
            # ray reads these at import: with clusters "disabled" the node address is 127.0.0.1 and its
            # servers bind there instead of all interfaces (ray._private.services.get_node_ip_address)
            os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        import ray
    except ImportError:
        raise ValueError(f"{arg('ray_address')} needs the 'ray' package: {install_extra('ray')}") from None
    return ray


def ray_task_threads(config: CurationConfig) -> int:
    return config.num_threads if config.num_threads > 0 else 1


def start_or_join_ray(address: str):
    """``(ray, started)``: the ``ray`` module, initialised at ``address`` (a connection made by the caller is
    used as it is); ``started`` when this call started a local instance (``"local"``)."""
    ray = import_ray(local=address == "local")  # fails early with a clear message
    if ray.is_initialized():
        return ray, False
    check_ray_address(address)  # ray.init itself retries for minutes
    try:
        with _sigterm_kept():
            if address == "local":  # "local", not None: a new instance, whatever RAY_ADDRESS or a running
                # cluster (`ray start --head`: Ray's /tmp/ray/ray_current_cluster) says; with None ray.init joined
                # that cluster and refused ("When connecting to an existing cluster, object_store_memory must not
                # be provided"), or waited on a dead address (Ray-at-scale audit)
                ray.init(address="local", include_dashboard=False, log_to_driver=False,
                         object_store_memory=LOCAL_RAY_OBJECT_STORE_BYTES)
            else:
                ray.init(address=address, log_to_driver=False)
    except Exception as exc:  # noqa: BLE001 - ConnectionError, RuntimeError, ...
        if address == "auto" and "Could not find any running Ray instance" in str(exc):  # Ray's words name its CLI
            raise ValueError(f"{text_setting('ray_address', address)}: no running Ray instance found on this machine; start one (ray start "
                             "--head), give its address (HOST:PORT), or use 'local' to start one for this run") from None
        raise ValueError(f"cannot start or reach Ray at {address!r}: {exc}{ray_token_hint(address)}") from None
    return ray, address == "local"


@contextlib.contextmanager
def _sigterm_kept() -> Iterator[None]:
    """Put this process's SIGTERM handling back after the block (main thread only: signals are set there).

    ``ray.init`` installs its C-level failure handler for SIGTERM in the driver: a ``kill`` of ``genxd curate
    --ray local`` (a scheduler's time limit, ``docker stop``) printed a C stack trace and exited 15 instead of
    ``genxd: terminated`` (143) and the cleanup of :func:`genxd.cli.process_exit.stop_cleanly_on_sigterm`
    (found by the curation-at-scale audit; :func:`genxd.utils.pycolmap_import.load_pycolmap` does the same for
    pycolmap)."""
    before = signal.getsignal(signal.SIGTERM) if threading.current_thread() is threading.main_thread() else None
    try:
        yield
    finally:
        if before is not None:
            signal.signal(signal.SIGTERM, before)  # re-installs Python's C-level handler over Ray's


def ray_token_hint(address: str) -> str:
    """What to try when joining the cluster at ``address`` failed and token authentication may be why.

    Ray has token authentication since 2.52; since 2.59 a local ``ray.init()`` (``--ray local``) turns it on and
    writes ``~/.ray/auth_token``, ``ray start --head`` turns it on where such a token exists (Ray's docs: from 2.61
    on every cluster). A driver sends its token to a cluster it finds itself (``auto`` without ``RAY_ADDRESS``)
    but not to an address it is given (``HOST:PORT``, or ``auto`` with ``RAY_ADDRESS`` set) unless
    ``RAY_AUTH_MODE=token`` is set; without it ``ray.init`` says only "Failed to connect" after 20 s of retries
    (Ray 2.60, joining a ``ray start --head`` cluster by its address). Empty for ``local``, ``auto`` without
    ``RAY_ADDRESS``, when ``RAY_AUTH_MODE`` is set, and on Ray versions without token authentication."""
    if address == "local" or os.environ.get("RAY_AUTH_MODE"):
        return ""
    if address == "auto" and os.environ.get("RAY_ADDRESS", "") in ("", "auto", "local"):
        return ""
    import importlib.util

    try:
        has_tokens = importlib.util.find_spec("ray._private.authentication") is not None
    except (ImportError, ValueError):
        has_tokens = False
    if not has_tokens:
        return ""
    return ("; if the cluster uses token authentication, set RAY_AUTH_MODE=token with the cluster's token in "
            "~/.ray/auth_token, RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH: Ray sends it only to a cluster it finds "
            "itself ('auto' without RAY_ADDRESS), not to an address it is given (HOST:PORT or RAY_ADDRESS)")


def check_ray_task_cpus(ray, config: CurationConfig, started_here: bool) -> None:
    """Each video's task asks Ray for ``num_threads`` CPUs, and a task no node can hold is never scheduled: Ray
    waits (a ``--threads 64`` on a 2-CPU ``--ray local`` hung until killed). On the instance genxd started
    itself nothing else can join: an error. On a cluster an autoscaler may still add such a node (a head
    started with ``--num-cpus 0`` has none of its own): one warning, and the tasks wait."""
    threads = ray_task_threads(config)
    largest = largest_ray_node_cpus(ray)
    if largest is None or threads <= largest:
        return
    what = f"{setting('num_threads', threads)} is more than any node of the Ray cluster has ({largest:g} CPUs at most)"
    if started_here:
        raise ValueError(f"{what}: each video's task asks for that many CPUs")
    warnings.warn(GenXDWarning(f"{what}: each video's task asks for that many CPUs and waits until a node that "
                               "has them joins (an autoscaler may add one)"), stacklevel=3)


def run_ray(todo: list[VideoSource], out_dir: Path, config: CurationConfig, ray, task: Callable[..., dict[str, Any]],
            done: Callable[[dict[str, Any]], None], clean_parts: Callable[[Path], object] | None = None) -> None:
    """One Ray task per video; Ray schedules them over the cluster. ``out_dir`` must be shared.

    ``ray``: the module, started or joined by :func:`start_or_join_ray`. ``task``: the function each Ray task runs
    (``genxd.curation.dataset._curate_task``: ``(source, out_dir, config, on_stage, caller, marker) -> record``);
    ``done``: called with each video's record as it finishes. A task whose worker dies (killed, out of memory,
    node lost) is run again once by Ray (``max_retries=1``; errors raised by the task itself are not retried),
    then recorded as failed. At most :func:`ray_tasks_in_flight` tasks are submitted at a time, the next ones as
    those finish: the driver's memory does not grow with the number of videos. When the run stops early (Ctrl-C,
    SIGTERM, an error in ``done``) its tasks still on the cluster are cancelled (:func:`cancel_tasks`) and
    ``clean_parts(out_dir)`` removes the temporary folders of the videos they left half-written.
    """
    from dataclasses import replace

    threads = ray_task_threads(config)
    task_config = replace(config, num_threads=threads)
    remote = ray.remote(num_cpus=threads, max_retries=1)(task)
    marker = out_dir / f".genxd-run-{uuid.uuid4().hex[:12]}"  # seen by a task only where out_dir is shared
    marker.write_text("a genxd curate run writes here; removed when it ends\n")
    out_text, caller_name = str(out_dir.resolve()), caller()
    # absolute paths: a worker's working folder is not the driver's (on another node, or started earlier)
    todo = [replace(source, path=Path(os.path.abspath(source.path))) for source in todo]
    submitted = 0  # todo[:submitted] are submitted
    pending: dict[Any, VideoSource] = {}  # at most ray_tasks_in_flight(...) tasks at a time
    try:
        while True:
            if submitted < len(todo):  # the cluster's size asked only while videos remain
                room = max(0, ray_tasks_in_flight(ray, threads) - len(pending))
                for source in todo[submitted:submitted + room]:
                    ref = remote.remote(source, out_text, task_config, None, caller_name, marker.name)
                    pending[ref] = source
                submitted = min(len(todo), submitted + room)
            if not pending:
                break
            ready, _ = finished_tasks(ray, list(pending))
            for ref in ready:
                source = pending.pop(ref)
                try:
                    record = ray.get(ref)
                except Exception as exc:  # noqa: BLE001 - task or node failure after retries
                    record = video_record(source, "failed", stage="ray", reason=f"{type(exc).__name__}: {exc}")
                done(record)
    except BaseException:  # Ctrl-C, SIGTERM (genxd.cli.process_exit.Terminated), an error in done()
        # a task that did not end within the wait may still write its temporary folder: those are left to the next
        # run, which removes stale ones under its lock before anything runs
        if cancel_tasks(ray, list(pending)) and clean_parts is not None:
            clean_parts(out_dir)
        raise
    finally:
        marker.unlink(missing_ok=True)


#: Seconds :func:`cancel_tasks` waits for cancelled tasks to end (their workers killed) before going on.
RAY_CANCEL_WAIT_S = 10.0
#: Seconds between two cancellations of the tasks that have not ended yet, within :data:`RAY_CANCEL_WAIT_S`.
RAY_CANCEL_AGAIN_S = 0.5


def cancel_tasks(ray, refs: list, wait_s: float | None = None) -> bool:
    """Cancel the Ray tasks ``refs`` (queued ones dropped, running ones' workers killed: ``force=True``) and wait
    up to ``wait_s`` seconds (:data:`RAY_CANCEL_WAIT_S`) for them to end, so that none writes into the output folder
    afterwards. Returns whether all of them ended within the wait.

    Ray ends a driver's tasks when the driver exits, but not when it goes on: from Python, on a connection the
    caller made (``ray.init`` before :func:`genxd.curation.curate_dataset`), an error or Ctrl-C left up to
    :func:`ray_tasks_in_flight` videos curating on the cluster into the folder after the run had stopped and
    released its lock; and ``genxd curate`` left the half-written folders of the videos at work (found by the
    Ray-joining audit).

    The tasks not yet ended are cancelled again every :data:`RAY_CANCEL_AGAIN_S` seconds of the wait: a task handed
    to a worker as it is cancelled (the worker the finished video just freed) is not yet running there, and Ray 2.60
    lets it run to its end (5 of 50 runs stopped after their first video, on a 2-core machine beside test runs: a cancelled
    task wrote its video, after the wait when the video took longer than it); cancelled again once it runs, its
    worker is killed (0 of 50; ``benchmarks/bench_ray_cancel.py``)."""
    if not refs:
        return True
    end = time.monotonic() + (RAY_CANCEL_WAIT_S if wait_s is None else wait_s)
    pending = list(refs)
    while True:
        for ref in pending:
            try:
                ray.cancel(ref, force=True)
            except Exception:  # noqa: BLE001 - finished meanwhile, or a Ray (client) that cannot force: best effort
                continue
        left = end - time.monotonic()
        if left <= 0:
            return False
        try:
            _, pending = ray.wait(pending, num_returns=len(pending), timeout=min(RAY_CANCEL_AGAIN_S, left))
        except Exception:  # noqa: BLE001 - the connection is going away: whether they ended is unknown
            return False
        if not pending:
            return True


def ray_tasks_in_flight(ray, threads: int) -> int:
    """How many video tasks to keep submitted: :func:`~genxd.curation.task_window.tasks_in_flight` of the tasks the
    cluster's CPUs can run at once (``threads`` CPUs each; asked again on every refill, so that nodes an autoscaler
    adds get work). Every submitted task holds about 10 KB in the driver and its queue on the cluster: submitting
    all 20,000 no-op tasks at once took the driver from 144 to 351 MiB, a window at a time to 170 MiB (2,000: 159;
    ``benchmarks/bench_ray_memory.py``)."""
    try:
        cpus = float(ray.cluster_resources().get("CPU", 0.0))
    except Exception:  # noqa: BLE001 - a Ray that cannot say: the floor
        cpus = 0.0
    return tasks_in_flight(int(cpus // max(threads, 1)))


def finished_tasks(ray, pending: list) -> tuple[list, list]:
    """``(finished, still pending)`` of the Ray object refs ``pending``: waits for one, then takes every other one
    finished by then. Each ``ray.wait`` costs time in proportion to the refs it is given, so one call per finished
    task is quadratic in the number of videos: 20,000 no-op tasks on 2 CPUs took 40.3 s to collect one at a time
    and 17.4 s this way (``benchmarks/bench_ray_collect.py``; a wait with a timeout instead of the first blocking
    one polls the whole list several times a second while long tasks run)."""
    ready, rest = ray.wait(pending, num_returns=1)
    if rest:
        more, rest = ray.wait(rest, num_returns=len(rest), timeout=0)
        ready = ready + more
    return ready, rest
