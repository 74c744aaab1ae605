"""Curated ``meta.json`` motion strengths in the units before 17875fa (2026-12-05 18:45 UTC): x over the width and y
over the height, where now both are over the shorter side (``docs/conventions.md``).

The old records say so in ``motion_strength_units`` (the text :data:`OLD_MOTION_UNITS` begins). On square frames both
units give the same value; on non-square ones the old value is 1 to long/short side times too small, depending on the
direction of the motion, which the record does not keep: such a value cannot be converted, only re-curated.
"""

from __future__ import annotations

from typing import Any

__all__ = ["OLD_MOTION_UNITS", "mentions_old_units", "old_unit_motion", "old_units_advice"]

#: how ``motion_strength_units`` began in the ``meta.json`` genxd curate wrote before 17875fa
OLD_MOTION_UNITS = "normalised image displacement per frame not explained by the camera"


def mentions_old_units(data: bytes) -> bool:
    """Whether a ``meta.json``'s bytes hold the old units text (a cheap test before parsing it)."""
    return OLD_MOTION_UNITS.encode() in data


def old_unit_motion(meta: dict[str, Any], key: str = "motion_strength") -> bool:
    """Whether ``meta[key]`` is a motion strength in the old units that differs from the new one: the record's
    ``motion_strength_units`` is the old text and its frames are not square (or of a size it does not give)."""
    if key != "motion_strength" or not isinstance(meta.get(key), (int, float)):
        return False  # image_motion_strength (synthetic clips) never carried this text
    units = meta.get("motion_strength_units")
    if not (isinstance(units, str) and units.startswith(OLD_MOTION_UNITS)):
        return False
    h, w = meta.get("height"), meta.get("width")
    return not (isinstance(h, int) and isinstance(w, int) and h == w)


def old_units_advice(count: int, total: int, first: str) -> str:
    """The warning's text for ``count`` of ``total`` videos (``first`` named) with old-unit motion strengths."""
    return (f"{count} of {total} videos (e.g. {first}) were curated before 2026-12-05 18:45 UTC (17875fa) with "
            f"motion_strength in the old units (x over the width, y over the height): on their non-square frames it "
            f"reads 1 to long/short side times less than the motion strength of videos curated since (pixels over "
            f"the shorter side), and the record keeps nothing to convert it; re-curate them (remove their folders "
            f"and run genxd curate again) to train with one unit")
