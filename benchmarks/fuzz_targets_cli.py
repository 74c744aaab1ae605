"""Fuzz target: the command line, every command's options combined as a user might type them.

``cli-args``: one case is a JSON file ``{"argv": [...], "inputs": FOLDER}``: a valid command line of one command
(``generate``, ``reconstruct``, ``curate``, ``trajectory make`` ...; the seeds) with one to three edits: an option
of that command (found in the typer app, so new options are covered) set to a value from pools by the option's
type (numbers at and past their limits, NaN, words, paths to missing / empty / damaged files, folders, the other
inputs, choices and misspelt choices), an option or argument dropped, an option given twice, an unknown option.
The probe (``benchmarks/probe_bad_inputs.py``) tries one bad value at a time; this target tries them together.

Each case runs in the worker process through typer's ``CliRunner`` (the command exactly as typed, its error
handling included) in its own output folder, which already holds ``keep/mine.txt``. Work past the checks is not
done in full: a seventh UNet call, a seventh backward pass (``reconstruct``, ``train``), more than 2 Mpx of synthetic
renders and the demo's server start stop the command there (counted ``ok``); the seeds fit in that budget, so
their outputs (videos, PLY files, checkpoints, reports) are written, and the writing is fuzzed too. SfM (``curate``,
``trajectory from-video``) runs in full on a 16-frame clip of 64 px.

Judged:

- exit 0, or stopped at the work: ``ok``;
- exit 2 (or 1: a batch whose every item failed, not for its input) with one ``genxd: error:`` line (or click's usage error) naming an option, an argument's value or a
  file of the command line: ``clear``; naming none of them: ``unnamed``;
- an exception out of the command (a traceback), another exit code, more than one error line, a traceback
  printed, ``keep/mine.txt`` changed, an input file changed or removed: findings (``internal``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
from pathlib import Path

from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # tests.cli.introspect: the app's options, as the probe reads them

IN, OUT = "@in/", "@out/"
#: the seeds' inputs need COLMAP (a camera model, SfM on a clip) and PyAV (the clip): core dependencies,
#: absent only on a bare GPU host
REQUIRES = (("pycolmap", "pip install -e ."), ("av", "pip install -e ."))
#: rendered pixels (frames x height x width) past which ``genxd synth`` is stopped
SYNTH_PIXEL_BUDGET = 2_000_000
#: UNet calls and backward passes past which a command is stopped (the seeds' own runs fit: their outputs are
#: written, so that writing them is fuzzed too)
WORK_BUDGET = 6

#: the seeds: a valid command line per command (``@in/`` the shared inputs, ``@out/`` the case's output folder)
SEEDS: dict[str, list[str]] = {
    "generate": ["generate", "@in/img.png", "-o", "@out/gen", "--steps", "2", "-q"],
    "generate-4d": ["generate", "@in/img.png", "@in/img2.png", "-o", "@out/gen", "--mode", "4d", "--camera",
                    "@in/orbit.json", "--motion-strength", "8", "--steps", "2"],
    "generate-video-path": ["generate", "@in/img.png", "-o", "@out/gen", "--camera-from-video", "@in/clip.mp4"],
    "generate-list": ["generate", "--input-list", "@in/list.txt", "-o", "@out/gen", "--camera", "forward"],
    "reconstruct": ["reconstruct", "@in/scene", "-o", "@out/rec", "--iterations", "3", "--video-frames", "4", "-q"],
    "reconstruct-generated": ["reconstruct", "@in/generated/img", "-o", "@out/rec", "--mode", "3d", "--iterations",
                              "3", "--video-frames", "4"],
    "eval-recon": ["eval-recon", "@in/recon", "--out", "@out/ev.json"],
    "curate": ["curate", "@in/clip.mp4", "-o", "@out/cur", "-q"],
    "curate-frames": ["curate", "@in/frames", "-o", "@out/cur", "--max-frames", "12"],
    "trajectory-make": ["trajectory", "make", "orbit", "-o", "@out/path.json", "--num-frames", "8"],
    "trajectory-make-colmap": ["trajectory", "make", "spiral", "-o", "@out/path", "--format", "colmap"],
    "trajectory-fit": ["trajectory", "fit", "@in/rf", "-o", "@out/fit"],
    "trajectory-from-video": ["trajectory", "from-video", "@in/clip.mp4", "-o", "@out/fv.json", "-q"],
    "fewshot": ["fewshot", "@in/rf", "-o", "@out/fs", "--steps", "2"],  # the UNet calls of one window
    "eval-camera": ["eval-camera", "@in/generated/img", "--out", "@out/ec.json", "--quiet"],
    "synth": ["synth", "@out/syn", "--frames", "4", "--size", "64", "-q"],
    "synth-video": ["synth", "@out/syn", "--format", "video", "--kind", "4d", "--frames", "4", "--size", "64"],
    "eval": ["eval", "--num-scenes", "1", "--modes", "3d-1view", "--steps", "2", "--out", "@out/eval.json"],
    "train": ["train", "@in/tiny.yaml", "output_dir=@out/train", "training.max_steps=2"],
    "train-vae": ["train-vae", "@in/tiny_vae.yaml", "output_dir=@out/vae", "training.max_steps=2"],
    "demo": ["demo", "--port", "7861"],
    "info": ["info"],
}

_NUMBERS = ("0", "-1", "1", "2", "3", "7", "8", "9", "16", "65", "1000", "1e9", "2.5", "0.001", "-0.5", "1e-30",
            "nan", "inf", "-inf", "abc", "", "1,2", " 4", "0x10", "1_000")
_PATHS = ("@in/missing.png", "@in/emptydir", "@in/empty.png", "@in/garbage.png", "@in/img.png", "@in/img2.png",
          "@in/clip.mp4", "@in/orbit.json", "@in/colmap", "@in/fv.json", "@in/list.txt", "@in/scene", "@in/rf",
          "@in/frames", "@in/generated/img", "@in/recon", "@in/tiny.yaml", "@out/new", "@out/keep",
          "@out/keep/mine.txt", "/dev/null", "", ".", "@in/" + "n" * 300, "@in/bad\nname.png", "@in/ümlaut.png")
_WORDS = ("bogus", "", "ORBIT", "orbit", "forward", "pan", "zoom", "3d", "4d", "cpu", "cuda", "cuda:7", "fp16",
          "bf16", "auto", "none", "-q", "--help", "a=b", "training.batch_size=nan", "model.init=svd",
          "data.height=33", "x" * 500)


class _Reached(BaseException):
    """The command got past its checks to its work (a UNet call, a backward pass, a large render, a server
    start): stopped there, judged ``ok``. A BaseException, so that no ``except Exception`` turns it into an
    error line."""


# -- seeds ------------------------------------------------------------------------------------------------------

def _cli(argv: list[str]) -> None:
    from typer.testing import CliRunner

    from genxd.cli import app

    res = CliRunner().invoke(app, argv)
    if res.exit_code != 0:
        raise RuntimeError(f"seed input: genxd {' '.join(argv)} failed: {res.stderr[-500:]} {res.exception!r}")


def _make_inputs(root: Path) -> None:
    import numpy as np
    import PIL.Image

    root.mkdir(parents=True)
    rng = np.random.default_rng(0)
    PIL.Image.fromarray((rng.random((64, 64, 3)) * 255).astype("uint8")).save(root / "img.png")
    PIL.Image.fromarray((rng.random((48, 80, 3)) * 255).astype("uint8")).save(root / "img2.png")
    (root / "empty.png").write_bytes(b"")
    (root / "garbage.png").write_bytes(bytes(rng.integers(0, 256, 333, dtype=np.uint8)))
    (root / "emptydir").mkdir()
    (root / "list.txt").write_text(f"{root / 'img.png'}\n{root / 'img2.png'}\n")
    for name in ("tiny.yaml", "tiny_vae.yaml"):
        shutil.copy(REPO / "src" / "genxd" / "configs" / name, root / name)
    tmp = root / "_tmp"
    _cli(["trajectory", "make", "orbit", "-o", str(root / "orbit.json"), "--num-frames", "8", "-q"])
    _cli(["trajectory", "make", "spiral", "-o", str(root / "colmap"), "--format", "colmap", "--num-frames", "8",
          "-q"])
    _cli(["synth", str(tmp / "scene"), "--frames", "8", "--size", "64", "-q"])
    shutil.move(str(next((tmp / "scene").glob("synth_*"))), root / "scene")
    _cli(["synth", str(tmp / "clip"), "--format", "video", "--kind", "4d", "--frames", "16", "--size", "64", "-q"])
    shutil.move(str(next((tmp / "clip").glob("*.mp4"))), root / "clip.mp4")
    _cli(["synth", str(root / "rf"), "--format", "reconfusion", "--size", "64", "-q"])
    from genxd.curation.frames import read_frames

    (root / "frames").mkdir()
    for i, frame in enumerate(read_frames(root / "clip.mp4", max_frames=12)):
        PIL.Image.fromarray(frame).save(root / "frames" / f"{i:03d}.png")
    _cli(["trajectory", "from-video", str(root / "clip.mp4"), "-o", str(root / "fv.json"), "-q"])
    _cli(["generate", str(root / "img.png"), "-o", str(root / "generated"), "--steps", "1", "-q"])
    _cli(["reconstruct", str(root / "scene"), "-o", str(root / "recon"), "--iterations", "3",
          "--holdout-every", "4", "--video-frames", "4", "-q"])
    shutil.rmtree(tmp)


def _seeds(folder: Path) -> list[Path]:
    inputs = folder / "in"
    _make_inputs(inputs)
    shutil.copytree(inputs, folder / "in.pristine", symlinks=True)  # what a changed input is put back from
    seeds = []
    for name, argv in SEEDS.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps({"argv": argv, "inputs": str(inputs)}))
        seeds.append(path)
    return seeds


# -- mutations --------------------------------------------------------------------------------------------------

def _command_params(argv: list[str]):
    from tests.cli.introspect import commands, params

    table = dict(commands())
    for n in (2, 1):
        key = tuple(argv[:n])
        if key in table:
            return key, params(key, table[key])
    return tuple(argv[:1]), []


def _choices(param) -> list[str]:
    import enum

    from genxd import validation as v

    spec = param.spec
    if isinstance(spec, (v.Choice, v.ChoiceList)):
        return list(spec.choices if isinstance(spec, v.Choice) else spec._names())
    if isinstance(param.base, type) and issubclass(param.base, enum.Enum):
        return [str(m.value) for m in param.base]
    return []


def _value(rng: random.Random, param) -> str:
    from genxd import validation as v

    choices = _choices(param)
    if choices and rng.random() < 0.6:
        pick = rng.choice(choices)
        return rng.choice((pick, pick.upper(), pick + "x", pick[:-1] or "x", ",".join(rng.sample(choices, min(2, len(choices))))))
    if param.numeric or isinstance(param.spec, (v.Number, v.Numbers, v.Pair, v.Size)):
        return rng.choice(_NUMBERS)
    if param.base is Path or "path" in param.name or "dir" in param.name or param.name in ("out", "model", "camera"):
        return rng.choice(_PATHS)
    return rng.choice(_WORDS + _PATHS + _NUMBERS)


def _spans(argv: list[str], params) -> list[tuple[int, int]]:
    """(start, end) of each option with its value and each positional in ``argv`` after the command words."""
    flags = {d: p for p in params if p.kind == "option" for d in p.decls}
    spans, i = [], 0
    while i < len(argv):
        p = flags.get(argv[i])
        takes = p is not None and p.base is not bool and i + 1 < len(argv)
        spans.append((i, i + 2 if takes else i + 1))
        i += 2 if takes else 1
    return spans


def _mutate(rng: random.Random, seed: Path, dest: Path) -> str:
    case = json.loads(seed.read_text())
    argv: list[str] = case["argv"]
    command, params = _command_params(argv)
    head, rest = argv[:len(command)], argv[len(command):]
    did = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        options = [p for p in params if p.kind == "option" and p.flag not in ("--ray", "--help")]
        op = rng.choice(("set", "set", "set", "set", "drop", "twice", "unknown", "positional"))
        spans = _spans(rest, params)
        if op == "set" and options:
            p = rng.choice(options)
            flag = rng.choice(p.decls) if rng.random() < 0.3 else p.flag
            if p.base is bool:
                rest += [flag]
                did.append(f"added {flag}")
                continue
            value = _value(rng, p)
            for start, end in reversed(spans):  # replace an earlier value of the same option
                if rest[start] in p.decls:
                    del rest[start:end]
            rest += [flag, value]
            did.append(f"{flag} {value!r}")
        elif op == "drop" and spans:
            start, end = rng.choice(spans)
            did.append(f"dropped {rest[start:end]}")
            del rest[start:end]
        elif op == "twice" and spans:
            start, end = rng.choice(spans)
            rest += rest[start:end]
            did.append(f"twice {rest[start:end]}")
        elif op == "positional":
            value = rng.choice(_PATHS + _WORDS)
            rest.insert(rng.randrange(len(rest) + 1), value)
            did.append(f"positional {value!r}")
        else:
            rest += ["--no-such-option"]
            did.append("unknown option")
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps({"argv": head + rest, "inputs": case["inputs"]}))
    return "; ".join(did) or "unchanged"


# -- running a case ---------------------------------------------------------------------------------------------

class _Stops:
    """The patches that stop a command at its work, made once per worker."""

    done = False
    pixels = unet_calls = backward_passes = 0  # in this case

    @classmethod
    def install(cls) -> None:
        if cls.done:
            return
        import torch

        import genxd.data.synthetic.clips as clips
        from genxd.models.unet_mv_temporal import UNetMVTemporalConditionModel

        real_forward, real_backward = UNetMVTemporalConditionModel.forward, torch.Tensor.backward

        def unet_forward(self, *args, **kwargs):
            cls.unet_calls += 1
            if cls.unet_calls > WORK_BUDGET:
                raise _Reached("UNet calls")
            return real_forward(self, *args, **kwargs)

        def backward(self, *args, **kwargs):
            cls.backward_passes += 1
            if cls.backward_passes > WORK_BUDGET:
                raise _Reached("backward passes")
            return real_backward(self, *args, **kwargs)

        render_module = sys.modules["genxd.data.synthetic.render"]  # the package's ``render`` is the function
        real_render = render_module.render

        def render(scene, c2w, K, height, width, *args, **kwargs):
            cls.pixels += int(c2w.reshape(-1, 4, 4).shape[0]) * int(height) * int(width)
            if cls.pixels > SYNTH_PIXEL_BUDGET:
                raise _Reached("large render")
            return real_render(scene, c2w, K, height, width, *args, **kwargs)

        UNetMVTemporalConditionModel.forward = unet_forward
        torch.Tensor.backward = backward
        render_module.render = clips.render = render

        def stop_launch(gradio) -> None:
            def launch(self, *args, **kwargs):
                raise _Reached("server start")

            gradio.Blocks.launch = launch

        # patched when gradio is first imported (by the demo command), not imported here: 2.3 s of CPU in a
        # worker whose cases never start the demo (api-args)
        if "gradio" in sys.modules:
            stop_launch(sys.modules["gradio"])
        else:
            sys.meta_path.insert(0, _AfterImport("gradio", stop_launch))
        cls.done = True


class _AfterImport:
    """A meta path finder that runs ``then(module)`` once module ``name`` has been imported (its code run), then
    steps aside."""

    def __init__(self, name: str, then) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path=None, target=None):
        if fullname != self.name:
            return None
        import importlib.util

        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)  # the other finders; None: not installed, the import fails as before
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            run = spec.loader.exec_module

            def exec_module(module) -> None:
                run(module)
                self.then(module)

            spec.loader.exec_module = exec_module
        return spec


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _resolve(arg: str, inputs: Path, out: Path) -> str:
    arg = arg.replace(IN, f"{inputs}/").replace(OUT, f"{out}/")
    return arg


def _named(message: str, argv: list[str]) -> bool:
    """Whether an error message names something of the command line: an option, a value, a file's name, or a
    missing argument of the command (by its name, as click does: ``Missing argument 'INPUTS'``)."""
    params = _command_params(argv)[1]
    words = {w for p in params if p.kind == "argument" for w in (p.name, p.name.upper())}
    words |= {d for p in params if p.kind == "option" for d in p.decls}
    for a in argv:
        if a.startswith("-"):
            words.add(a.split("=")[0])
        elif a:
            words.update({a, Path(a).name, Path(a).stem, a.split("=")[0]})  # stem: curate's video ids
    words |= {w.replace("\n", "\\x0a") for w in words} | {repr(w)[1:-1] for w in words}  # shown escaped,
    words |= {" ".join(w.split()) for w in words}  # or on one line (genxd's messages collapse whitespace)
    return any(w and w in message for w in words) or ("" in argv and "('')" in message)


class Sandbox:
    """One case's surroundings, for ``with``: its output folder (``out/``, holding an earlier ``keep/mine.txt``)
    and working folder (``cwd/``: relative names land there), the process state a command may change
    (environment, torch's threads, the working folder: put back after), the work stopped at its budget
    (``reached``), and the shared inputs watched: :meth:`problems` says what was changed or lost; changed inputs
    are put back from ``in.pristine`` for the next case."""

    def __init__(self, case_file: Path, inputs: Path, stop_at_work: bool = True) -> None:
        self.folder, self.inputs, self.stop_at_work = case_file.parent, inputs, stop_at_work
        self.out = self.folder / "out"
        self.reached = False

    def __enter__(self) -> "Sandbox":
        import torch

        if self.stop_at_work:
            _Stops.install()
        _Stops.pixels = _Stops.unet_calls = _Stops.backward_passes = 0
        (self.out / "keep").mkdir(parents=True, exist_ok=True)
        (self.out / "keep" / "mine.txt").write_text("mine")
        self.before = _snapshot(self.inputs)
        self._state = dict(os.environ), torch.get_num_threads(), os.getcwd()
        (self.folder / "cwd").mkdir(exist_ok=True)
        os.chdir(self.folder / "cwd")
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        import torch

        env, threads, cwd = self._state
        os.environ.clear()
        os.environ.update(env)
        torch.set_num_threads(threads)
        os.chdir(cwd)
        self.reached = kind is not None and issubclass(kind, _Reached)
        return self.reached

    def problems(self, replaced_as_asked: set[str] = frozenset()) -> list[str]:
        """What the case changed that it must not: an input file (other than ``replaced_as_asked``, files the
        call named with its overwrite switch), ``keep/mine.txt``. New files beside the inputs are fine
        (``eval-camera`` writes into GENERATED by default)."""
        found = []
        after = _snapshot(self.inputs)
        changed = sorted(name for name, stat in self.before.items()
                         if after.get(name) != stat and str(self.inputs / name) not in replaced_as_asked)
        if changed:
            found.append(f"input files changed or removed: {', '.join(changed[:3])}")
        if after != self.before:
            shutil.rmtree(self.inputs)
            shutil.copytree(self.inputs.parent / "in.pristine", self.inputs, symlinks=True)
        mine = self.out / "keep" / "mine.txt"
        named = {str(mine), str(mine.parent)} & {str(p).rstrip("/") for p in replaced_as_asked}
        if not named and (not mine.is_file() or mine.read_text() != "mine"):
            found.append("keep/mine.txt was changed or removed")
        return found


def run_case(path: Path, stop_at_work: bool = True) -> None:
    """Run one case and judge it (see the module's docstring). ``stop_at_work=False`` leaves the process
    unpatched (the stops patch torch and the UNet for good: for the fuzzer's worker only)."""
    from typer.testing import CliRunner

    from genxd.cli import app

    case = json.loads(path.read_text())
    inputs = Path(case["inputs"])
    argv = [_resolve(a, inputs, path.parent / "out") for a in case["argv"]]
    res = None
    with Sandbox(path, inputs, stop_at_work) as box:
        res = CliRunner().invoke(app, argv, catch_exceptions=True)  # catches Exception: _Reached passes through
    problems = box.problems(set(argv) if "--overwrite" in argv else set())
    if box.reached:
        if problems:
            raise AssertionError(f"{path.name}: {'; '.join(problems)}")
        return
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        raise res.exception.with_traceback(res.exc_info[2])
    stderr = res.stderr
    errors = [line for line in stderr.splitlines() if line.startswith("genxd: error:")]
    usage = res.exit_code == 2 and "Usage:" in stderr
    if "Traceback" in stderr + res.stdout:
        problems.append("a traceback was printed")
    # 1: a batch (generate, curate) in which every item failed for a reason other than its input
    if res.exit_code not in (0, 1, 2):
        problems.append(f"exit code {res.exit_code}")
    if res.exit_code in (1, 2) and not usage and len(errors) != 1:
        problems.append(f"{len(errors)} error lines")
    if problems:
        raise AssertionError(f"{path.name}: {'; '.join(problems)}: {stderr.strip()[-300:]}")
    if res.exit_code in (1, 2):
        message = " ".join(errors) if errors else stderr
        if _named(message, argv):
            raise ValueError(f"{path.name}: {message.strip()[-300:]}")
        raise ValueError(message.strip()[-300:])  # allowed type, names nothing: counted unnamed


TARGETS = [
    FuzzTarget("cli-args", "every command's options combined (typer app): numbers past their limits, words, "
               "paths to missing / empty / damaged files, choices, dropped and repeated options", _seeds, _mutate,
               run_case, allowed=(ValueError,), requires=REQUIRES),
]
