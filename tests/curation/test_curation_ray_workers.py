"""``--workers N`` with ``--ray``: Ray runs the videos, one task per video on the cluster's CPUs, and the local worker
count is not used; it was dropped without a word (``genxd curate v --ray local --workers 8`` looked like 8 workers)."""

from __future__ import annotations

import warnings

import pytest

from genxd.curation import CurationConfig, curate_dataset


def _warned(tmp_path, workers: int) -> list[str]:
    (tmp_path / "a.mp4").write_bytes(b"x")
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        with pytest.raises(ValueError):  # nothing answers there: refused before anything is written
            curate_dataset(tmp_path / "a.mp4", tmp_path / "out", CurationConfig(), workers=workers,
                           ray_address="127.0.0.1:1", progress=False)
    assert not (tmp_path / "out").exists()
    return [str(w.message) for w in said]


def test_workers_with_ray_is_warned_as_not_used(tmp_path):
    said = _warned(tmp_path, 3)
    assert said == ["workers=3 is not used with ray_address='127.0.0.1:1': Ray runs one task per video on the "
                    "cluster's CPUs, num_threads CPUs each"], said


def test_one_worker_with_ray_says_nothing(tmp_path):
    assert _warned(tmp_path, 1) == []


def test_the_command_line_names_its_options(tmp_path):
    from typer.testing import CliRunner

    from genxd.cli import app

    (tmp_path / "a.mp4").write_bytes(b"x")
    result = CliRunner().invoke(app, ["curate", str(tmp_path / "a.mp4"), "--out", str(tmp_path / "out"),
                                      "--ray", "127.0.0.1:1", "--workers", "2"])
    assert "--workers 2 is not used with --ray 127.0.0.1:1: Ray runs one task per video on the cluster's CPUs, " \
           "--threads CPUs each" in result.stderr, result.stderr
