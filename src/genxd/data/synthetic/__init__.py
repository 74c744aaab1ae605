"""Synthetic 3D/4D scenes with exact ground truth (see ``docs/synthetic.md``).

>>> import torch
>>> from genxd.data.synthetic import make_scene, orbit_cameras, render
>>> scene = make_scene(seed=0, dynamic=True, motion_strength=0.5)
>>> c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
>>> out = render(scene, c2w, K, 64, 64, times=torch.linspace(0, 1, 8))
>>> out.rgb.shape, out.depth.shape, out.object_id.shape, out.object_positions.shape
(torch.Size([8, 3, 64, 64]), torch.Size([8, 64, 64]), torch.Size([8, 64, 64]), torch.Size([8, 3, 3]))
"""

from .cameras import CAMERA_PATHS, camera_path, forward_cameras, orbit_cameras, place_path
from .clips import (
    CAMERAS_3D,
    CAMERAS_4D,
    FORMATS,
    KINDS,
    MOTION_STRENGTH_RANGE,
    SyntheticClip,
    SyntheticClipDataset,
    make_clip,
    write_clip,
)
from .ground_truth import image_motion_strength, optical_flow, track_points
from .render import SURFACE_GROUND, SURFACE_OBJECT, SURFACE_SKY, RenderOutput, render
from .scene import (
    BOX,
    CYLINDER,
    OBJECT_REGION_RADIUS,
    PRIMITIVE_NAMES,
    SKY_RADIUS,
    SPHERE,
    Scene,
    make_scene,
)

from .writers import (
    default_reconfusion_splits,
    sample_surface_points,
    write_camvid_sample,
    write_image_folder,
    write_reconfusion,
    write_video,
)

__all__ = [
    "Scene",
    "make_scene",
    "render",
    "RenderOutput",
    "orbit_cameras",
    "forward_cameras",
    "place_path",
    "camera_path",
    "CAMERA_PATHS",
    "SPHERE",
    "BOX",
    "CYLINDER",
    "PRIMITIVE_NAMES",
    "SKY_RADIUS",
    "OBJECT_REGION_RADIUS",
    "SURFACE_SKY",
    "SURFACE_GROUND",
    "SURFACE_OBJECT",
    "SyntheticClip",
    "SyntheticClipDataset",
    "make_clip",
    "write_clip",
    "FORMATS",
    "KINDS",
    "CAMERAS_3D",
    "CAMERAS_4D",
    "MOTION_STRENGTH_RANGE",
    "track_points",
    "optical_flow",
    "image_motion_strength",
    "write_image_folder",
    "write_video",
    "write_camvid_sample",
    "write_reconfusion",
    "default_reconfusion_splits",
    "sample_surface_points",
]
