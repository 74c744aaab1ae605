"""End-to-end ``genxd generate`` / ``genxd fewshot`` / ``genxd trajectory fit`` on CPU with the reference model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import PIL.Image
import pytest
import torch
from typer.testing import CliRunner

from genxd.cameras import formats, orbit
from genxd.cli import app
from genxd.data.reconfusion import write_reconfusion_scene
from genxd.utils.video import read_mp4

from .models_once import _loaded_by_arguments, models_loaded_once  # noqa: F401  (fixtures)

runner = CliRunner()
#: for the tests of what a command writes from a model (not of its loading, its options or its scheduler):
#: reference_small loaded once for the module, by the first command asking for it (tests/cli/models_once.py)
model_loaded_once = pytest.mark.usefixtures("models_loaded_once")
FAST = ["--frames", "6", "--resolution", "64", "--steps", "1", "--quiet"]


def _run(args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("imgs")
    rng = np.random.default_rng(0)
    rgb = (rng.random((48, 80, 3)) * 255).astype(np.uint8)  # wide image: cropped to square
    PIL.Image.fromarray(rgb).save(d / "wide.png")
    rgba = np.dstack([rgb[:, :48], np.full((48, 48), 100, np.uint8)])
    PIL.Image.fromarray(rgba).save(d / "alpha.webp")
    PIL.Image.fromarray(rgb[..., 0]).save(d / "gray.jpg")
    return d


@model_loaded_once
def test_generate_folder_writes_every_promised_file(images, tmp_path, reference_small):
    out = tmp_path / "out"
    res = _run(["generate", images, "--model", reference_small, "--out", out, "--camera", "orbit", *FAST])
    assert res.exit_code == 0, res.output
    scenes = sorted(p.name for p in out.iterdir())
    assert scenes == ["alpha", "gray", "wide"]
    for name in scenes:
        d = out / name
        frames = sorted((d / "frames").glob("*.png"))
        assert len(frames) == 6 and PIL.Image.open(frames[0]).size == (64, 64)
        video = read_mp4(d / "video.mp4")
        assert video.shape == (6, 64, 64, 3)
        assert read_mp4(d / "compare.mp4").shape == (6, 64, 128, 3)
        # the decoded video matches the PNG frames (up to compression)
        png = np.stack([np.asarray(PIL.Image.open(f)) for f in frames]).astype(float)
        assert np.abs(video.astype(float) - png).mean() < 12
        cams = formats.load_camera_json(d / "cameras.json")
        tj = formats.load_transforms_json(d / "transforms.json")
        expected_c2w, expected_K = orbit(num_frames=6)
        torch.testing.assert_close(cams.c2w.float(), expected_c2w, atol=1e-5, rtol=0)
        torch.testing.assert_close(tj.c2w.float(), cams.c2w.float(), atol=1e-5, rtol=0)
        torch.testing.assert_close(tj.K.float(), cams.K.float(), atol=1e-6, rtol=0)
        torch.testing.assert_close(cams.K.float(), expected_K, atol=1e-6, rtol=0)
        rel = formats.load_w2c_list_json(d / "cameras_rel.json")
        torch.testing.assert_close(rel[0].float(), torch.eye(4), atol=1e-6, rtol=0)
        meta = json.loads((d / "meta.json").read_text())
        assert meta["mode"] == "3d" and meta["context_index"] == [0]
    assert not list(out.glob(".*part*")), "temporary files left behind"


@model_loaded_once
def test_generate_python_api_and_camera_file(images, tmp_path, reference_small):
    import genxd

    c2w, K = orbit(num_frames=6, azimuth_range=(0, 90))
    path = tmp_path / "path.json"
    formats.save_camera_json(path, c2w, K, 64, 64)
    folders = genxd.generate(images / "wide.png", tmp_path / "o", model=reference_small, camera=str(path),
                             resolution=64, num_inference_steps=1, mode="4d", motion_strength=5.0, progress=False)
    assert [f.name for f in folders] == ["wide"]
    got = formats.load_camera_json(folders[0] / "cameras.json")
    torch.testing.assert_close(got.c2w.float(), c2w, atol=1e-5, rtol=0)
    # a 4D clip's frames carry their times (D-NeRF's "time", read by 4D tools; a file without times had none)
    frames = json.loads((folders[0] / "transforms.json").read_text())["frames"]
    np.testing.assert_allclose([f["time"] for f in frames], np.linspace(0, 1, 6), atol=1e-6)
    np.testing.assert_allclose(got.times.numpy(), np.linspace(0, 1, 6), atol=1e-6)
    static = genxd.generate(images / "wide.png", tmp_path / "o3", model=reference_small, camera=str(path),
                            resolution=64, num_inference_steps=1, progress=False)
    assert not any("time" in f for f in json.loads((static[0] / "transforms.json").read_text())["frames"])


@pytest.mark.parametrize(
    "args, message",
    [
        (["generate", "missing.png"], "no such file"),
        (["generate", "BAD"], "cannot read image"),
        (["generate", "IMG", "--camera", "nope"], "--camera"),
        (["generate", "IMG", "--mode", "5d"], "--mode"),
        (["generate", "IMG", "--fit", "stretch"], "--fit"),
        (["generate", "IMG", "--resolution", "60"], "multiple of 64"),
        (["generate", "IMG", "--model", "NOMODEL"], "hf download Yuyang-z/genxd"),
        (["generate", "IMG", "--scheduler", "ddim"], "--scheduler"),
        (["generate", "IMG", "--offload", "disk"], "--offload"),
        (["generate", "IMG", "--decode-chunk", "0"], "--decode-chunk"),
    ],
)
def test_bad_input_one_line_error_exit_2_no_output(images, tmp_path, reference_small, args, message):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    subst = {"IMG": str(images / "wide.png"), "BAD": str(bad), "missing.png": str(tmp_path / "missing.png"),
             "NOMODEL": str(tmp_path / "no-model")}
    args = [subst.get(a, a) for a in args]
    if "--model" not in args:
        args += ["--model", str(reference_small)]
    out = tmp_path / "out"
    res = runner.invoke(app, [args[0], *FAST, "--out", str(out), *args[1:]])
    assert res.exit_code == 2, res.output
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert message in err and "Traceback" not in res.output
    assert len([l for l in err.strip().splitlines() if l.startswith("genxd: error")]) == 1
    assert not out.exists() or not any(out.iterdir())


@model_loaded_once
def test_existing_output_is_kept_unless_overwrite(images, tmp_path, reference_small):
    out = tmp_path / "out"
    (out / "wide").mkdir(parents=True)
    (out / "wide" / "mine.txt").write_text("keep me")
    args = ["generate", images / "wide.png", "--model", reference_small, "--out", out, *FAST]
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 2 and "--overwrite" in res.output
    assert (out / "wide" / "mine.txt").read_text() == "keep me"
    res = runner.invoke(app, [str(a) for a in args] + ["--overwrite"])
    assert res.exit_code == 0 and (out / "wide" / "video.mp4").exists()


def test_a_pickle_only_model_folder_is_refused_naming_allow_pickle(images, tmp_path, reference_small):
    """A .bin-only --model was refused saying genxd reads safetensors only, with no option to ask for it; now
    the line names --allow-pickle, and with it the scene is the one the safetensors folder makes."""
    import shutil

    from safetensors.torch import load_file

    folder = Path(shutil.copytree(reference_small, tmp_path / "pickled", ignore=shutil.ignore_patterns("cases.*")))
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    torch.save(load_file(str(weights)), weights.with_suffix(".bin"))
    weights.unlink()
    args = ["generate", str(images / "wide.png"), *FAST, "--seed", "3"]
    res = runner.invoke(app, [*args, "--model", str(folder), "--out", str(tmp_path / "refused")])
    assert res.exit_code == 2, res.output
    err = res.stderr if hasattr(res, "stderr") else res.output
    lines = [l for l in err.strip().splitlines() if l.startswith("genxd: error")]
    assert len(lines) == 1 and "only pickle weights" in lines[0] and "use --allow-pickle to load them" in lines[0]
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())
    res = runner.invoke(app, [*args, "--model", str(folder), "--allow-pickle", "--out", str(tmp_path / "pickled-out")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, [*args, "--model", str(reference_small), "--out", str(tmp_path / "plain-out")])
    assert res.exit_code == 0, res.output
    frames = sorted(p.name for p in (tmp_path / "plain-out" / "wide").rglob("*.png"))
    assert frames
    for name in frames:
        a = np.asarray(PIL.Image.open(next((tmp_path / "pickled-out" / "wide").rglob(name))))
        b = np.asarray(PIL.Image.open(next((tmp_path / "plain-out" / "wide").rglob(name))))
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1, name  # the same weights (test_model_folder_layouts)


def test_quiet_hides_the_shard_loading_bar(images, tmp_path, reference_small):
    """A sharded --model (save_pretrained(max_shard_size=...)) drew diffusers' 'Loading checkpoint shards' bar on
    stderr under -q; the library's own bar setting is as it was afterwards."""
    import shutil

    from diffusers.utils import logging as diffusers_logging

    from genxd.models import UNetMVTemporalConditionModel

    folder = Path(shutil.copytree(reference_small, tmp_path / "sharded", ignore=shutil.ignore_patterns("cases.*")))
    unet = UNetMVTemporalConditionModel.from_pretrained(folder / "unet")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    unet.save_pretrained(folder / "unet", max_shard_size="200KB")
    assert (folder / "unet" / "diffusion_pytorch_model.safetensors.index.json").is_file()
    res = runner.invoke(app, ["generate", str(images / "wide.png"), *FAST, "--model", str(folder),
                              "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    err = res.stderr if hasattr(res, "stderr") else res.output
    assert "Loading checkpoint shards" not in err and err.strip() == "", err
    assert diffusers_logging.is_progress_bar_enabled()


@pytest.fixture(scope="module")
def reconfusion_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("rf") / "re10k"
    n = 14
    c2w, K = orbit(num_frames=n, azimuth_range=(0, 120), frame="world")
    rng = np.random.default_rng(1)
    images = torch.from_numpy(rng.random((n, 3, 48, 64)).astype(np.float32))
    train = [0, 2, 4, 6, 8, 9, 10, 11, 12]
    test = [1, 3, 5, 7, 13]
    write_reconfusion_scene(root, "scene0", images, c2w, K, {9: (train, test), 3: (train[:3], test)})
    return root


@model_loaded_once
def test_fewshot_direct_and_grouped(reconfusion_root, tmp_path, reference_small):
    out = tmp_path / "direct"
    res = _run(["fewshot", reconfusion_root, "--model", reference_small, "--out", out, "--n-views", "9",
                "--num-context", "3", *FAST])
    assert res.exit_code == 0, res.output
    groups = sorted(out.iterdir())
    assert len(groups) == 2  # 5 test views padded to 2 groups of 3 targets (6 frames - 3 context)
    tgt = json.loads((groups[0] / "target_indices.json").read_text())
    assert tgt == [0, 1, 2, 3, 5, 4]  # contexts (train 0, 2, 4) at frames 0, 2, 5; tests 1, 3, 5 between
    assert read_mp4(groups[0] / "video.mp4").shape == (6, 64, 64, 3)

    # target only + pad to square: 3 frames, un-padded 48x64 -> 48x64 at resolution 64 (crop box)
    out2 = tmp_path / "direct_pad"
    res = _run(["fewshot", reconfusion_root, "--model", reference_small, "--out", out2, "--save-target-only",
                "--pad-to-square", *FAST])
    assert res.exit_code == 0, res.output
    g = sorted(out2.iterdir())[0]
    frames = sorted((g / "frames").glob("*.png"))
    assert len(frames) == 3 and PIL.Image.open(frames[0]).size == (64, 48)
    assert json.loads((g / "target_indices.json").read_text()) == [1, 3, 5]

    poses = tmp_path / "poses"
    res = _run(["trajectory", "fit", reconfusion_root, "--out", poses, "--num-points", "6", "--quiet"])
    assert res.exit_code == 0, res.output
    assert (poses / "re10k" / "scene0" / "gen_poses_w2c.json").is_file()
    out3 = tmp_path / "grouped"
    res = _run(["fewshot", reconfusion_root, "--model", reference_small, "--out", out3, "--strategy", "grouped",
                "--pose-dir", poses / "re10k", *FAST])
    assert res.exit_code == 0, res.output
    gs = sorted(out3.iterdir())
    assert len(gs) >= 2
    src = json.loads((gs[0] / "target_indices.json").read_text())
    assert src.count(-1) == 3 and len(src) == 6  # 3 fitted poses between the 3 context views


@model_loaded_once
def test_fewshot_grouped_needs_pose_dir(reconfusion_root, tmp_path, reference_small):
    res = runner.invoke(app, ["fewshot", str(reconfusion_root), "--model", str(reference_small), "--out",
                              str(tmp_path / "x"), "--strategy", "grouped", *FAST])
    assert res.exit_code == 2 and "--pose-dir" in res.output


def test_generate_scheduler_and_memory_switches(images, tmp_path, reference_small):
    out = tmp_path / "out"
    res = _run(["generate", images / "wide.png", "--model", reference_small, "--out", out, *FAST[:-3], "--steps", "2",
                "--scheduler", "dpmpp-2m", "--decode-chunk", "3", "--sequential-guidance", "--quiet"])
    assert res.exit_code == 0, res.output
    meta = json.loads((out / "wide" / "meta.json").read_text())
    assert meta["scheduler"] == "dpmpp-2m" and meta["num_inference_steps"] == 2
    assert len(list((out / "wide" / "frames").glob("*.png"))) == 6


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU refusal")
def test_offload_without_cuda_is_a_usage_error(images, tmp_path, reference_small):
    res = runner.invoke(app, ["generate", str(images / "wide.png"), "--model", str(reference_small), *FAST,
                              "--out", str(tmp_path / "o"), "--offload", "model"])
    assert res.exit_code == 2 and "needs a CUDA GPU" in res.output


@model_loaded_once
def test_fewshot_grouped_names_the_pose_folder_inside_trajectory_fits_out(reconfusion_root, tmp_path, reference_small):
    """Found by the few-shot audit: `genxd trajectory fit DATA --out poses` writes poses/<data name>/<key>/, and
    `--pose-dir poses` (the folder just given to fit) said 'fitted poses not found (run genxd trajectory fit
    first)' after the user had run it. The error now names the folder to give."""
    poses = tmp_path / "poses"
    assert _run(["trajectory", "fit", reconfusion_root, "--out", poses, "--num-points", "6", "-q"]).exit_code == 0
    res = runner.invoke(app, ["fewshot", str(reconfusion_root), "--model", str(reference_small), "--out",
                              str(tmp_path / "x"), "--strategy", "grouped", "--pose-dir", str(poses), *FAST])
    assert res.exit_code == 2
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].endswith(f"--pose-dir {poses / 're10k'}"), lines
    assert not (tmp_path / "x").exists()
