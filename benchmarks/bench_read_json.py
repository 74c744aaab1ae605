"""Time of ``genxd.utils.json_files.read_json`` on a small file, and the part of it that
``genxd.utils.file_groups.settle`` (the group-journal check before every read) takes.

Writes a small camera-sized JSON file in a temporary folder (``--folder`` to time another disk), then times ``--reads``
calls of: ``read_json`` as it is; ``read_json`` with ``settle`` replaced by a no-op (what the reads cost without
the journal check); ``settle`` alone; ``os.lstat`` of a missing name (the floor of one file-system look-up). Each
timing is the best of ``--repeats`` runs (the least disturbed by other work on the machine), in microseconds per call.

    python benchmarks/bench_read_json.py --reads 10000 --repeats 5 --out results.json
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, resolve_out, save_figures  # noqa: E402


def _per_call_us(fn, reads: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(reads):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / reads * 1e6


def measure(folder: Path, reads: int, repeats: int) -> dict:
    import genxd.utils.file_groups as file_groups
    from genxd.utils.json_files import read_json

    path = folder / "cameras.json"
    path.write_text('{"fx": 1.0, "fy": 1.0, "cx": 0.5, "cy": 0.5, "height": 64, "width": 64, "cameras": []}')
    missing = str(folder / ".cameras.json.group")
    result = {"read_json_us": _per_call_us(lambda: read_json(path), reads, repeats)}
    settle = file_groups.settle
    file_groups.settle = lambda p, wait=3.0: None  # read_json imports it at each call: the stub is the one used
    try:
        result["read_json_without_settle_us"] = _per_call_us(lambda: read_json(path), reads, repeats)
    finally:
        file_groups.settle = settle
    result["settle_us"] = _per_call_us(lambda: settle(path), reads, repeats)
    result["settle_str_us"] = _per_call_us(lambda: settle(str(path)), reads, repeats)

    def lstat_missing() -> None:
        try:
            os.lstat(missing)
        except FileNotFoundError:
            pass

    result["lstat_missing_us"] = _per_call_us(lstat_missing, reads, repeats)
    result["settle_share_of_read_json"] = result["settle_us"] / result["read_json_us"]
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reads", type=positive_int, default=10_000)
    parser.add_argument("--repeats", type=positive_int, default=5)
    parser.add_argument("--folder", default=None, help="folder to write the small file in (default: a temporary one)")
    parser.add_argument("--out", default=None, help=out_help("bench_read_json"))
    args = parser.parse_args(argv)
    args.out = str(resolve_out(args.out, "bench_read_json"))
    with tempfile.TemporaryDirectory(dir=args.folder) as d:
        figures = measure(Path(d), args.reads, args.repeats)
    save_figures(args.out, args, figures, name_width=32, float_format="10.3f", other_format=">10")


if __name__ == "__main__":
    main()
