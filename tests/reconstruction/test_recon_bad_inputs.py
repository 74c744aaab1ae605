"""``genxd reconstruct`` on bad scene folders and outputs: files listed outside the folder, corrupt
frames, frames of different sizes, an output folder that cannot be written. Each is a one-line error
with exit code 2, raised before any training (issue 18 item 3)."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from genxd.cli import app
from genxd.reconstruction.views import load_views

from .helpers import write_views_folder

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny():
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    c2w, K = orbit_cameras(4, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    out = render(make_scene(2), c2w, K, 16, 16)
    return out.rgb, c2w, K


def _reconstruct(folder, out, *extra):
    return runner.invoke(app, ["reconstruct", str(folder), "--out", str(out), "--iterations", "2",
                               "--video-frames", "0", "--quiet", *map(str, extra)])


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genxd: error:"), result.output
    for word in words:
        assert word in lines[0], (word, lines[0])


def _set_frame(folder, index, **entries):
    meta = json.loads((folder / "transforms.json").read_text())
    meta["frames"][index].update(entries)
    (folder / "transforms.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("listed", ["../outside.png", "frames/../../outside.png", "ABSOLUTE"])
def test_frame_paths_outside_the_scene_folder_are_refused(tiny, tmp_path, no_training, listed):
    """A real image outside the folder: before the fix it was read (``../`` and absolute paths both)."""
    import imageio.v3 as iio

    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    iio.imwrite(tmp_path / "outside.png", np.zeros((16, 16, 3), np.uint8))
    listed = str(tmp_path / "outside.png") if listed == "ABSOLUTE" else listed
    _set_frame(folder, 1, file_path=listed)
    with pytest.raises(ValueError, match=r"transforms\.json: file path .*(outside|absolute)"):
        load_views(folder)
    _one_line_error(_reconstruct(folder, tmp_path / "out"), "transforms.json", listed)
    assert not (tmp_path / "out").exists()


def test_etc_passwd_and_depth_paths_are_refused(tiny, tmp_path):
    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K, depths=torch.ones(4, 16, 16))
    _set_frame(folder, 0, file_path="../../../../../../../../etc/passwd")
    with pytest.raises(ValueError, match="outside"):
        load_views(folder)
    folder = write_views_folder(tmp_path / "scene2", images, c2w, K, depths=torch.ones(4, 16, 16))
    np.save(tmp_path / "d.npy", np.ones((16, 16), np.float32))
    _set_frame(folder, 2, depth_file_path="../d.npy")
    with pytest.raises(ValueError, match=r"'\.\./d\.npy' points outside"):
        load_views(folder)
    _set_frame(folder, 2, depth_file_path="depth/frame_0002.npy")
    np.save(folder / "depth" / "frame_0002.npy", np.ones((8, 8), np.float32))
    with pytest.raises(ValueError, match=r"frame_0002\.npy: depth map is \(8, 8\)"):
        load_views(folder)


def test_colmap_image_names_and_reconfusion_index_stay_inside(tiny, tmp_path):
    import imageio.v3 as iio

    from genxd.cameras import write_colmap_model
    from genxd.data.reconfusion import write_reconfusion_scene

    images, c2w, K = tiny
    (tmp_path / "in" / "images").mkdir(parents=True)
    iio.imwrite(tmp_path / "in" / "x.png", np.zeros((16, 16, 3), np.uint8))
    names = ["000.png", "001.png", "002.png", "../x.png"]
    for name, img in zip(names[:3], images):
        iio.imwrite(tmp_path / "in" / "images" / name, (img.permute(1, 2, 0).numpy() * 255).astype(np.uint8))
    write_colmap_model(tmp_path / "in" / "0", c2w, K, 16, 16, names, torch.rand(20, 3) - 0.5)
    with pytest.raises(ValueError, match=r"'\.\./x\.png' points outside"):
        load_views(tmp_path / "in")

    write_reconfusion_scene(tmp_path / "elsewhere", "s", images, c2w, K, {2: ([0, 1], [2, 3])})
    (tmp_path / "rf").mkdir()
    (tmp_path / "rf" / "index.json").write_text(json.dumps({"s": "../elsewhere/s.torch"}))
    with pytest.raises(ValueError, match=r"index\.json: file path '\.\./elsewhere/s\.torch' points outside"):
        load_views(tmp_path / "rf")


def test_corrupt_frame_is_named(tiny, tmp_path, no_training):
    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    data = (folder / "frames" / "frame_0002.png").read_bytes()
    (folder / "frames" / "frame_0002.png").write_bytes(data[: len(data) // 2])  # truncated PNG
    with pytest.raises(ValueError, match=r"frame_0002\.png: cannot read image"):
        load_views(folder)
    _one_line_error(_reconstruct(folder, tmp_path / "out"), "frame_0002.png", "cannot read image")
    (folder / "frames" / "frame_0002.png").write_bytes(b"not an image at all")
    _one_line_error(_reconstruct(folder, tmp_path / "out"), "frame_0002.png")


def test_frames_of_different_sizes_are_named(tiny, tmp_path, no_training):
    import imageio.v3 as iio

    from genxd.data.reconfusion import write_reconfusion_scene

    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    iio.imwrite(folder / "frames" / "frame_0003.png", np.zeros((20, 16, 3), np.uint8))
    _one_line_error(_reconstruct(folder, tmp_path / "out"), "frame_0003.png is 16x20", "frame_0000.png is 16x16")

    write_reconfusion_scene(tmp_path / "rf", "s", images, c2w, K, {2: ([0, 1], [2, 3])})
    from genxd.data.reconfusion import encode_image, load_reconfusion_scene

    data = torch.load(tmp_path / "rf" / "s.torch", weights_only=True)
    scene = data[0] if isinstance(data, list) else data
    scene["images"][1] = encode_image(torch.zeros(3, 8, 8))
    torch.save(data, tmp_path / "rf" / "s.torch")
    with pytest.raises(ValueError, match=r"s\.torch: image 1 is 8x8, image 0 is 16x16"):
        load_reconfusion_scene(tmp_path / "rf" / "s.torch")
    _one_line_error(_reconstruct(tmp_path / "rf", tmp_path / "out2", "--n-views", 2), "image 1 is 8x8")


def test_unwritable_output_is_refused_before_training(tiny, tmp_path, no_training):
    """``/sys`` refuses new entries even to root (permission bits do not); the output folder is probed
    before the views are read and before training."""
    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    if not os.path.isdir("/sys"):
        pytest.skip("no /sys")
    _one_line_error(_reconstruct(folder, "/sys/genxd_reconstruct_test/out"), "not writable")
    assert not os.path.exists("/sys/genxd_reconstruct_test")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root ignores permission bits")
def test_read_only_output_folder_is_refused_before_training(tiny, tmp_path, no_training):
    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    (tmp_path / "ro").mkdir()
    (tmp_path / "ro").chmod(0o555)
    try:
        _one_line_error(_reconstruct(folder, tmp_path / "ro" / "out"), "not writable")
    finally:
        (tmp_path / "ro").chmod(0o755)


def test_a_bad_input_gives_its_error_alone_without_the_cpu_defaults_note(tiny, tmp_path, no_training):
    """Without --iterations / --resolution a CPU run notes its defaults, but only once the input is checked:
    a bad input's error is the only line (the note used to come first)."""
    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    (folder / "frames" / "frame_0002.png").write_bytes(b"not an image at all")
    result = runner.invoke(app, ["reconstruct", str(folder), "--out", str(tmp_path / "out"), "--video-frames", "0"])
    _one_line_error(result, "frame_0002.png")


@pytest.mark.parametrize("options, says", [
    (["--init", "colmap"], "--init colmap needs a COLMAP input with 3D points"),
    (["--init", "depth"], "depth initialisation needs depth maps"),
    (["--resolution", "8"], "images must be at least 11x11 (SSIM window), got 8x8"),
])
def test_what_training_cannot_use_is_said_alone_before_the_notes(tiny, tmp_path, no_training, options, says):
    """An initialisation the input cannot give, or images downsized below the SSIM window, were refused by the
    training, after the CPU defaults note (two lines); now checked with the input, before it."""
    images, c2w, K = tiny
    folder = write_views_folder(tmp_path / "scene", images, c2w, K)
    result = runner.invoke(app, ["reconstruct", str(folder), "--out", str(tmp_path / "out"), "--video-frames", "0",
                                 *options])
    _one_line_error(result, says)
    assert not (tmp_path / "out").exists()


def test_existing_output_is_refused_in_the_callers_terms(tmp_path):
    """From Python the refusal names ``overwrite=True``; from the command line ``--overwrite``."""
    from genxd.reconstruction.pipeline import _check_output_dir
    from genxd.validation import cli_style

    out = tmp_path / "recon"
    out.mkdir()
    (out / "scene.ply").write_text("keep me")
    with pytest.raises(FileExistsError, match=r"not empty; pass overwrite=True to replace it$"):
        _check_output_dir(out, False)
    with cli_style(), pytest.raises(FileExistsError, match=r"not empty; pass --overwrite to replace it$"):
        _check_output_dir(out, False)
    assert (out / "scene.ply").read_text() == "keep me"


def test_eval_recon_names_a_missing_folder_and_a_file(tmp_path):
    """``eval-recon nothere`` said "no scene.ply (not a genxd reconstruct output)"."""
    from genxd.reconstruction.pipeline import evaluate_scene

    with pytest.raises(FileNotFoundError, match=r"nothere: no such folder$"):
        evaluate_scene(tmp_path / "nothere")
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(NotADirectoryError, match=r"notes.txt: a file, not a genxd reconstruct output folder$"):
        evaluate_scene(tmp_path / "notes.txt")
    assert (tmp_path / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("kwargs, message", [
    (dict(holdout_every="2"), r"^holdout_every must be an integer, got '2' \(str\)$"),
    (dict(resolution=-5), r"^resolution must be an integer in 0\.\.16384, got -5"),
    (dict(video_frames=-1), r"^video_frames must be an integer in 0\.\.100000, got -1"),
    (dict(fps=0), r"^fps must be an integer in 1\.\.1000, got 0$"),
    (dict(out_dir=""), r"^out_dir is empty \(''\): pass a folder path$"),
    (dict(holdout_every=1), r"^holdout_every=1 would hold out every view"),
])
def test_python_arguments_are_checked_as_the_command_line_checks_them(kwargs, message, tiny, tmp_path):
    """reconstruct_scene took holdout_every="2" to a TypeError deep inside, accepted resolution=-5, video_frames=-1,
    fps=0, and named arguments as --options (found by the Python API audit)."""
    from genxd.reconstruction import reconstruct_scene

    rgb, c2w, K = tiny
    scene = write_views_folder(tmp_path / "scene", rgb, c2w, K)
    args = {"out_dir": tmp_path / "out", **kwargs}
    with pytest.raises(ValueError, match=message):
        reconstruct_scene(scene, **args)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("kwargs, message", [
    (dict(iterations=2.5), r"^iterations must be an integer, got 2\.5"),
    (dict(seed="a"), r"^seed must be an integer, got 'a'"),
    (dict(background=(2, 0, 0)), r"^background must be black, white or R,G,B with each in \[0, 1\], got \(2, 0, 0\)$"),
    (dict(sh_degree=4), r"^sh_degree must be an integer in 0\.\.3, got 4$"),
])
def test_a_bad_reconstruction_config_is_one_line(kwargs, message):
    from genxd.reconstruction.trainer import ReconstructionConfig

    with pytest.raises(ValueError, match=message):
        ReconstructionConfig(**kwargs)
    config = ReconstructionConfig(mode="4D", background="white")  # as genxd.generate takes "3D"; colour names
    assert config.mode == "4d" and config.background == (1.0, 1.0, 1.0)


def test_a_transforms_json_without_size_or_image_is_refused_in_the_callers_terms(tmp_path, tiny):
    """A transforms.json without ``w`` / ``h`` whose frame's image is missing: the refusal said 'give the height and
    width', Python arguments that ``genxd reconstruct`` (and ``genxd train``) have no option for. On the command line
    it says to add ``w`` and ``h`` to the file; from Python it also names ``height`` and ``width``."""
    from genxd.cameras import load_transforms_json

    rgb, c2w, K = tiny
    folder = write_views_folder(tmp_path / "in", rgb, c2w, K)
    meta = json.loads((folder / "transforms.json").read_text())
    for key in ("w", "h"):
        meta.pop(key, None)
        for frame in meta["frames"]:
            frame.pop(key, None)
    meta["frames"][0]["file_path"] = "images/gone.png"
    (folder / "transforms.json").write_text(json.dumps(meta))
    result = _reconstruct(folder, tmp_path / "out")
    _one_line_error(result, "no image size", '"w" and "h"')
    assert "height" not in result.output
    with pytest.raises(ValueError, match=r'"w" and "h".* or pass height and width'):
        load_transforms_json(folder / "transforms.json")


def test_a_generate_output_root_and_a_scenes_other_json_point_at_the_input(tiny, tmp_path, no_training):
    """``genxd generate -o OUT`` writes OUT/<scene>/: ``reconstruct OUT`` listed the supported inputs only, and
    ``reconstruct OUT/<scene>/cameras.json`` (the authors' camera format beside transforms.json) was read as a
    transforms.json: "(transforms.json): needs a non-empty 'frames' list, got null"."""
    images, c2w, K = tiny
    scene = write_views_folder(tmp_path / "out" / "scene_a", images, c2w, K)
    write_views_folder(tmp_path / "out" / "scene_b", images, c2w, K)
    (scene / "cameras.json").write_text(json.dumps({"fx": 16.0, "cameras": []}))
    _one_line_error(_reconstruct(tmp_path / "out", tmp_path / "r1"), "not a supported input",
                    f"it holds 2 scene folders ({tmp_path / 'out' / 'scene_a'}, {tmp_path / 'out' / 'scene_b'}): "
                    "give one")
    _one_line_error(_reconstruct(scene / "cameras.json", tmp_path / "r2"),
                    f"{scene / 'cameras.json'}: not a transforms.json (it has no 'frames' list); give the folder "
                    f"{scene} (its transforms.json)")
    (tmp_path / "plain").mkdir()
    result = _reconstruct(tmp_path / "plain", tmp_path / "r3")
    _one_line_error(result, "not a supported input")
    assert "scene folder" not in result.output


@pytest.mark.parametrize("command", ["reconstruct", "fewshot-data"])
def test_an_input_that_is_a_loop_of_links_says_so(tiny, tmp_path, no_training, command):
    """An input that is a loop of symbolic links (a -> b -> a) was 'no such file or folder' alone, of a name that
    ls shows; as reconstruct's --extra-views it stopped with pathlib's 'RuntimeError: Symlink loop from' (the check
    that the output holds no input resolved it)."""
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    result = CliRunner().invoke(app, [command, str(tmp_path / "a"), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "no such file or folder (a loop of symbolic links: " in result.output, result.output
    if command == "reconstruct":  # and as --extra-views
        write_views_folder(tmp_path / "views", *tiny)
        _one_line_error(_reconstruct(tmp_path / "views", tmp_path / "out", "--extra-views", tmp_path / "a"),
                        "--extra-views: no such file or folder (a loop of symbolic links: ")
