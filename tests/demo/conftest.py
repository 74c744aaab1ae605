"""Shared by the handler tests (test_demo_handlers.py, test_demo_handler_jobs.py): the page built once for the
package, its handlers' inputs by API name, a session with an uploaded image; a PNG over PIL's pixel limit (also
test_demo_api.py's). test_demo_outputs.py and test_demo_video_range.py build pages of their own (same name)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from types import SimpleNamespace

import pytest

from genxd.demo import cameras as cam
from genxd.demo.session import Limits, Session, validate_uploads

from ..helpers import ROOT, png_chunk

SCENE = ROOT / "examples" / "scene_a.png"


def no_progress(*args, **kwargs) -> None:
    pass


def bomb_png(path: Path, side: int = 20_000) -> Path:
    """A PNG whose header says ``side x side`` pixels (over PIL's decompression-bomb limit); a few hundred bytes."""
    ihdr = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b""))
                     + png_chunk(b"IEND", b""))
    return path


@pytest.fixture(scope="package")
def page(tmp_path_factory):
    """The page built on the CPU with the bundled model: its public handlers by API name, and its config."""
    from genxd.demo.app import DemoConfig, build_app
    from genxd.demo.jobs import Devices

    config = DemoConfig(root=tmp_path_factory.mktemp("sessions"))
    demo = build_app(Devices(None, ["cpu"]), config)
    fns = list(demo.fns.values()) if isinstance(demo.fns, dict) else list(demo.fns)
    named = {}
    for f in fns:  # by API name; by handler name (on_generate: "generate") where an event has none
        for name in (f.api_name if f.api_visibility == "public" else None, getattr(f.fn, "__name__", "")[3:]):
            if name and name not in named:
                named[name] = f
    unload = [f.fn for f in fns if any(event == "unload" for _, event in f.targets)]
    return SimpleNamespace(demo=demo, fn=named, config=config, fns=fns, unload=unload)


def inputs_of(fn, **given) -> dict:
    """The values of ``fn``'s keyword inputs by their API names (the camera controls, /generate's Sampling controls):
    the page's defaults, ``given`` by elem_id (``-`` as ``_``)."""
    names = fn.input_keyword_names
    out = {}
    for name, comp in zip(names, fn.inputs[len(fn.inputs) - len(names):]):
        key = (comp.elem_id or "").replace("-", "_")
        if key in given:
            out[name] = given[key]
        elif type(comp).__name__ == "Dataframe":
            out[name] = [list(r) for r in cam.DEFAULT_KEYFRAMES]
        elif type(comp).__name__ in ("File", "Video"):
            out[name] = None
        else:
            out[name] = comp.value
    return out


def session_with_image(root: Path) -> Session:
    s = Session.create(root)
    s.inputs = validate_uploads([SCENE], s.dir / "inputs", Limits())
    return s


def generate(page, s: Session, **given):
    return page.fn["generate"].fn(s, progress=no_progress, **inputs_of(page.fn["generate"], **given))

