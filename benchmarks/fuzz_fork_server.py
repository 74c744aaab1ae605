"""A fork server for the input fuzzer's workers (``benchmarks/fuzz_inputs.py``): one process imports the workers'
heavy libraries once (torch, diffusers, genxd's model code and command line: 6-10 s of CPU on a shared 2-core
machine), then forks each worker from itself, so a worker starts with those modules imported and nothing else
done: no case read, no target's code run (each worker still reads the cases of one target only, as a process
started afresh does). For a caller that starts many workers in one process (the tests: one or more per fuzz
test); ``fuzz_inputs.py``'s command line starts each worker afresh.

The server forks only while it is single-threaded (it checks: a fork copies one thread, and a lock another
thread held would stay locked in the worker) and with the workers' thread settings (``OMP_NUM_THREADS``). Each
worker gets the caller's environment and working folder of the moment it is asked for; what the preloaded
modules read from the environment when imported was read when the server started.

Protocol (a Unix ``SOCK_SEQPACKET`` socket pair, one JSON message each way per request): ``spawn`` passes the
worker's stdin and stdout (file descriptors) and gets its process id; ``wait`` gets its exit status (``kill``:
killed first), which the server reaps.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

__all__ = ["ForkServer", "ForkedWorker", "NotSingleThreaded", "serve", "PRELOAD"]

#: what the server imports before forking: what the heavier targets' readers import (genxd.api: torch,
#: diffusers, the pipelines; genxd.cli: the typer app)
PRELOAD = ("genxd.api", "genxd.cli")
#: the largest message (bytes) either side reads: a request carries the worker's environment
_MESSAGE = 1 << 17
_FUZZ_INPUTS = Path(__file__).resolve().parent / "fuzz_inputs.py"
#: how the server's refusal to fork begins (:func:`serve`)
_NOT_SINGLE_THREADED = b"not single-threaded"


class NotSingleThreaded(RuntimeError):
    """The server did not start: importing the preloaded modules started threads here (a torch build, a library
    or an environment that does), so forking from it is unsafe. Start the workers afresh instead."""


class ForkServer:
    """The runner's side: starts the server process (``fuzz_inputs.py --fork-server``) and asks it for workers."""

    def __init__(self, threads: int = 1, preload: tuple[str, ...] = PRELOAD, timeout: float = 300.0) -> None:
        self.threads = threads
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), PYTHONUNBUFFERED="1")
        with theirs:
            self.proc = subprocess.Popen(
                [sys.executable, str(_FUZZ_INPUTS), "--fork-server", ",".join(preload), "--fd", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, env=env)
        self.sock = ours
        self.sock.settimeout(timeout)
        try:
            ready = self.sock.recv(_MESSAGE)
        except OSError:
            ready = b""
        if ready != b"ready":
            self.close()
            kind = NotSingleThreaded if ready.startswith(_NOT_SINGLE_THREADED) else RuntimeError
            raise kind(f"fuzz fork server did not start ({ready[:200]!r})")
        self.sock.settimeout(None)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def _ask(self, request: dict[str, Any], fds: tuple[int, ...] = ()) -> dict[str, Any]:
        data = json.dumps(request).encode()
        if len(data) >= _MESSAGE:
            raise RuntimeError(f"fuzz fork server: a request of {len(data)} bytes (the environment?) is past "
                               f"{_MESSAGE}")
        try:
            socket.send_fds(self.sock, [data], list(fds))
            reply = self.sock.recv(_MESSAGE)
        except OSError as exc:
            raise RuntimeError(f"fuzz fork server exited ({exc})") from None
        if not reply:
            raise RuntimeError("fuzz fork server exited")
        answer = json.loads(reply)
        if "error" in answer:
            raise RuntimeError(f"fuzz fork server: {answer['error']}")
        return answer

    def spawn(self, argv: list[str], env: dict[str, str]) -> "ForkedWorker":
        """A worker forked from the server, running ``fuzz_inputs.py ARGV`` (``--worker MODULE:TARGET ...``) with
        ``env`` and this process's working folder, its stdin and stdout piped here."""
        child_in, to_child = os.pipe()
        from_child, child_out = os.pipe()
        try:
            pid = self._ask({"op": "spawn", "argv": argv, "env": env, "cwd": os.getcwd()}, (child_in, child_out))["pid"]
        except BaseException:
            for fd in (to_child, from_child):
                os.close(fd)
            raise
        finally:
            os.close(child_in)
            os.close(child_out)
        return ForkedWorker(self, pid, os.fdopen(to_child, "w"), os.fdopen(from_child, "r"))

    def exit_code(self, pid: int, block: bool, kill: bool = False) -> int | None:
        """The worker's exit status as :meth:`subprocess.Popen.poll` gives it (``-N``: killed by signal N); None
        while it runs (``block=False``)."""
        return self._ask({"op": "wait", "pid": pid, "block": block, "kill": kill})["code"]

    def close(self) -> None:
        self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class ForkedWorker:
    """A forked worker, with the part of :class:`subprocess.Popen`'s interface the fuzzer's ``Worker`` uses."""

    def __init__(self, server: ForkServer, pid: int, stdin, stdout) -> None:
        self.server, self.pid, self.stdin, self.stdout = server, pid, stdin, stdout
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.server.exit_code(self.pid, block=False)
        return self.returncode

    def kill(self) -> None:
        if self.returncode is None:
            self.returncode = self.server.exit_code(self.pid, block=True, kill=True)

    def wait(self) -> int:
        if self.returncode is None:
            self.returncode = self.server.exit_code(self.pid, block=True)
        for stream in (self.stdin, self.stdout):
            try:
                stream.close()
            except OSError:  # a write to a dead worker left unflushed
                pass
        return self.returncode


# -- the server's side ------------------------------------------------------------------------------------------

def _threads() -> int:
    return len(os.listdir("/proc/self/task"))


def serve(fd: int, preload: list[str], worker_main: Callable[[list[str]], None]) -> None:
    """Import ``preload``, then answer requests on the socket ``fd`` until the runner closes it. A worker runs
    ``worker_main(argv)`` (``fuzz_inputs.py``'s own ``main``) and exits with its status."""
    from genxd.cli.common import DEFERRED_IMPORTS, import_libraries

    sock = socket.socket(fileno=fd)
    import_libraries(*preload, defer=DEFERRED_IMPORTS)
    if _threads() != 1:
        sock.send(_NOT_SINGLE_THREADED + f" after importing {preload}: {_threads()} threads".encode())
        return
    sock.send(b"ready")
    while True:
        message, fds, flags, _ = socket.recv_fds(sock, _MESSAGE, 2)
        if not message:
            return
        try:
            if flags & socket.MSG_TRUNC:
                raise ValueError(f"a request past {_MESSAGE} bytes")
            request = json.loads(message)
            if request["op"] == "spawn":
                reply: dict[str, Any] = {"pid": _fork(sock, fds, request, worker_main)}
            else:
                pid = request["pid"]
                if request["kill"]:
                    os.kill(pid, signal.SIGKILL)
                done, status = os.waitpid(pid, 0 if request["block"] else os.WNOHANG)
                reply = {"code": os.waitstatus_to_exitcode(status) if done else None}
        except Exception as exc:  # noqa: BLE001 - told to the runner, which raises it
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        finally:
            for f in fds:
                os.close(f)
        sock.send(json.dumps(reply).encode())


def _fork(sock: socket.socket, fds: list[int], request: dict[str, Any], worker_main) -> int:
    if _threads() != 1:  # nothing the server runs starts threads; checked, since a fork would copy one
        raise RuntimeError(f"the server has {_threads()} threads: no fork")
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:  # the worker: never returns into the server's loop
        sock.close()
        os.dup2(fds[0], 0)
        os.dup2(fds[1], 1)
        for f in fds:
            os.close(f)
        sys.stdin = open(0, "r", closefd=False)  # noqa: SIM115 - the process's own streams
        sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        worker_main(request["argv"])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - as an uncaught exception ends a process started afresh
        code = 1
    finally:
        try:
            sys.stdout.flush()
        finally:
            os._exit(code)
