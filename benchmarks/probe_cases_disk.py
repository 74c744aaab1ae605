"""The bad-input probe's full-disk cases (``benchmarks/probe_bad_inputs.py`` runs them): each command writes into
``out/full``, a tmpfs of a few kB (root with ``mount`` only; skipped elsewhere), and must fail in one line (or
succeed with whole files), print no traceback and leave no half-written file: no temporary, no cut-short video.

Before 2026-12-03 a full disk gave ``genxd generate`` a PNG writer's traceback, renamed cut-short mp4s into
place (``generate``, ``synth --format video``: ffmpeg's failure went unchecked), showed safetensors' traceback and
left a ``.checkpoint-*.part`` folder in ``train``, and recorded a curated video's failure as ``internal`` (a bug)
and skipped it on later runs."""

from __future__ import annotations

from pathlib import Path

from probe_cases import ROOT, Case, _one_image


def _clip(box: Path) -> None:
    from genxd.data.synthetic import make_clip, write_clip

    write_clip(make_clip(0, kind="4d", num_frames=16, height=128, width=128), box / "in", "clip", "video")


def disk_cases() -> list[Case]:
    full = lambda box: box / "out" / "full"  # noqa: E731
    gen = lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(full(box) / "gen"), "--steps", "1",  # noqa: E731
                       "--frames", "2", "-q"]
    return [
        Case("disk-generate-frames", "full-disk", "generate onto a full disk (the frames do not fit)", setup=_one_image,
             expect="full-disk", disk_kb=4, args=gen, names=("No space left on device",)),
        Case("disk-generate-videos", "full-disk", "generate onto a nearly full disk (the videos do not fit)",
             setup=_one_image, expect="full-disk", disk_kb=24, args=gen, names=("No space left on device",)),
        Case("disk-synth-video", "full-disk", "synth --format video onto a full disk", expect="full-disk",
             disk_kb=40, names=("No space left on device",),
             args=lambda box: ["synth", str(full(box) / "clips"), "--format", "video", "--size", "256", "-q"]),
        Case("disk-curate", "full-disk", "curate onto a full disk (recorded as the machine's failure)",
             setup=_clip, expect="full-disk", disk_kb=60, names=("clip",), detail=("environment",),
             args=lambda box: ["curate", str(box / "in"), "-o", str(full(box) / "cur")]),
        Case("disk-train-checkpoint", "full-disk", "train: the checkpoint does not fit", expect="full-disk",
             disk_kb=200, names=("No space left on device", "checkpoint-0000002"),
             args=lambda box: ["train", str(ROOT / "src" / "genxd" / "configs" / "tiny.yaml"), f"output_dir={full(box) / 'run'}",
                               "training.max_steps=2", "--cpu"]),
    ]
