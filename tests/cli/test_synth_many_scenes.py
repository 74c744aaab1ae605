"""``genxd synth -n 10000000`` (the most -n takes): before rendering, every one of the 10M names was built into a
list and checked on disk (2 minutes and 2 GB into an empty folder on a 2-core machine). Now only the names found in
the folder (or in a ReConFusion index) are checked, so the first clip renders at once; clashes are found as before."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import genxd.cli.synth as synth_cli
import genxd.data.synthetic as synthetic

from .introspect import invoke

runner = CliRunner()
MOST_SCENES = 10_000_000


class FirstClip(Exception):
    """Raised where the first clip would be rendered."""


@pytest.fixture
def checked(monkeypatch) -> list[str]:
    """The names checked on disk (``_clash``) before rendering, which stops at the first clip."""
    names: list[str] = []
    real = synth_cli._clash

    def clash(out_dir, name, *args, **kwargs):
        names.append(name)
        if len(names) > 1000:  # the whole -n was checked: stopped here, not minutes later
            raise AssertionError("more names checked than are in the folder")
        return real(out_dir, name, *args, **kwargs)

    def make_clip(seed, *args, **kwargs):
        raise FirstClip(seed)

    monkeypatch.setattr(synth_cli, "_clash", clash)
    monkeypatch.setattr(synthetic, "make_clip", make_clip)
    return names


@pytest.mark.parametrize("fmt", ["folder", "video"])
def test_the_most_scenes_into_an_empty_folder_check_no_name(tmp_path, checked, fmt):
    out = tmp_path / "out"
    out.mkdir()
    res = invoke(runner, ["synth", str(out), "-n", str(MOST_SCENES), "--format", fmt, "--seed", "7", "-q"])
    assert isinstance(res.exception, FirstClip) and res.exception.args == (7,), res.output
    assert checked == []


def test_only_the_clips_in_the_folder_are_checked_and_a_clash_is_refused(tmp_path, checked):
    out = tmp_path / "out"
    out.mkdir()
    for name in ("synth_3d_9999999", "synth_3d_000012", "synth_3d_12", "synth_4d_000013", "notes.txt",
                 "synth_3d_000005.mp4", "synth_3d_000004"):
        (out / name).mkdir()
    res = invoke(runner, ["synth", str(out), "-n", str(MOST_SCENES), "--seed", "10", "-q"])
    assert res.exit_code == 2, res.output
    # seeds 10.. : 000012 and 9999999 (seed 9999999 = clip 9999989) clash; 000004 is before --seed, 12 is another
    # name, 4d another kind, a .mp4 folder not this format's
    assert checked == ["synth_3d_000012", "synth_3d_9999999"]
    assert res.stderr.strip() == (f"genxd: error: {out / 'synth_3d_000012'} already exists (2 clashes); use "
                                  "--overwrite to replace"), res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(["synth_3d_9999999", "synth_3d_000012", "synth_3d_12",
                                                            "synth_4d_000013", "notes.txt", "synth_3d_000005.mp4",
                                                            "synth_3d_000004"])


def test_a_video_clip_is_found_by_either_of_its_files(tmp_path, checked):
    out = tmp_path / "out"
    out.mkdir()
    (out / "synth_3d_000001.json").write_text("{}")
    res = invoke(runner, ["synth", str(out), "-n", "3", "--format", "video", "--size", "8", "--frames", "2", "-q"])
    assert res.exit_code == 2 and checked == ["synth_3d_000001"], res.output
    assert res.stderr.strip() == (f"genxd: error: {out / 'synth_3d_000001.json'} already exists (1 clash); use "
                                  "--overwrite to replace"), res.stderr



def test_a_folder_that_cannot_be_listed_has_each_name_looked_up(tmp_path, monkeypatch, checked):
    """A folder one may write in but not list (-wx; made here by os.scandir raising, as root may list any): each
    name is looked up, as before the listing was used."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "synth_3d_000001").mkdir()

    def scandir(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(synth_cli.os, "scandir", scandir)
    res = invoke(runner, ["synth", str(out), "-n", "3", "--size", "8", "--frames", "2", "-q"])
    assert res.exit_code == 2 and checked == ["synth_3d_000000", "synth_3d_000001", "synth_3d_000002"], res.output
    assert res.stderr.strip() == (f"genxd: error: {out / 'synth_3d_000001'} already exists (1 clash); use "
                                  "--overwrite to replace"), res.stderr
