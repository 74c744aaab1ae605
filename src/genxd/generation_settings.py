"""A model folder's generation settings (``generation_config.json``): the keys genxd reads and the checks of their
values, free of torch so that ``genxd train`` checks its config's ``generation:`` section when the config is read
(:func:`generation_section_error`), before hours of training write them into every checkpoint.

:mod:`genxd.checkpoints` reads a model folder's file with the same checks (:func:`check_defaults`,
:func:`trained_ranges`).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from . import validation as v
from .utils.close_names import close_matches_note

__all__ = ["GENERATION_KEYS", "unknown_generation_keys", "check_defaults", "trained_ranges", "generation_number",
           "generation_section_error", "MODEL_NUM_FRAMES", "check_model_setting", "check_model_frames_sampled"]

#: The keys of ``generation_config.json`` genxd reads (besides notes, whose names start with ``_``).
GENERATION_KEYS = ("resolution", "height", "width", "num_frames", "num_inference_steps", "guidance_scale", "focal",
                   "scheduler", "scene_depth", "trained")

#: generation defaults the jobs use as whole numbers (``int(...)``) and as numbers (``float(...)``)
INT_DEFAULTS = ("resolution", "num_frames", "num_inference_steps", "height", "width")
FLOAT_DEFAULTS = ("guidance_scale",)

#: a model's frame count (``num_frames`` of its generation_config.json) where a job takes it for the frames of a
#: path or for its window: the range of ``genxd generate --frames`` / ``--window`` (1e12 made a preset path of
#: 1e12 cameras, 50000 ran out of memory after half a minute, 1 was refused naming --window, not given)
MODEL_NUM_FRAMES = v.Int(2, 10_000)


def generation_number(value: Any) -> float | None:
    """``value`` as a finite float when it is a number (or a numeric string, as ``int()`` / ``float()`` read
    it), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        x = float(value)
    except (ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def _int_text(value: Any) -> bool:
    """False for a string ``int()`` cannot read (``"12.0"``, ``"1e3"``: numbers to :func:`generation_number`, which
    the jobs' ``int(d["num_frames"])`` refused with a bare "invalid literal for int()"); True for anything else."""
    if not isinstance(value, str):
        return True
    try:
        int(value)
    except ValueError:
        return False
    return True


def check_defaults(cfg_path: Path | str, defaults: dict, partial: bool = False) -> None:
    """The generation defaults the jobs use (``int(d["resolution"])``, ``float(d["guidance_scale"])`` ...):
    a ValueError naming ``cfg_path`` for one that is not a positive whole number / a finite number. ``partial``: the
    settings given (a config's ``generation:`` section), so a missing ``guidance_scale`` is not an error."""
    for key in INT_DEFAULTS:
        if key not in defaults or (key in ("height", "width") and defaults[key] is None):
            continue
        x = generation_number(defaults[key])
        if x is None or x != int(x) or x < 1 or not _int_text(defaults[key]):
            raise ValueError(f"{cfg_path}: {key} must be a positive whole number, got {defaults[key]!r}")
    for key in FLOAT_DEFAULTS:
        if partial and key not in defaults:
            continue
        if generation_number(defaults.get(key)) is None:
            raise ValueError(f"{cfg_path}: {key} must be a finite number, got {defaults.get(key)!r}")
    if defaults.get("focal") is not None and not (generation_number(defaults["focal"]) or 0) > 0:
        raise ValueError(f"{cfg_path}: focal must be a positive number or null, got {defaults['focal']!r}")
    if not v.SCHEDULERS.accepts(defaults.get("scheduler")):
        raise ValueError(f"{cfg_path}: scheduler must be {v.SCHEDULERS.describe()}, got "
                         f"{defaults.get('scheduler')!r}")


def check_model_setting(config: Path | str, key: str, value: Any, spec: v.Spec, use: str) -> None:
    """An InvalidValue naming ``config`` and ``key`` for a model setting (``value``, read from the file) that a job
    takes in place of an option not given, when ``spec`` (that option's range) refuses it; ``use`` says what takes
    it and how to avoid it: ``"/m/generation_config.json: num_frames must be an integer in 2..10000, got 1; <use>"``.
    The option itself was not given, so a refusal naming it named what the user had not written."""
    try:
        spec.check(value, key)
    except v.InvalidValue as exc:
        raise v.InvalidValue(f"{config}: {exc}; {use}") from None


def check_model_frames_sampled(config: Path | str, value: Any, job: str) -> None:
    """The model's frame count (``num_frames`` of ``config``, generation_config.json) where ``job`` (``genxd eval``,
    ...) samples at it and no option sets it: in :data:`MODEL_NUM_FRAMES`, an InvalidValue naming the file and the key
    before anything is sampled (a count of 50000 ran out of memory, half a minute in, 1 failed in the sampler)."""
    check_model_setting(config, "num_frames", value, MODEL_NUM_FRAMES, f"{job} samples at the model's frame count: "
                        "fix the file")


def trained_ranges(cfg_path: Path | str, cfg: dict) -> dict:
    """The config's ``trained`` entry: ``{name: (lo, hi)}``; entries that are not pairs are ignored (as before),
    a pair that is not two finite numbers ``lo <= hi`` is a ValueError naming ``cfg_path``."""
    trained = cfg.get("trained") or {}
    if not isinstance(trained, dict):
        raise ValueError(f"{cfg_path}: trained must be an object of [low, high] ranges, got {trained!r:.80}")
    out = {}
    for k, val in trained.items():
        if not (isinstance(val, (list, tuple)) and len(val) == 2):
            continue
        lo, hi = (generation_number(x) for x in val)
        if lo is None or hi is None or lo > hi:
            raise ValueError(f"{cfg_path}: trained.{k} must be [low, high] finite numbers, got {val!r}")
        out[k] = tuple(val)
    return out


def unknown_generation_keys(settings: dict[str, Any]) -> list[Any]:
    """The keys of a ``generation_config.json`` or a ``generation:`` section that genxd never reads (not in
    :data:`GENERATION_KEYS`, not a ``_`` note), in their order."""
    return [k for k in settings if k not in GENERATION_KEYS and not str(k).startswith("_")]


def generation_section_error(section: dict[str, Any], where: str = "generation") -> ValueError | None:
    """A ValueError for a ``generation:`` section of a training config that ``genxd generate`` would refuse in the
    checkpoints it is written into (a value it cannot use), or whose key it would never read (a misspelt
    ``guidance_scal``: the run's checkpoints kept the default, in silence); None when it is fine."""
    unknown = unknown_generation_keys(section)
    if unknown:
        return ValueError(f"{where}: unknown key(s) {unknown}{close_matches_note(unknown, GENERATION_KEYS)}; "
                          f"valid keys: {list(GENERATION_KEYS)} (and notes, named _...)")
    try:
        if "scene_depth" in section and not v.Float(0.0, lo_open=True, optional=True).accepts(section["scene_depth"]):
            raise ValueError(f"{where}: scene_depth must be a positive number, got {section['scene_depth']!r}")
        check_defaults(where, section, partial=True)
        trained_ranges(where, section)
    except ValueError as exc:
        return exc
    return None

