"""Curated ``meta.json`` motion strengths in the units before 17875fa (2026-12-05 18:45 UTC): x over the width and y
over the height, where now both are over the shorter side (``docs/conventions.md``).

The old records say so in ``motion_strength_units`` (the text :data:`OLD_MOTION_UNITS` begins). On square frames both
units give the same value; on non-square ones the old value is 1 to long/short side times too small, depending on the
direction of the motion, which the record does not keep: such a value cannot be converted, only re-curated.

Synthetic clips' ``meta.json`` (``genxd synth``) give ``image_motion_strength``, whose definition changed in the same
commit; they carry no units text for it before :data:`IMAGE_MOTION_UNITS` (``image_motion_strength_units``) was
added, so a non-square one without it may be in the old units (written before 17875fa) and is treated as such.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OLD_MOTION_UNITS", "IMAGE_MOTION_UNITS", "SYNTHETIC_GENERATOR", "mentions_old_units", "old_unit_motion",
           "old_units_advice"]

#: how ``motion_strength_units`` began in the ``meta.json`` genxd curate wrote before 17875fa
OLD_MOTION_UNITS = "normalised image displacement per frame not explained by the camera"
#: ``image_motion_strength_units`` of a synthetic clip's ``meta.json``
#: (:func:`genxd.data.synthetic.image_motion_strength`)
IMAGE_MOTION_UNITS = ("image displacement per frame, in pixels over the shorter side, not explained by the camera (max "
                      "over objects of the median over their pixels); see docs/conventions.md")
#: the ``generator`` of a synthetic clip's ``meta.json``
SYNTHETIC_GENERATOR = "genxd.data.synthetic"


def mentions_old_units(data: bytes) -> bool:
    """Whether a ``meta.json``'s bytes hold the old units text (a cheap test before parsing it)."""
    return OLD_MOTION_UNITS.encode() in data


def old_unit_motion(meta: dict[str, Any], key: str = "motion_strength") -> bool:
    """Whether ``meta[key]`` is a motion strength that may be in the old units and differ from the new one, on frames
    that are not square (or of a size the record does not give): ``motion_strength`` whose ``motion_strength_units``
    is the old text, or a synthetic clip's ``image_motion_strength`` without ``image_motion_strength_units``."""
    if not isinstance(meta.get(key), (int, float)):
        return False
    if key == "motion_strength":
        units = meta.get("motion_strength_units")
        old = isinstance(units, str) and units.startswith(OLD_MOTION_UNITS)
    elif key == "image_motion_strength":
        old = meta.get("generator") == SYNTHETIC_GENERATOR and "image_motion_strength_units" not in meta
    else:
        return False
    h, w = meta.get("height"), meta.get("width")
    return old and not (isinstance(h, int) and isinstance(w, int) and h == w)


def old_units_advice(count: int, total: int, first: str, synthetic: bool = False) -> str:
    """The warning's text for ``count`` of ``total`` videos (``first`` named) with old-unit motion strengths: curated
    ones, or (``synthetic``) synthetic clips with no ``image_motion_strength_units``."""
    if synthetic:
        return (f"{count} of {total} videos (e.g. {first}) are non-square synthetic clips whose meta.json has no "
                f"image_motion_strength_units: written before 2026-12-05, their image_motion_strength may be in the "
                f"units before 17875fa (x over the width, y over the height), which reads 1 to long/short side times "
                f"less than today's (pixels over the shorter side) and cannot be converted; write them again (genxd "
                f"synth with the same settings and --overwrite) to train with one unit")
    return (f"{count} of {total} videos (e.g. {first}) were curated before 2026-12-05 18:45 UTC (17875fa) with "
            f"motion_strength in the old units (x over the width, y over the height): on their non-square frames it "
            f"reads 1 to long/short side times less than the motion strength of videos curated since (pixels over "
            f"the shorter side), and the record keeps nothing to convert it; re-curate them (remove their folders "
            f"and run genxd curate again) to train with one unit")
