"""``genxd synth`` where a file it would write is a folder (``OUT/NAME.mp4/``, a ReConFusion scene file or index, the
record of runs): a file cannot replace a folder, even with ``--overwrite``. The run rendered the first clip (or every
clip up to the one concerned) and wrote the record of runs before refusing; now it refuses before rendering anything."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from genxd.cli.synth_runs import RUNS_FILE

from .introspect import invoke

runner = CliRunner()
ARGS = ["--size", "8", "--frames", "2"]


@pytest.mark.parametrize("in_the_way", ["synth_3d_000000.mp4", "synth_3d_000000.json", "synth_3d_000001.mp4"])
def test_a_video_folder_in_the_way_is_refused_before_rendering(tmp_path, made, in_the_way):
    out = tmp_path / "out"
    (out / in_the_way).mkdir(parents=True)
    res = invoke(runner, ["synth", str(out), "-n", "2", "--format", "video", "--overwrite", *ARGS])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == f"genxd: error: {out / in_the_way} is a folder; cannot replace it with a file"
    assert made == [] and sorted(p.name for p in out.iterdir()) == [in_the_way]  # no clip, no record of runs


def test_a_video_folder_without_overwrite_is_said_as_a_folder_not_as_a_clash(tmp_path, made):
    """Without --overwrite the hint was to pass it, which the run then refused after rendering."""
    out = tmp_path / "out"
    (out / "synth_3d_000000.mp4").mkdir(parents=True)
    res = invoke(runner, ["synth", str(out), "--format", "video", *ARGS])
    assert res.exit_code == 2 and "is a folder; cannot replace it with a file" in res.stderr, res.output
    assert made == []


def test_a_reconfusion_scene_file_that_is_a_folder_is_refused_before_rendering(tmp_path, made):
    out = tmp_path / "out"
    args = ["synth", str(out), "-n", "2", "--format", "reconfusion", *ARGS]
    assert invoke(runner, args).exit_code == 0
    scene_file = out / json.loads((out / "index.json").read_text())["synth_3d_000001"]
    scene_file.unlink()
    scene_file.mkdir()
    made.clear()
    res = invoke(runner, [*args, "--overwrite"])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == f"genxd: error: {scene_file} is a folder; cannot replace it with a file"
    assert made == []


@pytest.mark.parametrize("fmt, in_the_way", [("reconfusion", "index.json"), ("folder", RUNS_FILE),
                                             ("camvid", RUNS_FILE)])
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_an_index_or_record_that_is_a_folder_is_refused_before_rendering(tmp_path, made, fmt, in_the_way, overwrite):
    out = tmp_path / "out"
    (out / in_the_way).mkdir(parents=True)
    res = invoke(runner, ["synth", str(out), "--format", fmt, *overwrite, *ARGS])
    assert res.exit_code == 2, res.output
    assert res.stderr.strip() == f"genxd: error: {out / in_the_way} is a folder; cannot replace it with a file"
    assert made == [] and [p.name for p in out.iterdir()] == [in_the_way]


@pytest.mark.parametrize("fmt", ["folder", "camvid"])
def test_a_folder_format_still_replaces_a_file_of_the_clip_name_with_overwrite(tmp_path, fmt):
    out = tmp_path / "out"
    out.mkdir()
    (out / "synth_3d_000000").write_text("not a clip")
    res = invoke(runner, ["synth", str(out), "--format", fmt, "--overwrite", *ARGS])
    assert res.exit_code == 0, res.output
    assert (out / "synth_3d_000000").is_dir()
