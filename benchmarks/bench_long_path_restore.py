"""Peak memory of continuing a long path: restoring its kept state (``PartialRun.restore``) into the latents' file.

Each length in a fresh process (peak RSS, ``resource.getrusage``, is per process): a kept state of ``--frames``
frames at ``--resolution`` (latents ``4 x res/8 x res/8`` float32), saved as a real run saves it (a part per sampling
call of ``--per-call`` frames, random latents), then restored into a :class:`DiskLatents` as ``genxd generate``
continues; recorded: the RSS before the restore, the peak after it and its time. Which genxd runs is the one on
``PYTHONPATH`` (run it once with the commit before and once after to compare).

    python benchmarks/bench_long_path_restore.py --frames 1024,4096 --resolution 256 --out results.json
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, positive_ints, resolve_out, row_in_fresh_process, save_json  # noqa: E402

MIB = 1024**2


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / MIB


def run_one(frames: int, resolution: int, per_call: int) -> dict:
    """Save then restore one state in this process; the row of results."""
    import torch

    from genxd.pipelines.long_path_latents import DiskLatents
    from genxd.pipelines.long_path_state import PartialRun

    shape = (4, resolution // 8, resolution // 8)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "scene"
        folder.mkdir()
        run = PartialRun(folder, {"seed": 0}, None)
        known = torch.zeros(frames, dtype=torch.bool)
        gen = torch.Generator().manual_seed(0)
        made = DiskLatents(1, frames, shape, folder=tmp)  # in a file: the saving holds a call's frames only
        for s in range(0, frames, per_call):  # a part per call, as a run saves them
            calls = list(range(s, min(s + per_call, frames)))
            made.write(0, calls, torch.randn(len(calls), *shape, generator=gen))
            known[calls] = True
            run.save(made[0], known)
        made.close()
        store = DiskLatents(1, frames, shape, folder=tmp)
        before = _rss_mib()
        start = time.perf_counter()
        again = torch.zeros(frames, dtype=torch.bool)
        PartialRun(folder, {"seed": 0}, None).restore(store[0], again)
        seconds = time.perf_counter() - start
        peak = _rss_mib()
        assert bool(again.all())
        store.close()
    return {"frames": frames, "resolution": resolution, "state_mib": round(frames * 4 * shape[1] * shape[2] * 4 / MIB, 1),
            "rss_before_restore_mib": round(before, 1), "peak_rss_mib": round(peak, 1), "seconds": round(seconds, 2)}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=positive_ints, default=[1024, 4096], help="path lengths (comma-separated)")
    parser.add_argument("--resolution", type=positive_int, default=256, help="square image size (a multiple of 8)")
    parser.add_argument("--per-call", type=positive_int, default=10, help="frames each sampling call made")
    parser.add_argument("--out", default=None, help=out_help("bench_long_path_restore"))
    parser.add_argument("--one", type=positive_int, default=None, help=argparse.SUPPRESS)  # a child process's length
    args = parser.parse_args(argv)
    if args.resolution % 8:
        parser.error(f"--resolution must be a multiple of 8, got {args.resolution}")
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.resolution, args.per_call)))
        return
    rows = []
    for frames in args.frames:
        row = row_in_fresh_process([__file__, "--one", str(frames), "--resolution", str(args.resolution),
                                    "--per-call", str(args.per_call)])
        print(f"{frames:6d} frames at {args.resolution} px (state {row['state_mib']} MiB): peak RSS "
              f"{row['peak_rss_mib']:8.1f} MiB (before the restore {row['rss_before_restore_mib']:.1f}), "
              f"{row['seconds']:6.2f} s")
        rows.append(row)
    save_json(resolve_out(args.out, "bench_long_path_restore"),
              {"benchmark": "long_path_restore", "machine": platform.processor() or platform.machine(),
               "python": platform.python_version(), "rows": rows})


if __name__ == "__main__":
    main()
