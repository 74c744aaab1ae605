"""Training configuration files: YAML presets with ``base:`` inheritance (a path relative to the preset, or the
shipped preset of that name) and dotted command-line overrides (``section.key=value``, values parsed as YAML, list
items by index), read into plain dicts. :func:`genxd.training.config.load_config` turns them into the dataclasses."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import yaml

from .presets import PRESETS_DIR, has_folder, preset_names


def merge_mappings(base: Any, over: Any) -> Any:
    """``over`` merged onto ``base``: mappings key by key, anything else replaced (copies; neither is changed)."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = merge_mappings(base[k], v) if k in base else copy.deepcopy(v)
        return out
    return copy.deepcopy(over)


#: Most values (mappings, lists and scalars, each alias counted as what it repeats) a YAML preset may expand to: a
#: few lines of aliases that repeat aliases expand to billions, which printing or copying the config never finishes.
MAX_CONFIG_VALUES = 100_000


def _expands_beyond(data: Any, limit: int) -> bool:
    """Whether ``data`` holds more than ``limit`` values with shared (aliased) parts counted every time they
    occur; stops counting at ``limit``."""
    stack, count = [data], 0
    while stack:
        item = stack.pop()
        count += 1
        if count > limit:
            return True
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def load_yaml_with_bases(path: str | os.PathLike, _seen: tuple[Path, ...] = (),
                         layers: list[tuple[Path, dict[str, Any]]] | None = None) -> dict[str, Any]:
    """Read a YAML preset, resolving ``base:`` (a path relative to the file, or a list of them; a file name with no
    folder part that is not beside the file is the shipped preset of that name, so a copied preset keeps its base).
    ``layers``: given, each file read is appended to it with what it sets itself (its mapping less ``base:``)."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a config file (a YAML file, or a preset name such as tiny)")
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such config file")
    resolved = path.resolve()
    if resolved in _seen:
        raise ValueError(f"{path}: circular 'base:' chain ({' -> '.join(map(str, _seen + (resolved,)))})")
    try:
        data = yaml.safe_load(path.read_bytes().decode("utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text file ({exc})") from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ValueError(f"{path}: invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: a config must be a YAML mapping")
    if _expands_beyond(data, MAX_CONFIG_VALUES):
        raise ValueError(f"{path}: expands to more than {MAX_CONFIG_VALUES} values (YAML aliases repeating "
                         "others?); a preset holds a few hundred")
    bases = data.pop("base", None)
    if layers is not None:
        layers.append((path, copy.deepcopy(data)))
    merged: dict[str, Any] = {}
    if bases is not None and not isinstance(bases, (str, list)):
        raise ValueError(f"{path}: base: expected a file name or a list of them, got {bases!r}")
    for b in [bases] if isinstance(bases, str) else list(bases or []):
        if not isinstance(b, str) or not b:
            raise ValueError(f"{path}: base: expected a file name, got {b!r}")
        base_path = path.parent / b
        if not base_path.exists() and not has_folder(b) and (PRESETS_DIR / b).is_file():
            base_path = PRESETS_DIR / b  # a copied preset's base: the shipped preset of that name
        if base_path.is_dir():
            raise IsADirectoryError(f"{path}: base: {base_path} is a folder, not a config file")
        if not base_path.is_file():
            presets = f" (nor a preset of genxd: {', '.join(f'{n}.yaml' for n in preset_names())})" \
                if not has_folder(b) else ""
            raise FileNotFoundError(f"{path}: base: {base_path}: no such file{presets}")
        merged = merge_mappings(merged, load_yaml_with_bases(base_path, _seen + (resolved,), layers))
    return merge_mappings(merged, data)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``a.b.c=value`` overrides (values parsed as YAML; list items by index)."""
    data = copy.deepcopy(data)
    for item in overrides:
        if not item.strip():
            raise ValueError(f"an empty or blank override ({item!r}): overrides look like section.key=value")
        if "=" not in item:
            raise ValueError(f"override {item!r} must look like section.key=value")
        key, raw = item.split("=", 1)
        key = key.strip()
        if not key or any(not p for p in key.split(".")):
            raise ValueError(f"override {item!r}: bad key {key!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            raise ValueError(f"override {item!r}: value is not valid YAML ({exc})") from None
        node: Any = data
        parts = key.split(".")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if isinstance(node, list):
                if not part.lstrip("-").isdigit() or not -len(node) <= int(part) < len(node):
                    raise ValueError(f"override {item!r}: {'.'.join(parts[:i]) or 'config'} is a list of {len(node)}; bad index {part!r}")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
                continue
            if not isinstance(node, dict):
                raise ValueError(f"override {item!r}: {'.'.join(parts[:i])} is not a mapping")
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
    return data
