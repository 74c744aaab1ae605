"""The options each built-in dataset type takes, known without importing the dataset modules (they import torch:
seconds), so that a config's misspelt option (``data.datasets.0.lenght``) is refused when the config is read
(``genxd train --print-config`` included), not when the datasets are built. A test keeps
:data:`BUILTIN_DATASET_OPTIONS` equal to the classes' ``__init__`` parameters."""

from __future__ import annotations

from typing import Any, Sequence

from ..utils.close_names import close_matches_note

__all__ = ["BUILTIN_DATASET_OPTIONS", "unknown_options_error", "dataset_entries_error"]

#: ``type`` name -> the constructor arguments of its class (``genxd.data.datasets.DATASET_TYPES``), in order
BUILTIN_DATASET_OPTIONS: dict[str, tuple[str, ...]] = {
    "synthetic": ("length", "num_frames", "height", "width", "kinds", "seed", "cameras_3d", "cameras_4d",
                  "focal_range", "motion_source", "motion_scale", "camera_normalization", "supersample", "device",
                  "cache_size", "cache_dir", "object_masks"),
    "camvid": ("root", "num_frames", "height", "width", "stride", "clip_spacing", "fit", "pad_value", "kind",
               "default_kind", "motion_keys", "motion_scale", "camera_normalization", "archive_limits", "max_depth",
               "cache_size", "extract_dir", "undistort", "seed"),
    "multiview": ("root", "num_frames", "height", "width", "view_sampling", "stride", "clip_spacing",
                  "samples_per_scene", "fit", "pad_value", "camera_normalization", "max_points", "undistort", "seed"),
    "reconfusion": ("root", "num_frames", "height", "width", "view_sampling", "stride", "clip_spacing",
                    "samples_per_scene", "fit", "pad_value", "camera_normalization", "keys", "cache_size", "seed"),
    "photo": ("length", "num_frames", "height", "width", "kinds", "seed", "layouts", "layout_weights",
              "cameras_cards", "cameras_world", "photos", "focal_range", "motion_source", "motion_scale",
              "camera_normalization", "supersample", "device", "cache_size", "cache_dir"),
}


def unknown_options_error(kind: Any, options: Sequence[str], accepted: Sequence[str]) -> ValueError | None:
    """A ValueError naming the ``options`` of a ``type: kind`` entry that are not ``accepted`` (nor ``weight``, the
    mixture's), with close names; None when there are none."""
    unknown = [k for k in options if k not in accepted]
    if not unknown:
        return None
    close = close_matches_note(unknown, [*accepted, "weight"])  # weight: the mixture's (MixtureDataset)
    return ValueError(f"dataset type {kind!r}: unknown option(s) {unknown}{close}; accepted: {list(accepted)}")


def dataset_entries_error(entries: Sequence[Any]) -> ValueError | None:
    """The first error of ``data.datasets`` ``entries`` that can be told without importing a dataset module: an
    entry that is not a mapping, or an option a built-in type does not take (``data.datasets.0 (synthetic):
    dataset type 'synthetic': unknown option(s) ['lenght'] ...``, as when the datasets are built). Other types
    (one's own ``package.module.ClassName``, a name registered at run time) are checked when they are built."""
    for i, spec in enumerate(entries):
        if not isinstance(spec, dict):
            return ValueError(f"data.datasets.{i}: expected a mapping with a 'type', got {spec!r}")
        kind = spec.get("type")
        accepted = BUILTIN_DATASET_OPTIONS.get(kind) if isinstance(kind, str) else None
        if accepted is None:
            continue
        error = unknown_options_error(kind, [k for k in spec if k not in ("type", "weight")], accepted)
        if error is not None:
            return ValueError(f"data.datasets.{i} ({kind}): {error}")
    return None
