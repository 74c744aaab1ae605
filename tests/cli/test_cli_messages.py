"""Messages a newcomer found wrong or misleading: a file called "no such folder", "use --overwrite" where
--overwrite cannot help, "(1 clashes)", "1 threads", help that leaves out a sub-command or a choice, and
test views repeated in silence by ``genxd fewshot``."""

from __future__ import annotations

import os
import re
from pathlib import Path
import warnings

import numpy as np
import pytest
import torch
import typer.main
from typer.testing import CliRunner

from genxd import validation as v
from genxd.cli import app

from .introspect import invoke

runner = CliRunner()


def _errors(res) -> list[str]:
    return [line for line in res.stderr.splitlines() if line.strip()]


def test_a_file_given_for_a_folder_is_called_a_file(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("not a folder")
    res = invoke(runner, ["fewshot", str(readme), "--out", str(tmp_path / "few")])
    assert res.exit_code == 2 and _errors(res) == [f"genxd: error: {readme}: is a file, not a folder (DATA_ROOT)"]
    res = invoke(runner, ["trajectory", "fit", str(readme), "--out", str(tmp_path / "poses")])
    assert res.exit_code == 2 and _errors(res) == [f"genxd: error: {readme}: is a file, not a folder"]
    res = invoke(runner, ["trajectory", "fit", str(tmp_path / "nope"), "--out", str(tmp_path / "poses")])
    assert res.exit_code == 2 and _errors(res) == [f"genxd: error: {tmp_path / 'nope'}: no such folder"]


def test_trajectory_make_into_a_folder_says_to_give_a_file_name(tmp_path):
    folder = tmp_path / "outputs"
    folder.mkdir()
    expected = (f"genxd: error: {folder} is a folder; --format authors writes a file: give a file name "
                f"(e.g. {folder / 'orbit.json'})")
    for extra in ([], ["--overwrite"]):  # --overwrite cannot replace a folder by a file: never suggested
        res = invoke(runner, ["trajectory", "make", "orbit", "--out", str(folder), *extra])
        assert res.exit_code == 2 and _errors(res) == [expected], res.stderr
    afile = tmp_path / "cams.json"
    afile.write_text("{}")
    res = invoke(runner, ["trajectory", "make", "orbit", "--out", str(afile), "--format", "colmap", "--overwrite"])
    assert res.exit_code == 2 and _errors(res) == [
        f"genxd: error: {afile} is a file; --format colmap writes a folder: give a folder name"]
    res = invoke(runner, ["trajectory", "make", "orbit", "--out", str(afile)])  # an existing file: --overwrite helps
    assert res.exit_code == 2 and _errors(res) == [f"genxd: error: {afile} already exists (use --overwrite to replace it)"]


@pytest.mark.parametrize("fmt", ["authors", "transforms", "w2c"])
@pytest.mark.parametrize("name, suggested", [("cams", "cams.json"), ("cams.txt", "cams.json"), ("cams/", "cams.json")])
def test_trajectory_make_asks_for_a_json_name_that_genxd_reads_back(tmp_path, fmt, name, suggested):
    """``genxd trajectory make orbit --out cams`` (or ``cams.txt``, or ``cams/`` meant as a folder) wrote a JSON file
    that ``genxd generate --camera cams`` then refused ("not a camera file": camera files are read by their .json
    ending). Now refused before anything is written, naming a name that reads back; ``.JSON`` is taken."""
    out = str(tmp_path / name)
    res = invoke(runner, ["trajectory", "make", "orbit", "--out", out, "--format", fmt])
    assert res.exit_code == 2 and _errors(res) == [
        f"genxd: error: {Path(out)}: --format {fmt} writes a JSON file, which genxd reads back (generate --camera) "
        f"by its .json ending: give a name ending in .json (e.g. {tmp_path / suggested})"], res.stderr
    assert list(tmp_path.iterdir()) == []
    upper = tmp_path / "CAMS.JSON"
    res = invoke(runner, ["trajectory", "make", "orbit", "--out", str(upper), "--format", fmt])
    assert res.exit_code == 0 and upper.is_file(), res.stderr


@pytest.mark.parametrize("fmt", ["authors", "transforms", "w2c"])
def test_trajectory_make_refuses_a_json_file_larger_than_genxd_reads(tmp_path, monkeypatch, fmt):
    """``genxd trajectory make orbit --num-frames 100000 --format transforms`` wrote a 72 MiB transforms.json that
    ``genxd generate --camera`` refused ("a JSON file of 72 MiB; at most 64 MiB are read"). Now refused before the
    file takes the name, an existing file kept; a file within the limit is written and reads back."""
    from genxd.cameras import read_camera_path
    from genxd.utils import json_files

    monkeypatch.setattr(json_files, "MAX_JSON_BYTES", 4000)  # the 64 MiB of 100,000 cameras, in small
    out = tmp_path / "cams.json"
    out.write_text("[]")
    res = invoke(runner, ["trajectory", "make", "orbit", "--num-frames", "40", "--format", fmt, "--out", str(out),
                          "--overwrite"])
    errors = _errors(res)
    assert res.exit_code == 2 and len(errors) == 1, res.stderr
    assert re.fullmatch(rf"genxd: error: --num-frames 40 makes a JSON file of [\d.]+ MiB, over the 0.0038 MiB "
                        rf"genxd reads back \(generate --camera\): give fewer frames, or --format colmap \(binary\)",
                        errors[0]), errors
    assert out.read_text() == "[]" and sorted(p.name for p in tmp_path.iterdir()) == ["cams.json"]
    res = invoke(runner, ["trajectory", "make", "orbit", "--num-frames", "2", "--format", fmt, "--out", str(out),
                          "--overwrite"])
    assert res.exit_code == 0, res.stderr
    assert len(read_camera_path(out)) == 2


@pytest.mark.parametrize("preset", ["orbit", "forward", "spiral", "dolly", "zoom", "pan", "static"])
def test_trajectory_make_refuses_a_path_of_one_camera(tmp_path, preset):
    """``genxd trajectory make orbit --num-frames 1`` said "wrote 1 cameras (orbit)" and wrote a file that
    ``genxd generate --camera`` refused ("the camera path needs at least 2 cameras, it has 1"). Now refused before
    anything is written; 2 cameras are written."""
    out = tmp_path / "one.json"
    res = invoke(runner, ["trajectory", "make", preset, "--num-frames", "1", "--out", str(out)])
    assert res.exit_code == 2 and _errors(res) == [
        "genxd: error: --num-frames must be an integer in 2..100000, got 1 (one camera is no path for genxd generate "
        "--camera)"], res.stderr
    assert not out.exists()
    if preset != "forward":  # 4, 8, 12, ...: its own refusal below
        res = invoke(runner, ["trajectory", "make", preset, "--num-frames", "2", "--out", str(out)])
        assert res.exit_code == 0 and f"wrote 2 cameras ({preset}) to {out}" in res.stdout, res.stderr


def test_trajectory_make_colmap_writes_into_a_folder_without_a_model(tmp_path):
    """``mkdir model && genxd trajectory make orbit --out model --format colmap`` was refused ("model already exists
    (use --overwrite to replace it)") though nothing there would be replaced: the writer keeps a folder's other files
    and replaces only a model. Now an empty folder, or one of other files, takes the model (the files kept); a model
    there is still refused without --overwrite."""
    from genxd.cameras import read_camera_path

    empty, notes = tmp_path / "empty", tmp_path / "notes"
    empty.mkdir()
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    for folder in (empty, notes):
        res = invoke(runner, ["trajectory", "make", "orbit", "--out", str(folder), "--format", "colmap"])
        assert res.exit_code == 0, res.stderr
        assert len(read_camera_path(folder)) == 12
    assert (notes / "notes.txt").read_text() == "mine"
    res = invoke(runner, ["trajectory", "make", "dolly", "--out", str(notes), "--format", "colmap"])
    assert res.exit_code == 2 and _errors(res) == [f"genxd: error: {notes} already exists (use --overwrite to replace it)"]


@pytest.mark.parametrize("args, says", [
    (["forward", "--num-frames", "2"], "--num-frames must be an integer in 4..100000, got 2"),
    (["forward", "--num-frames", "6"], "forward mode needs --num-frames divisible by 4"),
    (["orbit", "--elevation", "90"], "--elevation must be strictly between -90 and 90 degrees"),
    (["forward", "--elevation", "-90"], "--elevation must be strictly between -90 and 90 degrees"),
    # "the focal length" was replaced mid-sentence: "--factor 1e-09 takes --focal 1 to 1e-09" (as if --focal 1 went)
    (["zoom", "--factor", "1e-9", "--focal", "1"],
     "--factor 1e-09 takes the focal length 1 (--focal) to 1e-09; it must stay in 1e-06..1e+06"),
])
def test_trajectory_make_names_its_options_in_a_presets_refusal(tmp_path, args, says):
    """The presets refuse in their Python names (``num_frames must be ...``): the command line names its options
    (``genxd trajectory make forward --num-frames 1`` said ``num_frames``)."""
    out = tmp_path / "f.json"
    res = invoke(runner, ["trajectory", "make", *args, "--out", str(out)])
    errors = _errors(res)
    assert res.exit_code == 2 and len(errors) == 1 and errors[0].startswith("genxd: error: "), res.stderr
    assert says in errors[0] and "num_frames" not in errors[0], errors
    assert not errors[0].startswith("genxd: error: elevation"), errors
    assert not out.exists()


@pytest.mark.parametrize("existing, words", [(1, "1 clash"), (2, "2 clashes")])
def test_synth_counts_its_clashes_in_good_english(tmp_path, existing, words):
    for i in range(existing):
        (tmp_path / f"synth_3d_{i:06d}").mkdir()
    res = invoke(runner, ["synth", str(tmp_path), "--num-scenes", "3", "--size", "8", "-q"])
    assert res.exit_code == 2, res.output
    assert _errors(res) == [f"genxd: error: {tmp_path / 'synth_3d_000000'} already exists ({words}); use --overwrite "
                            "to replace"], res.stderr


def test_info_says_1_thread_and_1_core(monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    res = invoke(runner, ["info"])
    assert res.exit_code == 0 and "; 1 logical core, torch uses 1 thread, vector unit" in res.stdout, res.stdout


def test_info_says_how_many_cores_this_process_may_use(monkeypatch):
    """Under ``taskset`` or a container's cpuset the process may use fewer cores than the machine has: the
    figure genxd caps ``--threads`` and loader workers at."""
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    res = invoke(runner, ["info"])
    assert res.exit_code == 0 and "; 16 logical cores (2 usable by this process), torch uses" in res.stdout, res.stdout


def test_a_group_s_help_names_each_of_its_sub_commands():
    root = typer.main.get_command(app)
    groups = [c for c in root.commands.values() if getattr(c, "commands", None)]
    assert groups  # genxd trajectory
    for group in groups:
        for name in group.commands:
            assert name in group.help.replace(",", " ").replace("(", " ").split(), (group.name, name, group.help)


def test_synth_camera_help_lists_every_path_synth_renders():
    from genxd.cli.synth import CAMERAS
    from genxd.data.synthetic import CAMERA_PATHS

    assert CAMERAS == CAMERA_PATHS  # the help's list is the renderer's (kept apart: that module imports torch)
    camera = next(p for p in typer.main.get_command(app).commands["synth"].params if p.name == "camera")
    assert all(name in camera.help for name in CAMERA_PATHS) and "rotate" in camera.help


def test_fewshot_frames_help_says_what_sets_its_frames():
    frames = next(p for p in typer.main.get_command(app).commands["fewshot"].params if p.name == "num_frames")
    assert "fewshot: frames per group" in frames.help and "generate: a --camera file" in frames.help


def _scenes(test_views: list[int], other: int = 40):
    from types import SimpleNamespace

    return {"s0": SimpleNamespace(splits={9: (list(range(9)), test_views)}),
            "s1": SimpleNamespace(splits={9: (list(range(9)), list(range(other)))})}


def test_repeated_test_views_are_warned_in_the_caller_s_terms():
    from genxd.fewshot_jobs import _warn_repeated_views

    with pytest.warns(v.GenXDWarning) as record:
        _warn_repeated_views(_scenes(list(range(15))), 9, 32, 3)
    assert [str(w.message) for w in record] == [
        "scene 's0' has only 15 distinct test views (split 9), fewer than the 29 targets of a group "
        "(num_frames=32 minus 3 context views): test views are repeated; num_frames=18 or less uses each once"]
    with v.cli_style(), pytest.warns(v.GenXDWarning, match=r"^2 of 2 scenes have as few as 5 distinct test views "
                                     r".*\(--frames 32 minus .* --frames 8 or less"):
        _warn_repeated_views(_scenes([1, 3, 5, 7, 13, 13], other=10), 9, 32, 3)  # 13 twice: 5 distinct
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _warn_repeated_views(_scenes(list(range(15))), 9, 18, 3)  # 15 targets, 15 views: each once
        _warn_repeated_views(_scenes([]), 9, 32, 3)  # no test views: no group, nothing repeated


def test_fewshot_warns_when_it_repeats_test_views(tmp_path, reference_small):
    from genxd.cameras import orbit
    from genxd.data.reconfusion import write_reconfusion_scene

    root = tmp_path / "rf" / "re10k"
    c2w, K = orbit(num_frames=14, azimuth_range=(0, 120), frame="world")
    images = torch.from_numpy(np.random.default_rng(1).random((14, 3, 32, 32)).astype(np.float32))
    write_reconfusion_scene(root, "scene0", images, c2w, K, {9: ([0, 2, 4, 6, 8, 9, 10, 11, 12], [1, 3, 5, 7, 13])})
    res = runner.invoke(app, ["fewshot", str(root), "--model", str(reference_small), "--out", str(tmp_path / "few"),
                              "--frames", "9", "--resolution", "64", "--steps", "1"])
    assert res.exit_code == 0, res.output
    assert ("genxd: warning: scene 'scene0' has only 5 distinct test views (split 9), fewer than the 6 targets of a "
            "group (--frames 9 minus 3 context views): test views are repeated; --frames 8 or less uses each "
            "once") in res.stderr.splitlines(), res.stderr


def _rf_scene(root, width: int, height: int) -> None:
    """A 6-view ReconFusion scene of ``width x height`` views with a 3-view split (one group of 6 frames)."""
    from genxd.cameras import orbit
    from genxd.data.reconfusion import write_reconfusion_scene

    c2w, K = orbit(num_frames=6, azimuth_range=(0, 90), frame="world")
    images = torch.from_numpy(np.random.default_rng(2).random((6, 3, height, width)).astype(np.float32))
    write_reconfusion_scene(root, "scan1", images, c2w, K, {3: ([0, 2, 4], [1, 3, 5])})


def _cropped_warnings(res) -> list[str]:
    return [line for line in res.stderr.splitlines() if "centre square" in line]


def test_fewshot_says_up_front_that_it_crops_non_square_views(tmp_path, reference_small):
    """Found by the DTU route review: ``genxd fewshot`` on 4:3 views (a DTU scan from ``genxd fewshot-data``) cut
    them to their centre square in silence; ``genxd reconstruct --extra-views`` refused the frames only after the
    generation. Now one warning first, naming --pad-to-square; none with it (square views: the test below)."""
    _rf_scene(tmp_path / "wide", 40, 30)

    def fewshot(data, out, *extra):
        return runner.invoke(app, ["fewshot", str(tmp_path / data), "--model", str(reference_small), "--out",
                                   str(tmp_path / out), "--n-views", "3", "--frames", "6", "--resolution", "64",
                                   "--steps", "1", *extra])

    res = fewshot("wide", "crop")
    assert res.exit_code == 0, res.output
    assert _cropped_warnings(res) == [
        "genxd: warning: scene 'scan1' has 40x30 views: each view is cut to its centre square (use --pad-to-square "
        "to pad them instead: genxd reconstruct --extra-views needs that to take the generated frames)"], res.stderr
    res = fewshot("wide", "pad", "--pad-to-square")
    assert res.exit_code == 0 and _cropped_warnings(res) == [], res.output


def test_cropped_views_are_warned_in_python_s_terms():
    from types import SimpleNamespace

    from genxd.fewshot_jobs import _warn_cropped_views

    def scene(h: int, w: int):  # the warning reads only the views' stored size
        return SimpleNamespace(stored_size=lambda: (h, w))

    with pytest.warns(v.GenXDWarning) as record:
        _warn_cropped_views({"a": scene(8, 8), "b": scene(30, 40), "c": scene(40, 30)})
    assert [str(w.message) for w in record] == [
        "2 of 3 scenes have non-square views (scene 'b': 40x30): each view is cut to its centre square (pass "
        "pad_to_square=True to pad them instead: genxd.reconstruction.reconstruct_scene(..., extra_views=...) "
        "needs that to take the generated frames)"]


@pytest.mark.parametrize("command", [["generate", "IMAGE", "-o", "OUT"], ["demo"]])
def test_an_empty_model_is_named_not_read_as_the_current_folder(command, tmp_path):
    """``genxd demo --model ''`` said ". is not a GenXD checkpoint folder" (found by cli-args, seed 9): ``--model``
    takes hub ids too, so it is not a path option and the empty-path check did not see it."""
    if command[0] == "demo":
        pytest.importorskip("gradio", reason="the demo extra is not installed")
    image = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "scene_a.png")
    argv = [{"IMAGE": image, "OUT": str(tmp_path / "out")}.get(a, a) for a in command] + ["--model", ""]
    res = invoke(runner, argv)
    assert res.exit_code == 2 and _errors(res) == [
        "genxd: error: --model is empty (''): pass a checkpoint folder or a hub id, or leave it out for the bundled "
        "model"], res.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt, existing", [("reconfusion", "synth_3d_000000.torch"), ("video", "synth_3d_000000.mp4")])
def test_synth_names_the_file_a_clip_would_replace(tmp_path, fmt, existing):
    """``synth --format reconfusion`` run twice named ``OUT/synth_3d_000000``, which is not on disk (the scene is
    ``synth_3d_000000.torch``): the clash names the path as it is (found by the newcomer run). (The same command
    run twice continues the first: tests/cli/test_synth_resume.py; here the second asks for other clips.)"""
    args = ["synth", str(tmp_path), "--num-scenes", "2", "--size", "16", "--frames", "2", "--format", fmt, "-q"]
    assert invoke(runner, args).exit_code == 0
    res = invoke(runner, [*args, "--size", "8"])
    assert res.exit_code == 2, res.output
    assert _errors(res) == [f"genxd: error: {tmp_path / existing} already exists (2 clashes), made by a synth run "
                            "with other settings: --size 16 (now 8); use --overwrite to replace, or another folder"], \
        res.stderr
    assert (tmp_path / existing).exists()
