"""The page's camera controls: the source of the path (a preset with its parameters, a camera file, keyframes, a
video and the part of it to follow), frames and focal length; and the path their values describe
(:func:`CameraForm.path`), checked as ``genxd generate`` checks its options.

The controls go by the names API clients give them (``gradio_client``'s keyword arguments,
:meth:`CameraForm.inputs`): a preset's parameters are named after the preset (``orbit_radius``, ``pan_mode``), the
video's range as ``genxd.generate`` names it (``camera_start`` / ``camera_end``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gradio as gr

from .. import validation as v
from ..cameras import trajectories
from . import cameras as cam

__all__ = ["SOURCES", "CameraForm", "CameraPath", "build_camera_form", "param_name"]

SOURCES = {"preset": "Preset path", "file": "Camera file", "keyframes": "Keyframes", "video": "From a video"}
RANGE_HELP = "seconds from the clip's first frame (2.5) or a frame number (30f)"


def param_name(preset: str, param: str) -> str:
    """The API's name of a preset's parameter box (``orbit_radius``: presets share parameter names)."""
    return f"{preset}_{param}"


@dataclass
class CameraPath:
    """A path of the form: ``c2w [F, 4, 4]``, ``K [F, 3, 3]``, ``label`` (the preset, ``keyframes``, the camera
    file's or clip's name), ``times [F]`` (a file's or a video's, else None); for a video, ``clip_range`` (the part
    followed, as ``genxd generate --camera-start / --camera-end`` records it; None: the whole clip) and ``files`` (what ``genxd generate --camera-from-video``
    writes beside the scene)."""

    c2w: Any
    K: Any
    label: str
    times: Any = None
    clip_range: dict[str, Any] | None = None
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class CameraForm:
    """The camera controls of the page (made by :func:`build_camera_form` inside its Blocks)."""

    source: Any
    frames: Any
    focal: Any
    preset: Any
    param_boxes: dict[tuple[str, str], Any]
    preset_rows: dict[str, Any]
    groups: dict[str, Any]  # source -> the group of its controls
    camera_file: Any
    keyframes: Any
    camera_video: Any
    camera_start: Any
    camera_end: Any
    default_focal: float
    preset_scale: float
    max_frames: int

    def inputs(self, mode: Any) -> dict[str, Any]:
        """The controls by their API names, in the API's order: the range boxes after ``mode``, where a client
        passing the others by position does not meet them."""
        return {"source": self.source, "preset": self.preset, "frames": self.frames, "focal": self.focal,
                "camera_file": self.camera_file, "keyframes": self.keyframes, "camera_video": self.camera_video,
                **{param_name(pre, pname): box for (pre, pname), box in self.param_boxes.items()}, "mode": mode,
                "camera_start": self.camera_start, "camera_end": self.camera_end}

    def typed(self) -> list[Any]:
        """The controls whose value is typed (read when the user leaves the box or presses Enter)."""
        return [self.focal, *(b for b in self.param_boxes.values() if not isinstance(b, gr.Dropdown)),
                self.camera_start, self.camera_end]

    def chosen(self) -> list[Any]:
        """The controls whose value is picked (read on change)."""
        return [self.preset, self.camera_file, self.camera_video,
                *(b for b in self.param_boxes.values() if isinstance(b, gr.Dropdown))]

    def path(self, values: dict[str, Any], fit: str = "crop", resolution: int | None = None) -> CameraPath:
        """The path of the controls' ``values`` by name (:meth:`inputs`); ``fit``: how a camera file's cameras of
        another shape become square (the preview shows crop); ``resolution``: for the generation, which writes a
        video's files (``camera_from_video.json``, ``camera_path.png``), None for the preview."""
        src, name, n, f = values["source"], values["preset"], values["frames"], values["focal"]
        n = v.Int(2, self.max_frames).check(n, "Frames")
        f = v.FOCAL.check(f if f != "" else None, "Focal length (fx / width)")  # as genxd generate --focal
        f = self.default_focal if f is None else f
        if src == "preset":
            vals = {pname: values[param_name(pre, pname)] for pre, pname in self.param_boxes if pre == name}
            c2w, K = cam.preset_path(name, n, f, vals, scale=self.preset_scale)
            return CameraPath(c2w, K, name)
        if src == "file":
            cfile = values["camera_file"]
            if not cfile:
                raise ValueError("choose a camera path file")
            c2w, K, times = cam.file_path(cfile, n, self.max_frames, f, fit)  # f: a file without intrinsics
            return CameraPath(c2w, K, Path(cfile).name, times)
        if src == "keyframes":
            keys = values["keyframes"]
            rows = keys.values.tolist() if hasattr(keys, "values") else list(keys or [])
            return CameraPath(*cam.keyframe_path(rows, n, f), "keyframes")
        if src == "video":
            vid, start, end, mode = (values["camera_video"], values.get("camera_start"), values.get("camera_end"),
                                     values["mode"])
            cam.clip_bounds(start, end)  # a bad Start / End is refused before the video is asked for
            if not vid:
                raise ValueError("choose a video")
            files: dict[str, bytes] = {}
            if resolution is None:
                c2w, K, times = cam.video_path(vid, n, f, mode, start, end)
            else:
                c2w, K, times, files = cam.video_generation_path(vid, n, f, mode, resolution, start, end)
            return CameraPath(c2w, K, Path(vid).name, times, cam.video_range(vid, start, end), files)
        raise ValueError(f"unknown camera source {src!r}")


def build_camera_form(max_frames: int, default_frames: int, default_focal: float, preset_scale: float) -> CameraForm:
    """The camera controls, made in the current Blocks context (the left column of the page)."""
    preset_names = list(trajectories.PRESETS)
    source = gr.Radio([(label, k) for k, label in SOURCES.items()], value="preset", label="Camera path",
                      elem_id="camera-source")
    frames = gr.Slider(2, max_frames, value=min(default_frames, max_frames), step=1, label="Frames", elem_id="frames")
    focal = gr.Number(value=default_focal, label="Focal length (fx / width)", elem_id="focal")
    groups: dict[str, Any] = {}
    with gr.Group(visible=True) as groups["preset"]:
        preset = gr.Dropdown(preset_names, value="orbit", label="Preset", elem_id="preset")
        param_boxes: dict[tuple[str, str], Any] = {}
        preset_rows = {}
        for name in preset_names:
            with gr.Row(visible=name == "orbit") as row:
                for p in cam.preset_params(name):
                    eid = f"param-{name}-{p.name}"
                    box: gr.Dropdown | gr.Textbox | gr.Number
                    if p.kind == "choice":
                        box = gr.Dropdown(list(p.choices), value=p.default, label=p.label, elem_id=eid)
                    elif p.kind == "range":
                        box = gr.Textbox(value=f"{p.default[0]:g},{p.default[1]:g}", label=p.label, elem_id=eid)
                    else:
                        box = gr.Number(value=p.default, label=p.label, elem_id=eid)
                    param_boxes[(name, p.name)] = box
            preset_rows[name] = row
    with gr.Group(visible=False) as groups["file"]:
        camera_file = gr.File(label="Camera path file (.json: the authors' format or transforms.json)",
                              file_types=[".json"], elem_id="camera-file")
    with gr.Group(visible=False) as groups["keyframes"]:
        keyframes = gr.Dataframe(value=cam.DEFAULT_KEYFRAMES, headers=cam.KEYFRAME_COLUMNS, datatype="number",
                                 label="Keyframes in the first camera's frame (x right, y down, z forward; "
                                       "degrees: yaw + right, pitch + up). Row 1 is the input view.",
                                 interactive=True, row_count=3, elem_id="keyframes")  # rows can be added
    with gr.Group(visible=False) as groups["video"]:
        camera_video = gr.Video(label="Video whose camera motion to follow (its cameras are recovered "
                                      "once per upload: SfM, up to a minute on a CPU)", sources=["upload"],
                                elem_id="camera-video")
        with gr.Row():
            camera_start = gr.Textbox(value="", label=f"Start: {RANGE_HELP}; blank: the clip's start",
                                      placeholder="blank: the clip's start", elem_id="camera-start")
            camera_end = gr.Textbox(value="", label=f"End (not included): {RANGE_HELP}; blank: the clip's end",
                                    placeholder="blank: the clip's end", elem_id="camera-end")
    return CameraForm(source, frames, focal, preset, param_boxes, preset_rows, groups, camera_file, keyframes,
                      camera_video, camera_start, camera_end, float(default_focal), float(preset_scale), max_frames)
