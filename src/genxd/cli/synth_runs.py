"""Continuing a ``genxd synth`` run: which scenes already in the output folder a rerun keeps.

Each clip is written atomically (a temporary name, renamed when complete), so a stopped run leaves whole scenes under
their names and nothing else of the scene it was making. Whether a scene there is what this run would make is known
from ``OUT/.genxd-synth-runs.json``, written before a run renders anything: each run's settings (those that decide a
scene's content: not ``--device``, ``--threads``, ``--quiet``), its first seed and count, whether it replaced scenes
(``--overwrite``) and whether it finished. A scene's settings are those of the last run whose seeds cover it; a scene
of an ``--overwrite`` run that did not finish may still be an older one it had not yet replaced, so its settings are
unknown. Before 2026-12-07 no run was recorded: such a folder's scenes are unknown too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["RUNS_FILE", "SynthRuns", "run_settings", "settings_said"]

#: The record of the runs made into a synth output folder (hidden: no reader of the formats lists it).
RUNS_FILE = ".genxd-synth-runs.json"
_KEY = "genxd_synth_runs"

#: Where each ``--format`` writes scene NAME: a folder (``folder`` and ``camvid`` alike), a video, a ReconFusion scene.
_PATHS = {"folder": "NAME/", "camvid": "NAME/", "video": "NAME.mp4", "reconfusion": "index.json"}

#: ``genxd synth``'s option for each setting recorded.
_OPTIONS = {"kind": "--kind", "format": "--format", "frames": "--frames", "size": "--size", "camera": "--camera",
            "motion_strength": "--motion-strength", "focal": "--focal", "supersample": "--supersample",
            "fps": "--fps"}


def run_settings(kind: str, fmt: str, frames: int, size: int, camera: str | None, motion_strength: float | None,
                 focal: float, supersample: int, fps: float) -> dict[str, Any]:
    """The settings that decide a synth scene's files, as the record holds them (``motion_strength`` only for 4D
    scenes, ``fps`` only for videos: the others do not read them)."""
    return {"kind": kind, "format": fmt, "frames": int(frames), "size": int(size), "camera": camera,
            "motion_strength": None if kind != "4d" or motion_strength is None else float(motion_strength),
            "focal": float(focal), "supersample": int(supersample), "fps": float(fps) if fmt == "video" else None}


def settings_said(before: dict[str, Any], now: dict[str, Any]) -> str:
    """The settings ``before`` holds with other values than ``now``, as options: ``--size 16 (now 32)``; one
    ``before`` lacks (a record edited by hand) is ``not recorded`` (it read ``random``, the words of a null camera)."""

    def shown(value: Any) -> str:
        return "random" if value is None else f"{value:g}" if isinstance(value, float) else str(value)

    return ", ".join(f"{_OPTIONS.get(k, k)} {shown(before[k]) if k in before else 'not recorded'} (now {shown(v)})"
                     for k, v in now.items() if k not in before or before[k] != v)


class SynthRuns:
    """The runs recorded in the synth output folder ``out_dir`` (none where the record is missing or damaged: a
    damaged one is replaced by the next run's, the scenes it covered then unknown)."""

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / RUNS_FILE
        self.runs: list[dict[str, Any]] = []
        if os.path.lexists(self.path):
            from ..utils.json_files import read_json

            try:
                data = read_json(self.path, "genxd synth's record of runs")
            except (OSError, ValueError):
                data = None
            runs = data.get("runs") if isinstance(data, dict) and data.get(_KEY) == 1 else None
            self.runs = [r for r in runs if _is_run(r)] if isinstance(runs, list) else []

    def settings_of(self, kind: str, fmt: str, seed: int) -> dict[str, Any] | None:
        """The settings the scene of ``kind`` and ``seed`` at the path ``--format fmt`` writes it to was made with, or
        None when unknown (the runs of a format that writes other paths do not count: ``NAME.mp4`` is not ``NAME/``)."""
        for run in reversed(self.runs):
            made = run["settings"]
            if (made["kind"] == kind and _PATHS.get(made.get("format")) == _PATHS[fmt]
                    and run["first_seed"] <= seed < run["first_seed"] + run["num_scenes"]):
                return made if run["finished"] or not run["overwrite"] else None
        return None

    def start(self, settings: dict[str, Any], first_seed: int, num_scenes: int, overwrite: bool) -> None:
        """Record a run about to render (before its first scene: a stopped run is found by the next)."""
        self.runs.append({"settings": settings, "first_seed": int(first_seed), "num_scenes": int(num_scenes),
                          "overwrite": bool(overwrite), "finished": False})
        self._write()

    def finish(self) -> None:
        """Record that the last run started has made every scene it was asked for."""
        self.runs[-1]["finished"] = True
        self._write()

    def _write(self) -> None:
        from ..utils.json_files import write_json_atomic

        write_json_atomic(self.path, {_KEY: 1, "runs": self.runs}, overwrite=True, indent=1)


def _is_run(run: Any) -> bool:
    """Whether ``run`` is a run as :meth:`SynthRuns.start` records it (anything else, edited by hand, is left out)."""
    if not isinstance(run, dict) or not isinstance(run.get("settings"), dict):
        return False
    whole = [run.get(k) for k in ("first_seed", "num_scenes")]
    return (all(isinstance(n, int) and not isinstance(n, bool) for n in whole)
            and all(isinstance(run.get(k), bool) for k in ("overwrite", "finished"))
            and isinstance(run["settings"].get("kind"), str))
