"""The refusals of reconstruction reached from Python name its arguments (``extra_views``, ``scene_key=KEY``,
``n_views=6``, ``input_path``), and the command line keeps its options (``--extra-views``, ``--scene-key KEY``).
Found by the caller-wording audit: they said ``--extra-views`` / ``--scene-key`` / ``--n-views`` / ``--input`` to
Python callers, who have no such options."""

from __future__ import annotations

import json

import pytest

from genxd.reconstruction.extra_views import (check_not_conditioned_on_test_views, extra_views_summary,
                                              resolve_extra_views)
from genxd.reconstruction.pipeline import _square_crop_hint, evaluate_scene, reconstruct_scene
from genxd.reconstruction.views import load_views, reconfusion_split
from genxd.validation import cli_style

from .helpers import write_views_folder

SPLIT = {3: ([0, 3, 6], [1, 2, 4, 5, 7])}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """A ReconFusion folder of two scenes, a plain views folder and a fewshot-style output with a group of scene_a."""
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    root = tmp_path_factory.mktemp("caller")
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    images = render(make_scene(2), c2w, K, 16, 16).rgb
    for key in ("scene_a", "scene_b"):
        write_reconfusion_scene(root / "rf", key, images, c2w, K, SPLIT)
    group = write_views_folder(root / "fewshot" / "scene_a_direct_000", images[:3], c2w[:3], K[:3])
    (group / "meta.json").write_text(json.dumps({"scene": "scene_a", "n_views": 6, "save_target_only": True}))
    plain = write_views_folder(root / "plain", images[:4], c2w[:4], K[:4])
    return root / "rf", root / "fewshot", plain


def _no_option(message: str) -> None:
    assert "--" not in message, message


def test_extra_views_refusals_name_the_argument(inputs, tmp_path, no_training) -> None:
    rf, fewshot, plain = inputs
    with pytest.raises(ValueError, match=r"extra_views: a genxd fewshot output") as exc:
        reconstruct_scene(plain, tmp_path / "o", extra_views=fewshot)
    assert "pass scene_key=KEY to use that scene's groups" in str(exc.value)
    _no_option(str(exc.value))
    with cli_style(), pytest.raises(ValueError, match=r"--extra-views: a genxd fewshot output.*--scene-key KEY"):
        resolve_extra_views([fewshot], None, plain, "transforms")
    with pytest.raises(FileNotFoundError, match=r"missing: extra_views: no such file or folder"):
        resolve_extra_views([tmp_path / "missing"], None, plain, "transforms")
    with cli_style(), pytest.raises(FileNotFoundError, match=r"missing: --extra-views: no such file or folder"):
        resolve_extra_views([tmp_path / "missing"], None, plain, "transforms")
    with pytest.raises(ValueError, match=r"extra_views: not a supported input") as exc:
        resolve_extra_views([plain.parent], "scene_a", rf, "reconfusion")
    _no_option(str(exc.value).split("group folders")[0])


def test_a_group_of_another_split_names_n_views_as_the_caller_does(inputs) -> None:
    rf, fewshot, _ = inputs
    group = fewshot / "scene_a_direct_000"
    with pytest.raises(ValueError, match=r"extra_views: made with n_views=6, not 3.*generate with n_views=3$") as exc:
        check_not_conditioned_on_test_views([group], "scene_a", 3, [1, 2, 4, 5, 7], rf)
    _no_option(str(exc.value))
    with cli_style(), pytest.raises(ValueError, match=r"--extra-views: made with --n-views 6, not 3.*--n-views 3$"):
        check_not_conditioned_on_test_views([group], "scene_a", 3, [1, 2, 4, 5, 7], rf)
    with pytest.raises(ValueError, match=r"^\S+rf: extra_views: the ReconFusion input itself"):
        check_not_conditioned_on_test_views([rf], "scene_a", 3, [1], rf)


def test_extra_views_summary_as_the_caller_says_it(inputs) -> None:
    _, fewshot, _ = inputs
    (source,) = resolve_extra_views([fewshot], "scene_a", fewshot, "reconfusion")
    assert extra_views_summary([source], 3, 3).startswith("extra_views: added 3 views from 1 group")
    with cli_style():
        assert extra_views_summary([source], 3, 3).startswith("--extra-views: added 3 views from 1 group")


def test_a_reconfusion_folder_of_several_scenes_asks_for_scene_key(inputs) -> None:
    rf, _, _ = inputs
    for call in (lambda: load_views(rf), lambda: reconfusion_split(rf, None, 3)):
        with pytest.raises(ValueError, match=r"2 scenes; choose one with scene_key$"):
            call()
        with cli_style(), pytest.raises(ValueError, match=r"2 scenes; choose one with --scene-key$"):
            call()


def test_evaluate_scene_names_input_path_and_n_views(inputs, tmp_path) -> None:
    rf, _, _ = inputs
    scene_dir = tmp_path / "recon"
    scene_dir.mkdir()
    (scene_dir / "scene.ply").write_text("")  # checked for, not read before the refusals
    with pytest.raises(ValueError, match=r"no recorded input; pass input_path$"):
        evaluate_scene(scene_dir)
    with cli_style(), pytest.raises(ValueError, match=r"no recorded input; pass --input$"):
        evaluate_scene(scene_dir)
    (scene_dir / "reconstruction.json").write_text(json.dumps({"input": str(tmp_path / "moved")}))
    with pytest.raises(FileNotFoundError, match=r"does not exist \(moved\?\); pass input_path$"):
        evaluate_scene(scene_dir)
    with pytest.raises(ValueError, match=r"evaluating on a ReconFusion input needs n_views$"):
        evaluate_scene(scene_dir, input_path=rf, scene_key="scene_a")
    with cli_style(), pytest.raises(ValueError, match=r"evaluating on a ReconFusion input needs --n-views$"):
        evaluate_scene(scene_dir, input_path=rf, scene_key="scene_a")


def test_square_views_hint_as_the_caller_makes_them() -> None:
    assert "genxd.fewshot(..., pad_to_square=True)" in _square_crop_hint(24, 24, 32, 24)
    with cli_style():
        assert "genxd fewshot --pad-to-square" in _square_crop_hint(24, 24, 32, 24)


@pytest.mark.parametrize("extra_views, words", [
    (5, r"extra_views must be a folder path or a list of them, got 5 \(int\)"),
    ([5], r"extra_views must be a folder path or a list of them, got 5 \(int\)"),
    ([""], r"extra_views is empty \(''\)"),
])
def test_extra_views_of_the_wrong_kind_are_refused_naming_the_argument(inputs, tmp_path, no_training, extra_views,
                                                                       words) -> None:
    """``extra_views`` was listed twice, once (for the inputs-kept check) dropping what is not a path and once
    reading it: ``extra_views=5`` or ``[5]`` was a bare TypeError (``'int' object is not iterable``) after the input
    was loaded, and ``[""]`` meant the current folder."""
    _rf, _fewshot, plain = inputs
    with pytest.raises(ValueError, match=words):
        reconstruct_scene(plain, tmp_path / "o", extra_views=extra_views)
