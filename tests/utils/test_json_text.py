"""Every JSON file genxd writes is JSON: NaN and infinities become null (Python's json wrote the bare tokens
``NaN`` / ``Infinity``, which JavaScript's JSON.parse, jq and most parsers refuse; found by the output interop
audit, 2026-12-04: a validation PSNR with no views, a diverging loss, a depth scale with no SfM points)."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

from genxd.utils.json_files import write_json_atomic
from genxd.utils.json_text import finite_or_null, json_text

SRC = Path(__file__).parents[2] / "src" / "genxd"


def _strict_loads(text: str):
    def refuse(token: str):
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_floats_become_null_at_any_depth_other_values_stay():
    record = {"psnr": math.nan, "loss": [1.5, -math.inf, {"scale": np.float32("nan"), "n": 3}],
              "pair": (np.float64(math.inf), np.float32(2.0)), "name": "NaN", "ok": True, "none": None}
    assert finite_or_null(record) == {"psnr": None, "loss": [1.5, None, {"scale": None, "n": 3}],
                                      "pair": [None, 2.0], "name": "NaN", "ok": True, "none": None}
    text = json_text(record, indent=2)
    assert _strict_loads(text)["loss"][1] is None and "NaN" not in text.replace('"NaN"', "")


def test_write_json_atomic_writes_strict_json(tmp_path):
    path = write_json_atomic(tmp_path / "metrics.json", {"val/psnr": float("nan"), "step": 10})
    assert _strict_loads(path.read_text()) == {"val/psnr": None, "step": 10}


def test_a_record_json_cannot_write_is_still_refused():
    with pytest.raises(TypeError):
        json_text({"tensor": object()})


def test_every_json_writer_of_genxd_goes_through_json_text():
    """json.dump / json.dumps are left only where the text is a cache key, never a file."""
    # config_weights: a config's canonical JSON keys its built network's shapes (NaN kept apart from null there)
    cache_keys = {SRC / "data" / "datasets" / "synthetic_clips.py", SRC / "data" / "photo_scenes.py",
                  SRC / "config_weights.py"}
    offenders = [f"{path.relative_to(SRC)}:{n}" for path in sorted(SRC.rglob("*.py"))
                 if path not in cache_keys and path != SRC / "utils" / "json_text.py"
                 for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(r"\bjson\.dumps?\(", line)]
    assert not offenders, offenders


def test_every_json_file_genxd_reads_is_read_as_utf8_bytes():
    """``json.loads(path.read_text())`` read a file in the locale's encoding (cp1252 on Windows: a curated video's
    ``café`` read as ``cafÃ©``) and refused a file saved with a byte order mark ('Unexpected UTF-8 BOM'): a curated
    sample's meta.json then gave a camera path without its frame times, silently. ``json.loads(path.read_bytes())``
    takes UTF-8 with or without the mark (genxd.utils.json_files.read_json decodes 'utf-8-sig' itself)."""
    offenders = [f"{path.relative_to(SRC)}:{n}" for path in sorted(SRC.rglob("*.py"))
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if re.search(r"\bjson\.loads?\(.*read_text\(", line)]
    assert not offenders, offenders
