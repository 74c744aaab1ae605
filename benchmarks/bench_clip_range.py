"""Time of reading part of a long clip (``genxd trajectory from-video --start / --end``, ``genxd generate
--camera-start / --camera-end``): the pass that times the clip's frames (:func:`genxd.cameras.clip_range.clip_span`),
then the read of the range's frames, from the clip's start (before session 45) and from the keyframe before the range
(``read_frames(known_times=)``), the frames of both compared bit for bit.

Writes a synthetic H.264 clip with genxd's own writer (:class:`genxd.utils.video.Mp4Stream`: a random texture sliding
sideways, ``--frames`` frames of ``--size`` WxH, keyframes where libx264 puts them) in a temporary folder.

    python benchmarks/bench_clip_range.py --frames 1800 --size 640x360 --start 1700f --max-frames 24 --out results.json
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, positive_int, resolve_out, save_figures  # noqa: E402


def write_clip(path: Path, frames: int, width: int, height: int) -> None:
    from genxd.utils.video import Mp4Stream

    base = (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)
    with Mp4Stream(path, fps=30) as stream:
        for start in range(0, frames, 30):
            stream.append(np.stack([np.roll(base, 4 * i, axis=1) for i in range(start, min(frames, start + 30))]))


def measure(clip: Path, start: str, end: str | None, max_frames: int | None, stride: int | None) -> dict:
    from genxd.cameras.clip_frames import _pick_in
    from genxd.cameras.clip_range import check_bounds, clip_span
    from genxd.curation.frames import read_frames

    t0 = time.perf_counter()
    span = clip_span(clip, clip, *check_bounds(start, end))
    t1 = time.perf_counter()
    picked = _pick_in(span.first, span.stop, stride, max_frames)
    from_start = read_frames(clip, 1, None, indices=picked)  # the read before session 45
    t2 = time.perf_counter()
    sought = read_frames(clip, 1, None, indices=picked, known_times=list(span.frame_times))
    t3 = time.perf_counter()
    return {"range": [span.first, span.stop], "frames_read": len(picked), "timing_pass_s": t1 - t0,
            "read_from_start_s": t2 - t1, "read_from_keyframe_s": t3 - t2,
            "total_before_s": t2 - t0, "total_after_s": (t1 - t0) + (t3 - t2),
            "identical": bool(np.array_equal(from_start, sought))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=positive_int, default=1800)
    parser.add_argument("--size", default="640x360", help="WxH (even)")
    parser.add_argument("--start", default="1700f")
    parser.add_argument("--end", default=None)
    parser.add_argument("--max-frames", type=positive_int, default=24)
    parser.add_argument("--stride", type=positive_int, default=None)
    parser.add_argument("--out", default=None, help=out_help("bench_clip_range"))
    args = parser.parse_args(argv)
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        parser.error(f"--size: expected WxH, got {args.size!r}")
    args.out = str(resolve_out(args.out, "bench_clip_range"))
    with tempfile.TemporaryDirectory() as d:
        clip = Path(d) / "long.mp4"
        t = time.perf_counter()
        write_clip(clip, args.frames, width, height)
        written = time.perf_counter() - t
        figures = measure(clip, args.start, args.end, args.max_frames, args.stride)
    figures["clip_written_s"] = written
    save_figures(args.out, args, figures, float_format=".3f")


if __name__ == "__main__":
    main()
