"""``reconstruction.json`` and ``cameras.json`` of a ``genxd reconstruct`` output, read back and checked for
``genxd eval-recon`` (:func:`genxd.reconstruction.scene_evaluation.evaluate_scene`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from ..cameras._io import describe, json_matrices, json_number, json_numbers, json_size
from ..utils.json_files import read_json
from ..validation import is_cli

__all__ = ["OutputRecords", "input_option"]


def input_option() -> str:
    """:func:`~genxd.reconstruction.scene_evaluation.evaluate_scene`'s ``input_path`` as the caller knows it: ``--input`` of ``genxd eval-recon`` (``genxd
    reconstruct`` calls its input INPUT, so this is no :data:`genxd.caller_style.FLAGS` entry)."""
    return "--input" if is_cli() else "input_path"


class OutputRecords:
    """``reconstruction.json`` and ``cameras.json`` of a reconstruct output as :func:`~genxd.reconstruction.scene_evaluation.evaluate_scene` reads them
    back (each ``{}`` when absent); every field used is checked, a ValueError naming the file otherwise."""

    def __init__(self, scene_dir: Path) -> None:
        self.record_path, self.cameras_path = scene_dir / "reconstruction.json", scene_dir / "cameras.json"
        self.record, self.cameras = self._read(self.record_path), self._read(self.cameras_path)

    @staticmethod
    def _read(path: Path) -> dict[str, Any]:
        if not path.is_file():
            return {}
        data = read_json(path, f"genxd reconstruct's {path.name}")
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object, got {describe(data)}")
        return data

    def _bad(self, path: Path, key: str, expected: str, value: Any) -> ValueError:
        return ValueError(f"{path}: {key}: expected {expected}, got {describe(value)}")

    def input(self) -> Path | None:
        value = self.record.get("input")
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            raise self._bad(self.record_path, "input", "the input folder's path", value)
        if not Path(value).exists():
            raise FileNotFoundError(f"{self.record_path}: the recorded input {value} does not exist (moved?); "
                                    f"pass {input_option()}")
        return Path(value)

    def mode(self) -> str:
        """``"3d"`` or ``"4d"``: the record's ``mode``; without one (a folder copied without its reconstruction.json),
        ``"4d"`` where a ``motion.npz`` is beside ``scene.ply`` (its held-out views were rendered at the input's own
        times instead of those recorded in cameras.json, which differ when --extra-views set the time axis)."""
        value = self.record.get("mode")
        if value is None:
            return "4d" if (self.record_path.parent / "motion.npz").is_file() else "3d"
        if value not in ("3d", "4d"):
            raise self._bad(self.record_path, "mode", "3d or 4d", value)
        return value

    def scene_key(self) -> str | None:
        value = self.record.get("scene_key")
        if value is not None and not isinstance(value, str):
            raise self._bad(self.record_path, "scene_key", "a scene name", value)
        return value

    def n_views(self) -> int | None:
        value = self.record.get("n_views")
        if value is None:
            return None
        return int(json_number(value, f"{self.record_path}: n_views", positive=True, integer=True))

    def size(self) -> tuple[int | None, int | None]:
        """``(height, width)`` the reconstruction was trained at: ``cameras.json``'s, else ``reconstruction.json``'s
        ``resolution`` (a folder copied without its cameras.json was scored at the input's size); ``(None, None)``
        when neither says."""
        if self.cameras.get("height") is not None and self.cameras.get("width") is not None:
            return (json_size(self.cameras["height"], f"{self.cameras_path}: height"),
                    json_size(self.cameras["width"], f"{self.cameras_path}: width"))
        value = self.record.get("resolution")
        if value is None:
            return None, None
        where = f"{self.record_path}: resolution"
        if not isinstance(value, list) or len(value) != 2:
            raise self._bad(self.record_path, "resolution", "[height, width]", value)
        return json_size(value[0], f"{where}[0]"), json_size(value[1], f"{where}[1]")

    def test_views(self) -> list[int]:
        """The held-out views (``test``; none when not recorded). A FileNotFoundError without ``cameras.json``, the
        file that records them (it was "no held-out views: reconstruct with --holdout-every N")."""
        if not self.cameras_path.is_file():
            raise FileNotFoundError(f"{self.cameras_path.parent}: no {self.cameras_path.name}, which records the views "
                                    "the reconstruction held out: copy it beside scene.ply")
        return self._view_numbers("test")

    def train_views(self) -> list[int]:
        """The input's views the Gaussians were trained on (``train``; none when not recorded)."""
        return self._view_numbers("train")

    def _view_numbers(self, key: str) -> list[int]:
        value = self.cameras.get(key, [])
        if not isinstance(value, list):
            raise self._bad(self.cameras_path, key, "a list of view numbers", value)
        views = []
        for i, v in enumerate(value):
            where = f"{self.cameras_path}: {key}[{i}]"
            number = int(json_number(v, where, integer=True))
            if number < 0:
                raise ValueError(f"{where}: a view number must be >= 0, got {v!r}")
            views.append(number)
        return views

    def check_held_out_cameras(self, c2w: Tensor, K: Tensor, names: list[str], test: list[int], source: Path) -> None:
        """A ValueError when a held-out view ``i`` of ``test`` of the input ``source`` as read for scoring
        (``c2w [N, 4, 4]``, ``K [N, 3, 3]`` normalised, ``names``) is not at the camera ``cameras.json`` records for
        it: another capture given as the input, or the input changed since (the renders, at the input's cameras, were
        compared with views of another scene). Nothing is checked without recorded cameras (older genxd)."""
        if self.cameras.get("c2w") is None or self.cameras.get("K") is None:
            return
        recorded_c2w = json_matrices(self.cameras["c2w"], f"{self.cameras_path}: c2w", rows=(4,))
        recorded_K = json_matrices(self.cameras["K"], f"{self.cameras_path}: K", rows=(3,), cols=3)
        scale = max(1.0, float(recorded_c2w[:, :3, 3].abs().max()))
        for i in test:
            if i >= min(len(recorded_c2w), len(recorded_K)):
                raise ValueError(f"{self.cameras_path}: held-out view {i} has no camera: it records "
                                 f"{min(len(recorded_c2w), len(recorded_K))} views")
            moved = float((c2w[i].double() - recorded_c2w[i]).abs().max()) > 1e-4 * scale
            if moved or float((K[i].double() - recorded_K[i]).abs().max()) > 1e-4:
                raise ValueError(f"{source}: held-out view {i} ({names[i]}) is not at the camera {self.cameras_path} "
                                 f"records for it: another capture, or one changed since it was reconstructed; "
                                 f"pass {input_option()} the input it was reconstructed from")

    def times(self, num_views: int) -> Tensor | None:
        value = self.cameras.get("times")
        if value is None:
            return None
        return torch.tensor(json_numbers(value, f"{self.cameras_path}: times", num_views), dtype=torch.float32)

    def background(self) -> Tensor:
        config = self.record.get("config", {})
        if not isinstance(config, dict):
            raise self._bad(self.record_path, "config", "an object", config)
        value = config.get("background", [0.0, 0.0, 0.0])
        return torch.tensor(json_numbers(value, f"{self.record_path}: config.background", 3), dtype=torch.float32)
