"""The options every command shares, declared once (``Annotated`` typer types), and checked values.

Every command spells a shared option the same way with the same help: ``--quiet/-q``, ``--device``,
``--dtype``, ``--overwrite``, ``--skip-existing``, ``--seed``, ``--model/-m``, ``--out/-o``,
``--steps``, ``--guidance``, ``--frames``, ``--resolution`` ... Numeric and named values are checked
while the command line is parsed (before the command starts: no model loaded, nothing written) by
the same specs the Python API uses (:mod:`genxd.validation`), through :func:`checked`; the error is one
``genxd: error: --frames must be ...`` line with exit code 2.

Use ``x: Quiet = False`` for a shared option, ``typer.Option(..., callback=checked(spec))`` for a
command's own numeric option.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from .. import validation as v
from .common import ClickUsageError, _option_label


def checked(spec: v.Spec) -> Callable[..., Any]:
    """A typer option callback checking the value with ``spec`` (the error names the option)."""

    def callback(ctx: typer.Context, param: typer.CallbackParam, value: Any) -> Any:
        if value is None or getattr(ctx, "resilient_parsing", False):
            return value
        try:
            if isinstance(value, (list, tuple)) and isinstance(spec, (v.Number, v.Choice, v.Device)):
                return type(value)(spec.check(x, _option_label(param)) for x in value)
            return spec.check(value, _option_label(param))
        except v.InvalidValue as exc:
            raise ClickUsageError(str(exc)) from None

    callback.spec = spec  # type: ignore[attr-defined]  # read by tests that walk every option
    return callback


def flag(*names: str, help: str) -> Any:
    """An on/off flag shown as a flag (``--overwrite``, not ``--overwrite/--no-overwrite``)."""
    return typer.Option(False, *names, help=help, show_default=False)


# ------------------------------------------------------------------------------------------------
# shared options
# ------------------------------------------------------------------------------------------------

Quiet = Annotated[bool, typer.Option(
    "--quiet", "-q", show_default=False,
    help="Print only errors and what was written: no progress bars, notes or warnings.")]
Overwrite = Annotated[bool, typer.Option(
    "--overwrite", show_default=False,
    help="Replace existing outputs (the old output is kept until the new one is complete).")]
SkipExisting = Annotated[bool, typer.Option(
    "--skip-existing", show_default=False,
    help="Keep existing outputs and make only the missing ones (resume a job).")]
Seed = Annotated[int, typer.Option(
    "--seed", callback=checked(v.SEED), help="Random seed (an integer >= 0).")]


def device_help(spec: v.Device, lead: str = "Torch device") -> str:
    """``--device``'s help: ``lead``, then every device ``spec`` accepts (so the help and the check agree)."""
    names = [f"{n} (CUDA when available)" if n == "auto" else n for n in spec.names()]
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"{lead}: {listed}."


def device_option(spec: v.Device = v.DEVICE) -> Any:
    """The ``--device`` option checked by ``spec``, its help listing what ``spec`` accepts."""
    return Annotated[Optional[str], typer.Option("--device", callback=checked(spec), help=device_help(spec))]


Device = device_option()
#: ``--device`` of the commands that render with PyTorch's CPU or CUDA code only (reconstruct, eval-recon, synth).
CpuCudaDevice = device_option(v.Device(allow=("auto", "cpu", "cuda")))
Dtype = Annotated[Optional[str], typer.Option(
    "--dtype", callback=checked(v.DTYPES),
    help="Weights' precision: fp32, bf16 or fp16 (default: bf16 on CUDA, fp32 on CPU).")]
Lpips = Annotated[bool, typer.Option(
    "--lpips/--no-lpips",
    help="LPIPS in the metrics when the lpips package and its weights are on disk.")]
Model = Annotated[Optional[str], typer.Option(
    "--model", "-m",
    help="Checkpoint folder (unet/ vae/ scheduler/) or a hub id in the local Hugging Face cache "
         "(default: the bundled small model).")]
AllowPickle = Annotated[bool, typer.Option(
    "--allow-pickle", show_default=False,
    help="Also load a --model whose unet/ or vae/ holds only pickle weights (diffusion_pytorch_model.bin). "
         "Unpickling a file can run any code in it: only for files you trust (or convert them to safetensors).")]
Steps = Annotated[Optional[int], typer.Option(
    "--steps", callback=checked(v.STEPS), help="Denoising steps, 1-1000 (default: the model's).")]
Guidance = Annotated[Optional[float], typer.Option(
    "--guidance", callback=checked(v.GUIDANCE),
    help="Classifier-free guidance scale, 1-100; 1 turns it off (default: the model's).")]
Frames = Annotated[Optional[int], typer.Option(
    "--frames", "-n", callback=checked(v.NUM_FRAMES),
    help="Frames to generate, at least 2 (default: the model's). generate: a --camera file gives its own count; "
         "fewshot: frames per group, the context views included.")]
Resolution = Annotated[Optional[int], typer.Option(
    "--resolution", "-r", callback=checked(v.RESOLUTION),
    help="Square image size in pixels, a multiple of the model's latent size (default: the model's).")]
Compile = Annotated[bool, typer.Option(
    "--compile", show_default=False,
    help="CUDA: torch.compile the UNet's blocks instead of the default path's Triton kernels (1.3-1.6 min "
         "per image size the first time). No faster than the default path on an H200 (docs/benchmarks.md).")]
Summary = Annotated[Optional[Path], typer.Option(
    "--summary",
    help="Write a JSON summary (one entry per input) to this file; default under several processes: "
         "OUT/summary.json. With --shard K/N each task writes its own, FILE.shard-K-of-N.json (summary.json -> "
         "summary.shard-K-of-N.json).")]
Shard = Annotated[Optional[str], typer.Option(
    "--shard", callback=checked(v.SHARD),
    help="K/N: task K (0-based) of N tasks of a job array takes every N-th input from the K-th, in the input order "
         "(e.g. a job array's task id and task count: docs/cli.md); N tasks cover every input once.")]
MotionStrength = Annotated[float, typer.Option(
    "--motion-strength", callback=checked(v.MOTION_STRENGTH),
    help=f"Object motion (4d/video), 0-{v.MOTION_STRENGTH_MAX:g}: {v.DEFAULT_MOTION_SCALE:g} x the per-frame "
         "image displacement of moving objects, so 1 = 1% of the image per frame; 0 = still. Real clips: "
         "~0.2-5; the bundled model knows 0-21 (median 3.5). See docs/conventions.md.")]

Window = Annotated[Optional[int], typer.Option(
    "--window", callback=checked(v.WINDOW),
    help="Frames the model generates at once (default: the model's, 8 for the bundled model). Longer paths are "
         "made window by window: see docs/long_paths.md.")]
Anchors = Annotated[Optional[int], typer.Option(
    "--anchors", callback=checked(v.ANCHORS),
    help="3d paths longer than a window: 0 (default) grows the path window by window outwards from the inputs; "
         "A >= 1 first makes one anchor window of A new frames spread over the whole path. See docs/long_paths.md.")]
Overlap = Annotated[Optional[int], typer.Option(
    "--overlap", callback=checked(v.OVERLAP),
    help="Paths longer than a window: already generated frames conditioning each later window (default: "
         "window // 4, at least 1).")]


def Out(help: str) -> Any:
    """``--out/-o PATH`` with this command's help (``x: Annotated[Path, Out("...")] = Path("outputs")``)."""
    return typer.Option("--out", "-o", help=help)


__all__ = ["checked", "flag", "Quiet", "Overwrite", "SkipExisting", "Seed", "Device", "Dtype", "Model", "AllowPickle", "Steps",
           "Guidance", "Frames", "Resolution", "Compile", "Summary", "MotionStrength", "Window", "Anchors", "Overlap",
           "Out", "Shard"]
