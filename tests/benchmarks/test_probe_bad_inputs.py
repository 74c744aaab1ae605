"""The bad-input probe (``benchmarks/probe_bad_inputs.py``, issue 18): at least 150 cases in every group,
and its CI subset (images, options, outputs: the front door) passes: one-line errors with exit code 2,
no traceback, nothing outside the output folder touched, existing outputs kept, odd-but-valid images
written with the bundled model at tiny settings. About 10 s of CPU time (2 minutes of wall time on a
machine loaded 10x)."""

from __future__ import annotations

import json

import pytest

from genxd.api import default_model_path
from tests.helpers import load_script


@pytest.fixture(scope="module")
def probe():
    return load_script("benchmarks/probe_bad_inputs.py")


def test_the_probe_has_at_least_150_cases_in_every_group(probe):
    cases = probe.all_cases()
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids)) and len(cases) >= 150
    groups = {c.group for c in cases}
    assert groups == {"images", "options", "outputs", "camera-files", "archives", "scene-folders", "curate", "from-video",
                      "kills", "full-disk"}
    modes = " ".join(c.id for c in cases if c.group == "images")
    for mode in ("mode-1", "mode-P-transparency", "mode-LA", "mode-CMYK", "mode-I16", "mode-F01", "16bit-rgb",
                 "bomb", "truncated", "zero-byte", "text-as"):
        assert mode in modes, mode


@pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")
def test_the_ci_subset_of_the_probe_passes(probe, tmp_path):
    report = tmp_path / "probe.json"
    code = probe.main(["--subset", "ci", "--json", str(report), "--workdir", str(tmp_path / "work")])
    data = json.loads(report.read_text())
    failed = [(o["id"], o["reason"]) for o in data["outcomes"] if o["passed"] is False]
    assert code == 0 and not failed, failed
    assert data["cases_run"] >= 40
