"""genxd curate resuming a folder curated before 17875fa, whose meta.json hold motion_strength with x over W and y
over H (now over the shorter side): a non-square video's value is not in the units of those curated since, and the
run said nothing. In-process, with every video done (no SfM)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from genxd.curation import CurationConfig, curate_dataset
from genxd.utils.motion_units import OLD_MOTION_UNITS
from genxd.validation import GenXDWarning

OLD = OLD_MOTION_UNITS + " (max over objects of the median over tracked points); see docs/curation.md"
NEW = "image displacement per extracted frame, in pixels over the shorter side, not explained by the camera"


def _done(tmp_path: Path, videos: dict[str, tuple[str, int, int]]) -> tuple[Path, Path]:
    """Input frame folders and an output folder where each video is done: ``{name: (units, height, width)}``."""
    out = tmp_path / "out"
    for name, (units, h, w) in videos.items():
        (tmp_path / "in" / name).mkdir(parents=True)
        (tmp_path / "in" / name / "0000.png").write_bytes(b"")
        (out / name).mkdir(parents=True)
        meta = {"video_id": name, "status": "ok", "verdict": "dynamic", "motion_strength": 0.01,
                "motion_strength_units": units, "num_frames": 8, "num_registered": 8, "height": h, "width": w,
                "mean_reprojection_error": 0.5, "config": CurationConfig().to_dict()}
        (out / name / "meta.json").write_text(json.dumps(meta, indent=1))
    return tmp_path / "in", out


def test_resuming_a_folder_with_old_unit_records_is_one_warning(tmp_path):
    inputs, out = _done(tmp_path, {"a": (OLD, 90, 160), "b": (OLD, 160, 90), "sq": (OLD, 64, 64), "c": (NEW, 90, 160)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = curate_dataset(inputs, out, CurationConfig(), progress=False)
    messages = [str(w.message) for w in caught if issubclass(w.category, GenXDWarning) and "17875fa" in str(w.message)]
    assert len(messages) == 1, [str(w.message) for w in caught]
    assert "2 of 4 videos (e.g. a) were curated before 2026-12-05 18:45 UTC" in messages[0]
    assert summary.skipped == 4


def test_resuming_a_folder_of_new_or_square_records_says_nothing_of_units(tmp_path):
    inputs, out = _done(tmp_path, {"sq": (OLD, 64, 64), "c": (NEW, 90, 160)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        curate_dataset(inputs, out, CurationConfig(), progress=False)
    assert not [w for w in caught if "17875fa" in str(w.message)]
