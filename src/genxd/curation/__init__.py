"""Data curation (GenXD section 3): videos to CamVid-30K-style 4D samples.

Per video: frames -> masks of possibly moving objects -> SfM (pycolmap) on the static part ->
dense depth -> object motion strength and a static/dynamic verdict. Many videos: resumable,
parallel, failures recorded in ``index.jsonl``. See ``docs/curation.md``.

>>> from genxd.curation import CurationConfig, curate_dataset
>>> summary = curate_dataset("videos/", "camvid_out", CurationConfig(stride=2, max_frames=48), workers=2)  # doctest: +SKIP
"""

from .dataset import INDEX_NAME, DatasetSummary, RunLockedError, append_index, curate_dataset, latest_records, read_index
from .depth import (
    TransformersDepthEstimator,
    align_depth_median,
    aligned_model_depth_maps,
    fill_object_depth,
    interpolate_sparse_depth,
    sparse_depth_maps,
    sparse_depth_observations,
)
from .evaluation import absolute_trajectory_error, umeyama_alignment
from .frames import VideoReadError, VideoSource, discover_videos, parse_resize, read_frames
from .masks import EpipolarFlowMasker, Masker, TransformersInstanceMasker, dis_flow, epipolar_residual, load_masker
from .motion import DEFAULT_MOTION_THRESHOLD, MotionResult, MotionSettings, ObjectMotion, estimate_object_motion, verdict
from .pipeline import META_NAME, CurationConfig, CurationError, curate_video
from .sfm import SfmError, SfmResult, klt_feature_tracks, run_sfm, write_reconstruction

__all__ = [
    "CurationConfig",
    "CurationError",
    "curate_video",
    "curate_dataset",
    "DatasetSummary",
    "RunLockedError",
    "read_index",
    "latest_records",
    "append_index",
    "INDEX_NAME",
    "META_NAME",
    "VideoSource",
    "VideoReadError",
    "discover_videos",
    "read_frames",
    "parse_resize",
    "Masker",
    "EpipolarFlowMasker",
    "TransformersInstanceMasker",
    "load_masker",
    "dis_flow",
    "epipolar_residual",
    "SfmError",
    "SfmResult",
    "run_sfm",
    "klt_feature_tracks",
    "write_reconstruction",
    "TransformersDepthEstimator",
    "align_depth_median",
    "aligned_model_depth_maps",
    "fill_object_depth",
    "interpolate_sparse_depth",
    "sparse_depth_maps",
    "sparse_depth_observations",
    "DEFAULT_MOTION_THRESHOLD",
    "MotionSettings",
    "MotionResult",
    "ObjectMotion",
    "estimate_object_motion",
    "verdict",
    "umeyama_alignment",
    "absolute_trajectory_error",
]
