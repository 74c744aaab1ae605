"""The GenXD UNet and its multiview-temporal building blocks."""

from .blocks import MODE_3D, MODE_4D, MODE_VIDEO, MVTemporalBlender
from .unet_mv_temporal import CONDITIONED_IN_CHANNELS, UNetMVTemporalConditionModel, UNetMVTemporalOutput

__all__ = [
    "UNetMVTemporalConditionModel",
    "UNetMVTemporalOutput",
    "MVTemporalBlender",
    "CONDITIONED_IN_CHANNELS",
    "MODE_3D",
    "MODE_VIDEO",
    "MODE_4D",
]
