"""The folders behind ``genxd reconstruct --extra-views`` (given once or several times).

Each ``--extra-views`` argument is either

- a supported input folder (:func:`genxd.reconstruction.views.detect_input_kind`: a ``genxd generate``
  output or any ``transforms.json`` folder, a COLMAP model, a ReconFusion folder): all its views; or
- a ``genxd fewshot`` output folder: one sub-folder per group, ``<scene_key>_<direct|grouped>_<NNN>/``
  (each a ``generate``-style folder with ``transforms.json`` and ``meta.json``), for every scene of the
  ReconFusion data. The groups of the scene being reconstructed are used, all of them: those whose
  ``meta.json`` records ``"scene": KEY`` (what ``genxd fewshot`` writes), or, for a group without a
  recorded scene, whose folder name is ``<KEY>_<direct|grouped>_<NNN>`` (KEY as ``genxd fewshot`` makes
  it a folder name).

:func:`resolve_extra_views` turns the arguments into the list of view folders (each folder once), and
raises a one-line ValueError before anything is loaded when a fewshot output has no group of the scene,
or when the scene is unknown (the main input is not a ReconFusion folder and no ``--scene-key`` given).
:func:`check_not_conditioned_on_test_views` refuses a group generated from a view that the reconstruction's
split holds out (a group made with another ``--n-views``): its frames at that view are near-copies of the
held-out image, which would be trained on and then scored.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

from ..utils.json_files import read_json_object
from ..utils.paths import loop_note
from ..validation import arg, setting
from .views import Views, detect_input_kind

__all__ = ["ExtraViewSource", "FewshotGroupFolder", "fewshot_groups", "is_fewshot_output", "resolve_extra_views",
           "extra_views_summary", "conditioning_views", "check_not_conditioned_on_test_views", "join_views"]

#: ``<scene>_<strategy>_<NNN>`` as ``genxd fewshot`` names its group folders (``_K``: a repeated name
#: made unique by :func:`genxd.output_folders.unique_labels`).
_GROUP_NAME = re.compile(r"^(?P<scene>.+)_(?:direct|grouped)_\d+(?:_\d+)?$")


@dataclass
class FewshotGroupFolder:
    """One group folder of a ``genxd fewshot`` output: its folder and scene (None: unknown)."""

    folder: Path
    scene: str | None  # recorded in meta.json
    name_scene: str | None  # from the folder name (the key as a folder name)


@dataclass
class ExtraViewSource:
    """One ``--extra-views`` argument and the folders it contributes."""

    argument: Path
    folders: list[Path] = field(default_factory=list)
    fewshot_scene: str | None = None  # a fewshot output: the scene whose groups were taken
    fewshot_groups: int = 0  # a fewshot output: its groups (all scenes)


_KINDS = {"transforms": "transforms.json input", "colmap": "COLMAP model"}


def _recorded_scene(folder: Path) -> str | None:
    """``meta.json``'s ``"scene"`` (a string), or None when absent or unreadable."""
    scene = read_json_object(folder / "meta.json").get("scene")
    return scene if isinstance(scene, str) and scene else None


def fewshot_groups(folder: str | os.PathLike) -> list[FewshotGroupFolder]:
    """The group folders of a ``genxd fewshot`` output, sorted by name (empty when there are none).

    A group: a visible sub-folder with ``transforms.json`` whose ``meta.json`` records its scene, or whose
    name is ``<scene>_<direct|grouped>_<NNN>``.
    """
    folder = Path(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []
    groups = []
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir():  # hidden: temporaries of a running / killed job
            continue
        sub = Path(entry.path)
        if not (sub / "transforms.json").is_file():
            continue
        match = _GROUP_NAME.match(entry.name)
        group = FewshotGroupFolder(sub, _recorded_scene(sub), match.group("scene") if match else None)
        if group.scene is not None or group.name_scene is not None:
            groups.append(group)
    return groups


def is_fewshot_output(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` is a ``genxd fewshot`` output (not itself an input, with group folders)."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    try:
        detect_input_kind(folder)
        return False
    except ValueError:
        return bool(fewshot_groups(folder))


def _belongs_to(group: FewshotGroupFolder, scene_key: str) -> bool:
    from genxd.output_folders import safe_folder_name

    if group.scene is not None:
        return group.scene == scene_key
    return group.name_scene == safe_folder_name(scene_key)


def _scene_list(groups: Sequence[FewshotGroupFolder]) -> str:
    counts: dict[str, int] = {}
    for g in groups:
        label = g.scene if g.scene is not None else str(g.name_scene)
        counts[label] = counts.get(label, 0) + 1
    shown = [f"{n} of scene {k}" for k, n in list(counts.items())[:8]]
    more = f" and {len(counts) - 8} more scenes" if len(counts) > 8 else ""
    return ", ".join(shown) + more


def resolve_extra_views(
    arguments: Sequence[str | os.PathLike],
    scene_key: str | None,
    input_path: str | os.PathLike,
    input_kind: str,
) -> list[ExtraViewSource]:
    """The view folders of the ``--extra-views`` arguments (a folder given twice is used once).

    Args:
        scene_key: the scene being reconstructed (a ReconFusion input's chosen or only scene, else
            ``--scene-key`` or None): a fewshot output contributes that scene's groups.
        input_path, input_kind: the main input (for the error when the scene is unknown).
    Raises ValueError (one line) for a folder that is neither a supported input nor a fewshot output, a
    fewshot output without a group of the scene, or a fewshot output when the scene is unknown;
    FileNotFoundError for a missing folder.
    """
    sources: list[ExtraViewSource] = []
    seen: set[Path] = set()
    for argument in arguments:
        argument = Path(argument)
        source = ExtraViewSource(argument)
        if not argument.exists():
            raise FileNotFoundError(f"{argument}: {arg('extra_views')}: no such file or folder{loop_note(argument)}")
        try:
            detect_input_kind(argument)
            folders = [argument]
            recorded = _recorded_scene(argument) if argument.is_dir() else None
            if scene_key is not None and recorded is not None and recorded != scene_key:
                from ..validation import warn  # a group of another scene (a mistyped folder): its cameras are wrong

                warn(f"{argument}: {arg('extra_views')}: generated for scene {recorded!r} (its meta.json), not {scene_key!r}")
        except ValueError:
            groups = fewshot_groups(argument) if argument.is_dir() else []
            if not groups:
                raise ValueError(
                    f"{argument}: {arg('extra_views')}: not a supported input: expected transforms.json, a COLMAP model "
                    "(images/ + 0/ or sparse/0/), a ReconFusion folder (index.json) or a genxd fewshot output "
                    "(group folders <scene_key>_<direct|grouped>_<NNN>/)"
                ) from None
            if scene_key is None:
                raise ValueError(
                    f"{argument}: {arg('extra_views')}: a genxd fewshot output (its groups: {_scene_list(groups)}), but the "
                    f"scene is unknown: {input_path} is a {_KINDS.get(input_kind, input_kind)}, not a ReconFusion "
                    f"folder; pass {setting('scene_key', 'KEY')} to use that scene's groups"
                )
            folders = [g.folder for g in groups if _belongs_to(g, scene_key)]
            if not folders:
                raise ValueError(
                    f"{argument}: {arg('extra_views')}: this genxd fewshot output has no group of scene {scene_key!r} "
                    f"(its groups: {_scene_list(groups)})"
                )
            source.fewshot_scene, source.fewshot_groups = scene_key, len(groups)
        for folder in folders:
            key = folder.resolve()
            if key not in seen:
                seen.add(key)
                source.folders.append(folder)
        sources.append(source)
    return sources


def extra_views_summary(sources: Sequence[ExtraViewSource], num_views: int, num_train: int) -> str:
    """One line: how many extra views from how many groups / folders were added, per argument."""
    folders = sum(len(s.folders) for s in sources)
    fewshot = any(s.fewshot_scene is not None for s in sources)
    unit = "group" if fewshot else "folder"
    parts = []
    for s in sources:
        if s.fewshot_scene is not None:
            parts.append(f"{s.argument}: {len(s.folders)} of its {s.fewshot_groups} groups, scene {s.fewshot_scene}")
        elif s.folders:
            parts.append(str(s.argument))
        else:
            parts.append(f"{s.argument}: already added")
    return (f"{arg('extra_views')}: added {num_views} views from {folders} {unit}{'s' if folders != 1 else ''} "
            f"to the {num_train} training views ({'; '.join(parts)})")


def join_views(parts: Sequence[Views], times: Tensor | None) -> Views:
    """The training views ``parts`` (the input's, then each extra folder's; one world frame, one image size) as one
    :class:`Views` at ``times`` (None: 3d). What starts the Gaussians is kept: the sparse points of every part that
    has them (a COLMAP model's, a transforms.json's ``ply_file_path``), and the depth maps when a part has them (0,
    unknown, for the views of a part without). Before, both were dropped: ``--init auto`` with ``--extra-views``
    started from random points, and ``--init colmap`` refused a COLMAP input."""
    points = [(p.points_xyz.float(), None if p.points_rgb is None else p.points_rgb.float())
              for p in parts if p.points_xyz is not None and len(p.points_xyz)]
    points_xyz = torch.cat([xyz for xyz, _ in points]) if points else None
    points_rgb = torch.cat([rgb if rgb is not None else torch.full_like(xyz, 0.5) for xyz, rgb in points]) if points \
        else None
    depths = None
    if any(p.depths is not None for p in parts):
        depths = torch.cat([p.depths.float() if p.depths is not None else torch.zeros(len(p), p.height, p.width)
                            for p in parts])
    return Views(
        images=torch.cat([p.images for p in parts]),
        c2w=torch.cat([p.c2w for p in parts]),
        K=torch.cat([p.K for p in parts]),
        names=[n for p in parts for n in p.names],
        times=times,
        depths=depths,
        points_xyz=points_xyz,
        points_rgb=points_rgb,
    )


def _int_list(value: object) -> list[int] | None:
    """``value`` as a list of ints, or None when it is not one."""
    if not isinstance(value, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in value):
        return None
    return list(value)


def conditioning_views(folder: str | os.PathLike) -> list[int] | None:
    """The dataset views a ``genxd fewshot`` group was generated from, or None when the folder does not say.

    ``meta.json``'s ``context_views``; for a group written before it was recorded, the ``target_indices.json``
    entries at ``meta.json``'s ``context_index`` frames (not with ``save_target_only``: those frames were dropped).
    """
    folder = Path(folder)
    meta = read_json_object(folder / "meta.json")
    recorded = _int_list(meta.get("context_views"))
    if recorded is not None:
        return recorded
    slots = _int_list(meta.get("context_index"))
    if slots is None or meta.get("save_target_only"):
        return None
    try:
        sources = _int_list(json.loads((folder / "target_indices.json").read_bytes()))
    except (OSError, ValueError, RecursionError):
        return None
    if sources is None or any(not 0 <= s < len(sources) for s in slots):
        return None
    return [sources[s] for s in slots]


def check_not_conditioned_on_test_views(folders: Sequence[Path], scene_key: str, n_views: int,
                                        test_ids: Sequence[int], input_path: str | os.PathLike) -> None:
    """A one-line ValueError for the first folder generated from a test view of ``train_test_split_{n_views}``,
    or that is the ReconFusion input itself (all its views, the test views too); a folder that does not say what
    it was generated from is refused when its ``meta.json`` records another ``n_views`` (it cannot be checked)."""
    held_out = set(test_ids)
    for folder in folders:
        if folder.resolve() == Path(input_path).resolve():
            raise ValueError(f"{folder}: {arg('extra_views')}: the ReconFusion input itself: all its views would be "
                             f"trained on, the test views of train_test_split_{n_views} too")
        meta = read_json_object(folder / "meta.json")
        if meta.get("scene", scene_key) != scene_key:
            continue  # another scene's views (resolve_extra_views warned): its view numbers are not this split's
        made_with = meta.get("n_views")
        context = conditioning_views(folder)
        if context is not None:
            leaked = sorted(set(context) & held_out)
            if leaked:
                raise ValueError(
                    f"{folder}: {arg('extra_views')}: generated from views {leaked} of scene {scene_key!r}, which are "
                    f"test views of train_test_split_{n_views} (the group was made with {setting('n_views', made_with)}); "
                    f"its frames would show the held-out images: generate with {setting('n_views', n_views)}")
        elif isinstance(made_with, int) and made_with != n_views:
            raise ValueError(
                f"{folder}: {arg('extra_views')}: made with {setting('n_views', made_with)}, not {n_views}, and it does "
                "not record the views it was generated from (they may be test views): generate with "
                f"{setting('n_views', n_views)}")
