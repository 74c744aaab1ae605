"""Time of ``genxd.pipelines.long_path_temporal.plan_temporal`` (the 4D / video long-path planner) with its layout
cache and without it, on one sweep of paths.

The planner's search for each next window asks for the layout of the same starts many times; since the forty-fifth
session it keeps the layouts of the frames known so far (``_new_layout_cache``, emptied when a window adds frames).
This script plans every case of the sweep twice, with the cache and with a cache that keeps nothing (what the
planner did before), checks that both give the same plans (refusals included), and reports the planning time
(best of ``--repeats``) and the number of layouts computed.

Sweep: every place of 1 to ``--max-inputs`` inputs among the first ``window + 2`` frames of paths of ``--frames``
frames (a range), windows ``--windows``, overlaps 1 to 3, with and without ``keep_inputs``.

    python benchmarks/bench_plan_temporal.py --out results.json
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, resolve_out, save_figures  # noqa: E402


class _Counting(dict):
    """A layout cache that counts the layouts stored (each one computed)."""

    computed = 0

    def __setitem__(self, key, value) -> None:
        type(self).computed += 1
        super().__setitem__(key, value)


class _KeepsNothing(dict):
    """A layout cache that stores nothing (every layout computed when asked for: the planner before its cache)."""

    computed = 0

    def __setitem__(self, key, value) -> None:
        type(self).computed += 1


def sweep(frames: range, windows: list[int], max_inputs: int) -> list[tuple]:
    """The cases ``(num_frames, inputs, window, overlap, keep_inputs)`` of the sweep."""
    cases = []
    for n, w, o, keep in itertools.product(frames, windows, (1, 2, 3), (False, True)):
        if o >= w:
            continue
        for count in range(1, max_inputs + 1):
            cases.extend((n, ins, w, o, keep) for ins in itertools.combinations(range(min(n, w + 2)), count))
    return cases


def _plan_all(cases: list[tuple]) -> list:
    from genxd.pipelines.long_path_temporal import plan_temporal

    plans = []
    for n, ins, w, o, keep in cases:
        try:
            plan = plan_temporal(n, list(ins), w, o, keep_inputs=keep)
        except ValueError:
            plans.append(None)
            continue
        plans.append([(win.frames, win.context, win.stage, win.kind) for win in plan.windows])
    return plans


def measure(cases: list[tuple], repeats: int) -> dict:
    """Both ways of planning ``cases``: seconds (best of ``repeats``), layouts computed per sweep, plans equal."""
    import genxd.pipelines.long_path_temporal as temporal

    kept = temporal._new_layout_cache
    result: dict = {"cases": len(cases)}
    plans = {}
    try:
        for name, cache in (("cached", _Counting), ("uncached", _KeepsNothing)):
            temporal._new_layout_cache = cache
            best = float("inf")
            for _ in range(repeats):
                cache.computed = 0
                start = time.perf_counter()
                plans[name] = _plan_all(cases)
                best = min(best, time.perf_counter() - start)
            result[f"{name}_s"] = best
            result[f"{name}_layouts"] = cache.computed
    finally:
        temporal._new_layout_cache = kept
    result["planned"] = sum(p is not None for p in plans["cached"])
    result["plans_equal"] = plans["cached"] == plans["uncached"]
    result["speedup"] = result["uncached_s"] / result["cached_s"]
    return result


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=positive_int, nargs=2, default=[8, 40], metavar=("FIRST", "LAST"),
                        help="path lengths FIRST..LAST (default 8 40)")
    parser.add_argument("--windows", type=positive_int, nargs="+", default=[4, 8, 12])
    parser.add_argument("--max-inputs", type=positive_int, default=2)
    parser.add_argument("--repeats", type=positive_int, default=3)
    parser.add_argument("--out", default=None, help=out_help("bench_plan_temporal"))
    args = parser.parse_args(argv)
    args.out = str(resolve_out(args.out, "bench_plan_temporal"))
    cases = sweep(range(args.frames[0], args.frames[1] + 1), args.windows, args.max_inputs)
    figures = measure(cases, args.repeats)
    result = save_figures(args.out, args, figures, name_width=18, float_format="12.4f", other_format=">12")
    if not figures["plans_equal"]:
        raise SystemExit("bench_plan_temporal: the cached plans differ from the uncached ones")
    return result


if __name__ == "__main__":
    main()
