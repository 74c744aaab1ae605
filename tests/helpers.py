"""Small helpers shared by the test packages."""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
import zlib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def pyproject() -> dict:
    """pyproject.toml, parsed: with tomllib (Python >= 3.11), or on Python 3.10 with tomli, which pytest requires
    there. Not pip's vendored copy: on Python < 3.12 importing pip switches off setuptools' distutils shim, and
    setuptools imported later in the process (tests/test_package_data.py's sdist tests) failed its assertion."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # Python 3.10
        import tomli as tomllib
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def load_script(relative: str) -> ModuleType:
    """A script of the repository (e.g. ``benchmarks/bench_training.py``) loaded as a module."""
    path = ROOT / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses of the script look their module up there
    spec.loader.exec_module(module)
    return module


def env_with_path(*folders: Path | str, **changes: str) -> dict[str, str]:
    """This process's environment with ``folders`` first on ``PYTHONPATH`` (stand-in packages for a subprocess)
    and ``changes`` set."""
    import os

    env = dict(os.environ, **changes)
    env["PYTHONPATH"] = os.pathsep.join([*map(str, folders), env.get("PYTHONPATH", "")])
    return env


def free_port() -> int:
    """A free TCP port on 127.0.0.1 for ``accelerate launch --main_process_port``, below the kernel's ephemeral range
    (``benchmarks/bench_output.py``'s ``launch_port``: why)."""
    return load_script("benchmarks/bench_output.py").launch_port()


def run_launch(cmd: list[str], env: dict[str, str], timeout: float, **kwargs) -> "subprocess.CompletedProcess[str]":
    """``subprocess.run(cmd, capture_output=True, text=True)`` for a command that starts processes of its own
    (``accelerate launch``). Past ``timeout`` seconds the test fails with where every process stood: each one of
    the tree gets SIGABRT under ``PYTHONFAULTHANDLER=1`` (Python prints every thread's stack to its stderr), so a
    rare hang says where it hung instead of only 'timed out'."""
    import signal

    import psutil  # accelerate's dependency

    proc = subprocess.Popen(cmd, env={**env, "PYTHONFAULTHANDLER": "1"}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        for child in [*psutil.Process(proc.pid).children(recursive=True), psutil.Process(proc.pid)]:
            try:
                child.send_signal(signal.SIGABRT)
            except psutil.NoSuchProcess:
                pass
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        pytest.fail(f"{' '.join(map(str, cmd[:6]))} ... still running after {timeout:g} s; the stacks of its processes "
                    f"(SIGABRT):\n{out[-3000:]}\n{err[-12000:]}")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC."""
    return len(data).to_bytes(4, "big") + kind + data + zlib.crc32(kind + data).to_bytes(4, "big")


def png16(path: Path, array: np.ndarray) -> Path:
    """A 16-bit PNG (``[H, W]`` grey, ``[H, W, 2]`` grey + alpha, ``[H, W, 3]`` RGB or ``[H, W, 4]`` RGBA of
    uint16), written by hand (PIL cannot write 16-bit colour)."""
    h, w = array.shape[:2]
    channels = 1 if array.ndim == 2 else array.shape[2]
    colour = {1: 0, 2: 4, 3: 2, 4: 6}[channels]
    raw = b"".join(b"\0" + array[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colour, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw))
                     + png_chunk(b"IEND", b""))
    return path


def tiff16(path: Path, pixels: np.ndarray) -> Path:
    """``pixels`` (``uint16 [H, W, 3|4]``, RGB(A)) written by OpenCV as a 16-bit TIFF (LZW, interleaved)."""
    import cv2

    bgr = pixels[..., [2, 1, 0, 3][:pixels.shape[-1]]]
    assert cv2.imwrite(str(path), np.ascontiguousarray(bgr))
    return path


#: MP Entry attributes (CIPA DC-007): the representative flag and the picture type, as cameras write them
MP_PRIMARY, MP_PREVIEW = 0x20030000, 0x00010001  # a phone's photo and its large thumbnail (VGA)
MP_LEFT, MP_RIGHT = 0x20020002, 0x00020002  # a stereo camera's views (Fujifilm W3, Nintendo 3DS: "Disparity")


def mpo_photo(path: Path, image, quality: int = 75, attributes: tuple[int, ...] = (MP_PRIMARY, MP_PREVIEW),
              others=None) -> Path:
    """``image`` (a PIL image) saved as many phones and cameras write a JPEG: with more pictures after it (MPF
    data), which Pillow opens as format "MPO". By default a small preview picture follows (a phone's); ``others``
    (PIL images) and ``attributes`` (one MP Entry attribute a picture, :data:`MP_LEFT`, ...) make a stereo pair."""
    if others is None:
        others = [image.resize((max(1, image.width // 8), max(1, image.height // 8)))]
    image.save(path, "MPO", save_all=True, append_images=list(others), quality=quality)
    data = bytearray(path.read_bytes())  # Pillow writes the types "primary" and "undefined": set them
    tiff = data.index(b"MPF\0") + 4
    assert data[tiff:tiff + 4] == b"II*\0"
    ifd = tiff + struct.unpack_from("<I", data, tiff + 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        tag, _, count, value = struct.unpack_from("<HHII", data, ifd + 2 + 12 * i)
        if tag == 0xB002:  # MP Entry: 16 bytes a picture, the attribute first
            assert count == 16 * len(attributes)
            for k, attribute in enumerate(attributes):
                struct.pack_into("<I", data, tiff + value + 16 * k, attribute)
    path.write_bytes(bytes(data))
    return path


def shared_across_workers(tmp_path_factory: pytest.TempPathFactory, name: str, build) -> Path:
    """The folder ``build(folder)`` makes, made once per test session and shared by its pytest-xdist workers (a
    file lock: a worker that needs it while another makes it waits). Callers copy what they change."""
    import os

    from filelock import FileLock

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    folder = root / f"shared-{name}"
    with FileLock(str(folder) + ".lock"):
        if not (folder / ".done").is_file():
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            build(folder)
            (folder / ".done").write_text("")
    return folder


def fuzz_cli_inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The inputs of the ``cli-args`` and ``api-args`` fuzz targets (``benchmarks/fuzz_targets_cli.py``'s
    ``_make_inputs``: a generated scene, a reconstruction, SfM of a clip ...), made once for the session."""

    def build(folder: Path) -> None:
        sys.path.insert(0, str(ROOT / "benchmarks"))  # as benchmarks/fuzz_inputs.py does
        import fuzz_targets_cli

        fuzz_targets_cli._make_inputs(folder / "in")

    return shared_across_workers(tmp_path_factory, "fuzz-cli-inputs", build) / "in"


def _copy_inputs(made: Path, to: Path) -> None:
    """``made`` copied to ``to``, the files that name ``made`` (an input list, a scene's meta.json, a
    reconstruction's settings) naming ``to`` instead: as if made there."""
    import shutil

    import os

    shutil.copytree(made, to, symlinks=True)
    old, new = str(made).encode(), str(to).encode()
    for path in to.rglob("*"):
        # every file, whatever its size: one still naming ``made`` would have a case read (or change) the shared
        # inputs instead of its copy, silently
        if path.is_symlink():
            assert not os.readlink(path).startswith(str(made)), (path, "links into the shared inputs")
        elif path.is_file():
            data = path.read_bytes()
            if old in data:
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError:  # a binary file: a path of another length would break its layout
                    raise AssertionError(f"{path} names {made} and is not text: it cannot be rewritten") from None
                path.write_bytes(data.replace(old, new))


_FUZZ_FORK_SERVER = None
#: why this process's fork server could not start safely (then every worker starts afresh), once known
_FUZZ_FORK_UNSAFE: str | None = None


def fuzz_fork_server(fuzz: ModuleType):
    """This test process's fork server of fuzz workers (``benchmarks/fuzz_fork_server.py``), started at first use
    and stopped at exit: each fuzz test's worker is forked from it with torch, diffusers and genxd imported, instead
    of importing them afresh (6-10 s of CPU for the heavier targets, ~2 s for the others). None (workers started
    afresh, as ``fuzz_inputs.py``'s command line starts them) off Linux and where importing those libraries starts
    threads (a CUDA build of torch under Python 3.12 on a GPU host did: 3 threads), so that a fork is unsafe."""
    global _FUZZ_FORK_SERVER, _FUZZ_FORK_UNSAFE
    if not sys.platform.startswith("linux"):  # it counts its threads in /proc before each fork: workers start afresh
        return None
    if _FUZZ_FORK_UNSAFE is not None:
        return None
    if _FUZZ_FORK_SERVER is None or not _FUZZ_FORK_SERVER.alive():
        import atexit

        try:
            _FUZZ_FORK_SERVER = fuzz.ForkServer()
        except fuzz.NotSingleThreaded as exc:
            _FUZZ_FORK_UNSAFE = str(exc)
            return None
        atexit.register(_FUZZ_FORK_SERVER.close)
    return _FUZZ_FORK_SERVER


def assert_fuzz_finds_nothing(target: str, cases: int, tmp_path: Path, timeout: float = 60.0,
                              inputs=None, warm_up: bool = True) -> dict[str, int]:
    """Run cases ``0 .. cases-1`` (seed 0) of a ``benchmarks/fuzz_inputs.py`` target and fail on any finding (an
    error that does not name the file, another exception, a crash or a hang); returns the outcome counts.
    ``inputs``: a function returning the target's shared inputs made once (:func:`fuzz_cli_inputs`), which are
    copied instead of made again. ``warm_up=False``: the worker reads no seed before case 0 (``run_target``'s
    ``warm_up``: for a target whose first seed is costly and a ``timeout`` that allows for the imports in case 0).
    The worker is forked from :func:`fuzz_fork_server`."""
    fuzz = load_script("benchmarks/fuzz_inputs.py")
    module, found = fuzz.all_targets()[target]
    if found.missing():  # an optional package, or a core one absent on a bare GPU host
        pytest.skip(f"the {target} fuzz target needs: {found.missing()}")
    if inputs is not None:
        made, target_module = inputs(), sys.modules[module]
        assert hasattr(target_module, "_make_inputs"), module  # the function the copy stands in for
        mp = pytest.MonkeyPatch()
        mp.setattr(target_module, "_make_inputs", lambda root: _copy_inputs(made, root))
    try:
        result = fuzz.run_target(module, found, cases=list(range(cases)), seed=0, timeout=timeout,
                                 keep=tmp_path / target / "keep", work=tmp_path / target / "work", time_limit=None,
                                 warm_up=warm_up, fork_server=fuzz_fork_server(fuzz))
    finally:
        if inputs is not None:
            mp.undo()
    assert result["cases"] == cases, result
    bad = {k: v for k, v in result["counts"].items() if k in fuzz.BAD_OUTCOMES and v}
    assert not bad, (target, bad, result["findings"])
    return result["counts"]


#: what :func:`another_run_writes_meanwhile` writes
OTHER_RUNS_TEXT = "the other run's"


def another_run_writes_meanwhile(monkeypatch: pytest.MonkeyPatch, owner: object, name: str, out: Path) -> None:
    """Patch ``owner.name`` (``owner[name]`` of a dict: a step a command runs after its existing-output check) so
    that, when called, another run first writes ``out`` (:data:`OTHER_RUNS_TEXT`): two runs writing one output."""
    real = owner[name] if isinstance(owner, dict) else getattr(owner, name)

    def meanwhile(*args, **kwargs):
        Path(out).write_text(OTHER_RUNS_TEXT)
        return real(*args, **kwargs)

    if isinstance(owner, dict):
        monkeypatch.setitem(owner, name, meanwhile)
    else:
        monkeypatch.setattr(owner, name, meanwhile)


def another_task_writes_meanwhile(monkeypatch: pytest.MonkeyPatch, owner: object, out: Path, first: str,
                                  then: str) -> list[str]:
    """Patch ``owner.write_scene`` (a job's writer of each output folder) so that, when the job is about to write
    ``out/first``, another task of a job array has just written ``out/first`` and ``out/then`` (each a ``meta.json``
    of ``{}``): one written while this job sampled it, one before this job got to it. Returns the names of the
    folders the job goes on to write, in order."""
    write, written = getattr(owner, "write_scene"), []

    def other_task_writes(folder, *args, **kwargs):
        if folder.name == first:
            for name in (first, then):
                (out / name).mkdir(parents=True)
                (out / name / "meta.json").write_text("{}")
        written.append(folder.name)
        return write(folder, *args, **kwargs)

    monkeypatch.setattr(owner, "write_scene", other_task_writes)
    return written


def refuse_reading_large_arrays(monkeypatch) -> None:
    """Every array numpy reads (``np.load`` of a .npy / .npz) is checked: one of a million values or more fails the
    test (the zip-bomb tests: such an array must be refused from its header, not read)."""
    import numpy as np

    read = np.lib.format.read_array

    def read_small(fp, *args, **kwargs):
        array = read(fp, *args, **kwargs)
        assert array.size < 10**6, f"an array of {array.shape} was read"
        return array

    monkeypatch.setattr(np.lib.format, "read_array", read_small)


def old_still_camera_curation(root: Path, name: str, height: int, width: int, focal: float = 0.8) -> None:
    """A curated video ``root/name`` whose model ``0/`` is a still camera as ``static_camera_sfm`` wrote it before
    22ff448: fy = focal x H (pixels stretched by the frame's aspect), ``sfm_mapper: static_camera`` in its meta.json."""
    import json
    import shutil

    from genxd.curation.static_camera import static_camera_sfm
    from genxd.data.synthetic import make_clip, write_clip

    write_clip(make_clip(3, "4d", 8, height, width), root, name, "camvid", num_points=50)
    folder = root / name
    frames = sorted(p.name for p in (folder / "images").iterdir())
    sfm = static_camera_sfm(frames, height, width, focal)
    camera = next(iter(sfm.reconstruction.cameras.values()))
    camera.params = [focal * width, focal * height, width / 2, height / 2]  # the old code's fy
    shutil.rmtree(folder / "0")
    (folder / "0").mkdir()
    sfm.reconstruction.write(str(folder / "0"))
    meta = json.loads((folder / "meta.json").read_text())
    meta["sfm_mapper"] = "static_camera"
    (folder / "meta.json").write_text(json.dumps(meta))


def blank_camera_scene(scene: Path) -> Path:
    """A generated-scene folder SfM cannot reconstruct, for ``genxd eval-camera`` tests: 4 grey frames of 32 px in
    ``frames/`` and a ``cameras.json`` of 4 cameras 1 apart along x (SfM fails on it in about 2 s)."""
    import torch
    from PIL import Image

    from genxd.cameras import save_camera_json

    (scene / "frames").mkdir(parents=True)
    for i in range(4):
        Image.fromarray(np.full((32, 32, 3), 128, np.uint8)).save(scene / "frames" / f"{i:03d}.png")
    c2w = torch.eye(4).repeat(4, 1, 1)
    c2w[:, 0, 3] = torch.arange(4.0)
    save_camera_json(scene / "cameras.json", c2w, torch.eye(3), 32, 32)
    return scene


def model_folder_of_frames(folder: Path, num_frames) -> Path:
    """A model folder of configs only whose generation_config.json asks for ``num_frames`` (no weights: a job that
    got past the frame count's check fails loading them)."""
    import json

    for part in ("unet", "vae", "scheduler"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    (folder / "generation_config.json").write_text(json.dumps({"num_frames": num_frames}))
    return folder
