"""Cameras in one convention: OpenCV camera-to-world, normalised intrinsics (docs/conventions.md).

- :mod:`genxd.cameras.geometry`: core camera maths (poses, intrinsics, rays, projection);
- :mod:`genxd.cameras.formats`: the authors' camera JSON, nerfstudio ``transforms.json``, COLMAP;
- :mod:`genxd.cameras.trajectories`: camera paths (the authors' orbit / forward, spiral, dolly, ...);
- :mod:`genxd.cameras.fit`: the authors' few-shot trajectory fitting (``gen_poses_w2c.json``).

See ``docs/cameras.md``.
"""

from .geometry import *  # noqa: F401,F403
from .geometry import __all__ as _geometry_all
from .formats import *  # noqa: F401,F403
from .formats import __all__ as _formats_all
from .trajectories import *  # noqa: F401,F403
from .trajectories import __all__ as _trajectories_all
from .fit import *  # noqa: F401,F403
from .fit import __all__ as _fit_all

__all__ = list(_geometry_all) + list(_formats_all) + list(_trajectories_all) + list(_fit_all)
