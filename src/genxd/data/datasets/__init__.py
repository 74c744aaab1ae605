"""Training datasets: CamVid-30K videos (folders or ``batch_N.zip``), multi-view 3D scenes, synthetic
scenes rendered on the fly, and weighted mixtures of them.

Every dataset yields the same **sample dict** (the project convention, ``docs/conventions.md``):

- ``frames`` ``[F, 3, H, W]`` float32 in [0, 1];
- ``c2w`` ``[F, 4, 4]`` float32 OpenCV camera-to-world; ``K`` ``[F, 3, 3]`` float32 normalised;
- ``indicator`` long scalar: 0 = 3D (static scene), 1 = video, 2 = 4D (camera and objects move);
- ``motion_strength`` float32 scalar: what the UNet's motion embedding sees (0 for 3D scenes);
- ``kind`` (``"3d"``, ``"video"``, ``"4d"``) and ``name`` (a readable id of the clip).

**Images** are brought to the training size by a centre crop (``fit="crop"``) or a centred pad
(``fit="pad"``, with ``pad_value``) to the target aspect ratio, then an anti-aliased resize; the
normalised intrinsics follow exactly (a resize leaves normalised intrinsics unchanged under the
pixel-centre convention; crop and pad shift and rescale them). ``fit="random"`` picks crop or pad
per item (deterministically).

**Camera scale**: world coordinates are kept (no re-centring: GenXD conditions on poses relative
to the first context view, so only the scale matters) and multiplied by one factor per clip:

- ``"scene"`` (default): the median z-depth of the scene seen from the clip's first camera becomes 1
  (COLMAP points in its view frustum; the rendered depth for synthetic scenes), so a camera move
  of 0.1 means 10 % of the distance to the scene, whatever the reconstruction's arbitrary scale;
  falls back to ``"path"`` when no depth is known (ReconFusion, ``transforms.json``);
- ``"path"``: the largest distance of a clip camera from the first one becomes 1 (clips without
  camera translation are left unscaled);
- ``"none"``: unchanged.

**Motion strength**: ``motion_scale x`` the per-frame image displacement of moving objects over the shorter
side, with the camera factored out (``genxd.curation.motion``, key ``motion_strength`` of a curated
``meta.json``; ``image_motion_strength`` of a synthetic one; computed exactly for synthetic scenes
rendered on the fly). The default scale 100 maps typical values (0.002 - 0.05) to ~0.2 - 5, the
range of the timestep-like embedding (the authors also feed a x100 value at inference). The stored value
is per frame of the video; a clip of every ``s``-th frame gets ``s`` times it (its own per-frame speed), and
the crop or pad to the training size rescales it to the fitted frames' shorter side (``fit_motion_factor``).

Everything is deterministic: clip lists are built at construction, random choices are seeded by
``(seed, index)``, so an index maps to the same sample in every process and on every run.

The package keeps one dataset a module: :mod:`.clips` (the sample dict, image fitting, camera scale and
the clip base class, with :mod:`.view_lenses`, the views' lenses and size checks), :mod:`.camvid` (with
:mod:`.camvid_samples`, its videos in folders and archives,
:mod:`.frame_times`, its clips picked evenly in time, and :mod:`.camvid_dropped`, the note on those not trained),
:mod:`.multiview`, :mod:`.reconfusion`, :mod:`.synthetic_clips` and :mod:`.mixture` (mixtures and
``build_dataset``); every name is importable from here.
"""

from __future__ import annotations

# the private helpers are re-exported too: genxd.data.photo_scenes and the tests import some of them
from ...validation import DEFAULT_MOTION_SCALE  # defined once (docs/conventions.md)
from ..archive import ArchiveLimits, SafeZip  # noqa: F401
from .camvid import CamVidDataset
from .camvid_samples import _MODEL_RE, _ExtractDir, _is_image, _Video  # noqa: F401
from .clips import (  # noqa: F401
    CAMERA_NORMALIZATIONS,
    FIT_MODES,
    IMAGE_EXTENSIONS,
    KIND_TO_INDICATOR,
    _as_list,
    _Cameras,
    _check_common,
    _clip_positions,
    _ClipDataset,
    _decode_image,
    _read_image,
    _rng,
    camera_scale,
    fit_motion_factor,
    fit_shape,
    fit_views,
    make_sample,
    median_point_depth,
)
from .mixture import DATASET_TYPES, MixtureDataset, build_dataset, dataset_class
from .multiview import _COLMAP_DIRS, MultiViewDataset, _find_colmap, _ViewScene  # noqa: F401
from .reconfusion import ReconFusionDataset
from .sample_check import SAMPLE_KEYS, check_sample
from .synthetic_clips import SyntheticDataset, _check_rendered  # noqa: F401

__all__ = [
    "KIND_TO_INDICATOR",
    "FIT_MODES",
    "CAMERA_NORMALIZATIONS",
    "DEFAULT_MOTION_SCALE",
    "fit_motion_factor",
    "fit_shape",
    "fit_views",
    "camera_scale",
    "median_point_depth",
    "make_sample",
    "check_sample",
    "SAMPLE_KEYS",
    "SyntheticDataset",
    "CamVidDataset",
    "MultiViewDataset",
    "ReconFusionDataset",
    "MixtureDataset",
    "DATASET_TYPES",
    "build_dataset",
    "dataset_class",
]
