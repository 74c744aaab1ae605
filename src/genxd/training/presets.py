"""The training presets genxd ships (``genxd/configs/*.yaml``, package data): found by name from any folder.

``genxd train tiny`` and ``load_config("tiny")`` read ``genxd/configs/tiny.yaml`` wherever genxd is installed (a
wheel, an sdist or an editable checkout). A path that exists wins over a preset of the same name. A preset is of
one kind, ``genxd train``'s (``"genxd"``: the UNet) or ``genxd train-vae``'s (``"vae"``), told by its sections.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

__all__ = ["PRESETS_DIR", "preset_kind", "preset_names", "resolve_config"]

#: The folder of the shipped presets (their ``base:`` names are relative to it).
PRESETS_DIR = Path(__file__).resolve().parent.parent / "configs"
_SUFFIXES = (".yaml", ".yml")


#: How a refusal calls the presets of a kind.
_KIND_WORDS = {None: "the presets", "genxd": "the UNet's presets", "vae": "the VAE's presets"}


def preset_kind(name: str) -> str | None:
    """``"genxd"`` or ``"vae"``: the kind of config shipped preset ``name`` is, the one whose sections hold all of
    its own (with its bases': ``model`` is the UNet's, ``vae`` the VAE's); None where both or neither do."""
    from .config import TrainConfig, VAETrainConfig, load_yaml_with_bases

    keys = set(load_yaml_with_bases(PRESETS_DIR / f"{name}.yaml"))
    kinds = [kind for kind, cls in (("genxd", TrainConfig), ("vae", VAETrainConfig))
             if keys <= {f.name for f in dataclasses.fields(cls)}]
    return kinds[0] if len(kinds) == 1 else None


def preset_names(kind: str | None = None) -> list[str]:
    """The names of the shipped presets (``tiny``, ``small_vae``, ...), sorted; with ``kind`` (``"genxd"`` or
    ``"vae"``) only those of that kind (:func:`preset_kind`; a preset of no single kind is listed for both)."""
    names = sorted(p.stem for p in PRESETS_DIR.glob("*.yaml") if p.is_file())
    return names if kind is None else [name for name in names if preset_kind(name) in (kind, None)]


def has_folder(name: str) -> bool:
    """Whether a path names a folder part (``/``, ``\\`` or ``os.sep``: a Windows path given on Linux too)."""
    return any(sep in name for sep in (os.sep, "/", "\\"))


def resolve_config(config: str | os.PathLike, kind: str | None = None) -> Path:
    """The YAML file ``config`` names: the path itself where it is a file, else the shipped preset of that name
    (``tiny`` or ``tiny.yaml``; also where a folder of that name is here, such as a run's ``output_dir=tiny``).
    Else a FileNotFoundError: for a bare name, listing the presets (of ``kind`` where given: ``genxd train-vae
    nope`` lists the VAE's); for a path (``configs/tiny.yaml``, where the presets were in the checkout; a
    backslash counts as a separator too), naming the preset of its file name if any. A folder that is no
    preset's name is returned (``load_yaml_with_bases`` says it is a folder)."""
    path = Path(config)
    if path.is_file():
        return path
    name = os.fspath(config)
    suffix = next((s for s in _SUFFIXES if name.endswith(s)), "")
    stem = name[: len(name) - len(suffix)]
    in_folder = has_folder(name)
    if not in_folder and stem and (PRESETS_DIR / f"{stem}.yaml").is_file():
        return PRESETS_DIR / f"{stem}.yaml"
    if path.exists():
        return path
    if in_folder:
        file_name = stem.replace("\\", "/").rpartition("/")[2]
        preset = PRESETS_DIR / f"{file_name}.yaml"
        hint = f" (genxd ships a preset of its name: give it as {preset.stem})" if suffix and preset.is_file() else ""
        raise FileNotFoundError(f"{name}: no such config file{hint}")
    raise FileNotFoundError(f"{name}: no such config file, nor a preset of genxd "
                            f"({_KIND_WORDS.get(kind, 'the presets')}: {', '.join(preset_names(kind))})")
