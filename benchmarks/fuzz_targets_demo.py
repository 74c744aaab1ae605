"""Fuzz target: the demo's HTTP API (``genxd demo``), what any client can send to its public events.

``demo-api``: one case is a JSON file ``{"setup": [...], "call": [API NAME, DATA], "scene": ...}``: the ``setup``
calls (a valid upload) run first in a fresh browser session, then the ``call`` whose ``DATA`` (the list of values a
client posts for the event ``/upload``, ``/camera``, ``/prepare``, ``/generate``, ``/lift``, ``/time`` or
``/cancel``) is mutated as a JSON tree. Each call goes through Gradio's own processing of a request exactly as the
server runs it (:meth:`gradio.Blocks.process_api`: the payload checked against the component's data model, files
checked to be in the upload folder, each component's ``preprocess``, the handler, ``postprocess``), in the worker
process, on the page built once on the CPU with the bundled model.

Judged (what a client and the server's log would see):

- a handler's status line that starts with ``Error:`` is a clear refusal (counted ``clear``), any other is ``ok``;
  a status that spans lines, shows a traceback or a server folder is a finding;
- a ``gr.Error`` that Gradio turns into the client's message without a traceback in the log (``genxd``'s
  components log one line) is a clear refusal; **any other exception** is a finding (Gradio prints its traceback
  in the server log and the client gets no reason);
- a handler that reached its catch-all (it logs ``... failed`` with a traceback on ``genxd.demo``) is a finding.

``/generate`` runs the real job up to the end of the first denoising step, then cancels it (the job's own
Cancel), at resolutions up to 128; above, the request the job gets is checked (finite cameras of the right shapes,
context frames in the path, the images readable) and not run. ``/lift`` checks what the lift job gets and does not
optimise. The camera path from a video is recovered once when the worker starts (SfM on a 12-frame synthetic clip;
the page keeps a video's cameras per upload); the cases then vary how the path is taken from it, while the video
reader itself has its own targets (``video``, ``video-clip``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fuzz_mutations import mutate_json
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]

REPO = Path(__file__).resolve().parents[1]
UPLOAD = "@upload/"  # in a case file: a file of the worker's upload folder (Gradio takes files from there only)
_REAL_JOB_MAX_RESOLUTION = 128


class _Refused(ValueError):
    """The page refused the case with one line (status ``Error: ...`` or a quiet ``gr.Error``)."""


class _Page:
    """The demo page built once per process, its public events by name, and what its jobs were asked to do."""

    def __init__(self, cases: bool = True) -> None:
        """``cases``: the page runs cases (its files, the video's cameras, the jobs' stand-ins); without, the page
        only gives its events' inputs and defaults (the runner's process, which makes the seeds)."""
        self.cases = cases
        self.root = Path(tempfile.mkdtemp(prefix="genxd_fuzz_demo_"))
        self.upload = self.root / "gradio"
        os.environ["GRADIO_TEMP_DIR"] = str(self.upload)  # read by Gradio per request (its upload folder)
        self.upload.mkdir()
        if cases:
            self._assets()
        import genxd.demo.app as app
        from genxd.demo.app import DemoConfig, build_app
        from genxd.demo.jobs import Devices

        self.app = app
        self.config = DemoConfig(root=self.root / "sessions")
        self.demo = build_app(Devices(None, ["cpu"]), self.config)
        fns = list(self.demo.fns.values()) if isinstance(self.demo.fns, dict) else list(self.demo.fns)
        self.events = {f.api_name: f for f in fns if f.api_visibility == "public"}
        if not cases:
            return
        self.errors: list[str] = []
        handler = logging.Handler(logging.ERROR)
        handler.emit = lambda record: self.errors.append(record.getMessage())  # type: ignore[method-assign]
        logging.getLogger("genxd.demo").addHandler(handler)
        from genxd.demo.cameras import video_cameras

        video_cameras(self.upload / "walk.mp4")  # SfM once, at start: the page keeps a video's cameras per upload
        # the page's job functions are module globals of genxd.demo.app: the stand-ins act only on this page's jobs
        # (their folders under self.root) and hand any other page's on, so a test run beside the fuzz run in one
        # process (pytest) is not cancelled after its first step
        self._real_generate, self._real_lift = app.generate_scene, app.lift_scene
        app.generate_scene = self._generate
        app.lift_scene = self._lift

    def _assets(self) -> None:
        from genxd.cameras import trajectories
        from genxd.cameras.formats import save_camera_json

        shutil.copy2(REPO / "examples" / "scene_a.png", self.upload / "scene_a.png")
        shutil.copy2(REPO / "examples" / "scene_b.png", self.upload / "scene_b.png")
        from genxd.data.synthetic import make_clip
        from genxd.data.synthetic.writers import write_video

        clip = make_clip(11, "4d", 12, 128, 128, camera="handheld", motion_strength=0.5)  # SfM recovers its path
        write_video(self.upload / "walk.mp4", clip.images, fps=8.0, quality=9)
        c2w, K = trajectories.make_trajectory("orbit", num_frames=8)
        save_camera_json(self.upload / "orbit.json", c2w, K, 64, 64)
        for mode in ("3d", "4d"):  # a generated scene, as the session holds it before Lift to 3D
            scene = self.root / f"scene_{mode}"
            scene.mkdir()
            (scene / "meta.json").write_text(json.dumps({"mode": mode}))
        viewer = self.root / "lifted" / "viewer"  # a lifted 4D scene: one PLY per time step for the viewer
        viewer.mkdir(parents=True)
        for i in range(3):  # the server only hands the file on: any bytes do
            (viewer / f"time_{i:04d}.ply").write_bytes(b"ply\nformat ascii 1.0\nend_header\n")

    # the jobs: checked, and the generation run to its first step only
    def _generate(self, model, request, folder, progress, cancel):
        import torch

        from genxd.demo.jobs import Cancelled

        if not self._ours(folder):
            return self._real_generate(model, request, folder, progress, cancel)

        n = request.c2w.shape[0]
        assert request.c2w.shape == (n, 4, 4) and request.K.shape == (n, 3, 3), (request.c2w.shape, request.K.shape)
        assert request.c2w.dtype == torch.float32 and bool(torch.isfinite(request.c2w).all()), "c2w not finite float32"
        assert bool(torch.isfinite(request.K).all()) and bool((request.K[:, 0, 0] > 0).all()), "K not finite, fx <= 0"
        ctx = request.context_index
        assert ctx and len(set(ctx)) == len(ctx) == len(request.images), ctx
        assert all(isinstance(i, int) and 0 <= i < n for i in ctx), ctx
        assert all(Path(p).is_file() for p in request.images), request.images
        res = request.resolution or model.defaults["resolution"]
        if res > _REAL_JOB_MAX_RESOLUTION:
            raise Cancelled()

        def first_step_then_cancel(fraction: float, text: str) -> None:
            cancel.set()  # the job checks it after each denoising step (or UNet call): one runs, then it stops

        return self._real_generate(model, request, folder, first_step_then_cancel, cancel)

    def _ours(self, folder) -> bool:
        """Whether a job's folder is this page's (under its root), not another page's in the same process."""
        return Path(os.path.abspath(folder)).is_relative_to(os.path.abspath(self.root))

    def _lift(self, scene, out, *, mode, iterations, device, progress, cancel, init_points):
        from genxd.demo.jobs import Cancelled

        if not self._ours(out):
            return self._real_lift(scene, out, mode=mode, iterations=iterations, device=device, progress=progress,
                                   cancel=cancel, init_points=init_points)

        assert mode in ("3d", "4d") and isinstance(iterations, int) and iterations >= 1, (mode, iterations)
        assert (Path(scene) / "meta.json").is_file(), scene
        raise Cancelled()

    # one case
    def resolve(self, tree: Any) -> Any:
        """``@upload/NAME`` strings as the upload folder's file (a client's path after its upload)."""
        if isinstance(tree, str) and tree.startswith(UPLOAD):
            return str(self.upload / tree[len(UPLOAD):])
        if isinstance(tree, list):
            return [self.resolve(x) for x in tree]
        if isinstance(tree, dict):
            return {k: self.resolve(x) for k, x in tree.items()}
        return tree

    def run(self, case: dict) -> None:
        import gradio as gr
        from gradio.state_holder import SessionState

        state = SessionState(self.demo)
        for api, data in case.get("setup", []):
            self._call(state, api, data, setup=True)
        if case.get("scene"):  # the session has generated a scene of this mode
            self._session(state).scene = self.root / f"scene_{case['scene']}"
        if case.get("lifted"):  # ... and lifted it to 4D Gaussians (the time slider picks one)
            session = self._session(state)
            session.lift, session.lift_times = self.root / "lifted" / "lift", [0.0, 0.5, 1.0]
        api, data = case["call"]
        self.errors.clear()
        try:
            status = self._call(state, api, data)
        except gr.Error as exc:
            if exc.print_exception:
                raise AssertionError(f"gr.Error with a traceback in the server log: {exc.message}") from exc
            raise _Refused(f"refused by Gradio: {exc.message}") from None
        finally:
            if (session := self._session(state)) is not None:
                session.close()  # its folder: a worker reads thousands of cases
        if self.errors:
            raise AssertionError(f"the handler's catch-all: {self.errors[0][:300]}")
        if status is None:
            return
        text = str(status)
        assert "\n" not in text and "Traceback" not in text, f"status spans lines: {text[:300]}"
        assert str(self.root) not in text and str(Path(tempfile.gettempdir())) + "/" not in text, \
            f"status shows a server folder: {text[:300]}"
        if text.startswith('<span class="error">Error:'):
            raise _Refused(text)

    def _call(self, state, api: str, data: Any, setup: bool = False) -> Any:
        fn = self.events[api]
        inputs = self.resolve(data)
        if not isinstance(inputs, list):  # the server's route refuses it (HTTP 422) before Gradio runs anything
            raise _Refused(f"data must be a list, got {type(inputs).__name__}")
        # a client sends null for the session state (Gradio fills it from the browser session); values missing
        # or extra stay so (Gradio's own check of the count then answers)
        payload = [None if c.stateful else inputs.pop(0) for c in fn.inputs if c.stateful or inputs] + inputs
        out = asyncio.run(self.demo.process_api(block_fn=fn, inputs=payload, state=state))
        outputs = out["data"]
        if setup:
            return None
        status = [o for c, o in zip(fn.outputs, outputs) if getattr(c, "elem_id", None) == "status"]
        return status[0] if status else None

    def _session(self, state):
        """The browser session's :class:`~genxd.demo.session.Session` (None before its first event)."""
        comp = next(c for c in self.events["upload"].inputs if c.stateful)
        return state[comp._id] if comp._id in state else None


_PAGE: _Page | None = None


def _page(cases: bool = True) -> _Page:
    """The process's page; ``cases=False``: one that need not run cases (see :class:`_Page`)."""
    global _PAGE
    if _PAGE is None or (cases and not _PAGE.cases):
        _PAGE = _Page(cases)
    return _PAGE


# ---------------------------------------------------------------------------------------------------------------
# seeds: the values a client sends for each public event (the page's own defaults), as JSON case files
# ---------------------------------------------------------------------------------------------------------------


def _file(name: str) -> dict:
    return {"path": UPLOAD + name, "orig_name": name, "meta": {"_type": "gradio.FileData"}}


def _defaults(page: _Page, api: str, **given: Any) -> list:
    """The values a client sends for ``/api``: the page's defaults, ``given`` by elem_id (``-`` as ``_``)."""
    out = []
    for comp in page.events[api].inputs:
        if comp.stateful:
            continue
        key = (comp.elem_id or "").replace("-", "_")
        value = given[key] if key in given else comp.value
        if type(comp).__name__ == "Dataframe" and key not in given:
            value = {"headers": list(value["headers"]), "data": value["data"], "metadata": None}
        out.append(value)
    return json.loads(json.dumps(out))


def _demo_seeds(folder: Path) -> list[Path]:
    from genxd.cameras import trajectories

    page = _page(cases=False)  # the seeds need the events' defaults only: no SfM of the clip in the runner
    upload = ["upload", _defaults(page, "upload", inputs=[_file("scene_a.png")])]
    cases: dict[str, dict] = {
        "upload": {"call": upload},
        "upload_two": {"call": ["upload", _defaults(page, "upload", inputs=[_file("scene_a.png"),
                                                                             _file("scene_b.png")])]},
        "camera_keyframes": {"setup": [upload], "call": ["camera", _defaults(page, "camera",
                                                                              camera_source="keyframes")]},
        "camera_file": {"call": ["camera", _defaults(page, "camera", camera_source="file",
                                                     camera_file=_file("orbit.json"))]},
        "camera_video": {"call": ["camera", _defaults(page, "camera", camera_source="video",
                                                      camera_video=_file("walk.mp4"))]},
        "prepare": {"call": ["prepare", [64]]},
        "generate": {"setup": [upload], "call": ["generate", _defaults(page, "generate")]},
        "generate_4d": {"setup": [upload], "call": ["generate", _defaults(page, "generate", mode="4d", motion=30.0,
                                                                          preset="forward")]},
        "generate_keyframes": {"setup": [upload], "call": ["generate", _defaults(page, "generate",
                                                                                camera_source="keyframes")]},
        "generate_file_long": {"setup": [upload], "call": ["generate", _defaults(page, "generate", frames=12,
                                                                                camera_source="file",
                                                                                camera_file=_file("orbit.json"))]},
        "generate_video_4d": {"setup": [upload], "call": ["generate", _defaults(page, "generate", mode="4d",
                                                                               motion=8.0, camera_source="video",
                                                                               camera_video=_file("walk.mp4"))]},
        "lift_3d": {"setup": [upload], "scene": "3d", "call": ["lift", [300]]},
        "lift_4d": {"setup": [upload], "scene": "4d", "call": ["lift", [300]]},
        "time": {"setup": [upload], "lifted": True, "call": ["time", [1]]},
        "cancel": {"call": ["cancel", []]},
    }
    for name in trajectories.PRESETS:  # every preset with its own parameters
        cases[f"camera_{name}"] = {"call": ["camera", _defaults(page, "camera", preset=name)]}
    folder.mkdir(parents=True, exist_ok=True)
    seeds = []
    for name, case in cases.items():
        path = folder / f"{name}.json"
        path.write_text(json.dumps(case))
        seeds.append(path)
    return seeds


def _mutate_case(rng: random.Random, seed: Path, dest: Path) -> str:
    case = json.loads(seed.read_text())
    data, what = mutate_json(rng, case["call"][1])
    case["call"][1] = data
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(case, allow_nan=True))
    return f"/{case['call'][0]} data: {what}"


def call_demo(path: Path) -> None:
    try:
        _page().run(json.loads(path.read_text()))
    except _Refused as exc:  # named by the case: a one-line refusal is what this target counts as clear
        raise _Refused(f"{path.name}: {exc}") from None


TARGETS = [
    FuzzTarget("demo-api", "the demo's public events (/upload, /camera, /prepare, /generate, /lift, /time, /cancel) "
               "through Gradio's processing of a request, on the bundled model", _demo_seeds, _mutate_case,
               call_demo, allowed=(_Refused,), requires=(("gradio", "pip install -e '.[demo]'"),)),
]
