"""Sampling: ``GenXDPipeline`` and the conditions it builds (shared with training)."""

from .conditioning import GenXDConditions, build_conditions, mode_to_indicator
from ..checkpoint_folders import DOWNLOAD_HINT, RELEASED_REPO_ID, resolve_checkpoint
from .pipeline_genxd import GenXDPipeline, GenXDPipelineOutput

__all__ = [
    "GenXDPipeline",
    "GenXDPipelineOutput",
    "GenXDConditions",
    "build_conditions",
    "mode_to_indicator",
    "resolve_checkpoint",
    "DOWNLOAD_HINT",
    "RELEASED_REPO_ID",
]
