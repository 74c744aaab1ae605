"""The web demo's upload budget check (``genxd.demo.upload_budget.UploadBudget``) with many files in Gradio's folder.

Before 2026-12-07 every upload walked Gradio's upload folder (``os.walk`` and ``lstat`` of every file:
``genxd.demo.workdir.folder_bytes``); now a check uses a running count and walks the folder only when the last walk
is ``refresh_s`` old or the count is near the budget. This script fills a temporary folder with ``--files`` small
files in Gradio's layout (one folder a file) and times, best of ``--repeats`` in milliseconds per call: the walk
(what each upload cost before, and what one refresh costs now), and a check that needs no walk (what an upload costs
between refreshes).

    python benchmarks/bench_upload_budget.py --files 10000 --repeats 20 --out results.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, resolve_out, save_figures  # noqa: E402


def _best_ms(fn, calls: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, time.perf_counter() - start)
    return best / calls * 1e3


def measure(folder: Path, files: int, repeats: int) -> dict:
    from genxd.demo.upload_budget import UploadBudget
    from genxd.demo.workdir import folder_bytes

    for i in range(files):  # Gradio keeps each upload in a folder named by its hash
        (folder / f"{i:08x}").mkdir()
        (folder / f"{i:08x}" / "image.png").write_bytes(b"x" * 100)
    budget = UploadBudget(app=None, folder=folder, max_bytes=2**40, clock=lambda: 0.0)
    budget._walked, budget._walked_at = folder_bytes(folder), 0.0  # a fresh walk: checks need none until refresh_s

    def check_without_walk() -> None:
        assert not budget._needs_walk(2**20)
        budget.on_disk()

    return {"files": files, "walk_ms": _best_ms(lambda: folder_bytes(folder), 1, repeats),
            "check_without_walk_ms": _best_ms(check_without_walk, 1000, repeats), "refresh_s": budget.refresh_s}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=positive_int, default=10_000)
    parser.add_argument("--repeats", type=positive_int, default=20)
    parser.add_argument("--out", default=None, help=out_help("bench_upload_budget"))
    args = parser.parse_args(argv)
    args.out = str(resolve_out(args.out, "bench_upload_budget"))
    with tempfile.TemporaryDirectory() as d:
        figures = measure(Path(d), args.files, args.repeats)
    save_figures(args.out, args, figures, float_format="12.4f", other_format=">12")


if __name__ == "__main__":
    main()
