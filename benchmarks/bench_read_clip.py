"""Memory and time of reading a long clip for ``genxd trajectory from-video`` (frames spread over the clip).

Writes a synthetic H.264 clip (``--frames`` frames of ``--size`` WxH, a random texture sliding sideways), then reads
``--max-frames`` frames spread over it three ways: ``genxd.cameras.clip_cameras._read_clip`` when the container states
its frame count (the frames picked while streaming), the same when it states none (the frames counted by decoding,
then picked while streaming a second time), and the way before session 19 as a reference (every frame decoded and
held, then picked). Peak memory is Python's traced allocations (numpy's included).

    python benchmarks/bench_read_clip.py --frames 600 --size 1280x720 --max-frames 24 --out results.json
"""

from __future__ import annotations

import argparse
import platform
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output lives beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402


def write_clip(path: Path, frames: int, width: int, height: int) -> None:
    import av

    base = (np.random.default_rng(0).random((height, width, 3)) * 255).astype(np.uint8)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.roll(base, 4 * i, axis=1), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def _all_decoded_then_picked(path: Path, max_frames: int, resize: int):
    from genxd.cameras.clip_cameras import _spread
    from genxd.curation.frames import read_frames

    first = read_frames(path, 1, 1, None)[0]
    frames = read_frames(path, 1, None, resize if max(first.shape[:2]) > resize else None)
    picked = _spread(len(frames), max_frames)
    return frames[picked], picked


def measure(path: Path, max_frames: int, resize: int, way: str) -> dict:
    import genxd.curation.frames as frames_module
    from genxd.cameras.clip_cameras import _read_clip

    count = frames_module.count_frames
    if way == "no_stated_count":
        frames_module.count_frames = lambda source, exact=False: count(source, exact=True) if exact else None
    try:
        tracemalloc.start()
        t0 = time.perf_counter()
        if way == "all_decoded_then_picked":
            frames, picked = _all_decoded_then_picked(path, max_frames, resize)
        else:
            frames, picked = _read_clip(path, None, max_frames, resize)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        frames_module.count_frames = count
    return {"frames_read": int(len(frames)), "shape": list(frames.shape), "picked": picked.tolist(),
            "peak_mib": round(peak / 2**20, 1), "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--size", default="1280x720", help="WxH of the clip")
    parser.add_argument("--max-frames", type=int, default=24)
    parser.add_argument("--resize", type=int, default=512, help="from-video's default: longer side at most 512")
    parser.add_argument("--out", default=None, help=out_help("bench_read_clip"))
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        write_clip(clip, args.frames, width, height)
        rows = {way: measure(clip, args.max_frames, args.resize, way)
                for way in ("stated_count", "no_stated_count", "all_decoded_then_picked")}
    assert len({str(row["picked"]) for row in rows.values()}) == 1, "the three ways picked different frames"
    for name, row in rows.items():
        print(f"{name:24s} {row['frames_read']} frames {row['shape']}: peak {row['peak_mib']:7.1f} MiB, "
              f"{row['seconds']:5.2f} s")
    result = {"benchmark": "bench_read_clip", "args": vars(args), "results": rows,
              "machine": {"python": platform.python_version(), "platform": platform.platform()}}
    args.out = str(resolve_out(args.out, "bench_read_clip"))  # also recorded in result["args"]
    save_json(args.out, result, indent=1)


if __name__ == "__main__":
    main()
