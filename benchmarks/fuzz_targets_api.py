"""Fuzz target: the Python API (``genxd.generate_scenes``, ``genxd.fewshot_scenes``, ``genxd.load_model``), called
with arguments of every wrong type and value a notebook can pass.

``api-args``: one case is a JSON file ``{"fn": NAME, "kwargs": {ARG: EXPR, ...}, "inputs": FOLDER}``: a valid call
(the seeds) with one to three arguments replaced by a value from a pool (``None``, booleans, numbers at and past
their limits, NaN, strings, lists, tuples, dicts, bytes, numpy and torch scalars and arrays, an ``object()``, a
generator, paths to missing / damaged / other inputs). ``EXPR`` is a Python expression of that pool, evaluated
in the worker (``IN`` / ``OUT``: the shared inputs and the case's output folder, as strings).

The call runs in the worker process, stopped at its work as ``cli-args`` stops a command (a seventh UNet call,
a backward pass; ``benchmarks/fuzz_targets_cli.py``). Judged:

- returned: ``ok``;
- ``ValueError``, ``TypeError``, ``FileNotFoundError``, ``FileExistsError``, ``NotADirectoryError``,
  ``IsADirectoryError`` whose message names the argument (or a file of the call): ``clear``, else ``unnamed``;
- ``genxd.GenerationError`` (some inputs failed): judged by the error types its results record (each must be
  one of those above);
- anything else: a finding (``internal``), as is an input file changed.
"""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

from fuzz_target import FuzzTarget
from fuzz_targets_cli import REQUIRES, Sandbox, _make_inputs

__all__ = ["TARGETS"]

ALLOWED = (ValueError, TypeError, FileNotFoundError, FileExistsError, NotADirectoryError, IsADirectoryError)
_ALLOWED_NAMES = {cls.__name__ for cls in ALLOWED} | {"InvalidValue", "InvalidType", "VideoReadError", "UsageError"}

SEEDS: dict[str, tuple[str, dict[str, str]]] = {
    "generate": ("generate_scenes", {"images": "IN + 'img.png'", "out_dir": "OUT + 'gen'", "num_inference_steps": "2",
                                     "progress": "False"}),
    "generate-4d": ("generate_scenes", {"images": "[IN + 'img.png', IN + 'img2.png']", "out_dir": "OUT + 'gen'",
                                        "mode": "'4d'", "camera": "IN + 'orbit.json'", "motion_strength": "8.0",
                                        "num_inference_steps": "2", "progress": "False"}),
    "generate-options": ("generate_scenes", {"images": "Path(IN) / 'img2.png'", "out_dir": "Path(OUT) / 'gen'",
                                             "camera": "'forward'", "num_frames": "8", "resolution": "64",
                                             "num_inference_steps": "2", "guidance_scale": "2.0", "seed": "3",
                                             "fit": "'pad'", "fps": "4.0", "progress": "False"}),
    "fewshot": ("fewshot_scenes", {"data_root": "IN + 'rf'", "out_dir": "OUT + 'fs'", "num_inference_steps": "2",
                                   "progress": "False"}),
    "load_model": ("load_model", {"model": "None", "device": "'cpu'", "dtype": "'fp32'"}),
}

_VALUES = (
    "None", "True", "False", "0", "-1", "1", "2", "3", "8", "9", "65", "2**40", "10**30", "1.5", "-0.0", "1e-30",
    "float('nan')", "float('inf')", "-float('inf')", "''", "'  '", "'abc'", "'orbit'", "'ORBIT'", "'4d'", "'3D'",
    "'video'", "'cpu'", "'cuda'", "'cuda:9'", "'fp16'", "'bf16'", "'pad'", "'crop'", "'euler'", "'dpm'", "'auto'",
    "[]", "[1, 2]", "[None]", "(1.0, 2.0)", "(1, 2, 3)", "(float('nan'), 1.0)", "('a', 'b')", "{}", "{'a': 1}",
    "b'img.png'", "np.int64(8)", "np.float32(0.5)", "np.array([1.0, 2.0])", "np.array(8)", "torch.tensor(8)",
    "torch.tensor([1.0, 2.0])", "torch.float16", "object()", "iter([IN + 'img.png'])", "IN + 'img.png'",
    "Path(IN) / 'missing.png'", "Path(IN)", "IN + 'orbit.json'", "IN + 'colmap'", "IN + 'garbage.png'",
    "IN + 'empty.png'", "IN + 'emptydir'", "IN + 'clip.mp4'", "IN + 'rf'", "[IN + 'img.png', IN + 'img.png']",
    "OUT + 'keep'", "OUT + 'keep/mine.txt'", "OUT + 'new'", "'/dev/null'",
)


def _seeds(folder: Path) -> list[Path]:
    inputs = folder / "in"
    _make_inputs(inputs)
    shutil.copytree(inputs, folder / "in.pristine", symlinks=True)
    seeds = []
    for name, (fn, kwargs) in SEEDS.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps({"fn": fn, "kwargs": kwargs, "inputs": str(inputs)}))
        seeds.append(path)
    return seeds


def _mutate(rng: random.Random, seed: Path, dest: Path) -> str:
    import inspect

    import genxd

    case = json.loads(seed.read_text())
    kwargs: dict[str, str] = case["kwargs"]
    names = [n for n in inspect.signature(getattr(genxd, case["fn"])).parameters if n != "loaded"]
    did = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        op = rng.random()
        if op < 0.85:
            name, value = rng.choice(names), rng.choice(_VALUES)
            kwargs[name] = value
            did.append(f"{name}={value}")
        elif kwargs:
            name = rng.choice(sorted(kwargs))
            del kwargs[name]
            did.append(f"dropped {name}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps({**case, "kwargs": kwargs}))
    return "; ".join(did) or "unchanged"


def _named(message: str, kwargs: dict, fn=None) -> bool:
    """Whether ``message`` names an argument of the call (or of ``fn``: Python's "missing ... argument 'out_dir'")
    or a file the call was given."""
    import inspect

    words = set(kwargs) | (set(inspect.signature(fn).parameters) if fn is not None else set())
    for value in kwargs.values():
        items = value if isinstance(value, (list, tuple)) else [value]  # images=('a', 'b'): a file is named
        for item in items:
            if isinstance(item, (str, Path)) and str(item).strip():
                text, name = str(item), Path(item).name
                # a name of one or two letters is in most messages: it counts where it is shown as a file ("a: ...")
                words |= {w if len(w) > 2 else f"{w}:" for w in (text, name)}
    return any(w and w in message for w in words)


def run_call(path: Path, stop_at_work: bool = True) -> None:
    """Make and judge one call (see the module's docstring)."""
    import numpy as np
    import torch

    import genxd

    case = json.loads(path.read_text())
    inputs = Path(case["inputs"])
    scope = {"IN": f"{inputs}/", "OUT": f"{path.parent / 'out'}/", "Path": Path, "np": np, "torch": torch}
    kwargs = {name: eval(expr, scope) for name, expr in case["kwargs"].items()}  # noqa: S307 - our own case files
    error: BaseException | None = None
    with Sandbox(path, inputs, stop_at_work) as box:
        try:
            getattr(genxd, case["fn"])(**kwargs)
        except Exception as exc:  # noqa: BLE001 - judged below (the budget's stop passes through to the box)
            error = exc
    named = {str(v) for v in kwargs.values() if isinstance(v, (str, Path))} if kwargs.get("overwrite") is True \
        else set()
    problems = box.problems(named)
    if problems:
        raise AssertionError(f"{path.name}: {'; '.join(problems)}")
    if error is None:
        return
    if isinstance(error, genxd.GenerationError):
        kinds = {r.error_type for r in error.results if r.status == "failed"}
        if not kinds <= _ALLOWED_NAMES:
            raise AssertionError(f"{path.name}: an input failed with {sorted(kinds - _ALLOWED_NAMES)}: {error}"[:400])
        raise ValueError(f"{path.name}: {error}")
    if isinstance(error, ALLOWED):
        if _named(str(error), kwargs, getattr(genxd, case["fn"])):
            raise ValueError(f"{path.name}: {type(error).__name__}: {error}"[:400]) from None
        raise ValueError(f"{type(error).__name__}: {error}"[:400]) from None  # allowed, names nothing: unnamed
    raise error


TARGETS = [
    FuzzTarget("api-args", "the Python API (generate_scenes, fewshot_scenes, load_model) with arguments of every "
               "wrong type and value: None, numbers past their limits, NaN, strings, lists, dicts, bytes, numpy / "
               "torch values, objects, generators, paths", _seeds, _mutate, run_call, allowed=(ValueError,),
               requires=REQUIRES),
]
