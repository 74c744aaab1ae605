"""``genxd reconstruct --extra-views`` with ``genxd fewshot`` outputs (the groups of the reconstructed scene)
and given several times; the one-line errors before training (tiny scenes, a few steps)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.reconstruction.extra_views import fewshot_groups, is_fewshot_output, resolve_extra_views

from .helpers import write_views_folder

runner = CliRunner()

SPLIT = {3: ([0, 3, 6], [1, 2, 4, 5, 7])}


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    """A ReconFusion folder with scenes scene_a, scene_b, scene_c and a fewshot-style output beside it:
    groups of scene_a (2 with meta.json, 1 known by its folder name only), of scene_b and of scene_a_x
    (whose name starts with ``scene_a_``), a hidden temporary and a stray file."""
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    root = tmp_path_factory.mktemp("extra")
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    images = render(make_scene(2), c2w, K, 24, 24).rgb
    for key in ("scene_a", "scene_b", "scene_c"):
        write_reconfusion_scene(root / "rf", key, images, c2w, K, SPLIT)
    fewshot = root / "fewshot"
    groups = {  # folder: (scene recorded in meta.json or None, views)
        "scene_a_direct_000": ("scene_a", [0, 1, 2]),
        "scene_a_direct_001": ("scene_a", [4, 5]),
        "scene_a_grouped_000": (None, [7]),  # no meta.json: matched by its name
        "scene_b_direct_000": ("scene_b", [1, 2, 4, 5]),
        "scene_a_x_direct_000": ("scene_a_x", [3, 3]),
        ".scene_a_direct_002.tmp": ("scene_a", [6]),  # a running job's temporary: ignored
    }
    for name, (scene, ids) in groups.items():
        folder = write_views_folder(fewshot / name, images[ids], c2w[ids], K[ids])
        if scene is not None:
            (folder / "meta.json").write_text(json.dumps({"scene": scene, "strategy": "direct", "n_views": 3}))
    (fewshot / "summary.json").write_text("{}")
    plain = write_views_folder(root / "generated", images[[1, 5]], c2w[[1, 5]], K[[1, 5]])
    return root / "rf", fewshot, plain


def _reconstruct(*args):
    return runner.invoke(app, ["reconstruct", *map(str, args), "--iterations", "3", "--resolution", "24",
                               "--init", "random", "--init-points", "300", "--video-frames", "0"])


def _one_line_error(result, *words):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genxd: error:"), result.output
    for word in words:
        assert word in lines[0], (word, lines[0])


def test_fewshot_output_adds_only_the_scenes_groups(scenes, tmp_path) -> None:
    rf, fewshot, _ = scenes
    out = tmp_path / "recon"
    result = _reconstruct(rf, "--scene-key", "scene_a", "--n-views", 3, "--extra-views", fewshot, "--out", out)
    assert result.exit_code == 0, result.output
    assert "--extra-views: added 6 views from 3 groups to the 3 training views" in result.output
    record = json.loads((out / "reconstruction.json").read_text())
    assert record["num_train_views"] == 3 + 6 and record["num_extra_views"] == 6 and record["num_test_views"] == 5
    names = sorted(p.split("/")[-1] for p in record["extra_view_folders"])
    assert names == ["scene_a_direct_000", "scene_a_direct_001", "scene_a_grouped_000"]
    assert record["extra_views"] == [str(fewshot.resolve())]


def test_extra_views_given_several_times(scenes, tmp_path) -> None:
    rf, fewshot, plain = scenes
    out = tmp_path / "recon"
    # scene_b's one group, a plain folder, and a group folder of the fewshot output again (used once)
    result = _reconstruct(rf, "--scene-key", "scene_b", "--n-views", 3, "--out", out, "-q",
                          "--extra-views", fewshot, "--extra-views", plain,
                          "--extra-views", fewshot / "scene_b_direct_000")
    assert result.exit_code == 0, result.output
    record = json.loads((out / "reconstruction.json").read_text())
    assert record["num_train_views"] == 3 + 4 + 2 and record["num_extra_views"] == 6
    assert [p.split("/")[-1] for p in record["extra_view_folders"]] == ["scene_b_direct_000", "generated"]
    assert len(record["extra_views"]) == 3


def test_fewshot_output_without_a_group_of_the_scene(scenes, tmp_path, no_training) -> None:
    rf, fewshot, _ = scenes
    result = _reconstruct(rf, "--scene-key", "scene_c", "--n-views", 3, "--extra-views", fewshot, "--out", tmp_path / "o")
    _one_line_error(result, str(fewshot), "no group of scene 'scene_c'", "3 of scene scene_a", "1 of scene scene_b",
                    "1 of scene scene_a_x")
    assert not (tmp_path / "o").exists()


def test_fewshot_output_needs_a_scene_when_the_input_is_not_reconfusion(scenes, tmp_path, no_training) -> None:
    _, fewshot, plain = scenes
    result = _reconstruct(plain, "--extra-views", fewshot, "--out", tmp_path / "o")
    _one_line_error(result, str(fewshot), "scene is unknown", "--scene-key")
    result = _reconstruct(plain, "--extra-views", plain.parent, "--out", tmp_path / "o")  # no groups at all
    _one_line_error(result, "not a supported input", "genxd fewshot output")


def test_resolve_extra_views(scenes, tmp_path) -> None:
    rf, fewshot, plain = scenes
    assert is_fewshot_output(fewshot) and not is_fewshot_output(plain) and not is_fewshot_output(rf)
    assert len(fewshot_groups(fewshot)) == 5  # the hidden temporary is not a group
    # a non-ReconFusion input with --scene-key: that scene's groups
    (source,) = resolve_extra_views([fewshot], "scene_a_x", plain, "transforms")
    assert [f.name for f in source.folders] == ["scene_a_x_direct_000"]
    # groups known by their names only (no meta.json), e.g. a key that is not a valid folder name
    bare = tmp_path / "bare"
    for name in ("a_b_direct_000", "a_b_direct_001", "a_direct_000"):
        write_views_folder(bare / name, *[x[:1] for x in _first_views(plain)])
    (source,) = resolve_extra_views([bare], "a/b", rf, "reconfusion")  # 'a/b' is written as a_b_...
    assert [f.name for f in source.folders] == ["a_b_direct_000", "a_b_direct_001"]
    (source,) = resolve_extra_views([bare], "a", rf, "reconfusion")
    assert [f.name for f in source.folders] == ["a_direct_000"]


def _first_views(folder):
    from genxd.reconstruction.views import load_views

    views = load_views(folder)
    return views.images, views.c2w, views.K


def test_a_group_folder_of_another_scene_is_named_in_a_warning(scenes) -> None:
    """One group folder given directly is used as it is; when its meta.json records another scene (a mistyped
    folder: its views are of another scene) a warning says so."""
    from genxd.validation import GenXDWarning

    rf, fewshot, _ = scenes
    with pytest.warns(GenXDWarning, match=r"scene_b_direct_000: extra_views: generated for scene 'scene_b' "
                                          r"\(its meta.json\), not 'scene_a'"):
        (source,) = resolve_extra_views([fewshot / "scene_b_direct_000"], "scene_a", rf, "reconfusion")
    assert [f.name for f in source.folders] == ["scene_b_direct_000"]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # its own scene: no warning
        resolve_extra_views([fewshot / "scene_a_direct_000"], "scene_a", rf, "reconfusion")


def _group(folder, scenes, meta, sources=None):
    """A fewshot-style group of scene_a (views 0, 1, 2 of the fixture's scene) with ``meta`` in meta.json."""
    from genxd.data.reconfusion import load_reconfusion

    rf = scenes[0]
    s = load_reconfusion(rf, keys=["scene_a"])["scene_a"]
    write_views_folder(folder, s.decoded_images()[:3], s.c2w[:3], s.K[:3])
    (folder / "meta.json").write_text(json.dumps({"scene": "scene_a", "strategy": "direct", **meta}))
    if sources is not None:
        (folder / "target_indices.json").write_text(json.dumps(sources))
    return folder


@pytest.mark.parametrize("meta, sources, words", [
    ({"n_views": 6, "context_views": [0, 1, 2]}, None, "generated from views [1, 2] of scene 'scene_a'"),
    ({"n_views": 6, "context_index": [0, 2]}, [0, 5, 4], "generated from views [4]"),  # before context_views
    ({"n_views": 6, "save_target_only": True}, [1, 2, 4], "made with --n-views 6, not 3"),  # cannot be checked
])
def test_views_generated_from_a_held_out_view_are_refused(scenes, tmp_path, meta, sources, words) -> None:
    """Found by the few-shot audit: groups made with --n-views 9 were taken as extra views of a 3-view
    reconstruction; their frames at their context views (2 and 4, test views of the 3-view split) were
    31 dB copies of the held-out images, and the held-out PSNR read 19.3 dB instead of 16.6 dB."""
    rf = scenes[0]
    group = _group(tmp_path / "scene_a_direct_000", scenes, meta, sources)
    result = _reconstruct(rf, "--scene-key", "scene_a", "--n-views", 3, "--extra-views", group, "--out", tmp_path / "r")
    _one_line_error(result, str(group), words)
    assert not (tmp_path / "r").exists()


def test_views_generated_from_training_views_are_used(scenes, tmp_path) -> None:
    rf = scenes[0]
    group = _group(tmp_path / "scene_a_direct_000", scenes, {"n_views": 6, "context_views": [0, 3, 6]})
    result = _reconstruct(rf, "--scene-key", "scene_a", "--n-views", 3, "--extra-views", group, "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output


def test_the_reconfusion_input_itself_as_extra_views_is_refused(scenes, tmp_path) -> None:
    """Found by the few-shot audit: ``--extra-views`` naming the input added all its views, the test views too."""
    rf = scenes[0]
    result = _reconstruct(rf, "--scene-key", "scene_a", "--n-views", 3, "--extra-views", rf, "--out", tmp_path / "r")
    _one_line_error(result, "the ReconFusion input itself")


def test_fewshot_records_the_views_a_group_was_generated_from(scenes, tmp_path, reference_small) -> None:
    rf = scenes[0]
    out = tmp_path / "fs"
    result = runner.invoke(app, ["fewshot", str(rf), "--model", str(reference_small), "--out", str(out), "--n-views",
                                 "3", "--steps", "1", "--frames", "5", "--resolution", "64", "-q"])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "scene_a_direct_000" / "meta.json").read_text())
    assert meta["context_views"] == [0, 3, 6]


def test_square_views_beside_a_non_square_input_say_how_to_make_them(tmp_path) -> None:
    """genxd fewshot crops a non-square scene to its centre square unless --pad-to-square; the refusal of such views
    said only the two sizes (found by the few-shot audit)."""
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    c2w, K = orbit_cameras(4, radius=4.0, elevation_deg=25.0, azimuth_range_deg=90.0, focal=1.0)
    scene = make_scene(3)
    wide = write_views_folder(tmp_path / "wide", render(scene, c2w, K, 24, 32).rgb, c2w, K)
    square = write_views_folder(tmp_path / "square", render(scene, c2w, K, 24, 24).rgb, c2w, K)
    result = _reconstruct(wide, "--extra-views", square, "--out", tmp_path / "r")
    _one_line_error(result, "views of size 24x24, input is 24x18", "--pad-to-square")  # --resolution 24


def test_4d_extra_views_keep_their_place_in_time(tmp_path, monkeypatch) -> None:
    """Each folder's times were mapped to [0, 1] on its own: an input of times 0-0.5 and extra views of 0.5-1 both
    spanned [0, 1], the same instants trained as different ones. They share one axis now."""
    import torch

    from genxd.data.synthetic import make_scene, orbit_cameras, render
    from genxd.reconstruction import pipeline, train_gaussians

    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    images = render(make_scene(2), c2w, K, 24, 24).rgb
    times = torch.linspace(0.0, 1.0, 8, dtype=torch.float64)  # the input shows 0-3/7, the extra views 4/7-1
    first = write_views_folder(tmp_path / "first", images[:4], c2w[:4], K[:4], times=times[:4] * 10)  # in seconds
    later = write_views_folder(tmp_path / "later", images[4:], c2w[4:], K[4:], times=times[4:] * 10)
    trained = {}

    def capture(views, *args, **kwargs):
        trained["times"] = views.times.clone()
        return train_gaussians(views, *args, **kwargs)

    monkeypatch.setattr(pipeline, "train_gaussians", capture)
    result = _reconstruct(first, "--extra-views", later, "--mode", "4d", "--out", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert torch.allclose(trained["times"].double(), times, atol=1e-6), trained["times"]
    recorded = json.loads((tmp_path / "r" / "cameras.json").read_text())["times"]  # the input's, for genxd eval-recon
    assert recorded == pytest.approx(times[:4].tolist(), abs=1e-6)


def test_times_on_one_axis_are_mapped_from_the_files_own_values(tmp_path) -> None:
    """one_time_axis took each input's times back from their float32 [0, 1] form (and the earliest and latest
    time): a second rounding, a float32 step off the times mapped straight from the files' values for a quarter of
    these frames. Now each input keeps its own float64 times (Views.source_times) and they are mapped once."""
    import torch

    from genxd.cameras._io import times_to_unit_range
    from genxd.reconstruction.views import load_views, one_time_axis

    gen = torch.Generator().manual_seed(0)
    own = [torch.rand(20, generator=gen, dtype=torch.float64) * 3,
           torch.rand(20, generator=gen, dtype=torch.float64) * 5 + 1]
    c2w, K = torch.eye(4).repeat(20, 1, 1), torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(20, 1, 1)
    parts = [load_views(write_views_folder(tmp_path / f"in{k}", torch.rand(20, 3, 4, 4, generator=gen), c2w, K,
                                           times=t)) for k, t in enumerate(own)]
    joined = one_time_axis(parts)
    expected = times_to_unit_range(torch.cat(own)).float().split(20)
    assert all(torch.equal(j, e) for j, e in zip(joined, expected)), [(j - e).abs().max() for j, e in zip(joined, expected)]
