"""What ``genxd synth OUT -n N`` does before its first clip, into an empty folder: time and peak memory.

Before 2026-12-07 every clip name of the run was made and looked up in OUT before rendering (``-n 10000000``: two
minutes and 2 GB before the first clip); now only the names OUT holds are checked. The script runs the command
in-process with ``make_clip`` replaced by one that stops the run, so the figures are the preamble alone: wall time
and the peak of Python's allocations (tracemalloc). Run it with another checkout's ``src`` on PYTHONPATH to measure
that one.

    python benchmarks/bench_synth_preamble.py --scenes 1000000 --out results.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, resolve_out, save_figures  # noqa: E402


class FirstClip(Exception):
    """Raised by the stand-in ``make_clip``: the preamble is over."""


def measure(folder: Path, scenes: int, fmt: str) -> dict:
    from typer.testing import CliRunner

    import genxd.data.synthetic as synthetic
    from genxd.cli import app

    def first_clip(*args, **kwargs):
        raise FirstClip

    real, synthetic.make_clip = synthetic.make_clip, first_clip  # synth imports it from there when it runs
    try:
        tracemalloc.start()
        start = time.perf_counter()
        result = CliRunner().invoke(app, ["synth", str(folder / "out"), "-n", str(scenes), "--format", fmt])
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        synthetic.make_clip = real
    if not isinstance(result.exception, FirstClip):
        raise SystemExit(f"the run did not reach its first clip: {result.output[-500:]}")
    return {"scenes": scenes, "format": fmt, "seconds_to_first_clip": seconds, "peak_traced_mb": peak / 2**20}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenes", type=positive_int, default=1_000_000, help="-n of the run (at most 10,000,000)")
    parser.add_argument("--format", choices=("folder", "video"), default="folder")
    parser.add_argument("--out", default=None, help=out_help("bench_synth_preamble"))
    args = parser.parse_args(argv)
    args.out = str(resolve_out(args.out, "bench_synth_preamble"))
    with tempfile.TemporaryDirectory() as d:
        figures = measure(Path(d), args.scenes, args.format)
    save_figures(args.out, args, figures)


if __name__ == "__main__":
    main()
