"""A network config checked against its weights file before the network is built: :func:`check_config_fits_weights`.

diffusers builds the whole network a config describes before it reads a weight: a downloaded config asking for
16 layers of 16 transformer layers per block (the bundled model has 1 of 1) built for 33 s and 1 GB before the
weights were found missing, 256 x 256 for minutes, and 65536 channels asked the allocator for 68 GB. The names and
shapes in the weights file's header (diffusers' module names, read without the data) bound what a config that fits
the file can ask for: as many numbered ``resnets`` / ``transformer_blocks`` / ``down_blocks`` / ``up_blocks`` as
the names number, and only channel counts some weight has as a dimension. :func:`check_weights_match` then
compares the network a config builds (on the meta device: no memory) with the file's names and shapes, strictly.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

from .utils.json_files import read_json
from .utils.paths import path_inside

__all__ = ["built_parameter_count", "check_config_fits_weights", "check_weights_match", "is_weights_index",
           "safetensors_shards", "variant_index_names", "variant_name", "weight_shapes"]

#: config key -> the numbered modules in the weights' names that it counts (per block, or in all)
_COUNTED = {"layers_per_block": "resnets", "transformer_layers_per_block": "transformer_blocks",
            "down_block_types": "down_blocks", "up_block_types": "up_blocks"}
_NUMBERED = re.compile(r"(?:^|\.)(resnets|transformer_blocks|down_blocks|up_blocks)\.(\d+)\.")
#: a weights index's name: ``NAME.index.json``, or a variant's ``NAME.index.VARIANT.json`` (see :func:`variant_name`)
#: or ``NAME.VARIANT.index.json`` (the deprecated name, see :func:`variant_index_names`)
_INDEX = re.compile(r"\.index(?:\.[^./]+)?\.json$")


def variant_name(name: str, variant: str | None) -> str:
    """The name diffusers gives the ``variant`` (``"fp16"``; ``"*"`` for a glob) of the weights file ``name``: the
    variant before the last suffix, as its ``_add_variant`` does. ``diffusion_pytorch_model.fp16.safetensors``,
    and for an index ``diffusion_pytorch_model.safetensors.index.fp16.json``; ``name`` itself for no variant."""
    if not variant:
        return name
    stem, _, suffix = name.rpartition(".")
    return f"{stem}.{variant}.{suffix}"


def variant_index_names(weights_name: str, variant: str | None) -> list[str]:
    """The names diffusers reads the index of the sharded weights ``weights_name`` under, for ``variant``
    (``"*"`` for globs): ``NAME.index.VARIANT.json`` (:func:`variant_name`, what its writer gives it) and the
    deprecated ``NAME.VARIANT.index.json`` (``diffusion_pytorch_model.safetensors.fp16.index.json``), which its
    ``_fetch_index_file_legacy`` still loads after a deprecation warning; ``NAME.index.json`` for no variant."""
    index = f"{weights_name}.index.json"
    return [variant_name(index, variant), f"{weights_name}.{variant}.index.json"] if variant else [index]


def is_weights_index(path: Path) -> bool:
    """Whether ``path`` names a sharded weights index (:data:`_INDEX`: a variant's too), not a weights file."""
    return bool(_INDEX.search(path.name))


def safetensors_shards(index: Path) -> list[Path]:
    """The shard files a safetensors ``.index.json`` lists (each once, sorted), each inside the index's folder. A
    ValueError naming the index when it cannot be read (:func:`~genxd.utils.json_files.read_json`: its size limit
    too), has no ``weight_map`` of tensor names to file names, or lists a file outside its folder."""
    tree = read_json(index, "a safetensors index")
    weight_map = tree.get("weight_map") if isinstance(tree, dict) else None
    if not isinstance(weight_map, dict) or not all(isinstance(f, str) for f in weight_map.values()):
        raise ValueError(f"{index}: expected a JSON object with a weight_map of tensor names to file names")
    return [path_inside(index.parent, shard, index) for shard in sorted(set(weight_map.values()))]


def _file_shapes(file: Path) -> dict[str, tuple[int, ...]]:
    """The names and shapes in one weights file: a safetensors header, or a pickle file (``.bin``: the caller
    allowed pickle) loaded onto the meta device with ``torch.load(weights_only=True)``, without the data (memory
    mapped when it is in torch's zip format; a legacy-format file, which diffusers loads too, cannot be)."""
    if file.name.endswith(".safetensors"):
        from safetensors import safe_open

        with safe_open(str(file), "pt") as f:
            slices = {name: f.get_slice(name) for name in f.keys()}
            dtypes = {name: str(s.get_dtype()) for name, s in slices.items()}
            _check_floating(file, {name: d for name, d in dtypes.items() if not d.startswith(("F", "BF"))})
            return {name: tuple(int(d) for d in s.get_shape()) for name, s in slices.items()}
    import torch

    state = torch.load(file, map_location="meta", weights_only=True, mmap=zipfile.is_zipfile(file))
    tensors = {name: t for name, t in state.items() if isinstance(t, torch.Tensor)}
    _check_floating(file, {name: str(t.dtype) for name, t in tensors.items() if not t.is_floating_point()})
    return {name: tuple(int(d) for d in t.shape) for name, t in tensors.items()}


class NotFloatingWeights(ValueError):
    """A weights file holding a tensor that is not floating point (a UNet's or VAE's weights all are)."""


def _check_floating(file: Path, others: dict[str, str]) -> None:
    """:class:`NotFloatingWeights` naming ``file`` and the first of ``others`` (``{name: dtype}`` of its tensors that
    are not floating point): diffusers cast ``I32`` weights to the model's dtype in silence (their values
    truncated to whole numbers when they were written)."""
    if others:
        name, dtype = next(iter(others.items()))
        more = f" (and {len(others) - 1} more)" if len(others) > 1 else ""
        raise NotFloatingWeights(f"{file}: the weight {name} is stored as {dtype}{more}, not as floating-point "
                                 "numbers: not a model's weights file, or a damaged one")


#: the lines of torch's refusal of a pickle file that say why (not its advice to load it with weights_only=False)
_PICKLE_WHY = re.compile(r"unsupported|global|operand|load key|ran out|truncat|zip|magic", re.IGNORECASE)


def _pickle_detail(exc: BaseException) -> str:
    """What torch found in a pickle weights file it did not read (``Unsupported GLOBAL posix.system ...``), on one
    line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    why = [line for line in lines[1:] if _PICKLE_WHY.search(line) and not line.startswith(("Check the", "Please"))]
    text = why[0] if why else (lines[0] if lines else "")
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


def _weight_shapes(weights: Path, shards: Sequence[Path] | None) -> dict[str, tuple[int, ...]] | None:
    """Each weight's name and shape (of every shard a ``.index.json`` lists: ``shards`` when the caller has read
    them), read from the headers only (:func:`_file_shapes`): a ValueError naming a safetensors file whose header
    cannot be read (a truncated download: the loader said "Unable to load weights from checkpoint file"), or a
    pickle file torch does not read as tensors only (code in it, or damaged: the same words before). An index that cannot be read is
    :func:`safetensors_shards`' ValueError: the loader would parse it without a size limit."""

    index = is_weights_index(weights)
    files = (list(shards) if shards is not None else safetensors_shards(weights)) if index else [weights]
    for file in files if index else []:
        if not file.is_file():  # was the loader's "... does not appear to have a file named ..."
            raise FileNotFoundError(f"{file}: no such file (a shard its index {weights.name} lists)")
    held = {}
    for file in files:
        try:
            held[file] = _file_shapes(file)
        except (NotFloatingWeights, ImportError):  # ImportError: safetensors missing or broken, not the file
            raise
        except Exception as exc:  # noqa: BLE001 - a damaged file
            if file.name.endswith(".safetensors") and file.is_file():  # safetensors says what is wrong in its header
                raise ValueError(f"{file}: not a readable safetensors file ({' '.join(str(exc).split())[:200]}): a "
                                 "download or copy that stopped? get it again") from None
            if file.is_file():  # a pickle file the caller allowed
                raise ValueError(f"{file}: not a pickle weights file genxd reads ({_pickle_detail(exc)}); pickle "
                                 "weights are read as tensors only (weights_only: no code in them runs): convert "
                                 "the file to safetensors where you trust it, or get it again") from None
            return None  # gone meanwhile: left to the loader's own, named, refusal
    if index:
        _check_index_matches_shards(weights, held)
    return {name: shape for shapes in held.values() for name, shape in shapes.items()}


def _check_index_matches_shards(index: Path, held: dict[Path, dict[str, tuple[int, ...]]]) -> None:
    """A ValueError naming the index or the shard when the index's ``weight_map`` and the weights its shards
    ``held`` (``{shard: {name: shape}}``) disagree: a weight listed in a shard that does not hold it, or a weight of a
    shard the index does not list (a damaged index, or shards of two saves). Before, diffusers loaded such a folder
    with its warning that a listed weight was "not used"."""
    weight_map = read_json(index, "a safetensors index")["weight_map"]  # checked by safetensors_shards
    for name, file in weight_map.items():
        shard = path_inside(index.parent, file, index)
        if name not in held.get(shard, {}):
            raise ValueError(f"{index}: lists the weight {name} in {file}, which does not hold it (a damaged index, "
                             "or shards of another save)")
    for shard, shapes in held.items():
        unlisted = [name for name in shapes if name not in weight_map]
        if unlisted:
            raise ValueError(f"{shard}: holds {unlisted[0]}"
                             f"{f' and {len(unlisted) - 1} more weights' if len(unlisted) > 1 else ''}, which its "
                             f"index {index.name} does not list (a damaged index, or shards of another save)")


def _weights_file(weights: Path) -> Path | None:
    """The ``.index.json`` beside ``weights``, else ``weights``, else None: when both are there diffusers loads the
    index's shards (its ``from_pretrained`` looks for an index first), so they are what is checked."""
    if is_weights_index(weights):
        return weights if weights.is_file() else None
    index = weights.with_name(weights.name + ".index.json")
    if index.is_file():
        return index
    return weights if weights.is_file() else None


def weight_shapes(weights: Path, shards: Sequence[Path] | None = None) -> dict[str, tuple[int, ...]] | None:
    """Each weight's name and shape in ``weights`` (a weights file, else its ``.index.json`` beside it; ``shards``:
    the files that index lists, when the caller has read them), read from the headers once, to be handed to
    :func:`check_config_fits_weights` and :func:`check_weights_match`; None when there are no weights or a shard
    cannot be read (see :func:`_weight_shapes`)."""
    weights_file = _weights_file(weights)
    return None if weights_file is None else _weight_shapes(weights_file, shards)


def _whole_numbers(value: Any) -> list[int]:
    """The whole numbers in ``value`` (a number, or a list of them, possibly nested)."""
    if isinstance(value, bool):
        return []
    if isinstance(value, int):
        return [value]
    if isinstance(value, list):
        return [n for item in value for n in _whole_numbers(item)]
    return []


def check_config_fits_weights(config_path: Path, config: dict, weights: Path,
                              shapes: dict[str, tuple[int, ...]] | None = None) -> None:
    """A ValueError naming ``config_path`` when the config asks for more layers, blocks or channels than the
    weights file ``weights`` (a safetensors file or its ``.index.json``) holds. ``shapes``: :func:`weight_shapes`
    of ``weights``, when the caller has read them (else they are read here)."""
    found = _weights_file(weights)
    if found is None:
        return
    weights = found
    if shapes is None:
        shapes = _weight_shapes(weights, None)
    if shapes is None:
        return
    dims = {d for shape in shapes.values() for d in shape}
    held: dict[str, int] = {}
    for name in shapes:
        for kind, number in _NUMBERED.findall(name):
            held[kind] = max(held.get(kind, 0), int(number) + 1)
    for key, kind in _COUNTED.items():
        value = config.get(key)
        asked = [len(value)] if key.endswith("_types") and isinstance(value, list) else _whole_numbers(value)
        if asked and max(asked) > max(1, held.get(kind, 0)):
            raise ValueError(f"{config_path}: {key} = {value!r} asks for more than {weights} holds (its weights "
                             f"number {held.get(kind, 0)} {kind}); the config does not fit its weights")
    channels = _whole_numbers(config.get("block_out_channels"))
    missing = [c for c in channels if c > 0 and c not in dims]  # 0: the builder's own error
    if missing:
        raise ValueError(f"{config_path}: block_out_channels = {config['block_out_channels']!r}: no weight in "
                         f"{weights} has {missing[0]} channels; the config does not fit its weights")


#: (network class, config as canonical JSON) -> the names and shapes of the network's weights, for the last few
#: configs checked: building the network on the meta device was about a quarter of the CPU of loading the bundled
#: model (0.37 -> 0.27 s a load, process CPU, one thread), paid again by a process loading one model again (the demo
#: per device, the API's ``load_model`` per call, a fuzzer's worker)
_BUILT: OrderedDict[tuple[Any, str], dict[str, tuple[int, ...]]] = OrderedDict()
_BUILT_KEEP = 8


def _built_shapes(model_cls: Any, config: dict) -> dict[str, tuple[int, ...]] | None:
    """``{name: shape}`` of the weights of the network ``model_cls`` builds from ``config`` (on the meta device;
    remembered for the last :data:`_BUILT_KEEP` configs), None when it cannot be built."""
    try:
        key = (model_cls, json.dumps(config, sort_keys=True, default=repr))
    except (TypeError, ValueError):  # a tree json cannot write (a circular one): built, not remembered
        key = None
    if key is not None and key in _BUILT:
        _BUILT.move_to_end(key)
        return _BUILT[key]
    from accelerate import init_empty_weights

    try:
        with init_empty_weights(include_buffers=True):
            network = model_cls.from_config(config)
    except Exception:  # noqa: BLE001 - a config the network cannot be built from: the loader's named refusal
        return None
    built = {name: tuple(t.shape) for name, t in network.state_dict().items()}
    if key is not None:
        _BUILT[key] = built
        while len(_BUILT) > _BUILT_KEEP:
            _BUILT.popitem(last=False)
    return built


def built_parameter_count(model_cls: Any, config: dict) -> int | None:
    """How many values the weights (and buffers) of the network ``model_cls`` builds from ``config`` hold, counted on
    the meta device (no memory); None when it cannot be built."""
    built = _built_shapes(model_cls, config)
    return None if built is None else sum(math.prod(shape) for shape in built.values())


def check_weights_match(config_path: Path, config: dict, model_cls: Any, weights: Path,
                        shapes: dict[str, tuple[int, ...]] | None = None) -> None:
    """Strict loading, checked before the weights are read: a ValueError naming the first weight (in the network's
    order) that the network ``model_cls`` builds from ``config`` and the file ``weights`` (or its ``.index.json``)
    do not share with one shape. diffusers refuses a shape that differs in its own words (advising random
    initialisation) and loads a file holding weights the network has no place for, ignoring them after a warning:
    a UNet config with one down block of attention less generated from a model missing those weights. Nothing is
    checked when the network cannot be built or a pickle file cannot be read (the loader names what is wrong).
    ``shapes``: :func:`weight_shapes` of ``weights``, when the caller has read them (else they are read here)."""
    weights_file = _weights_file(weights)
    if weights_file is None:
        return
    held = shapes if shapes is not None else _weight_shapes(weights_file, None)
    if held is None:
        return
    built = _built_shapes(model_cls, config)
    if built is None:  # a config the network cannot be built from: the loader's named refusal
        return
    fits = "the config does not fit its weights"
    for name, shape in built.items():
        if name not in held:
            raise ValueError(f"{weights_file}: holds no weight {name} (the network {config_path} describes has it); "
                             f"{fits}")
        if held[name] != shape:
            raise ValueError(f"{weights_file}: {name} has shape {list(held[name])} where the network {config_path} "
                             f"describes has {list(shape)}; {fits}")
    extra = [name for name in held if name not in built]
    if extra:
        raise ValueError(f"{weights_file}: holds {extra[0]}{f' and {len(extra) - 1} more weights' if len(extra) > 1 else ''}"
                         f", which the network {config_path} describes has no place for; {fits}")
