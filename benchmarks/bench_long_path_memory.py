"""Peak memory and time of a long camera path against its length, through ``genxd.generate`` (plan, windows, kept
state, decoding, scene folder), with a cheap stand-in for the model (``tests/pipelines/long_path_standin.py``: its
sampling and decoding cost next to nothing, so what grows is what genxd holds and writes).

Each length runs in a fresh process (peak RSS, ``resource.getrusage``, is per process): an orbit of ``--frames``
views at ``--resolution`` (window 8, one step), written into a temporary folder. Recorded per length: the peak RSS,
the RSS before the job (imports, stand-in), the wall time, the bytes the kept state's saves wrote (the sizes of
the files written through ``long_path_state.atomic_file``) and the bytes the job passed to ``write`` in all
(``wchar`` of ``/proc/self/io``, outputs included; Linux), and sha256 digests of the outputs (every PNG in order,
``video.mp4``, ``compare.mp4``, ``cameras.json``, ``transforms.json``, ``meta.json``), so two versions of genxd can be checked to write
the same bytes.

    python benchmarks/bench_long_path_memory.py --frames 64,256,1024 --resolution 256 --out results.json
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the stand-in lives with the tests
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, positive_ints, resolve_out, row_in_fresh_process, save_json  # noqa: E402

MIB = 1024**2


def _digest(paths: list[Path], tmp: Path) -> str:
    """sha256 of the files' bytes, the temporary folder's name (in meta.json's paths) read as ``TMP``."""
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes().replace(str(tmp).encode(), b"TMP"))
    return h.hexdigest()[:16]


def _wchar() -> int:
    """Bytes this process has passed to ``write`` (``/proc/self/io``; 0 where there is none)."""
    try:
        lines = Path("/proc/self/io").read_text().splitlines()
    except OSError:
        return 0
    return next(int(line.split()[1]) for line in lines if line.startswith("wchar:"))


def run_one(frames: int, resolution: int) -> dict:
    """One long path in this process; the row of results."""
    import numpy as np
    import PIL.Image

    import genxd
    from genxd.pipelines import long_path_state
    from tests.pipelines.long_path_standin import standin_loaded

    state_bytes = [0]
    atomic_file = long_path_state.atomic_file

    @contextlib.contextmanager
    def counted(path, *args, **kwargs):  # the state's files: each written through atomic_file
        with atomic_file(path, *args, **kwargs) as tmp:
            yield tmp
            state_bytes[0] += os.path.getsize(tmp)

    long_path_state.atomic_file = counted

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = tmp / "scene.png"
        rng = np.random.default_rng(0)
        PIL.Image.fromarray((rng.random((resolution, resolution, 3)) * 255).astype(np.uint8)).save(image)
        loaded = standin_loaded(tmp / "model", resolution)
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        wchar = _wchar()
        start = time.perf_counter()
        result = genxd.generate_scenes(image, tmp / "out", loaded=loaded, camera="orbit", num_frames=frames,
                                       progress=False)[0]
        seconds = time.perf_counter() - start
        wchar = _wchar() - wchar
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        if result.status != "written":
            sys.exit(f"the scene was not written: {result.error}")
        folder = tmp / "out" / "scene"
        return {"frames": frames, "resolution": resolution, "peak_rss_mib": round(peak / MIB, 1),
                "rss_before_job_mib": round(before / MIB, 1), "seconds": round(seconds, 2),
                "state_mib_written": round(state_bytes[0] / MIB, 1), "write_mib_in_all": round(wchar / MIB, 1),
                "sampling_calls": loaded.pipe.calls, "most_decoded_frames_alive": loaded.pipe.most_alive,
                "digests": {"frames": _digest(sorted((folder / "frames").glob("*.png")), tmp),
                            **{name: _digest([folder / name], tmp) for name in
                               ("video.mp4", "compare.mp4", "cameras.json", "transforms.json",
                                                       "meta.json")}}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=positive_ints, default=[64, 256, 1024], help="path lengths (comma-separated)")
    parser.add_argument("--resolution", type=positive_int, default=256, help="square image size (a multiple of 8)")
    parser.add_argument("--out", default=None, help=out_help("bench_long_path_memory"))
    parser.add_argument("--one", type=positive_int, default=None, help=argparse.SUPPRESS)  # a child process's length
    args = parser.parse_args(argv)
    if args.resolution % 8:
        parser.error(f"--resolution must be a multiple of 8, got {args.resolution}")
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.resolution)))
        return
    rows = []
    for frames in args.frames:
        row = row_in_fresh_process([__file__, "--one", str(frames), "--resolution", str(args.resolution)])
        print(f"{frames:6d} frames at {args.resolution} px: peak RSS {row['peak_rss_mib']:8.1f} MiB "
              f"(before the job {row['rss_before_job_mib']:.1f}), {row['seconds']:7.2f} s, "
              f"state written {row['state_mib_written']:.1f} MiB, written in all {row['write_mib_in_all']:.1f} MiB, "
              f"decoded frames alive at most {row['most_decoded_frames_alive']}")
        rows.append(row)
    out = resolve_out(args.out, "bench_long_path_memory")
    save_json(out, {"benchmark": "long_path_memory", "machine": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "rows": rows})


if __name__ == "__main__":
    main()
