"""The cases of the bad-input probe (``benchmarks/probe_bad_inputs.py``, which runs them): one builder per
group (``image_cases``, ``option_cases``, ``output_cases``, ``camera_cases``, ``archive_cases``,
``scene_cases``, ``kill_cases``; ``curate_cases`` and ``from_video_cases`` in ``probe_cases_video``) and
:func:`all_cases`. A :class:`Case` says what goes in
(the sandbox's inputs and the ``genxd`` argv) and what must come out (see the runner's docstring)."""

from __future__ import annotations

import io
import json
import os
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FAST = ["--steps", "1", "--frames", "2", "-q"]  # tiny settings with the bundled model

if str(ROOT) not in sys.path:  # the probe runs as a script; the hand-written PNGs come from the tests' helpers
    sys.path.insert(0, str(ROOT))

from tests.helpers import png16, png_chunk  # noqa: E402


@dataclass
class Case:
    id: str
    group: str
    what: str
    args: list[str] | Callable[[Path], list[str]] | None = None  # genxd argv (sandbox -> argv)
    setup: Callable[[Path], None] | None = None  # writes inputs into the sandbox
    expect: str = "error"  # "error" (exit 2, one line), "ok" (exit 0), "python-error" (ValueError), "kill", "full-disk"
    names: tuple[str, ...] = ()  # substrings the error line must hold
    detail: tuple[str, ...] = ()  # substrings stderr must hold besides (e.g. curate's one line per failed video)
    python: Callable[[Path], Any] | None = None  # for "python-error" cases
    kill: dict | None = None  # for "kill" cases
    ci: bool = False  # in the fast CI subset
    owner: str = "A"  # the helper whose work makes it pass (A: front door; B: cameras; C: archives/recon)
    skip: str | None = None  # reason the case cannot run here
    disk_kb: int | None = None  # "full-disk" cases: the size of the tmpfs mounted at out/full


def png_header_only(path: Path, width: int, height: int, bad_crc: bool = False) -> None:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    chunk = png_chunk(b"IHDR", ihdr)
    if bad_crc:
        chunk = chunk[:-4] + b"\0\0\0\0"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + png_chunk(b"IEND", b""))


def _rgb(h: int = 40, w: int = 40, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random((h, w, 3)) * 255).astype(np.uint8)


def image_cases() -> list[Case]:
    import PIL.Image

    def pil(name: str, make: Callable[[], "PIL.Image.Image"], **save) -> Callable[[Path], None]:
        def setup(box: Path) -> None:
            make().save(box / "in" / name, **save)
        return setup

    rgb = _rgb()
    grey = rgb[..., 0]
    ok = {
        "mode-1.png": pil("mode-1.png", lambda: PIL.Image.fromarray(grey > 128).convert("1")),
        "mode-L.png": pil("mode-L.png", lambda: PIL.Image.fromarray(grey, "L")),
        "mode-P.png": pil("mode-P.png", lambda: PIL.Image.fromarray(rgb).convert("P")),
        "mode-P-transparency.png": pil("mode-P-transparency.png", lambda: PIL.Image.fromarray(rgb).convert("P"), transparency=0),
        "mode-P-2bit.png": pil("mode-P-2bit.png", lambda: PIL.Image.fromarray(rgb).quantize(4), bits=2),
        "mode-P-4bit.png": pil("mode-P-4bit.png", lambda: PIL.Image.fromarray(rgb).quantize(16), bits=4),
        "mode-LA.png": pil("mode-LA.png", lambda: PIL.Image.fromarray(np.dstack([grey, grey]), "LA")),
        "mode-RGBA.png": pil("mode-RGBA.png", lambda: PIL.Image.fromarray(np.dstack([rgb, grey]), "RGBA")),
        "mode-RGBA.webp": pil("mode-RGBA.webp", lambda: PIL.Image.fromarray(np.dstack([rgb, grey]), "RGBA")),
        "lossless.webp": pil("lossless.webp", lambda: PIL.Image.fromarray(rgb), lossless=True),
        "mode-CMYK.jpg": pil("mode-CMYK.jpg", lambda: PIL.Image.fromarray(rgb).convert("CMYK")),
        "mode-L.jpg": pil("mode-L.jpg", lambda: PIL.Image.fromarray(grey, "L")),
        "progressive.jpg": pil("progressive.jpg", lambda: PIL.Image.fromarray(rgb), progressive=True),
        "interlaced.png": pil("interlaced.png", lambda: PIL.Image.fromarray(rgb), interlace=1),
        "mode-I16.png": pil("mode-I16.png", lambda: PIL.Image.fromarray((grey.astype(np.uint16) * 257))),
        "mode-I.tif": pil("mode-I.tif", lambda: PIL.Image.fromarray(grey.astype(np.int32) * 257)),
        "mode-F01.tif": pil("mode-F01.tif", lambda: PIL.Image.fromarray(grey.astype(np.float32) / 255)),
        "mode-F255.tif": pil("mode-F255.tif", lambda: PIL.Image.fromarray(grey.astype(np.float32))),
        "mode-CMYK.tif": pil("mode-CMYK.tif", lambda: PIL.Image.fromarray(rgb).convert("CMYK")),
        "mode-PA.tif": pil("mode-PA.tif", lambda: PIL.Image.fromarray(rgb).convert("P").convert("PA")),
        "mode-LAB.tif": pil("mode-LAB.tif", lambda: PIL.Image.fromarray(rgb).convert("LAB")),
        "mode-1.bmp": pil("mode-1.bmp", lambda: PIL.Image.fromarray(grey > 128).convert("1")),
        "mode-P.bmp": pil("mode-P.bmp", lambda: PIL.Image.fromarray(rgb).convert("P")),
        "mode-RGB.bmp": pil("mode-RGB.bmp", lambda: PIL.Image.fromarray(rgb)),
        "one-pixel.png": pil("one-pixel.png", lambda: PIL.Image.fromarray(rgb[:1, :1])),
        "very-wide.png": pil("very-wide.png", lambda: PIL.Image.fromarray(_rgb(2, 3000))),
        "very-tall.jpg": pil("very-tall.jpg", lambda: PIL.Image.fromarray(_rgb(3000, 3))),
        "upper-case.PNG": pil("upper-case.PNG", lambda: PIL.Image.fromarray(rgb)),
        "name with spaces é.png": pil("name with spaces é.png", lambda: PIL.Image.fromarray(rgb)),
    }

    def exif_rotated(box: Path) -> None:
        im = PIL.Image.fromarray(_rgb(20, 40))
        exif = PIL.Image.Exif()
        exif[0x0112] = 6
        im.save(box / "in" / "exif-rotated.jpg", exif=exif)

    ok["exif-rotated.jpg"] = exif_rotated
    ok["16bit-rgb.png"] = lambda box: png16(box / "in" / "16bit-rgb.png", rgb.astype(np.uint16) * 257)
    ok["16bit-rgba.png"] = lambda box: png16(box / "in" / "16bit-rgba.png", np.dstack([rgb, grey]).astype(np.uint16) * 257)
    ok["16bit-grey-alpha.png"] = lambda box: png16(box / "in" / "16bit-grey-alpha.png", np.dstack([grey, grey]).astype(np.uint16) * 257)
    ok["16bit-grey.png"] = lambda box: png16(box / "in" / "16bit-grey.png", grey.astype(np.uint16) * 257)

    cases = []
    ci_ok = {"16bit-rgb.png", "mode-I16.png"}
    for name, setup in ok.items():
        cases.append(Case(f"image-ok-{name}", "images", f"valid but odd image: {name}", setup=setup, expect="ok",
                          args=lambda box, n=name: ["generate", str(box / "in" / n), "-o", str(box / "out"), *FAST],
                          ci=name in ci_ok))

    def write(name: str, data: bytes) -> Callable[[Path], None]:
        return lambda box: (box / "in" / name).write_bytes(data)

    buf = io.BytesIO()
    PIL.Image.fromarray(_rgb(64, 64)).save(buf, "PNG")
    png = buf.getvalue()
    buf = io.BytesIO()
    PIL.Image.fromarray(_rgb(64, 64)).save(buf, "JPEG")
    jpg = buf.getvalue()
    bad = {
        "zero-byte.png": (write("zero-byte.png", b""), "zero-byte.png"),
        "text-as.png": (write("text-as.png", b"hello, not an image\n"), "text-as.png"),
        "html-as.jpg": (write("html-as.jpg", b"<html><body>404</body></html>"), "html-as.jpg"),
        "truncated.png": (write("truncated.png", png[: len(png) // 2]), "truncated.png"),
        "truncated.jpg": (write("truncated.jpg", jpg[: len(jpg) // 3]), "truncated.jpg"),
        "header-only.png": (write("header-only.png", png[:40]), "header-only.png"),
        "bad-crc.png": (lambda box: png_header_only(box / "in" / "bad-crc.png", 16, 16, bad_crc=True), "bad-crc.png"),
        "bomb-100M.png": (lambda box: png_header_only(box / "in" / "bomb-100M.png", 10_000, 10_000), "bomb-100M.png"),
        "bomb-900M.png": (lambda box: png_header_only(box / "in" / "bomb-900M.png", 30_000, 30_000), "bomb-900M.png"),
        "zero-width.png": (lambda box: png_header_only(box / "in" / "zero-width.png", 0, 16), "zero-width.png"),
        "nan-pixels.tif": (lambda box: PIL.Image.fromarray(np.full((8, 8), np.nan, np.float32)).save(box / "in" / "nan-pixels.tif"), "nan-pixels.tif"),
        "jpeg-named.png": (write("jpeg-named.png", jpg[: len(jpg) // 4]), "jpeg-named.png"),
        "random-bytes.webp": (write("random-bytes.webp", np.random.default_rng(1).bytes(4096)), "random-bytes.webp"),
        "animated.gif": (pil("animated.gif", lambda: PIL.Image.fromarray(rgb)), "animated.gif"),
        "notes.txt": (write("notes.txt", b"x"), "notes.txt"),
    }
    ci_bad = {"zero-byte.png", "truncated.png", "bomb-900M.png", "bomb-100M.png", "text-as.png", "nan-pixels.tif"}
    for name, (setup, needle) in bad.items():
        cases.append(Case(f"image-bad-{name}", "images", f"unreadable image: {name}", setup=setup, names=(needle,),
                          args=lambda box, n=name: ["generate", str(box / "in" / n), "-o", str(box / "out"), *FAST],
                          ci=name in ci_bad))

    def folder_no_images(box: Path) -> None:
        (box / "in" / "empty").mkdir()
        (box / "in" / "empty" / "readme.txt").write_text("x")

    def dir_named_png(box: Path) -> None:
        (box / "in" / "dir.png").mkdir()

    def loop(box: Path) -> None:
        (box / "in" / "loop.png").symlink_to(box / "in" / "loop.png")

    def unreadable(box: Path) -> None:
        PIL.Image.fromarray(rgb).save(box / "in" / "secret.png")
        (box / "in" / "secret.png").chmod(0)

    def named_pipe(box: Path) -> None:  # opening it would wait for a writer for ever
        os.mkfifo(box / "in" / "pipe.png")

    more = [
        ("missing.png", lambda box: None, "missing.png", False),
        ("named-pipe.png", named_pipe, "pipe.png: is a named pipe", False),
        ("folder-without-images", folder_no_images, "empty", False),
        ("folder-named-dir.png", dir_named_png, "dir.png", False),
        ("symlink-loop.png", loop, "loop.png", False),
    ]
    for name, setup, needle, _ in more:
        path = {"folder-without-images": "empty", "folder-named-dir.png": "dir.png", "symlink-loop.png": "loop.png",
                "named-pipe.png": "pipe.png"}.get(name, name)
        cases.append(Case(f"image-bad-{name}", "images", f"bad input path: {name}", setup=setup, names=(needle,),
                          args=lambda box, p=path: ["generate", str(box / "in" / p), "-o", str(box / "out"), *FAST]))
    cases.append(Case("image-bad-unreadable-file", "images", "a file without read permission", setup=unreadable,
                      names=("secret.png",), skip="root reads any file" if os.geteuid() == 0 else None,
                      args=lambda box: ["generate", str(box / "in" / "secret.png"), "-o", str(box / "out"), *FAST]))

    def input_list(content: str) -> Callable[[Path], None]:
        return lambda box: (box / "in" / "list.txt").write_text(content)

    for name, content, needle in [("empty", "# nothing\n\n", "names no files"),
                                  ("missing-entry", "nope.png\n", "nope.png"),
                                  ("binary", "\x00\x01\x02", "list.txt")]:
        cases.append(Case(f"input-list-{name}", "images", f"--input-list: {name}", setup=input_list(content),
                          names=(needle,), args=lambda box: ["generate", "--input-list", str(box / "in" / "list.txt"),
                                                             "-o", str(box / "out"), *FAST]))
    cases.append(Case("input-list-missing", "images", "--input-list names a missing file", names=("list.txt",),
                      args=lambda box: ["generate", "--input-list", str(box / "in" / "list.txt"), "-o", str(box / "out")]))
    return cases


def option_cases() -> list[Case]:
    """Every numeric option of every command (found in the typer app) with values it must refuse."""
    from genxd import validation as v
    from tests.cli.introspect import all_params

    cases = []
    for p in all_params():
        if not (p.numeric and p.kind == "option"):
            continue
        integer = p.base is int or (isinstance(p.spec, v.Number) and p.spec.integer)
        for text in ("0", "-1", "nan", "inf", "1e30", "abc", "2.5"):
            if isinstance(p.spec, v.Size):
                if p.spec.accepts(text):
                    continue
            else:
                try:
                    value = int(text) if integer else float(text)
                except ValueError:
                    value = None
                if value is not None and p.spec is not None and not isinstance(p.spec, (v.Pair, v.Numbers)) \
                        and p.spec.accepts(value):
                    continue  # a valid value (e.g. --seed 0): not a bad input
                if isinstance(p.spec, v.Numbers) and value is not None and p.spec.accepts([text]):
                    continue
            cmd = list(p.command)
            key = f"{'-'.join(cmd)}{p.flag}={text}"
            ci = text in ("0", "nan") and p.flag in ("--frames", "--resolution", "--steps", "--guidance",
                                                      "--motion-strength", "--stride", "--iterations") \
                and cmd[0] in ("generate", "curate", "reconstruct")
            cases.append(Case(f"option-{key}", "options", f"genxd {' '.join(cmd)} {p.flag} {text}", names=(p.flag,),
                              args=lambda box, c=cmd, f=p.flag, t=text: [*c, *_placeholders(c, box), f, t], ci=ci))
    named = [
        ("generate", ["--mode", "5d"], "--mode"), ("generate", ["--fit", "stretch"], "--fit"),
        ("generate", ["--camera", "nope"], "--camera"), ("generate", ["--device", "bogus"], "--device"),
        ("generate", ["--device", "gpu"], "--device"), ("generate", ["--dtype", "fp8"], "--dtype"),
        ("generate", ["--azimuth-range", "1,2,3"], "--azimuth-range"),
        ("generate", ["--azimuth-range", "a,b"], "--azimuth-range"),
        ("generate", ["--overwrite", "--skip-existing"], "--overwrite"),
        ("generate", ["--no-such-option"], "--no-such-option"),
        ("fewshot", ["--strategy", "nearest"], "--strategy"),
        ("curate", ["--features", "orb"], "--features"), ("curate", ["--fallback-depth", "magic"], "--fallback-depth"),
        ("curate", ["--resize", "100000"], "--resize"),
        ("curate", ["--resize", "12.5"], "--resize"), ("curate", ["--resize", "0x0"], "--resize"),
        ("reconstruct", ["--init", "magic"], "--init"), ("reconstruct", ["--mode", "5d"], "--mode"),
        ("reconstruct", ["--background", "purple"], "--background"), ("reconstruct", ["--background", "2,0,0"], "--background"),
        ("reconstruct", ["--device", "bogus"], "--device"), ("reconstruct", ["--strategy", "x"], "--strategy"),
        ("eval", ["--modes", "5d"], "--modes"), ("eval", ["--modes", ""], "--modes"),
        ("synth", ["--kind", "5d"], "--kind"), ("synth", ["--format", "gif"], "--format"),
        ("trajectory make", ["--format", "ply"], "--format"), ("trajectory make", ["--mode", "spin"], "--mode"),
        ("trajectory make", ["--azimuth", "1,2,3"], "--azimuth"), ("trajectory fit", ["--dataset", "kitti"], "--dataset"),
        ("trajectory fit", ["--shift-x", "0.1,abc"], "--shift-x"), ("trajectory fit", ["--shift-x", "0.1,inf"], "--shift-x"),
    ]
    if _cuda():
        named = [n for n in named if n[1] != ["--device", "cuda"]]
    else:
        named.append(("generate", ["--device", "cuda"], "--device"))
    for command, extra, needle in named:
        cmd = command.split()
        key = f"{'-'.join(cmd)}{'='.join(extra)}"
        image = command == "generate"  # generate's later checks need an input to get to
        cases.append(Case(f"option-{key}", "options", f"genxd {command} {' '.join(extra)}", names=(needle,),
                          setup=_one_image if image else None,
                          args=lambda box, c=cmd, e=extra, i=image: [*c, *([str(box / "in" / "img.png"), "-o",
                                                                           str(box / "out")] if i else
                                                                         _placeholders(c, box)), *e],
                          ci=command == "generate" or extra[:1] == ["--resize"]))
    cases += [
        Case("option-unknown-command", "options", "genxd nosuchcommand", args=["nosuchcommand"], names=("nosuchcommand",)),
        Case("option-model-missing", "options", "--model names no folder", names=("no-model",),
             setup=_one_image, args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"),
                                                 "--model", str(box / "no-model"), *FAST]),
        Case("option-model-not-a-checkpoint", "options", "--model names a folder without unet/ vae/ scheduler/",
             names=("unet/",), setup=lambda box: (_one_image(box), (box / "in" / "m").mkdir()),
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), "--model",
                               str(box / "in" / "m"), *FAST]),
        Case("option-model-broken-config", "options", "--model with an invalid generation_config.json",
             names=("generation_config.json",), setup=_broken_model,
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), "--model",
                               str(box / "in" / "m"), *FAST]),
        Case("option-model-bad-scene-depth", "options", "--model whose generation_config.json has scene_depth -1",
             names=("scene_depth",), setup=lambda box: _broken_model(box, '{"scene_depth": -1}'),
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), "--model",
                               str(box / "in" / "m"), *FAST]),
        Case("option-resolution-not-multiple", "options", "--resolution 60 (not a multiple of the latent size)",
             names=("--resolution",), setup=_one_image, ci=True,
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), "--resolution", "60", *FAST]),
        Case("option-fewshot-missing-root", "options", "fewshot DATA_ROOT missing", names=("nope",),
             args=lambda box: ["fewshot", str(box / "nope"), "-o", str(box / "out")]),
        Case("option-fewshot-grouped-no-pose-dir", "options", "fewshot --strategy grouped without --pose-dir",
             names=("--pose-dir",), setup=lambda box: (box / "in" / "rf").mkdir(),
             args=lambda box: ["fewshot", str(box / "in" / "rf"), "-o", str(box / "out"), "--strategy", "grouped"]),
        Case("option-train-missing-config", "options", "train CONFIG missing", names=("nope.yaml",),
             args=lambda box: ["train", str(box / "nope.yaml")]),
        Case("option-train-bad-yaml", "options", "train CONFIG is not YAML", names=("bad.yaml",),
             setup=lambda box: (box / "in" / "bad.yaml").write_text("a: [1, 2\n"),
             args=lambda box: ["train", str(box / "in" / "bad.yaml")]),
        Case("option-trajectory-make-unknown", "options", "trajectory make with an unknown preset", names=("nope",),
             args=lambda box: ["trajectory", "make", "nope", "-o", str(box / "out" / "p.json")]),
        Case("option-trajectory-make-inapplicable", "options", "trajectory make zoom --angle 3", names=("--angle",),
             args=lambda box: ["trajectory", "make", "zoom", "-o", str(box / "out" / "p.json"), "--angle", "3"]),
        Case("option-synth-odd-video-size", "options", "synth --format video --size 33", names=("--size",),
             args=lambda box: ["synth", str(box / "out" / "s"), "--format", "video", "--size", "33"]),
        Case("option-eval-recon-missing", "options", "eval-recon of a missing folder", names=("nope",),
             args=lambda box: ["eval-recon", str(box / "nope")]),
    ]
    return cases


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:  # pragma: no cover
        return False


def _placeholders(command: list[str], box: Path) -> list[str]:
    """Required arguments of a command, pointing into the sandbox (parsing must reach the option)."""
    from tests.cli.introspect import required_args

    args = required_args(tuple(command))
    return [str(box / "out" / "x") if a == "x" else a for a in args]


def _one_image(box: Path) -> None:
    import PIL.Image

    PIL.Image.fromarray(_rgb()).save(box / "in" / "img.png")


def _broken_model(box: Path, config: str = "{not json") -> None:
    _one_image(box)
    m = box / "in" / "m"
    for part in ("unet", "vae", "scheduler"):
        (m / part).mkdir(parents=True)
    (m / "generation_config.json").write_text(config)


def output_cases() -> list[Case]:
    def exists_setup(box: Path) -> None:
        _one_image(box)
        (box / "out" / "img").mkdir()
        (box / "out" / "img" / "mine.txt").write_text("mine")

    def symlink_setup(box: Path) -> None:
        _one_image(box)
        (box / "theirs").mkdir()
        (box / "theirs" / "data.txt").write_text("theirs")
        (box / "out" / "img").symlink_to(box / "theirs", target_is_directory=True)

    def collide(box: Path) -> None:
        import PIL.Image

        for name in ("a.png", "a.jpg", "a_1.png"):
            PIL.Image.fromarray(_rgb()).save(box / "in" / name)

    def out_is_file(box: Path) -> None:
        _one_image(box)
        (box / "in" / "file").write_text("x")

    def eval_report_exists(box: Path) -> None:  # genxd eval run before with the same --out
        (box / "out" / "report.json").write_text('{"mine": 1}')

    def eval_camera_exists(box: Path) -> None:  # eval-camera run before into the same report folder
        (box / "in" / "scene" / "frames").mkdir(parents=True)
        (box / "out" / "report").mkdir()
        (box / "out" / "report" / "camera_eval.json").write_text('{"mine": 1}')

    return [
        Case("output-exists", "outputs", "the output exists, no --overwrite", setup=exists_setup, names=("img", "--overwrite"),
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), *FAST], ci=True),
        Case("output-eval-camera-exists", "outputs", "eval-camera into a folder with an earlier report, no --overwrite",
             setup=eval_camera_exists, names=("camera_eval.json", "--overwrite"), ci=True,
             args=lambda box: ["eval-camera", str(box / "in" / "scene"), "-o", str(box / "out" / "report")]),
        Case("output-eval-report-exists", "outputs", "eval --out an existing report, no --overwrite",
             setup=eval_report_exists, names=("report.json", "--overwrite"),
             args=lambda box: ["eval", "-n", "1", "--modes", "3d-1view", "-o", str(box / "out" / "report.json")]),
        Case("output-symlink-overwrite", "outputs", "--overwrite where the old output is a symlink", setup=symlink_setup,
             expect="ok", ci=True,
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), "--overwrite", *FAST]),
        Case("output-collisions", "outputs", "a.png, a.jpg and a_1.png in one folder", setup=collide, expect="ok",
             args=lambda box: ["generate", str(box / "in"), "-o", str(box / "out"), *FAST], ci=True),
        Case("output-out-is-a-file", "outputs", "--out names a file", setup=out_is_file, names=("file",),
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "in" / "file"), *FAST]),
        Case("output-out-below-a-file", "outputs", "--out inside a file", setup=out_is_file, names=("file",),
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "in" / "file" / "o"), *FAST]),
        Case("output-summary-folder", "outputs", "--summary names a folder", setup=_one_image, names=("--summary",), ci=True,
             args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), "--summary",
                               str(box / "in"), *FAST]),
        Case("output-read-only-generate", "outputs", "generate into a read-only folder", setup=_one_image,
             names=("not writable",), args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "ro"), *FAST]),
        Case("output-read-only-curate", "outputs", "curate into a read-only folder", setup=_one_image,
             names=("not writable",), args=lambda box: ["curate", str(box / "in"), "-o", str(box / "ro")]),
        Case("output-read-only-reconstruct", "outputs", "reconstruct into a read-only folder", setup=_one_image,
             names=("not writable",), args=lambda box: ["reconstruct", str(box / "in"), "-o", str(box / "ro" / "scene")]),
        Case("output-read-only-synth", "outputs", "synth into a read-only folder",
             names=("not writable",), args=lambda box: ["synth", str(box / "ro"), "-q"]),
    ]


def camera_cases() -> list[Case]:
    """Camera files given to ``generate --camera`` (helper B's reader: these pass once it is merged)."""
    from genxd.cameras import formats, orbit

    def write(name: str, content: Any) -> Callable[[Path], None]:
        def setup(box: Path) -> None:
            _one_image(box)
            path = box / "in" / name
            if isinstance(content, bytes):
                path.write_bytes(content)
            elif isinstance(content, str):
                path.write_text(content)
            else:
                path.write_text(json.dumps(content))
        return setup

    c2w, K = orbit(num_frames=4)
    w2c = np.linalg.inv(c2w.double().numpy())[:, :3].tolist()
    authors = {"fx": 64.0, "fy": 64.0, "cx": 32.0, "cy": 32.0, "height": 64, "width": 64, "cameras": w2c}
    tf_frame = {"file_path": "a.png", "transform_matrix": np.eye(4).tolist()}
    bad = {
        "null.json": (None, "null.json"),
        "number.json": (3, "number.json"),
        "string.json": ("just text", "string.json"),
        "list-of-numbers.json": ([1, 2, 3], "list-of-numbers.json"),
        "frames-numbers.json": ({"frames": [1, 2]}, "frames-numbers.json"),
        "frames-empty.json": ({"frames": [], "fl_x": 50, "w": 64, "h": 64}, "frames-empty.json"),
        "w-zero.json": ({"fl_x": 50, "fl_y": 50, "cx": 32, "cy": 32, "w": 0, "h": 64, "frames": [tf_frame, tf_frame]}, "w-zero.json"),
        "camera-angle-zero.json": ({"camera_angle_x": 0, "w": 64, "h": 64, "frames": [tf_frame, tf_frame]}, "camera-angle-zero.json"),
        "width-zero.json": ({**authors, "width": 0}, "width-zero.json"),
        "fx-text.json": ({**authors, "fx": "abc"}, "fx-text.json"),
        "fx-nan.json": ('{"fx": NaN, "fy": 64, "cx": 32, "cy": 32, "height": 64, "width": 64, "cameras": ' + json.dumps(w2c) + "}", "fx-nan.json"),
        "ragged.json": ({**authors, "cameras": [w2c[0], w2c[1][:2]]}, "ragged.json"),
        "cameras-empty.json": ({**authors, "cameras": []}, "cameras-empty.json"),
        "one-camera.json": ({**authors, "cameras": w2c[:1]}, "one-camera.json"),
        "missing-keys.json": ({"cameras": w2c}, "missing-keys.json"),
        "invalid.json": ("{not json", "invalid.json"),
        "empty.json": ("", "empty.json"),
        "binary.json": (b"\x89PNG\x00\x01", "binary.json"),
        "huge-numbers.json": ({**authors, "fx": 1e308}, "huge-numbers.json"),
        "singular.json": ({**authors, "cameras": [[[0.0] * 4] * 3] * 4}, "singular.json"),
    }
    cases = []
    for name, (content, needle) in bad.items():
        cases.append(Case(f"camera-bad-{name}", "camera-files", f"--camera {name}", setup=write(name, content),
                          names=(needle,), owner="B",
                          args=lambda box, n=name: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"),
                                                    "--camera", str(box / "in" / n), *FAST]))
    cases.append(Case("camera-bad-missing.json", "camera-files", "--camera names a missing file", setup=_one_image,
                      names=("nope.json",), ci=True,
                      args=lambda box: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"), "--camera",
                                        str(box / "in" / "nope.json"), *FAST]))

    def good(fmt: str) -> Callable[[Path], None]:
        def setup(box: Path) -> None:
            _one_image(box)
            target = box / "in" / ("cams" if fmt == "colmap" else f"cams-{fmt}.json")
            if fmt == "authors":
                formats.save_camera_json(target, c2w, K, 64, 64)
            elif fmt == "transforms":
                formats.save_transforms_json(target, c2w, K, 64, 64)
            elif fmt == "w2c":
                formats.save_w2c_list_json(target, c2w)
            else:
                formats.write_colmap_model(target, c2w, K, 64, 64, [f"{i:05d}.png" for i in range(len(c2w))])
        return setup

    for fmt in ("authors", "transforms", "w2c", "colmap"):
        cases.append(Case(f"camera-ok-{fmt}", "camera-files", f"--camera with a {fmt} file written by genxd",
                          setup=good(fmt), expect="ok", owner="A" if fmt in ("authors", "transforms") else "B",
                          args=lambda box, f=fmt: ["generate", str(box / "in" / "img.png"), "-o", str(box / "out"),
                                                   "--camera", str(box / "in" / ("cams" if f == "colmap" else f"cams-{f}.json")),
                                                   *FAST]))
    return cases


def archive_cases() -> list[Case]:
    """CamVid-30K zip archives read through ``genxd.data.archive.SafeZip`` (helper C's budgets)."""
    def make(kind: str) -> Callable[[Path], Path]:
        def build(box: Path) -> Path:
            path = box / "in" / f"{kind}.zip"
            if kind == "not-a-zip":
                path.write_bytes(b"PK\x03\x04 broken")
            elif kind == "empty-file":
                path.write_bytes(b"")
            else:
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
                    if kind == "many-near-limit":  # 600 members just under 1 MiB of zeros each
                        block = b"\0" * ((1 << 20) - 1)
                        for i in range(600):
                            z.writestr(f"vid/images/{i:04d}.jpg", block)
                    elif kind == "traversal":
                        z.writestr("../evil.txt", b"x")
                    elif kind == "absolute":
                        z.writestr("/etc/evil.txt", b"x")
                    elif kind == "bomb-member":
                        z.writestr("vid/images/0.jpg", b"\0" * (50 << 20))
                    elif kind in ("bad-crc", "ok"):
                        z.writestr("vid/images/0.jpg", np.random.default_rng(0).bytes(4096))
                if kind == "bad-crc":  # flip a byte of the stored data: the CRC no longer matches
                    data = bytearray(path.read_bytes())
                    start = data.index(b"vid/images/0.jpg") + len("vid/images/0.jpg") + 10
                    data[start] ^= 0xFF
                    path.write_bytes(bytes(data))
            return path
        return build

    def reader(kind: str) -> Callable[[Path], Any]:
        def run(box: Path) -> Any:
            from genxd.data.archive import SafeZip

            path = box / "in" / f"{kind}.zip"
            z = SafeZip(path)
            names = z.names() if callable(z.names) else z.names
            for name in list(names)[:1]:
                z.read(name)
            return path
        return run

    cases = []
    for kind, needle in [("many-near-limit", "many-near-limit.zip"), ("traversal", "traversal.zip"),
                         ("absolute", "absolute.zip"), ("bomb-member", "bomb-member.zip"), ("bad-crc", "bad-crc.zip"),
                         ("not-a-zip", "not-a-zip.zip"), ("empty-file", "empty-file.zip")]:
        cases.append(Case(f"archive-{kind}", "archives", f"SafeZip: {kind}", expect="python-error", python=reader(kind),
                          setup=lambda box, k=kind: make(k)(box), names=(needle,), owner="C"))
    return cases


def scene_cases() -> list[Case]:
    """Scene folders for ``genxd reconstruct`` (helper C's path checks)."""
    import PIL.Image

    from genxd.cameras import formats, orbit

    def scene(variant: str) -> Callable[[Path], None]:
        def setup(box: Path) -> None:
            folder = box / "in" / "scene"
            folder.mkdir()
            c2w, K = orbit(num_frames=4)
            names = [f"{i}.png" for i in range(4)]
            for i, n in enumerate(names):
                PIL.Image.fromarray(_rgb(24, 24, i)).save(folder / n)
            if variant == "outside":
                names[1] = "/etc/passwd"
            elif variant == "dotdot":
                names[1] = "../../../../etc/hostname"
            elif variant == "missing-frame":
                names[2] = "nope.png"
            formats.save_transforms_json(folder / "transforms.json", c2w, K, 24, 24, file_paths=names)
            if variant == "corrupt":
                (folder / "1.png").write_bytes(b"garbage")
            elif variant == "sizes":
                PIL.Image.fromarray(_rgb(30, 20)).save(folder / "1.png")
            elif variant == "not-json":
                (folder / "transforms.json").write_text("{")
            elif variant == "no-frames":
                (folder / "transforms.json").write_text(json.dumps({"fl_x": 20, "w": 24, "h": 24, "frames": []}))
            elif variant == "empty":
                for p in folder.iterdir():
                    p.unlink()
        return setup

    cases = []
    for variant, needle in [("corrupt", "1.png"), ("sizes", "1.png"), ("outside", "passwd"), ("dotdot", "hostname"),
                            ("missing-frame", "nope.png"), ("not-json", "transforms.json"),
                            ("no-frames", "transforms.json"), ("empty", "scene")]:
        cases.append(Case(f"scene-{variant}", "scene-folders", f"reconstruct a scene folder: {variant}",
                          setup=scene(variant), names=(needle,), owner="C",
                          args=lambda box: ["reconstruct", str(box / "in" / "scene"), "-o", str(box / "out" / "r"),
                                            "--iterations", "1", "--video-frames", "0", "--resolution", "16", "-q"]))
    return cases


def kill_cases() -> list[Case]:
    gen = lambda box, extra=(): [sys.executable, "-m", "genxd", "generate", str(box / "in" / "img.png"), "-o",
                                 str(box / "out"), "--steps", "1", "--frames", "2", "-q", *extra]
    return [
        Case("kill-generate-writing", "kills", "generate killed while writing, then run again", setup=_one_image,
             expect="kill", kill={"first": gen, "again": gen, "existing": False}),
        Case("kill-generate-overwrite", "kills", "generate --overwrite killed while replacing, then --skip-existing",
             setup=_one_image, expect="kill",
             kill={"first": lambda box: gen(box, ["--overwrite"]), "again": lambda box: gen(box, ["--skip-existing"]),
                   "existing": True}),
        Case("kill-synth-writing", "kills", "synth killed while writing, then run again", expect="kill",
             kill={"first": lambda box: [sys.executable, "-m", "genxd", "synth", str(box / "out"), "--size", "64",
                                         "--frames", "4", "-n", "3", "-q"],
                   "again": lambda box: [sys.executable, "-m", "genxd", "synth", str(box / "out"), "--size", "64",
                                         "--frames", "4", "-n", "3", "-q", "--overwrite"], "existing": False}),
    ]


def all_cases() -> list[Case]:
    from probe_cases_disk import disk_cases
    from probe_cases_video import curate_cases, from_video_cases

    return (image_cases() + option_cases() + output_cases() + camera_cases() + archive_cases() + scene_cases()
            + curate_cases() + from_video_cases() + kill_cases() + disk_cases())
