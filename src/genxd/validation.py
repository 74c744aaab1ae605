"""One validation layer for every user-facing value, shared by the ``genxd`` command and the Python API.

Every value a user gives (a number of frames, a guidance scale, a device name, a fit mode ...) is
checked here **before any model is loaded or anything is written**:

- numbers must have the right type (an integer option refuses ``2.7``, ``"four"`` and ``True``), be
  finite (no ``nan`` / ``inf``) and lie in the documented range; ``0`` is never a silent "default"
  (leave the argument out, or pass ``None`` from Python, to get the default);
- names come from a fixed set (``mode``, ``fit``, ``dtype`` ...); devices are ``auto``, ``cpu``,
  ``cuda``, ``cuda:N`` or ``mps``, and CUDA must be available when asked for;
- a message names the argument **in the caller's terms**: ``--frames`` on the command line,
  ``num_frames`` from Python (the command line runs the same checks under :func:`cli_style`).

The same :class:`Spec` objects serve both: the command line attaches them to its options
(``genxd.cli.options``), the API functions (``genxd.generate`` ...) call :func:`check`.

Warnings (not errors) for values outside what a model was trained on come from :func:`warn` as
:class:`GenXDWarning` (one line each on the command line).

Motion strength (GenXD's object-motion condition) has one definition, :data:`DEFAULT_MOTION_SCALE`
times the per-frame image displacement of moving objects over the shorter side, with the camera factored out
(``docs/conventions.md``): 0 = still; 1 = objects moving 1% of the image per frame; the hard limit
:data:`MOTION_STRENGTH_MAX` = 100 means objects crossing the whole image every frame.

The rules (:class:`Spec` ...) live in :mod:`genxd.validation_specs`, the warnings in
:mod:`genxd.validation_warnings`, the caller's wording in :mod:`genxd.caller_style`; all are re-exported here, with
the shared specs (``NUM_FRAMES`` ...) defined here.
"""

from __future__ import annotations

from dataclasses import replace

# who is calling (the command line or Python) and messages worded for it: genxd.caller_style, re-exported here
from .caller_style import (
    FLAGS, arg, caller, caller_style, cli_style, is_cli, is_out_of_memory, out_of_memory_message, overwrite_hint,
    setting, skip_hint, switch_hint, text_setting,
)
# the rules and their refusals (genxd.validation_specs) and the warnings (genxd.validation_warnings), re-exported here
from .validation_specs import (
    _DEVICE_RE, Choice, ChoiceList, Colour, Device, Flag, Float, Int, InvalidType, InvalidValue, Number, Numbers, Pair,
    Shard, Size, Spec, check,
)
from .validation_warnings import COLLECTED, GenXDWarning, outside_trained, trained_span, warn, warn_outside_trained

#: The model sees ``DEFAULT_MOTION_SCALE x`` the per-frame image displacement (over the shorter side) of moving objects
#: (camera factored out). Typical real clips: 0.002 - 0.05 per frame, i.e. motion strength 0.2 - 5.
DEFAULT_MOTION_SCALE = 100.0
#: Largest accepted motion strength: a displacement of one whole image per frame (x the scale).
MOTION_STRENGTH_MAX = DEFAULT_MOTION_SCALE * 1.0


# ------------------------------------------------------------------------------------------------
# the shared specs (the command line's options use the same objects)
# ------------------------------------------------------------------------------------------------

MODES = Choice(("3d", "video", "4d"), aliases=(("mv", "3d"),))
FITS = Choice(("crop", "pad"))
DTYPES = Choice(("auto", "fp32", "bf16", "fp16"), aliases=(("float32", "fp32"), ("bfloat16", "bf16"),
                                                         ("float16", "fp16")), optional=True)
DEVICE = Device()

NUM_FRAMES = Int(2, 10_000, optional=True, why="leave it out for the model's default")
RESOLUTION = Int(8, 4096, optional=True, why="leave it out for the model's default")
STEPS = Int(1, 1000, optional=True, why="leave it out for the model's default")
GUIDANCE = Float(1.0, 100.0, optional=True, why="1 turns guidance off")
MOTION_STRENGTH = Float(0.0, MOTION_STRENGTH_MAX,
                        why=f"{DEFAULT_MOTION_SCALE:g} x the per-frame image displacement of moving objects; "
                            "see docs/conventions.md")
SEED = Int(0, 2**63 - 1)
#: Paths longer than the model's window (genxd.pipelines.long_paths) and the memory switches.
WINDOW = Int(2, 10_000, optional=True, why="leave it out for the model's frame count")
ANCHORS = Int(0, 10_000, optional=True, why="0: no anchor window (the 3d default)")
OVERLAP = Int(1, 10_000, optional=True)
DECODE_CHUNK = Int(1, 10_000, optional=True, why="leave it out to size it by the image")
#: --path-scale of camera paths taken from a video.
PATH_SCALE = Float(0.0, 1000.0, lo_open=True)
#: a camera path from a video (genxd.cameras.from_video): steps, intrinsics, smoothing in clip frames
PATH_SPACINGS = Choice(("arc", "time"), optional=True)
PATH_INTRINSICS = Choice(("model", "clip"))
PATH_SMOOTHING = Float(0.0, 10_000.0)
#: Samplers of :meth:`genxd.pipelines.GenXDPipeline.set_scheduler` (None: the model's default).
SCHEDULERS = Choice(("euler", "heun", "dpmpp-2m", "dpmpp-3m", "dpmpp-2m-sde", "unipc"), optional=True)
#: Weight offloading of :func:`genxd.checkpoints.load_model` (CUDA).
OFFLOAD = Choice(("none", "model", "group"))
#: fx / W of 0.05 is a 169-degree view (a fisheye's, beyond what a pinhole camera path means); 100 is a 0.6-degree one.
FOCAL = Float(0.05, 100.0, optional=True, why="normalised focal length fx / image width; 0.05 is a 169-degree view")
ELEVATION = Float(-90.0, 90.0, optional=True, why="degrees")
AZIMUTH = Float(-3600.0, 3600.0, why="degrees")
AZIMUTH_RANGE = Pair(AZIMUTH, "-30,30", optional=True)
MAX_RADIUS = 1e4  #: the largest camera distance genxd takes (an orbit's radius)
RADIUS = Float(0.0, MAX_RADIUS, lo_open=True, optional=True)
BATCH_SIZE = Int(1, 1024)
#: video frame rates: ffmpeg cannot store one below 1e-7 (its rational time base; "the video writer did not
#: finish"), and a frame a minute is already a slide show
FPS = Float(0.01, 1000.0, optional=True, why="frames per second")
N_VIEWS = Int(1, 10_000)
NUM_CONTEXT = Int(1, 3, why="GenXD conditions on 1, 2 or 3 views")
STRATEGIES = Choice(("direct", "grouped"))
#: the split rules of ``genxd fewshot-data`` (:mod:`genxd.data.reconfusion_convert`)
FEWSHOT_SPLIT = Choice(("llff", "regnerf-dtu"))
SHARD = Shard()

# SfM settings of genxd curate and genxd eval-camera (and their Python functions): correspondences and threads
SFM_FEATURES = Choice(("auto", "sift", "klt"))
NUM_THREADS = Int(-1, 1024, nonzero=True, why="-1: every core")
# genxd curate shares out the cores: -1 there is cores / workers per worker (CurationConfig itself: every core)
CURATE_THREADS = replace(NUM_THREADS, why="-1: cores / workers")

# genxd curate's settings: its options and genxd.curation.CurationConfig (the Python API) check the same way
CURATE_STRIDE = Int(1, 10_000)
CURATE_WORKERS = Int(1, 1024)
CURATE_MAX_FRAMES = Int(1, 1_000_000, optional=True)
CURATE_RESIZE = Size(16, 8192, why="leave it out to keep the video's size")
CURATE_FRAME_MEMORY = Float(0.0, 1e6, lo_open=True)
CURATE_MIN_FRAMES = Int(3, 1_000_000, why="SfM needs 3 frames")
CURATE_MIN_REGISTERED = Float(0.0, 1.0, lo_open=True)
CURATE_MOTION_THRESHOLD = Float(0.0, 1.0, optional=True)
CURATE_MOTION_GAP = Int(1, 10_000)
CURATE_JPEG_QUALITY = Int(1, 100)
CURATE_MAPPERS = Choice(("auto", "incremental", "global"))
CURATE_FALLBACK_DEPTHS = Choice(("sparse", "triangulate"))


__all__ = [
    "DEFAULT_MOTION_SCALE", "MOTION_STRENGTH_MAX", "InvalidValue", "InvalidType", "GenXDWarning", "cli_style", "is_cli", "arg",
    "overwrite_hint", "skip_hint", "Spec", "Number", "Int", "Float", "Choice", "Pair", "Device", "Flag", "check", "ChoiceList", "Numbers", "Size", "Colour",
    "warn", "warn_outside_trained", "outside_trained", "trained_span", "MODES", "FITS", "DTYPES", "DEVICE", "NUM_FRAMES", "RESOLUTION", "STEPS",
    "GUIDANCE", "MOTION_STRENGTH", "SEED", "FOCAL", "ELEVATION", "AZIMUTH", "AZIMUTH_RANGE", "RADIUS",
    "BATCH_SIZE", "FPS", "PATH_SPACINGS", "PATH_INTRINSICS", "PATH_SMOOTHING", "N_VIEWS", "NUM_CONTEXT", "STRATEGIES", "FLAGS",
    "CURATE_STRIDE", "CURATE_WORKERS", "CURATE_MAX_FRAMES", "CURATE_RESIZE", "CURATE_FRAME_MEMORY", "CURATE_MIN_FRAMES", "CURATE_MIN_REGISTERED",
    "CURATE_MOTION_THRESHOLD", "CURATE_MOTION_GAP", "NUM_THREADS", "CURATE_THREADS", "CURATE_JPEG_QUALITY", "SFM_FEATURES", "CURATE_MAPPERS",
    "CURATE_FALLBACK_DEPTHS",
    "caller", "caller_style", "setting", "text_setting", "is_out_of_memory", "out_of_memory_message",
]
