"""The training presets genxd ships (``genxd/configs/*.yaml``, package data): found by name from any folder.

``genxd train tiny`` and ``load_config("tiny")`` read ``genxd/configs/tiny.yaml`` wherever genxd is installed (a
wheel, an sdist or an editable checkout). A path that exists wins over a preset of the same name.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRESETS_DIR", "preset_names", "resolve_config"]

#: The folder of the shipped presets (their ``base:`` names are relative to it).
PRESETS_DIR = Path(__file__).resolve().parent.parent / "configs"
_SUFFIXES = (".yaml", ".yml")


def preset_names() -> list[str]:
    """The names of the shipped presets (``tiny``, ``small_vae``, ...), sorted."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml") if p.is_file())


def resolve_config(config: str | os.PathLike) -> Path:
    """The YAML file ``config`` names: the path itself where it exists, else the shipped preset of that name
    (``tiny`` or ``tiny.yaml``). Else a FileNotFoundError: for a bare name, listing the presets; for a path
    (``configs/tiny.yaml``, where the presets were in the checkout), naming the preset of its file name if any."""
    path = Path(config)
    if path.exists():
        return path
    name = os.fspath(config)
    suffix = next((s for s in _SUFFIXES if name.endswith(s)), "")
    stem = name[: len(name) - len(suffix)]
    if os.sep in name or "/" in name:
        preset = PRESETS_DIR / f"{path.name[: len(path.name) - len(suffix)]}.yaml"
        hint = f" (genxd ships a preset of its name: give it as {preset.stem})" if suffix and preset.is_file() else ""
        raise FileNotFoundError(f"{name}: no such config file{hint}")
    if stem and (PRESETS_DIR / f"{stem}.yaml").is_file():
        return PRESETS_DIR / f"{stem}.yaml"
    raise FileNotFoundError(f"{name}: no such config file, nor a preset of genxd (the presets: "
                            f"{', '.join(preset_names())})")
