"""Which of :func:`genxd.cameras.fit.fit_reconfusion`'s path settings the chosen path takes: the spline (re10k,
co3d) shifts its copies along x and z, or scales them (``multiscale``, the shifts then unused, as in the authors'
code); the spirals (llff, dtu) shift along z (or y) and scale, and take ``z_rate``, ``return_center``, ``shift_zy``;
the ellipse (mip-NeRF 360) shifts along z and scales; ``data_poses`` writes the scene's own cameras, none of them."""

from __future__ import annotations

from typing import Sequence

#: the settings each path type takes (those of fit_reconfusion that shape a fitted path)
_TAKEN = {
    "spline": {"shift_x", "shift_z", "multiscale"},
    "spiral": {"shift_z", "multiscale", "z_rate", "return_center", "shift_zy"},
    "ellipse": {"shift_z", "multiscale"},
}
_PATH_TYPES = {"re10k": "spline", "co3d": "spline", "llff": "spiral", "dtu": "spiral", "mipnerf360": "ellipse"}
_PATH_NAMES = {"re10k": "re10k's spline path", "co3d": "co3d's spline path", "llff": "llff's spiral path",
               "dtu": "dtu's spiral path", "mipnerf360": "mip-NeRF 360's ellipse path"}


def unused_fit_settings(kind: str, data_poses: bool, *, shift_x: Sequence[float] | None = None,
                        shift_z: Sequence[float] | None = None, multiscale: Sequence[float] | None = None,
                        z_rate: float = 0.0, return_center: bool = False, shift_zy: bool = False) -> str | None:
    """The warning naming the settings given (a non-empty list, a non-zero ``z_rate``, a flag on) that the path of
    dataset ``kind`` does not take, worded for the caller (``--shift-x`` / ``shift_x``); None when all are taken."""
    from ..caller_style import arg, is_cli

    given = [name for name, value in (("shift_x", shift_x), ("shift_z", shift_z), ("multiscale", multiscale),
                                      ("z_rate", z_rate), ("return_center", return_center), ("shift_zy", shift_zy))
             if value]
    if data_poses:
        unused, where = given, f"{arg('data_poses')} (the scene's own cameras are written)"
    else:
        path_type = _PATH_TYPES.get(kind, "ellipse")
        taken = _TAKEN[path_type] - ({"shift_x", "shift_z"} if path_type == "spline" and multiscale else set())
        unused = [name for name in given if name not in taken]
        dataset = f"--dataset {kind}" if is_cli() else f"kind={kind!r}"
        where = (f"{_PATH_NAMES.get(kind, kind)} with {arg('multiscale')} (its copies are scaled, not shifted, as in "
                 "the authors' code)" if path_type == "spline" and multiscale
                 else f"{_PATH_NAMES.get(kind, kind)} ({dataset})")
    if not unused:
        return None
    names = " and ".join([", ".join(arg(n) for n in unused[:-1]), arg(unused[-1])] if len(unused) > 1
                         else [arg(unused[0])])
    return f"{names} {'does' if len(unused) == 1 else 'do'} not apply to {where}: not used"
