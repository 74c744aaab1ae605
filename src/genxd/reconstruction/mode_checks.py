"""Whether the reconstruction mode asked for (3d / 4d) suits the input's views: a warning when it does not.

A 4D or video scene (frames at several times: ``genxd generate --mode 4d`` writes each frame's ``time``) given
``mode="3d"`` is fitted as one static scene, its moving objects blurred into it; a 3D scene (a ``genxd generate
--mode 3d`` output: its ``meta.json`` says so) given ``mode="4d"`` has its Gaussians fitted with motion that the
scene does not have (and, its frames having no times, times made up from their order: frame i of N at
``i / (N - 1)``). A 3D output may carry times (those of the camera file it followed): its ``meta.json`` decides.
Both still reconstruct: the warning names the other mode.
"""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ..caller_style import arg, is_cli
from ..utils.json_files import read_json_object


def mode_setting(mode: str) -> str:
    """The reconstruction mode as the caller writes it: ``--mode 4d``, or ``ReconstructionConfig(mode='4d')``."""
    return f"--mode {mode}" if is_cli() else f"ReconstructionConfig(mode={mode!r})"


def only_in_4d(name: str) -> str:
    """The refusal of the 4D-only option ``name`` (``per_time_ply``, ``temporal_opacity``) in mode 3d, which
    would give nothing of it (no ply/ folder, no time windows) without a word."""
    return (f"{arg(name)} applies to {mode_setting('4d')} only (a 3d reconstruction is one static scene, with no "
            "times)")


def generated_mode(input_path: Path) -> str | None:
    """The ``mode`` that ``genxd generate`` recorded in the ``meta.json`` of ``input_path`` (a folder) or of the
    folder of ``input_path`` (a file: ``OUT/scene/transforms.json``); None without one."""
    folder = input_path if input_path.is_dir() else input_path.parent
    mode = read_json_object(folder / "meta.json").get("mode")
    return mode if isinstance(mode, str) else None


def mode_mismatch(mode: str, times: Tensor | None, input_path: Path) -> str | None:
    """Why ``mode`` does not suit views at ``times`` (None: no times) read from ``input_path``, or None.

    A ``genxd generate`` output is judged by the mode in its ``meta.json`` (a 3d one may carry the times of the
    camera file it followed; nothing in it moves), another input by its frames' times."""
    recorded = generated_mode(input_path)
    if mode == "3d" and times is not None and recorded != "3d" and (n := len(set(times.tolist()))) > 1:
        made = f" (a {recorded} scene, its meta.json)" if recorded in ("4d", "video") else ""
        return (f"{input_path}: its frames were taken at {n} times{made}, and {mode_setting('3d')} fits one static "
                f"scene to them, blurring what moves; use {mode_setting('4d')} for Gaussians that move with time")
    if mode == "4d" and recorded == "3d":
        made_up = " (its frames have no times: frame i of N gets i / (N - 1))" if times is None else ""
        return (f"{input_path}: a 3d scene (its meta.json), in which nothing moves, and {mode_setting('4d')} fits "
                f"motion to it{made_up}; use {mode_setting('3d')}")
    return None
