"""What each number of a ``genxd eval`` report measures and in which unit (written as the report's ``units``).

PSNR in the synthetic modes is **one mean squared error over all the non-context frames of a scene**
(RGB in [0, 1], at the model's resolution), then the mean over scenes; SSIM is the mean over those
frames, then over scenes. The per-frame mean PSNR is higher (by Jensen's inequality): 0.02-0.04 dB on
two held-out scenes at 2 steps.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNITS", "unit_of", "report_units"]

_PSNR = "dB: 10 log10(1 / MSE), RGB in [0, 1] at the model's resolution, one MSE per scene (photos: per photo) over "
_SCENE_PSNR = _PSNR + "its non-context frames (covered pixels in the photo modes), then the mean over scenes"
_SSIM = "SSIM (Gaussian window 11, sigma 1.5, valid region), mean over a scene's non-context frames, then over scenes"
_FEWSHOT_PSNR = ("dB: 10 log10(1 / MSE), RGB in [0, 1], one MSE per held-out test view, the mean over a scene's test "
                 "views (fewshot summary: then over scenes)")
_FEWSHOT_SSIM = "SSIM (Gaussian window 11, sigma 1.5, valid region), mean over a scene's held-out test views"
_CHANGE = ("mean |RGB| difference in [0, 1] between consecutive generated frames (static camera), mean over scenes; "
           "0 for a static output")

#: Exact key -> unit / definition; keys ending in a suffix of :data:`_PATTERNS` are matched by it.
UNITS: dict[str, str] = {
    "resolution": "pixels", "frames": "count", "steps": "count", "guidance": "scale (1: off)",
    "num_scenes": "count", "held_out_seed": "seed", "held_out_seed_4d": "seed", "sfm_threads": "count",
    "psnr": _SCENE_PSNR, "baseline_psnr": _SCENE_PSNR + "; the repeat-input baseline (nearest context view)",
    "ssim": _SSIM, "baseline_ssim": _SSIM + "; the repeat-input baseline",
    "psnr_gain_db": "dB: mean over scenes of psnr - baseline_psnr",
    "gain_db": "dB: psnr - baseline_psnr (a photo's row); fewshot: psnr_with - psnr_without (a scene's row; the "
               "fewshot summary: the mean over scenes)",
    "fraction_above_baseline": "fraction of scenes (photos) in [0, 1]",
    "camera_following_db": "dB: PSNR against the asked frames minus PSNR against them in reverse order, mean over scenes",
    "motion_strength": "motion strength (100 x the per-frame image displacement)",
    "scenes_with_objects": "count", "covered_fraction": "fraction of pixels in [0, 1]",
    "photo_mean_gain_db": "dB: mean of the photo modes' psnr_gain_db", "focal": "focal / image width",
    "supersample": "count",
    "scenes": "count", "evaluated": "count", "failed": "count", "num_registered": "count", "num_frames": "count",
    "registered_fraction": "fraction of frames in [0, 1]", "scenes_with_TransErr": "count",
    "RotErr": "degrees: sum over registered frames of the rotation angle, paths relative to their first camera",
    "mean_RotErr": "degrees: mean over scenes of RotErr (a sum over frames)",
    "mean_rot_err_deg": "degrees: mean over frames (summary: then over scenes)",
    "TransErr": "requested path units: sum over frames of the centre error after the anchored scale",
    "mean_TransErr": "requested path units: mean over scenes of TransErr (a sum over frames)",
    "mean_TransErr_sim3": "requested path units: mean over scenes of the sum after a free similarity",
    "mean_centre_err": "requested path units: mean over frames, then scenes",
    "mean_centre_err_sim3": "requested path units: mean over frames, then scenes (free similarity)",
    "centre_err_rel": "mean centre error / requested path length", "mean_centre_err_rel": "mean over scenes of "
    "centre_err_rel", "mean_centre_err_sim3_rel": "mean over scenes of the free-similarity centre_err_rel",
    # fewshot (genxd.evaluation_fewshot): Gaussians fitted to 3 views, without and with generated views
    **{f"{metric}_{fit}": f"the Gaussians fitted {fit} the generated views; " + text
       for metric, text in (("psnr", _FEWSHOT_PSNR), ("ssim", _FEWSHOT_SSIM)) for fit in ("with", "without")},
    "fraction_with_above_without": "fraction of scenes in [0, 1]",
    "generated_psnr": "dB: 10 log10(1 / MSE), RGB in [0, 1], one MSE over a scene's generated views against renders at "
                      "their poses, then the mean over scenes",
    "seed": "seed", "scenes_done": "count", "num_views": "count", "context_views": "count", "groups": "count",
    "real_repeat": "count", "iterations": "count", "num_generated": "count", "num_test": "count",
}
_PATTERNS = {"object_frame_change_": _CHANGE + " (the input view's object pixels)", "frame_change_": _CHANGE}


def unit_of(key: str) -> str | None:
    """The unit / definition of a report key, or None when it has none."""
    if key in UNITS:
        return UNITS[key]
    return next((text for prefix, text in _PATTERNS.items() if key.startswith(prefix)), None)


def _numeric_keys(node: Any, out: set[str]) -> set[str]:
    """Every key under ``node`` whose value is a number (not a bool)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if isinstance(value, (int, float)) and not isinstance(value, bool) and isinstance(key, str):
            out.add(key)
        elif isinstance(value, (dict, list)):
            _numeric_keys(value, out)
    return out


def report_units(report: dict) -> dict[str, str]:
    """``{key: unit}`` for every numeric key of ``report`` that has one (sorted)."""
    return {k: u for k in sorted(_numeric_keys(report, set())) if (u := unit_of(k)) is not None}
