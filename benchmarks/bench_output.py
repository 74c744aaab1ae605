"""Where benchmark scripts save their JSON results, and how (shared by every ``benchmarks/*.py`` with ``--out``).

- An explicit ``--out FILE`` is written there, replacing an earlier FILE (the reproduce commands in
  ``docs/benchmarks.md`` write the committed records under ``benchmarks/results/`` on purpose).
- Without ``--out``, results go to a new file ``benchmarks/results/local/NAME_YYYYmmdd-HHMMSS.json`` (UTC;
  ``_2``, ``_3`` ... added when that name is taken), a git-ignored folder, so a casual run never replaces an
  earlier run's file nor a committed record.
- Every write is atomic (``genxd.utils.io``): an interrupted run leaves the old file or the new one complete.

Argument checks shared by the scripts (bad arguments: argparse's one-line ``error:`` and exit 2, nothing written):
``positive_int`` (an argparse ``type=``), ``comma_choices`` (a comma-separated option of known names),
``check_out`` (``--out`` must not be a folder) and ``check_exists`` (input files). The local-Ray benchmarks share
their arguments and results file: ``local_ray_parser``, ``parse_local_ray``, ``save_local_ray``.

Scripts import it as a sibling::

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_output import default_out, save_json  # noqa: E402
"""

from __future__ import annotations

import argparse
import atexit
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
LOCAL = ROOT / "benchmarks" / "results" / "local"
OUT_HELP = ("JSON file for the results, replaced if it exists (default: a new "
            "benchmarks/results/local/{name}_<UTC time>.json, git-ignored)")

_reserved: list[Path] = []  # placeholders made by default_out, removed at exit if nothing was saved in them


def _now() -> float:
    return time.time()


def out_help(name: str) -> str:
    """The ``--out`` help text of script ``name``."""
    return OUT_HELP.format(name=name)


def _drop_empty_placeholders() -> None:
    for path in _reserved:
        try:
            if path.stat().st_size == 0:
                path.unlink()
        except OSError:
            pass


def default_out(name: str) -> Path:
    """A new results file ``benchmarks/results/local/<name>_<UTC YYYYmmdd-HHMMSS>[_N].json``.

    The name is reserved by creating the file empty (exclusively), so two calls in the same second, in
    this process or another, get distinct paths; a placeholder nothing was saved in is removed at exit.
    """
    folder = LOCAL
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(_now()))
    n = 1
    while True:
        path = folder / (f"{name}_{stamp}.json" if n == 1 else f"{name}_{stamp}_{n}.json")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            n += 1
            continue
        if not _reserved:
            atexit.register(_drop_empty_placeholders)
        _reserved.append(path)
        return path


def resolve_out(out: str | os.PathLike | None, name: str) -> Path:
    """``--out`` as a path: the one given, or :func:`default_out` of ``name`` when it is ``None``."""
    return Path(out) if out is not None else default_out(name)


def save_json(path: str | os.PathLike, obj: Any, *, indent: int | None = 2,
              default: Callable[[Any], Any] | None = None, quiet: bool = False) -> Path:
    """Write ``obj`` as JSON to ``path`` atomically (replacing an existing file), creating its folder.

    ``default`` is passed to ``json.dumps`` (e.g. ``str`` for values JSON cannot hold). Prints
    ``saved <path>`` unless ``quiet`` (used for partial results written during a run).
    """
    from genxd.utils.io import atomic_file, write_json_atomic  # both in every genxd tree (PYTHONPATH=before/src)

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if default is None:
        write_json_atomic(path, obj, overwrite=True, indent=indent)
    else:
        text = json.dumps(obj, indent=indent, default=default) + "\n"
        with atomic_file(path) as tmp:
            tmp.write_text(text)
    if not quiet:
        print(f"saved {path}", flush=True)
    return path


def save_figures(out: str | os.PathLike, args: argparse.Namespace, figures: dict[str, Any], *, name_width: int = 24,
                 float_format: str = "", other_format: str = "") -> dict[str, Any]:
    """Print ``figures`` one a line (the name padded to ``name_width``; floats with ``float_format``, other values as
    text with ``other_format``), then save them with the run's arguments and machine (Python, architecture, CPU count)
    as JSON to ``out`` (:func:`save_json`). Returns what was saved."""
    for name, value in figures.items():
        shown = format(value, float_format) if isinstance(value, float) else format(str(value), other_format)
        print(f"{name:{name_width}s} {shown}")
    result = {"args": vars(args), "python": sys.version.split()[0], "machine": platform.machine(),
              "cpus": os.cpu_count(), "figures": figures}
    save_json(out, result, indent=1)
    return result


def positive_int(text: str) -> int:
    """argparse ``type=`` for counts: an integer of at least 1 (``--repeats 0`` is a usage error, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_ints(text: str) -> list[int]:
    """argparse ``type=`` for comma-separated counts (``--tasks 2000,20000``): each an integer of at least 1."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated integers of at least 1, got {text!r}")
    return [positive_int(part) for part in parts if part]


def comma_choices(parser: argparse.ArgumentParser, option: str, text: str, valid) -> list[str]:
    """The comma-separated names of ``option`` (empty items dropped); unknown or no names: ``parser.error``."""
    valid = list(valid)
    items = [p.strip() for p in text.split(",") if p.strip()]
    bad = [p for p in items if p not in valid]
    if bad or not items:
        what = f"unknown {', '.join(repr(p) for p in bad)}" if bad else "nothing given"
        parser.error(f"{option}: {what} (valid: {', '.join(valid)})")
    return items


def add_render_dtype(parser: argparse.ArgumentParser, what: str = "the clips") -> None:
    """``--render-dtype float32|float64``: the precision synthetic clips are traced in (``make_clip``'s
    ``render_dtype``); the value is a name, ``getattr(torch, args.render_dtype)`` gives the dtype."""
    parser.add_argument("--render-dtype", choices=("float32", "float64"), default="float32",
                        help=f"what {what} are traced in: float64 gives the same 8-bit frames on every CPU tried (and "
                             "machine-independent figures, docs/benchmarks.md); float32 (the default, the recorded "
                             "figures unless a command says otherwise) moves in the last bits with the CPU's kernels")


def check_out(parser: argparse.ArgumentParser, out: str | os.PathLike | None, option: str = "--out") -> None:
    """``parser.error`` when ``--out`` names an existing folder (results go to a file)."""
    if out is not None and Path(out).is_dir():
        parser.error(f"{option} {out}: is a folder; give a file name (e.g. {Path(out) / 'results.json'})")


def check_exists(parser: argparse.ArgumentParser, option: str, paths) -> None:
    """``parser.error`` for the first of ``paths`` that does not exist."""
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        if not Path(path).exists():
            parser.error(f"{option} {path}: no such file or folder")


def local_ray_parser(description: str) -> argparse.ArgumentParser:
    """The arguments every local-Ray benchmark takes: ``--tasks`` (comma-separated task counts) and ``--cpus``; the
    script adds its own, then calls :func:`parse_local_ray`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tasks", type=positive_ints, default=[2000, 20000],
                        help="comma-separated task counts, each at least 1 (default 2000,20000)")
    parser.add_argument("--cpus", type=positive_int, default=2, help="CPUs of the local Ray instance (at least 1)")
    return parser


def parse_local_ray(parser: argparse.ArgumentParser, name: str, argv: list[str] | None = None) -> argparse.Namespace:
    """``--out`` (of script ``name``) added last, the arguments parsed (``argv``, default the command line's), and
    Ray's environment set before it is imported (no usage statistics, no Windows/macOS cluster)."""
    parser.add_argument("--out", default=None, help=out_help(name))
    args = parser.parse_args(argv)
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    return args


def save_local_ray(args: argparse.Namespace, rows: list[dict[str, Any]], name: str) -> Path:
    """Save a local-Ray benchmark's ``rows`` with Ray's version, ``--cpus``, the machine and the arguments (``out``
    resolved: :func:`resolve_out`)."""
    import ray

    result = {"ray": ray.__version__, "cpus": args.cpus, "machine": platform.processor() or platform.machine(),
              "rows": rows, "args": vars(args)}
    args.out = str(resolve_out(args.out, name))  # in result["args"] too: vars() is the namespace's own dict
    return save_json(args.out, result, indent=1)


__all__ = ["LOCAL", "check_exists", "check_out", "comma_choices", "default_out", "launch_port", "local_ray_parser",
           "out_help", "parse_local_ray", "positive_int", "resolve_out", "row_in_fresh_process", "save_json",
           "save_local_ray"]


def row_in_fresh_process(args: list[str]) -> dict[str, Any]:
    """Run ``python ARGS`` (a benchmark measuring one setting in a fresh process, where memory a process rarely gives
    back cannot leak into the next setting) and return the JSON object on its last stdout line; a failed run ends
    the benchmark with the end of its stderr."""
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ephemeral_ports() -> tuple[int, int]:
    """The range the kernel hands out for ``bind(port 0)`` and outgoing connections (Linux: 32768-60999)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def launch_port() -> int:
    """A free TCP port on 127.0.0.1 for ``accelerate launch --main_process_port``, below the kernel's ephemeral range.

    A port from ``bind(port 0)`` lies in that range, where, between this call and the launch binding it, the kernel
    can give it to another launch's gloo listener or connection (the test suite runs two-process launches side by
    side), and a process of this launch can then reach the wrong socket. The likely cause of two unexplained CI
    failures under load, each passing alone: a two-process training test hanging for its 300 s (13 s alone), and the
    scaling benchmark's launch dying by SIGABRT. The kernel never hands out ports below the range."""
    low, _ = _ephemeral_ports()
    rng = random.Random()  # not the tests' seeded global generator: xdist workers must not pick alike
    for _ in range(200):
        port = rng.randrange(20000, max(20001, low))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # everything below the range taken: the kernel's choice
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
