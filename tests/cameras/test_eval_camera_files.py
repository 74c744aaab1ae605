"""genxd eval-camera's files: the frames it pairs with cameras, listed without the curation package; its report and
plot, replaced together."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from genxd.cameras.evaluate import EVAL_JSON, EVAL_PNG, evaluate_camera_accuracy

from tests.helpers import blank_camera_scene as _blank_scene


def test_pairing_cameras_with_listed_frames_does_not_load_the_curation_package(tmp_path):
    """``_listed_order`` imported ``genxd.curation.frames._frame_files``, a private function, and with it the
    curation package (cv2, PyAV) to list a folder's files; now the shared ``genxd.utils.frame_files``."""
    images = tmp_path / "images"
    images.mkdir()
    for name in ("f_10.png", "f_2.png"):
        (images / name).write_bytes(b"x")
    code = ("import sys; from pathlib import Path; from genxd.cameras.evaluate import _frames_of, _listed_order; "
            f"root = Path({str(tmp_path)!r}); assert _frames_of(root) == root / 'images'; "
            "print(_listed_order(root / 'images', root / 'transforms.json', ['images/f_10.png', 'images/f_2.png'])); "
            "print(sorted(m for m in ('genxd.curation', 'cv2', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["[1, 0]", "[]"]


def test_a_failure_while_drawing_keeps_the_old_report_and_plot_together(tmp_path, monkeypatch):
    """``camera_eval.json`` was written before ``camera_errors.png`` was drawn: a failure while drawing (or a stop
    between the two renames) left the new report beside the plot of an earlier run. Now the two are replaced as one
    group (genxd.utils.file_groups): the old pair stays whole, no temporary is left, and a run that draws replaces
    both."""
    import genxd.cameras.evaluate as evaluate

    scene, out = _blank_scene(tmp_path / "scene"), tmp_path / "report"
    out.mkdir()
    (out / EVAL_JSON).write_bytes(b'{"old": 1}\n')
    (out / EVAL_PNG).write_bytes(b"old png")
    result = {"scene": str(scene), "status": "failed", "reason": "no SfM in this test", "num_frames": 4,
              "num_registered": 0}
    monkeypatch.setattr(evaluate, "evaluate_scene", lambda *a, **k: dict(result))

    def broken(*args, **kwargs):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(evaluate, "draw_error_curves", broken)
    with pytest.raises(RuntimeError, match="drawing failed"):
        evaluate_camera_accuracy(scene, out=out, overwrite=True, progress=False)
    assert (out / EVAL_JSON).read_bytes() == b'{"old": 1}\n' and (out / EVAL_PNG).read_bytes() == b"old png"
    assert sorted(p.name for p in out.iterdir()) == [EVAL_PNG, EVAL_JSON]  # no temporaries left

    monkeypatch.undo()
    monkeypatch.setattr(evaluate, "evaluate_scene", lambda *a, **k: dict(result))
    report = evaluate_camera_accuracy(scene, out=out, overwrite=True, progress=False)
    assert json.loads((out / EVAL_JSON).read_text()) == json.loads(json.dumps(report))
    assert (out / EVAL_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.iterdir()) == [EVAL_PNG, EVAL_JSON]


def test_a_report_written_without_its_plot_names_an_earlier_plot_beside_it(tmp_path, monkeypatch):
    """``plot=False`` wrote ``camera_eval.json`` beside an earlier run's ``camera_errors.png`` without a word, and
    the old plot read as the new report's. It is kept (a user's file is not removed unasked) and named in one
    warning; nothing is said where there is none, or where the plot is drawn."""
    import warnings

    import genxd.cameras.evaluate as evaluate
    from genxd.validation import GenXDWarning

    scene, out = _blank_scene(tmp_path / "scene"), tmp_path / "report"
    out.mkdir()
    (out / EVAL_PNG).write_bytes(b"old png")
    result = {"scene": str(scene), "status": "failed", "reason": "no SfM in this test", "num_frames": 4,
              "num_registered": 0}
    monkeypatch.setattr(evaluate, "evaluate_scene", lambda *a, **k: dict(result))

    def evaluated(**kwargs) -> list[str]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            evaluate_camera_accuracy(scene, out=out, progress=False, **kwargs)
        return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]

    assert evaluated(plot=False) == [f"{out / EVAL_PNG} is not the plot of the {EVAL_JSON} written beside it "
                                     "(plot=False drew none): it is an earlier run's, kept as it was; remove it, or "
                                     "evaluate with plot=True to replace it"]  # was: no word
    assert (out / EVAL_PNG).read_bytes() == b"old png" and (out / EVAL_JSON).is_file()
    assert evaluated(plot=True, overwrite=True) == []  # drawn: the plot beside the report is its own
    assert (out / EVAL_PNG).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    (out / EVAL_PNG).unlink()
    assert evaluated(plot=False, overwrite=True) == []  # none beside it


@pytest.mark.parametrize("name", [EVAL_JSON, EVAL_PNG])
def test_an_output_name_taken_by_a_folder_is_refused_before_any_sfm(tmp_path, monkeypatch, name):
    """A folder named camera_eval.json (or camera_errors.png) in the output folder was refused as an existing file
    ('pass --overwrite'); with --overwrite, SfM ran on every scene (minutes) before the report could not replace the
    folder. Now one line naming the folder, before any SfM, --overwrite or not; the folder is kept."""
    from typer.testing import CliRunner

    import genxd.cameras.from_video as from_video
    from genxd.cli import app

    def no_sfm(*args, **kwargs):
        raise AssertionError("SfM ran although an output is a folder")

    monkeypatch.setattr(from_video, "recover_clip_cameras", no_sfm)
    scene = _blank_scene(tmp_path / "scene")
    (scene / name / "kept").mkdir(parents=True)
    line = f"genxd: error: {scene / name} is a folder; cannot replace it with a file"
    for more in ([], ["--overwrite"]):
        res = CliRunner().invoke(app, ["eval-camera", str(scene), "-q", *more])
        assert res.exit_code == 2 and res.stdout == "" and res.stderr.splitlines() == [line], res.output
    with pytest.raises(IsADirectoryError, match=f"^{scene / name} is a folder; cannot replace it with a file$"):
        evaluate_camera_accuracy(scene, progress=False, overwrite=True)
    assert (scene / name / "kept").is_dir()


def test_a_camera_files_warning_is_said_once(tmp_path, monkeypatch):
    """The camera file was read three times for one scene (the --cameras check, the scenes' check before SfM, the
    scene's evaluation), so a warning of its reading (here: pixel intrinsics in a normalised-K file) was printed
    three times. Now each camera file is read once."""
    from typer.testing import CliRunner

    import genxd.cameras.from_video as from_video
    import genxd.cameras.reader as reader
    from genxd.cli import app

    reads = []
    real = reader.read_camera_path
    monkeypatch.setattr(reader, "read_camera_path", lambda path, **kw: reads.append(path) or real(path, **kw))
    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda *a, **k: (_ for _ in ()).throw(ValueError("x")))
    scene = _blank_scene(tmp_path / "scene")
    c2w = [[[1, 0, 0, float(i)], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]] for i in range(4)]
    pixel_K = [[[32, 0, 16], [0, 32, 16], [0, 0, 1]]] * 4  # written as pixels where normalised ones belong
    requested = tmp_path / "meta.json"
    requested.write_text(json.dumps({"c2w_opencv": c2w, "K_normalized": pixel_K, "height": 32, "width": 32}))
    res = CliRunner().invoke(app, ["eval-camera", str(scene), "--cameras", str(requested), "-o", str(tmp_path / "r")])
    assert res.exit_code == 1, res.output  # the stand-in SfM fails; the report is written
    said = [line for line in res.stderr.splitlines() if "looks like pixel intrinsics" in line]
    assert len(said) == 1 and reads == [requested], res.stderr
    reads.clear()
    _blank_scene(tmp_path / "root" / "a"), _blank_scene(tmp_path / "root" / "b")
    evaluate_camera_accuracy(tmp_path / "root", progress=False)
    assert sorted(reads) == [tmp_path / "root" / "a" / "cameras.json", tmp_path / "root" / "b" / "cameras.json"]


def test_a_listing_that_names_a_frame_twice_is_named_in_a_warning(tmp_path, monkeypatch):
    """A transforms.json naming one of the frames twice (and so another not at all; the count still right) was
    paired with the frames by position in silence; a listing of another folder's images (a camera file from
    elsewhere, given with --cameras) is paired by position as the normal case, with nothing said."""
    import re
    import warnings

    import torch

    import genxd.cameras.from_video as from_video
    from genxd.cameras import save_transforms_json
    from genxd.cameras.evaluate import evaluate_scene
    from genxd.validation import GenXDWarning

    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda *a, **k: (_ for _ in ()).throw(ValueError("x")))
    scene = _blank_scene(tmp_path / "scene")
    (scene / "cameras.json").unlink()
    c2w = torch.eye(4).repeat(4, 1, 1)
    c2w[:, 0, 3] = torch.arange(4.0)
    listing = scene / "transforms.json"
    save_transforms_json(listing, c2w, torch.eye(3), 32, 32, file_paths=[f"frames/{i:03d}.png" for i in (3, 2, 2, 0)])
    with pytest.warns(GenXDWarning, match=rf"^{re.escape(str(listing))}: 1 of the 4 frames it lists is a frame listed "
                                          rf"before \(frames/002\.png\) and 1 of the 4 in "
                                          rf"{re.escape(str(scene / 'frames'))} is not listed: its cameras are paired "
                                          r"with the frames by position$"):
        assert evaluate_scene(scene)["status"] == "failed"
    save_transforms_json(listing, c2w, torch.eye(3), 32, 32, file_paths=[f"frames/{i:03d}.png" for i in (3, 3, 0, 0)])
    with pytest.warns(GenXDWarning, match=r": 2 of the 4 frames it lists are frames listed before \(frames/003\.png, "
                                          r"\.\.\.\) and 2 of the 4 in .* are not listed: "):
        evaluate_scene(scene)
    elsewhere = tmp_path / "dataset"  # the source dataset's cameras, listing its own images
    _blank_scene(elsewhere)
    save_transforms_json(elsewhere / "transforms.json", c2w, torch.eye(3), 32, 32,
                         file_paths=[f"frames/{i:03d}.png" for i in (3, 2, 1, 0)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert evaluate_scene(scene, cameras=elsewhere / "transforms.json")["status"] == "failed"


def test_an_output_folder_named_like_a_file_is_warned_of(tmp_path, monkeypatch):
    """``-o report.json`` (the report's name, as genxd eval's -o is) made a folder called report.json holding
    camera_eval.json, in silence; now a warning says so. A folder of that name already there, or a name without a
    file's suffix, is taken as meant."""
    from typer.testing import CliRunner

    import genxd.cameras.from_video as from_video
    from genxd.cli import app

    monkeypatch.setattr(from_video, "recover_clip_cameras", lambda *a, **k: (_ for _ in ()).throw(ValueError("x")))
    scene = _blank_scene(tmp_path / "scene")
    note = "-o names a folder; {} will be a folder holding camera_eval.json and camera_errors.png"
    for name, warned in (("report.json", True), ("plot.PNG", True), ("reports", False), ("report.json", False)):
        out = tmp_path / name
        res = CliRunner().invoke(app, ["eval-camera", str(scene), "-o", str(out), "--overwrite"])
        assert res.exit_code == 1 and (out / EVAL_JSON).is_file(), res.output  # SfM failed: exit 1, report written
        assert (f"genxd: warning: {note.format(out)}" in res.stderr.splitlines()) is warned, res.stderr
