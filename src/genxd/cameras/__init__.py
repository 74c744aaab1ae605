"""Cameras in one convention: OpenCV camera-to-world, normalised intrinsics (docs/conventions.md).

- :mod:`genxd.cameras.geometry`: core camera maths (poses, intrinsics, rays, projection);
- :mod:`genxd.cameras.formats` / :mod:`genxd.cameras.colmap`: the authors' camera JSON, w2c lists,
  nerfstudio ``transforms.json``, COLMAP;
- :mod:`genxd.cameras.reader`: :func:`read_camera_path`, one reader for every format;
- :mod:`genxd.cameras.trajectories`: camera paths (the authors' orbit / forward, spiral, dolly, ...);
- :mod:`genxd.cameras.fit`: the authors' few-shot trajectory fitting (``gen_poses_w2c.json``).

See ``docs/cameras.md``.
"""

from .geometry import *  # noqa: F401,F403
from .geometry import __all__ as _geometry_all
from .camera_path import CameraPath
from .formats import *  # noqa: F401,F403
from .formats import __all__ as _formats_all
from .reader import read_camera_path
from .trajectories import *  # noqa: F401,F403
from .trajectories import __all__ as _trajectories_all
from .fit import *  # noqa: F401,F403
from .fit import __all__ as _fit_all

__all__ = (list(_geometry_all) + list(_formats_all) + ["read_camera_path"] + list(_trajectories_all)
           + list(_fit_all))
