"""Which hosts do genxd's commands look up or connect to? (docs/robustness.md, "Nothing reaches the network")

Each command runs in a fresh process with a ``sitecustomize`` hook on ``PYTHONPATH`` that records every
host lookup (``getaddrinfo``, ``gethostbyname*``, ``gethostbyaddr``), ``connect`` / ``connect_ex`` and ``sendto`` /
``sendmsg`` (Python's socket audit events) of every Python process the command starts (Ray's workers and
dashboard included), except loopback addresses and Unix sockets, with the process's argv and the call stack.
``HF_HUB_OFFLINE``, ``TRANSFORMERS_OFFLINE`` (huggingface_hub reads either) and ``RAY_USAGE_STATS_ENABLED`` are
removed from the environment: a user's machine usually sets none of them (CI sets all three). Commands whose extra is missing (ray, gradio) are skipped.

    python benchmarks/audit_network.py --out benchmarks/results/audit_network.json
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LOOPBACK = ("127.0.0.1", "localhost", "::1", "0.0.0.0", "")

HOOK = '''
import json, os, socket, sys, traceback

_LOG = os.environ["GENXD_NETWORK_AUDIT_LOG"]
_LOOPBACK = {loopback!r}


def _record(kind, target):
    host = target[0] if isinstance(target, tuple) and target else target
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str) or host in _LOOPBACK or host.startswith("/"):
        return
    entry = {{"pid": os.getpid(), "kind": kind, "target": repr(target), "argv": sys.argv[:3],
              "stack": [f"{{f.filename}}:{{f.lineno}} {{f.name}}" for f in traceback.extract_stack()[:-2]][-12:]}}
    with open(_LOG, "a") as log:
        log.write(json.dumps(entry) + "\\n")


# Python's audit events, not wrappers of two functions: connect_ex, sendto / sendmsg (UDP) and the gethostby*
# lookups raise them too (a wrapper of socket.getaddrinfo and socket.socket.connect missed those)
_KINDS = {{"socket.getaddrinfo": "lookup", "socket.gethostbyname": "lookup", "socket.gethostbyname_ex": "lookup",
          "socket.gethostbyaddr": "lookup", "socket.connect": "connect", "socket.sendto": "send",
          "socket.sendmsg": "send"}}


def _hook(event, args):
    kind = _KINDS.get(event)
    if kind is None:
        return
    _record(kind, args[0] if kind == "lookup" else args[1])  # lookups: the host; the others: (socket, address)


sys.addaudithook(_hook)
'''


def write_hook(folder: Path) -> Path:
    """A ``sitecustomize.py`` in ``folder`` that records lookups and connections (see the module docstring)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(HOOK.format(loopback=LOOPBACK))
    return folder


def audited_env(hook_dir: Path, log: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "RAY_USAGE_STATS_ENABLED")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(hook_dir), env.get("PYTHONPATH", "")) if p)
    env["GENXD_NETWORK_AUDIT_LOG"] = str(log)
    return env


def read_log(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def genxd_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "genxd", *args]


def _prepare(name: str, work: Path) -> tuple[dict[str, str], Path]:
    """The audited environment of one run and its (emptied) log."""
    log = work / f"{name}.jsonl"
    log.unlink(missing_ok=True)
    return audited_env(write_hook(work / "hook"), log), log


def run_audited(name: str, command: list[str], work: Path, timeout: float = 600) -> dict:
    """Run ``command`` (in ``work``) with the hook; the records of every process it started."""
    env, log = _prepare(name, work)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    return {"name": name, "command": command[2:], "returncode": done.returncode,
            "seconds": round(time.perf_counter() - start, 1), "records": read_log(log),
            "stderr_tail": done.stderr[-500:] if done.returncode else ""}


def run_demo_audited(work: Path, port: int = 7931) -> dict:
    """``genxd demo`` started, its page loaded once, stopped with SIGTERM."""
    env, log = _prepare("demo", work)
    start = time.perf_counter()
    server = subprocess.Popen(genxd_command("demo", "--port", str(port)), cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    status = None
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as page:
                    status = page.status
                break
            except OSError:
                time.sleep(1)
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=120)
    return {"name": "demo", "command": ["demo", "--port", str(port)], "returncode": server.returncode,
            "page_status": status, "seconds": round(time.perf_counter() - start, 1), "records": read_log(log),
            "stderr_tail": err[-500:] if server.returncode else ""}


def audit(work: Path) -> list[dict]:
    image = REPO / "examples" / "scene_a.png"
    results = [
        run_audited("generate", genxd_command("generate", str(image), "-o", "out", "-q"), work),
        run_audited("synth", genxd_command("synth", "clips", "--format", "video", "--kind", "4d", "-n", "1",
                                           "--seed", "2", "--frames", "16", "--size", "128", "-q"), work),
        run_audited("curate", genxd_command("curate", "clips", "--out", "camvid", "-q"), work),
        run_audited("trajectory_from_video", genxd_command("trajectory", "from-video", "clips/synth_4d_000002.mp4",
                                                           "-o", "path.json"), work),
        run_audited("info", genxd_command("info"), work),
    ]
    if importlib.util.find_spec("ray") is not None:
        results.append(run_audited("curate_ray_local", genxd_command("curate", "clips", "--out", "camvid_ray",
                                                                     "--ray", "local", "-q"), work))
    if importlib.util.find_spec("gradio") is not None:
        results.append(run_demo_audited(work))
    return results


def summarise(results: list[dict]) -> list[dict]:
    rows = []
    for r in results:
        hosts = sorted({(rec["kind"], rec["target"], os.path.basename(rec["argv"][0]) if rec["argv"] else "")
                        for rec in r["records"]})
        rows.append({"command": r["name"], "returncode": r["returncode"], "seconds": r["seconds"],
                     "lookups_and_connections": [{"kind": k, "target": t, "process": p} for k, t, p in hosts]})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="write the records (JSON) here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="genxd-network-audit-") as tmp:
        results = audit(Path(tmp))
    rows = summarise(results)
    for row in rows:
        found = row["lookups_and_connections"]
        print(f"{row['command']:>22}: exit {row['returncode']}, {row['seconds']:6.1f} s, "
              + ("nothing" if not found else "; ".join(f"{f['kind']} {f['target']} ({f['process']})" for f in found)))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({"summary": rows, "runs": results}, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
