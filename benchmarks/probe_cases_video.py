"""The bad-input probe's cases for videos (``benchmarks/probe_bad_inputs.py`` runs them): ``genxd curate`` and
``genxd trajectory from-video`` (what ``generate --camera-from-video`` and the demo's video upload also run) given
files that are not clips, clips too short or of mixed sizes, and frames without texture."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from probe_cases import Case, _rgb


def curate_cases() -> list[Case]:
    def video(box: Path) -> None:
        (box / "in" / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")

    def frames(box: Path) -> None:  # 12 frames of 40x40 (4.7 KiB each): 56 KiB, over a limit of 10.5 KiB
        import PIL.Image

        (box / "in" / "frames").mkdir()
        for i in range(12):
            PIL.Image.fromarray(_rgb(seed=i)).save(box / "in" / "frames" / f"{i:03d}.png")

    return [
        Case("curate-missing-input", "curate", "curate a missing input", names=("nope",),
             args=lambda box: ["curate", str(box / "in" / "nope"), "-o", str(box / "out")]),
        Case("curate-out-is-file", "curate", "curate --out names a file", names=("file",),
             setup=lambda box: (box / "in" / "file").write_text("x"),
             args=lambda box: ["curate", str(box / "in"), "-o", str(box / "in" / "file")]),
        Case("curate-all-fail", "curate", "curate a broken video (every input fails)", setup=video, names=("clip",),
             owner="C", args=lambda box: ["curate", str(box / "in" / "clip.mp4"), "-o", str(box / "out" / "d"), "-q"]),
        Case("curate-over-frame-memory", "curate", "curate frames that would not fit --max-frame-memory",
             setup=frames, names=("frames",), detail=("frames: failed (read)", "12 frames of 40x40", "--max-frames",
                                                      "--max-frame-memory"), owner="C",
             args=lambda box: ["curate", str(box / "in" / "frames"), "-o", str(box / "out" / "d"), "-q",
                               "--max-frame-memory", "0.00001"]),
        # each Ray task asks for --threads CPUs: more than any node has was never scheduled (Ray waited for ever)
        Case("curate-ray-threads-beyond-nodes", "curate", "curate --ray local with more --threads than the machine has",
             setup=frames, names=("--threads 1024", "Ray"), owner="C",
             skip=None if importlib.util.find_spec("ray") else "needs the 'ray' extra",
             args=lambda box: ["curate", str(box / "in" / "frames"), "-o", str(box / "out" / "d"), "-q",
                               "--ray", "local", "--threads", "1024"]),
    ]


def from_video_cases() -> list[Case]:
    import PIL.Image

    def frames(count: int, widths=(40,), texture: bool = True):
        def setup(box: Path) -> None:
            (box / "in" / "frames").mkdir()
            for i in range(count):
                w = widths[i % len(widths)]
                pixels = _rgb(40, w, seed=i) if texture else np.zeros((40, w, 3), np.uint8)
                PIL.Image.fromarray(pixels).save(box / "in" / "frames" / f"{i:03d}.png")
        return setup

    def write(name: str, data: bytes):
        return lambda box: (box / "in" / name).write_bytes(data)

    def run(name: str, *extra: str):
        return lambda box: ["trajectory", "from-video", str(box / "in" / name), "-o", str(box / "out" / "p.json"),
                            "-q", *extra]

    return [
        Case("from-video-missing", "from-video", "from-video of a path that does not exist", names=("nope.mp4",),
             args=run("nope.mp4"), ci=True),
        Case("from-video-text-as-mp4", "from-video", "from-video of a text file named .mp4", names=("clip.mp4",),
             setup=write("clip.mp4", b"not a video at all"), args=run("clip.mp4"), ci=True),
        Case("from-video-truncated-mp4", "from-video", "from-video of an mp4 header without data",
             names=("clip.mp4", "cannot open as a video"),
             setup=write("clip.mp4", b"\x00\x00\x00\x18ftypmp42 not really a video"), args=run("clip.mp4"), ci=True),
        Case("from-video-image", "from-video", "from-video of one image", names=("one.png",),
             setup=lambda box: PIL.Image.fromarray(_rgb()).save(box / "in" / "one.png"), args=run("one.png"), ci=True),
        Case("from-video-empty-folder", "from-video", "from-video of an empty folder", names=("frames",),
             setup=lambda box: (box / "in" / "frames").mkdir(), args=run("frames"), ci=True),
        Case("from-video-two-frames", "from-video", "from-video of a folder of two frames", names=("too few frames",),
             setup=frames(2), args=run("frames"), ci=True),
        Case("from-video-mixed-sizes", "from-video", "from-video of frames of two sizes",
             names=("different sizes", "one size"), setup=frames(5, widths=(40, 48)), args=run("frames"), ci=True),
        Case("from-video-no-texture", "from-video", "from-video of black frames (nothing to track)",
             names=("structure from motion failed", "texture"), setup=frames(6, texture=False),
             args=run("frames", "--size", "64")),
    ]
