"""The one-line message for a package genxd requires that cannot be imported (an install made with ``--no-deps``, a
package removed or broken since): the command that puts it back at genxd's own bounds, instead of a traceback.
Optional extras have their own messages (:mod:`genxd.utils.extras`)."""

from __future__ import annotations

import re

__all__ = ["CORE_IMPORTS", "missing_requirement_message"]

#: import name -> PyPI name of the packages of pyproject's ``dependencies`` (tests/utils/test_requirements.py checks
#: the two agree)
CORE_IMPORTS = {
    "torch": "torch", "diffusers": "diffusers", "accelerate": "accelerate", "safetensors": "safetensors",
    "huggingface_hub": "huggingface_hub", "numpy": "numpy", "scipy": "scipy", "threadpoolctl": "threadpoolctl",
    "PIL": "pillow", "cv2": "opencv-python-headless", "imageio": "imageio", "imageio_ffmpeg": "imageio-ffmpeg",
    "av": "av", "pycolmap": "pycolmap", "plyfile": "plyfile", "typer": "typer", "rich": "rich", "yaml": "pyyaml",
    "tqdm": "tqdm",
}


def _requirement(dist: str) -> str:
    """genxd's requirement string for the PyPI package ``dist`` (``av>=17.1``), from the installed metadata; the bare
    name where that cannot be read."""
    from importlib import metadata

    try:
        requires = metadata.requires("genxd") or []
    except metadata.PackageNotFoundError:
        return dist
    key = re.sub(r"[-_.]+", "-", dist).lower()
    for line in requires:
        if ";" in line:  # an extra's, or another platform's
            continue
        name = re.split(r"[<>=!~\[ ]", line, maxsplit=1)[0]
        if re.sub(r"[-_.]+", "-", name).lower() == key:
            return line.replace(" ", "")
    return dist


def missing_requirement_message(exc: ModuleNotFoundError) -> str | None:
    """``exc`` said as one line when the module it could not import is one of genxd's required packages (or inside
    one), with the pip command that installs it; None for any other module."""
    top = (exc.name or "").split(".")[0]
    dist = CORE_IMPORTS.get(top)
    if dist is None:
        return None
    return (f"the package {dist} cannot be imported ({exc}), and genxd needs it: install it with "
            f"pip install \"{_requirement(dist)}\" (or reinstall genxd with its requirements)")
