"""Static multi-view scenes (3D) from folders of images with a COLMAP model or a ``transforms.json``."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from ...utils.paths import listed_image, loop_note, path_inside, relative_to_cwd_note, require_file
from ...validation import warn
from .clips import _as_list, _Cameras, _ClipDataset, _integral, _read_image, _switch
from .left_out import MultiViewLeftOut
from .view_lenses import Lens, check_image_headers, pinhole_views

__all__ = ["MultiViewDataset"]

_COLMAP_DIRS = ("sparse/0", "0", "colmap/sparse/0", "sparse")


def _find_colmap(folder: Path) -> Path | None:
    for rel in _COLMAP_DIRS:
        d = folder / rel
        if any((d / f"cameras.{e}").is_file() for e in ("bin", "txt")):
            return d
    return None


def _folders_in(folder: Path) -> list[Path]:
    """The folders in ``folder``, hidden ones aside, sorted; none where it cannot be listed."""
    try:
        return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:
        return []


def _check_each_image_once(images: Sequence[Path], names: Sequence[str], listing: Path, entry: str | None) -> None:
    """A ValueError naming ``listing`` and the first image (as ``names`` writes it) that two of its items list: the
    same file, however written (``x.png``, ``./x.png``, ``x``). ``entry``: the items' word (``"frames"``: they are
    numbered as listed), or None (a COLMAP model: they are named)."""
    files = [image.resolve() for image in images]
    first: dict[Path, int] = {}
    for i, file in enumerate(files):
        if first.setdefault(file, i) != i:
            same = [k for k, other in enumerate(files) if other == file]
            items = [str(k) for k in same] if entry else [names[k] for k in same]
            shown = " and ".join(items) if len(same) == 2 else ", ".join(items)
            raise ValueError(f"{listing}: {names[same[0]]} is listed as {len(same)} views "
                             f"({f'{entry} {shown}' if entry else f'as {shown}'}): one image may not be two views of "
                             "a scene (a training clip would show it twice)")


@dataclass
class _ViewScene:
    name: str
    image_paths: list[Path]
    c2w: Tensor
    K: Tensor
    points: Tensor | None
    lenses: list[Lens | None] | None = None
    sizes: list[tuple[int, int]] | None = None


class MultiViewDataset(_ClipDataset):
    """Static multi-view scenes (3D, indicator 0) from folders of images with cameras.

    A scene folder holds ``images/`` and a COLMAP model (``sparse/0``, ``0``, ``colmap/sparse/0``
    or ``sparse``), or a nerfstudio ``transforms.json`` (image paths relative to the folder).
    ``root`` is one scene folder, a folder of scene folders, or a list.

    ``view_sampling="clip"``: ``num_frames`` consecutive views (in name / file order) every
    ``stride``; ``"random"``: ``samples_per_scene`` random sets of views per scene (sorted, seeded).

    Views of a camera with lens distortion (a COLMAP ``SIMPLE_RADIAL`` / ``OPENCV`` / ... camera, a
    ``transforms.json`` with ``k1 k2 p1 p2`` or ``OPENCV_FISHEYE``) are undistorted as ``genxd reconstruct``
    undistorts them (COLMAP's undistorter; :func:`.view_lenses.pinhole_views`); ``undistort=False`` ignores the
    distortion.
    A scene listing one image file as two views (however its name is written) is refused, naming the file and image.
    """

    default_kind = "3d"

    def __init__(
        self,
        root: str | os.PathLike | Sequence[str | os.PathLike],
        num_frames: int = 8,
        height: int = 256,
        width: int | None = None,
        view_sampling: str = "clip",
        stride: int | Sequence[int] = 1,
        clip_spacing: int | None = None,
        samples_per_scene: int = 8,
        fit: str = "crop",
        pad_value: float = 1.0,
        camera_normalization: str = "scene",
        max_points: int = 20000,
        undistort: bool = True,
        seed: int = 0,
    ) -> None:
        super().__init__(num_frames, height, width, fit, pad_value, camera_normalization, stride, clip_spacing,
                         view_sampling, samples_per_scene, seed, cache_size=0)
        self.scenes: list[_ViewScene] = []
        self.undistort = _switch(undistort, "undistort")
        max_points = _integral(max_points, "max_points")
        found: dict[Path, Path] = {}  # each scene folder, resolved -> as first found
        again: list[Path] = []  # the scene folders found again (a root given twice, a scene and its parent folder)
        left_out = MultiViewLeftOut(", ".join(_COLMAP_DIRS))  # folders of a root holding no scene (warned)
        for r in (Path(p) for p in _as_list(root)):
            if not r.exists():
                raise FileNotFoundError(f"{r}: no such folder{loop_note(r) or relative_to_cwd_note(r)}")
            if not r.is_dir():  # "no such folder" before, of a file that is there (a transforms.json given)
                scene = f"; its folder {r.parent} is one" if self._is_scene(r.parent) else (
                    "; an archive is read by the camvid type only: unpack it" if r.suffix.lower() == ".zip" else "")
                raise NotADirectoryError(f"{r}: is a file, not a folder (a multiview root is a scene folder, images/ "
                                         f"with a COLMAP model or a transforms.json, or a folder of them{scene})")
            folders = [r] if self._is_scene(r) else self._scene_children(r, left_out)
            for folder in folders:
                if found.setdefault(folder.resolve(), folder) is not folder:
                    again.append(folder)
                else:
                    self.scenes.append(self._load_scene(folder, max_points, self.undistort))
        if again:  # trained twice as often as the others, in silence, before
            warn(f"MultiViewDataset: {len(again)} scene folder{'s are' if len(again) > 1 else ' is'} given more than "
                 f"once (e.g. {again[0]}, as {found[again[0].resolve()]}): each scene is read once (to weigh a "
                 "dataset, give its data.datasets entry a weight)")
        given = {Path(p).resolve() for p in _as_list(root)}  # a folder of categories given as a root too: read
        left_out.scenes_below = [f for f in left_out.scenes_below if Path(f).resolve() not in given]
        left_out.warn()
        if not self.scenes:
            raise ValueError(f"no multi-view scenes (images/ with a COLMAP model, or transforms.json) under {root}")
        self._build_clips()

    @classmethod
    def _scene_children(cls, folder: Path, left_out: MultiViewLeftOut) -> list[Path]:
        """The scene folders in ``folder`` (not hidden; sorted); those of its folders that hold half a scene, or
        scene folders of their own, are added to ``left_out``."""
        scenes = []  # the root listed as before: one that cannot be is the system's error, naming it
        for child in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
            if cls._is_scene(child):
                scenes.append(child)
            elif (child / "images").is_dir():
                left_out.no_cameras.append(str(child))
            elif _find_colmap(child) is not None:
                left_out.no_images.append(str(child))
            elif any(cls._is_scene(p) for p in _folders_in(child)):
                left_out.scenes_below.append(str(child))
        return scenes

    @staticmethod
    def _is_scene(folder: Path) -> bool:
        return (folder / "transforms.json").is_file() or ((folder / "images").is_dir() and _find_colmap(folder) is not None)

    @staticmethod
    def _load_scene(folder: Path, max_points: int, undistort: bool = True) -> _ViewScene:
        from genxd.cameras import read_colmap_model
        from genxd.cameras.formats import TRANSFORMS_JSON, transforms_from_object
        from genxd.utils.json_files import read_json

        json_path = folder / "transforms.json"
        if json_path.is_file():
            meta = read_json(json_path, f"a {TRANSFORMS_JSON}")  # read once: its size limit holds for what is parsed
            path = transforms_from_object(meta, json_path)
            images = [listed_image(folder, n, json_path) for n in (path.names or [])]
            _check_each_image_once(images, [str(n) for n in path.names or []], json_path, "frames")
            K, lenses = path.K.float(), None
            from genxd.reconstruction.undistort import transforms_lens

            h, w = path.height, path.width
            lens = transforms_lens(meta, path.K, h, w, str(json_path))
            if lens is not None:  # undistort=False: a fisheye is refused, other lenses' distortion ignored
                K, lenses = pinhole_views(*lens, [h] * len(images), [w] * len(images), K, undistort, str(json_path),
                                          [str(n) for n in path.names or []])
            sizes = [(path.height, path.width)] * len(images)
            check_image_headers(images, sizes, lenses)  # here, not in a DataLoader worker when training reads it
            return _ViewScene(folder.name, images, path.c2w.float(), K, None, lenses, sizes)
        model_dir = _find_colmap(folder)
        assert model_dir is not None
        model = read_colmap_model(model_dir, allow_distortion=True)
        if len(model) == 0:
            raise ValueError(f"{model_dir}: no registered images")
        # every registered image is there before training starts (it stopped at the first clip needing a missing one)
        listed = [path_inside(folder / "images", n, model_dir) for n in model.image_names]
        images = [require_file(f, f"image registered in {model_dir} not found") for f in listed]
        _check_each_image_once(images, model.image_names, model_dir, None)
        points = model.points_xyz.float()
        if len(points) > max_points:
            points = points[torch.randperm(len(points), generator=torch.Generator().manual_seed(0))[:max_points]]
        K, lenses = pinhole_views(model.camera_models, model.camera_params, model.heights, model.widths,
                                  model.K.float(), undistort, str(model_dir), model.image_names)
        sizes = list(zip(model.heights, model.widths))
        check_image_headers(images, sizes, lenses)  # here, not in a DataLoader worker when training reads it
        return _ViewScene(folder.name, images, model.c2w.float(), K, points if len(points) else None, lenses, sizes)

    def scene_names(self) -> list[str]:
        return [s.name for s in self.scenes]

    def _num_views(self, scene: int) -> int:
        return len(self.scenes[scene].image_paths)

    def _load_cameras(self, scene: int) -> _Cameras:
        s = self.scenes[scene]
        return _Cameras(s.c2w, s.K, list(range(len(s.image_paths))), s.points, lenses=s.lenses, sizes=s.sizes)

    def _view_name(self, scene: int, position: int) -> str:
        return str(self.scenes[scene].image_paths[position])

    def _read_views(self, scene: int, positions: list[int]) -> list[Tensor]:
        s = self.scenes[scene]
        return [_read_image(s.image_paths[p]) for p in positions]
