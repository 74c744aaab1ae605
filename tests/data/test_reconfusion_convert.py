"""genxd.data.reconfusion_convert / ``genxd fewshot-data``: a capture (transforms.json, COLMAP model) as a
ReconFusion scene with the RegNeRF / ReconFusion few-shot splits, that ``genxd fewshot`` then runs on."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.data.reconfusion import load_reconfusion
from genxd.data.reconfusion_convert import convert_to_reconfusion, fewshot_splits
from genxd.reconstruction.views import load_views

runner = CliRunner()


def _cli(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_splits_hold_out_every_8th_view_and_space_the_training_views_as_regnerf():
    """20 views: test 0, 8, 16; the 17 others indexed at round(linspace(0, 16, n))."""
    splits = fewshot_splits(20)
    assert splits[3] == ([1, 10, 19], [0, 8, 16])
    assert splits[6] == ([1, 4, 7, 12, 15, 19], [0, 8, 16])  # linspace 0, 3.2, 6.4, 9.6, 12.8, 16
    assert splits[9][0] == [1, 3, 5, 7, 10, 12, 14, 17, 19]
    # RegNeRF rounds with Python's round (halves to even): 7 views, linspace(0, 5, 3) = 0, 2.5, 5 -> 0, 2, 5
    assert fewshot_splits(7, (3,))[3] == ([1, 3, 6], [0])


def test_splits_of_too_few_views_say_what_fits():
    with pytest.raises(ValueError, match=r"10 views give 2 test views \(every 8th\) and 8 others, too few for 9 "
                                         r"training views; settings that fit: 3, 6"):
        fewshot_splits(10)


@pytest.mark.parametrize("views, shots, hold, words", [
    (1, (1,), 8, "1 view gives 1 test view (every 8th) and 0 others, too few for 1 training view"),
    (3, (2,), 2, "3 views give 2 test views (every 2nd) and 1 other, too few for 2 training views; the setting "
                 "that fits: 1 (shots=[1])"),
    (4, (3,), 3, "4 views give 2 test views (every 3rd) and 2 others, too few for 3 training views; settings that "
                 "fit: up to 2 (shots=[2])"),
    (3, (3,), 11, "3 views give 1 test view (every 11th) and 2 others, too few for 3 training views; settings that "
                  "fit: up to 2 (shots=[2])"),
    (3, (3,), 21, "3 views give 1 test view (every 21st) and 2 others, too few for 3 training views; settings that "
                  "fit: up to 2 (shots=[2])"),
    (3, (3,), 112, "3 views give 1 test view (every 112th) and 2 others, too few for 3 training views; settings "
                   "that fit: up to 2 (shots=[2])"),
])
def test_splits_of_too_few_views_say_so_in_good_english(views, shots, hold, words):
    """"1 views give 1 test views (every 8th) and 0 others, too few for 1 training views", "every 2th", "every
    3th", "1 others" before."""
    with pytest.raises(ValueError, match=f"^{re.escape(words)}$"):
        fewshot_splits(views, shots, hold)


def test_a_capture_no_asked_setting_fits_is_told_the_one_that_does(tmp_path):
    """``genxd fewshot-data`` of a 2-view capture: none of 3, 6, 9 fits, and the message named no setting that does
    (``--n-views 1``); from Python, ``shots=[1]``."""
    assert _cli("synth", tmp_path / "s", "--frames", 2, "--size", 16, "-q").exit_code == 0
    capture = tmp_path / "s" / "synth_3d_000000"
    result = _cli("fewshot-data", capture, "--out", tmp_path / "rf")
    assert result.exit_code == 2
    assert result.output.strip().endswith("too few for 9 training views; the setting that fits: 1 (--n-views 1)")
    assert _cli("fewshot-data", capture, "--out", tmp_path / "rf", "--n-views", 1).exit_code == 0  # it does fit
    with pytest.raises(ValueError, match=r"; the setting that fits: 1 \(shots=\[1\]\)$"):
        convert_to_reconfusion(capture, tmp_path / "rf2", shots=(2,))


def test_the_written_line_counts_one_test_view_in_good_english(tmp_path):
    """``genxd fewshot-data`` of 3 views said "wrote scene ...: 1 test views (0)"."""
    assert _cli("synth", tmp_path / "s", "--frames", 3, "--size", 16, "-q").exit_code == 0
    result = _cli("fewshot-data", tmp_path / "s" / "synth_3d_000000", "--out", tmp_path / "rf", "--n-views", "1,2")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (f"wrote scene 'synth_3d_000000' to {tmp_path / 'rf'}: 1 test view (0), training "
                                     f"views 1: 1; 2: 1, 2")


@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory):
    """A genxd synth folder (transforms.json) of 12 static views."""
    root = tmp_path_factory.mktemp("synth")
    result = _cli("synth", root, "--frames", 12, "--size", 32, "--camera", "orbit", "-q")
    assert result.exit_code == 0, result.output
    return root / "synth_3d_000000"


def _same_cameras_as_reconstruct_reads(rf_root, key, source):
    scene = load_reconfusion(rf_root)[key]
    views = load_views(source)
    order = sorted(range(len(views)), key=lambda i: views.names[i])
    views = views.subset(order)
    assert scene.extras["image_names"] == views.names
    assert torch.equal(scene.K.float(), views.K)  # normalised fx fy cx cy are stored as the reader's float32
    # c2w are stored inverted (w2c, float32) as the format has them: back within float32 rounding
    assert (scene.c2w.float() - views.c2w).abs().max() <= 2e-6 * max(1.0, float(views.c2w[:, :3, 3].abs().max()))
    # stored as 8-bit PNG: the pixels of 8-bit files as read, undistorted ones rounded
    assert (scene.decoded_images() - views.images).abs().max() <= 0.5 / 255 + 1e-6
    return scene


@pytest.mark.slow  # loads a model and samples a group: 6-20 s on 2 shared cores, as tests/test_fewshot_jobs.py's
def test_a_synth_folder_converts_and_genxd_fewshot_runs_on_it(synth_folder, tmp_path, reference_small):
    rf = tmp_path / "rf"
    result = _cli("fewshot-data", synth_folder, "-o", rf, "--n-views", "3,6")
    assert result.exit_code == 0, result.output
    assert "test views (0, 8)" in result.output
    scene = _same_cameras_as_reconstruct_reads(rf, "synth_3d_000000", synth_folder)
    assert scene.splits == {3: ([1, 5, 11], [0, 8]), 6: ([1, 3, 5, 6, 9, 11], [0, 8])}  # 4.5 -> 4
    assert json.loads((rf / "index.json").read_text()) == {"synth_3d_000000": "synth_3d_000000.torch"}

    out = tmp_path / "few"  # the small reference model, small settings (as tests/test_fewshot_jobs.py)
    result = _cli("fewshot", rf, "--model", reference_small, "--out", out, "--resolution", 64, "--n-views", 3, "--frames", 5, "--steps", 1, "-q")
    assert result.exit_code == 0, result.output
    groups = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert groups == ["synth_3d_000000_direct_000"]  # 2 test views, repeated to fill 2 targets: one group
    meta = json.loads((out / groups[0] / "meta.json").read_text())
    assert meta["context_views"] == [1, 5, 11] and meta["n_views"] == 3


def test_an_existing_scene_is_kept_unless_overwrite(synth_folder, tmp_path):
    rf = tmp_path / "rf"
    assert _cli("fewshot-data", synth_folder, "-o", rf, "--n-views", 3).exit_code == 0
    before = (rf / "synth_3d_000000.torch").read_bytes()
    result = _cli("fewshot-data", synth_folder, "-o", rf, "--n-views", 6)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"genxd: error: {rf}: scene 'synth_3d_000000' already in index.json (use --overwrite to replace it)"]
    assert (rf / "synth_3d_000000.torch").read_bytes() == before
    from genxd.data.reconfusion_convert import convert_to_reconfusion

    with pytest.raises(FileExistsError, match=r"\(pass overwrite=True to replace it\)"):  # worded for Python
        convert_to_reconfusion(synth_folder, rf, shots=(6,))
    assert _cli("fewshot-data", synth_folder, "-o", rf, "--n-views", 6, "--overwrite").exit_code == 0
    assert sorted(load_reconfusion(rf)["synth_3d_000000"].splits) == [6]
    # another capture is added beside it
    assert _cli("fewshot-data", synth_folder, "-o", rf, "--n-views", 3, "--key", "second").exit_code == 0
    assert sorted(load_reconfusion(rf)) == ["second", "synth_3d_000000"]


def test_bad_sources_are_refused_in_one_line(synth_folder, tmp_path):
    result = _cli("fewshot-data", synth_folder, "-o", tmp_path / "rf")  # 12 views: 10 others, 9 fit
    assert result.exit_code == 0
    result = _cli("fewshot-data", tmp_path / "rf", "-o", tmp_path / "rf2")
    assert result.exit_code == 2 and "already a ReconFusion folder" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = _cli("fewshot-data", synth_folder, "-o", tmp_path / "rf3", "--hold", 2)  # 6 others: 9 too many
    assert result.exit_code == 2 and "too few for 9 training views; settings that fit: 3, 6" in result.output
    assert not (tmp_path / "rf3").exists()
    moving = tmp_path / "moving"
    moving.mkdir()
    meta = json.loads((synth_folder / "transforms.json").read_text())
    for i, frame in enumerate(meta["frames"]):
        frame["time"] = i
    (moving / "transforms.json").write_text(json.dumps(meta))
    (moving / "images").symlink_to(synth_folder / "images")
    result = _cli("fewshot-data", moving, "-o", tmp_path / "rf4")
    assert result.exit_code == 2 and "a 4D capture" in result.output
    result = _cli("fewshot-data", tmp_path / "missing", "-o", tmp_path / "rf5")
    assert result.exit_code == 2 and result.output.strip() == f"genxd: error: {tmp_path / 'missing'}: no such file or folder"
    assert not (tmp_path / "rf5").exists()


def test_a_colmap_model_with_lens_distortion_converts_undistorted(tmp_path):
    """A COLMAP model (SIMPLE_RADIAL, as genxd curate writes) with LLFF's poses_bounds.npy: the images come out
    undistorted with their pinhole K as genxd reconstruct reads them, the bounds kept for trajectory fit's llff."""
    pycolmap = pytest.importorskip("pycolmap")
    import imageio.v3 as iio

    from genxd.cameras import intrinsics_from_focal, look_at, write_colmap_model

    n, h, w = 10, 30, 40
    az = torch.linspace(0, 1.5, n)
    eye = torch.stack([3 * torch.cos(az), torch.full_like(az, -1.0), 3 * torch.sin(az)], -1)
    c2w = look_at(eye, torch.zeros(3), up=torch.tensor([0.0, -1.0, 0.0]))
    names = [f"img_{i:02d}.png" for i in reversed(range(n))]  # listed out of order: views go by name
    model_dir = tmp_path / "scene" / "sparse" / "0"
    write_colmap_model(model_dir, c2w, intrinsics_from_focal(1.0), h, w, names)
    recon = pycolmap.Reconstruction(str(model_dir))
    for camera in recon.cameras.values():
        camera.model, camera.params = pycolmap.CameraModelId.SIMPLE_RADIAL, [40.0, w / 2, h / 2, 0.1]
    recon.write(str(model_dir))
    (tmp_path / "scene" / "images").mkdir()
    gen = np.random.default_rng(0)
    for name in names:
        iio.imwrite(tmp_path / "scene" / "images" / name, gen.integers(0, 256, (h, w, 3), dtype=np.uint8))
    bounds = np.concatenate([gen.random((n, 15)), np.linspace(1, 2, n)[:, None], np.full((n, 1), 5.0)], 1)
    bounds[:, [3, 8, 13]] = c2w.flip(0)[:, :3, 3].double().numpy()  # the centres, rows in name order (as LLFF's)
    np.save(tmp_path / "scene" / "poses_bounds.npy", bounds)

    path, key, splits = convert_to_reconfusion(tmp_path / "scene", tmp_path / "rf", shots=(3,))
    assert key == "scene" and splits == {3: ([1, 5, 9], [0, 8])}
    scene = _same_cameras_as_reconstruct_reads(tmp_path / "rf", "scene", tmp_path / "scene")
    assert scene.extras["image_names"] == sorted(names)
    assert scene.decoded_images().shape[-2:] != (h, w)  # the undistorter's crop
    assert np.array_equal(np.asarray(scene.extras["poses_bounds"]), bounds)


@pytest.mark.parametrize("written", ["images/frame_00010.png", "./images/frame_00010.png", "images/frame_00010"])
def test_an_image_listed_twice_is_refused(synth_folder, tmp_path, written):
    """A transforms.json listing one image twice (frame 9's entry copied over frame 8's) was converted with the image
    as two views: test view 8 was then the picture of training view 9 (no view may be both), and the test scored an
    input. It is refused now, naming the image and the file, before anything is written; so is the image named
    another way (./images/x.png, images/x), which was converted as two views until 2026-12-07."""
    import shutil

    source = tmp_path / "capture"
    shutil.copytree(synth_folder, source)
    meta = json.loads((source / "transforms.json").read_text())
    meta["frames"][8] = dict(meta["frames"][9], file_path=written)
    (source / "transforms.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=rf"capture: {re.escape(written)} is listed as "
                                         r"2 views: one image may not be two views \(a training and a test view at "
                                         r"once\)"):
        convert_to_reconfusion(source, tmp_path / "rf", shots=(9,))
    assert not (tmp_path / "rf").exists()
