"""genxd.evaluation_fewshot: generated poses never equal a test view; the protocol runs end to end (tiny)."""

import re

import pytest
import torch

from genxd.data.synthetic import orbit_cameras
from genxd import evaluation_fewshot
from genxd.evaluation_fewshot import evaluate_fewshot, generation_targets, interpolate_poses
from tests.helpers import OTHER_RUNS_TEXT


def test_generation_targets_sit_between_the_context_views_and_off_every_dataset_view():
    layout, positions = generation_targets([0, 12, 23], 8, 2)
    assert layout == [0, 3, 7]
    assert [len(p) for p in positions] == [5, 5]
    for group in positions:
        first, second = group[:2], group[2:]
        assert all(0 < p < 12 for p in first) and all(12 < p < 23 for p in second)
        assert all(abs(p - round(p)) > 0.05 for p in group)
    assert sorted(positions[0] + positions[1]) == sorted(set(positions[0] + positions[1]))
    with pytest.raises(ValueError, match="coincide"):
        generation_targets([0, 2, 4], 4, 1)  # one target between 0 and 2 would be view 1
    with pytest.raises(ValueError, match="3 context views"):
        generation_targets([0, 5], 8, 1)


def test_interpolated_poses_follow_the_orbit():
    c2w, _ = orbit_cameras(5, 4.0, 20.0, (0.0, 80.0), 1.0)
    exact, _ = orbit_cameras(9, 4.0, 20.0, (0.0, 80.0), 1.0)
    mid = interpolate_poses(c2w, [0.0, 0.5, 2.5, 4.0])
    torch.testing.assert_close(mid[[0, 3]], c2w[[0, 4]], atol=1e-5, rtol=0)
    # rotations exactly on the orbit; centres on the chord (within 4 * (1 - cos 10 deg) = 0.06 of the arc)
    torch.testing.assert_close(mid[1, :3, :3], exact[1, :3, :3], atol=1e-4, rtol=0)
    assert float((mid[2, :3, 3] - exact[5, :3, 3]).norm()) < 0.07
    with pytest.raises(ValueError, match="positions"):
        interpolate_poses(c2w, [4.5])


def test_an_existing_report_is_refused_before_the_work(tmp_path):
    out = tmp_path / "fewshot.json"
    out.write_text(OTHER_RUNS_TEXT)
    with pytest.raises(FileExistsError, match="exists"):  # before the model is looked for
        evaluate_fewshot(tmp_path / "no-model", num_scenes=1, device="cpu", progress=False, out=out)
    assert out.read_text() == OTHER_RUNS_TEXT


def test_a_data_root_holding_a_dataset_is_refused_and_left_as_it_was(tmp_path):
    """Found by the few-shot audit: evaluate_fewshot(data_root=...) is where the held-out synthetic scenes are written
    (index.json merged, overwrite=True), so a user's ReconFusion folder given there got 10 synthetic scenes added to its
    index and the report scored those, not the user's. Now refused before the model is looked for."""
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import orbit_cameras

    c2w, K = orbit_cameras(4, radius=3.0, elevation_deg=20.0, azimuth_range_deg=90.0, focal=1.0)
    write_reconfusion_scene(tmp_path, "my_capture", torch.rand(4, 3, 8, 8), c2w, K, {3: ([1, 2, 3], [0])})
    index = (tmp_path / "index.json").read_text()
    with pytest.raises(ValueError, match="holds other scenes \\(my_capture\\); data_root is where"):
        evaluate_fewshot(tmp_path / "no-model", num_scenes=1, device="cpu", progress=False, data_root=tmp_path)
    assert (tmp_path / "index.json").read_text() == index and sorted(p.name for p in tmp_path.iterdir()) == [
        "index.json", "my_capture.torch"]


def test_a_data_root_that_is_a_file_or_empty_is_refused_before_the_model_is_looked_for(tmp_path):
    """Found by the eval / fewshot review (s58): a file given as data_root was refused only when the scenes were
    written, after the model had loaded; an empty string meant the current folder."""
    afile = tmp_path / "notes.txt"
    afile.write_text("mine")
    with pytest.raises(NotADirectoryError, match=f"^data_root {re.escape(str(afile))} exists and is not a folder$"):
        evaluate_fewshot(tmp_path / "no-model", num_scenes=1, device="cpu", progress=False, data_root=afile)
    with pytest.raises(ValueError, match="^data_root is empty"):
        evaluate_fewshot(tmp_path / "no-model", num_scenes=1, device="cpu", progress=False, data_root=" ")
    assert afile.read_text() == "mine"


def test_a_data_root_holding_earlier_held_out_scenes_is_taken(tmp_path):
    """evaluate_fewshot(data_root=...) refused genxd's own scenes of an earlier run with more scenes or another seed
    as "other scenes ... a capture of yours"; any key write_fewshot_scenes writes is taken now, nothing else."""
    from genxd.data.reconfusion import write_reconfusion_scene

    written = evaluation_fewshot.write_fewshot_scenes(tmp_path, 3, 8, 16, 9) + evaluation_fewshot.write_fewshot_scenes(
        tmp_path, 1, 8, 16, 5)
    assert written == ["fewshot_9_000", "fewshot_9_001", "fewshot_9_002", "fewshot_5_000"]
    with pytest.raises(FileNotFoundError):  # past the check: the model is looked for
        evaluate_fewshot(tmp_path / "no-model", num_scenes=2, device="cpu", progress=False, data_root=tmp_path)
    c2w, K = orbit_cameras(4, radius=3.0, elevation_deg=20.0, azimuth_range_deg=90.0, focal=1.0)
    write_reconfusion_scene(tmp_path, "fewshot_9_1", torch.rand(4, 3, 8, 8), c2w, K, {3: ([1, 2, 3], [0])})
    with pytest.raises(ValueError, match="holds other scenes \\(fewshot_9_1\\)"):  # not a key genxd writes
        evaluate_fewshot(tmp_path / "no-model", num_scenes=2, device="cpu", progress=False, data_root=tmp_path)


def test_a_report_path_that_cannot_be_written_is_refused_before_the_work_also_with_overwrite(tmp_path):
    """The check genxd.evaluate makes (output_folders.check_report_file): with overwrite the few-shot protocol skipped
    it and failed on the folder only when writing the first scene's report, minutes later."""
    for overwrite in (False, True):
        with pytest.raises(IsADirectoryError, match="out .* is a folder"):  # before the model is looked for
            evaluate_fewshot(tmp_path / "no-model", num_scenes=1, device="cpu", progress=False, out=tmp_path,
                             overwrite=overwrite)


def test_the_report_rewritten_after_every_scene_keeps_one_another_run_wrote_meanwhile(tmp_path):
    """Each scene's rewrite replaces this run's own report only: not one another run wrote before the first
    scene's write nor between two scenes' writes (unless ``overwrite``)."""
    out = tmp_path / "fewshot.json"
    from genxd.output_folders import write_own_report as write

    out.write_text(OTHER_RUNS_TEXT)  # written meanwhile, before the first scene's report
    with pytest.raises(FileExistsError):
        write(out, {"scenes": 1}, False, None)
    assert out.read_text() == OTHER_RUNS_TEXT
    out.unlink()
    mine = write(out, {"scenes": 1}, False, None)
    mine = write(out, {"scenes": 2}, False, mine)  # this run's own report: replaced
    assert '"scenes": 2' in out.read_text()
    out.write_text(OTHER_RUNS_TEXT)  # written meanwhile, between two scenes
    with pytest.raises(FileExistsError, match="written by another run"):
        write(out, {"scenes": 3}, False, mine)
    assert out.read_text() == OTHER_RUNS_TEXT
    write(out, {"scenes": 3}, True, mine)  # overwrite: replaced
    assert '"scenes": 3' in out.read_text()


def test_a_loaded_model_keeps_its_progress_bars_and_an_interrupted_run_leaves_no_scenes(tmp_path, monkeypatch):
    """A notebook's ``loaded=lm``: the protocol turned the pipeline's progress bars off for good (``lm.pipe`` showed
    none afterwards), also when it was stopped by Ctrl-C, and sampled without the model's lock. The interrupted
    run's temporary scenes are gone and the model's lock is free (both were so before too: a guard). The first run
    also checks the protocol's report on its one tiny scene."""
    import tempfile

    import genxd
    import genxd.reconstruction

    lm = genxd.load_model(device="cpu")
    lm.pipe.set_progress_bar_config(desc="mine")
    sampling, locked = type(lm.pipe).__call__, []

    def sample(self, *args, **kwargs):  # the model is used under its lock (other threads may share lm)
        locked.append(lm.lock._is_owned())
        return sampling(self, *args, **kwargs)

    monkeypatch.setattr(type(lm.pipe), "__call__", sample)
    # the protocol end to end on one tiny scene (was a test of its own, test_the_protocol_runs_on_one_tiny_scene,
    # which ran this same call with the model loaded by evaluate_fewshot: one run of the protocol for both)
    report = evaluate_fewshot(None, num_scenes=1, iterations=2, num_views=12, groups=1, steps=1, device="cpu",
                              data_root=tmp_path / "data", progress=False, loaded=lm, out=tmp_path / "fewshot.json")
    row = report["per_scene"][0]
    assert row["num_generated"] == 5 and row["num_test"] == 9
    assert all(5.0 < row[k] < 60.0 for k in ("psnr_without", "psnr_with", "generated_psnr"))
    assert (tmp_path / "fewshot.json").is_file() and (tmp_path / "data" / "index.json").is_file()
    assert lm.pipe._progress_bar_config == {"desc": "mine"} and locked == [True]

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(genxd.reconstruction, "train_gaussians", interrupted)
    with pytest.raises(KeyboardInterrupt):
        evaluate_fewshot(None, num_scenes=1, iterations=2, num_views=12, groups=1, steps=1, device="cpu",
                         progress=False, loaded=lm)
    assert list((tmp_path / "tmp").iterdir()) == [] and not lm.lock._is_owned()
    assert lm.pipe._progress_bar_config == {"desc": "mine"}


def test_a_pickle_only_model_folder_loads_with_allow_pickle(tmp_path, monkeypatch):
    """evaluate_fewshot(model=...) had no allow_pickle: a .bin-only folder could not be evaluated from Python."""
    import shutil

    from diffusers import AutoencoderKLTemporalDecoder

    from genxd.checkpoints import BUNDLED_MODEL_DIR
    from genxd.models import UNetMVTemporalConditionModel

    folder = shutil.copytree(BUNDLED_MODEL_DIR, tmp_path / "model")
    for component, cls in (("unet", UNetMVTemporalConditionModel), ("vae", AutoencoderKLTemporalDecoder)):
        model = cls.from_pretrained(folder / component)
        (folder / component / "diffusion_pytorch_model.safetensors").unlink()
        model.save_pretrained(folder / component, safe_serialization=False)

    class Loaded(Exception):
        pass

    def stop(*args, **kwargs):
        raise Loaded

    monkeypatch.setattr(evaluation_fewshot, "write_fewshot_scenes", stop)  # the first step after the model loaded
    with pytest.raises(FileNotFoundError, match=r"only pickle weights .*; pass allow_pickle=True to load them"):
        evaluate_fewshot(folder, num_scenes=1, device="cpu", progress=False)
    with pytest.raises(Loaded):
        evaluate_fewshot(folder, num_scenes=1, device="cpu", progress=False, allow_pickle=True)


def test_progress_false_hides_the_shard_loading_bar(tmp_path, capfd, monkeypatch, reference_small):
    """evaluate_fewshot did not pass progress to load_model: a sharded model drew diffusers' 'Loading checkpoint
    shards' bar on stderr under progress=False; the library's own bar setting is as it was afterwards. The run
    stops once the model is loaded (the scenes' writer raises): what follows draws no such bar, and is slow."""
    import shutil
    from pathlib import Path

    from diffusers.utils import logging as diffusers_logging

    from genxd.models import UNetMVTemporalConditionModel

    folder = Path(shutil.copytree(reference_small, tmp_path / "sharded", ignore=shutil.ignore_patterns("cases.*")))
    unet = UNetMVTemporalConditionModel.from_pretrained(folder / "unet")
    (folder / "unet" / "diffusion_pytorch_model.safetensors").unlink()
    unet.save_pretrained(folder / "unet", max_shard_size="200KB")
    assert (folder / "unet" / "diffusion_pytorch_model.safetensors.index.json").is_file()
    class Loaded(Exception):
        pass

    def stop(*args, **kwargs):
        raise Loaded

    monkeypatch.setattr(evaluation_fewshot, "write_fewshot_scenes", stop)
    capfd.readouterr()
    with pytest.raises(Loaded):
        evaluate_fewshot(folder, num_scenes=1, device="cpu", data_root=tmp_path / "scenes", progress=False)
    err = capfd.readouterr().err
    assert "Loading checkpoint shards" not in err, err
    assert diffusers_logging.is_progress_bar_enabled()


def test_the_settings_are_checked_before_the_model_loads(tmp_path, monkeypatch):
    """dtype="fp64", device="gpu" or progress=3 with a model not there said "no GenXD checkpoint at ..." (load_model
    looks at the model first); num_scenes=0 and iterations=0 were not checked at all. Each is now refused first,
    naming the argument; num_views, groups and real_repeat too (unchecked before: a real_repeat of 1.5 was rounded
    to 1 without a word)."""
    import genxd.checkpoints

    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded")

    monkeypatch.setattr(genxd.checkpoints, "model_info", refuse)  # load_model checks its settings first
    for kwargs, error, message in ((dict(dtype="fp64"), ValueError, r"^dtype must be one of auto, fp32"),
                                   (dict(device="gpu"), ValueError, r"^device must be one of"),
                                   (dict(progress=3), TypeError, r"^progress must be True or False, got 3"),
                                   (dict(overwrite="no"), TypeError, r"^overwrite must be True or False"),
                                   (dict(num_scenes=0), ValueError, r"^num_scenes must be an integer in 1\.\."),
                                   (dict(iterations=0), ValueError, r"^iterations must be an integer in 1\.\."),
                                   (dict(num_views=3), ValueError, r"^num_views must be an integer in 4\.\."),
                                   (dict(groups=0), ValueError, r"^groups must be an integer in 1\.\."),
                                   (dict(real_repeat=1.5), (TypeError, ValueError), r"^real_repeat must be an integer"),
                                   (dict(out=3), TypeError, r"^out must be a file path, got 3")):
        with pytest.raises(error, match=message):
            evaluate_fewshot(model="/nonexistent", data_root=tmp_path / "scenes", **kwargs)
    assert not (tmp_path / "scenes").exists()


def test_a_fewshot_section_has_its_units_and_its_own_gain():
    """genxd eval --modes fewshot: the report's units had none for psnr_with / psnr_without / ssim_* /
    generated_psnr, and gave the fewshot gain_db (psnr_with - psnr_without) the photo rows' psnr - baseline_psnr."""
    from types import SimpleNamespace

    from genxd.evaluation_units import _numeric_keys, report_units

    row = {"scene": "fewshot_9_000", "psnr_without": 20.0, "psnr_with": 21.0, "ssim_without": 0.5, "ssim_with": 0.6,
           "gain_db": 1.0, "generated_psnr": 18.0, "num_generated": 10, "num_test": 21}
    section = evaluation_fewshot._summary([row], SimpleNamespace(bundled=True), 1, 9, 24, 2, 1, 64, 8, 2, 1.0, 3)
    units = report_units({"fewshot": section})
    assert set(units) == _numeric_keys(section, set())
    assert "psnr_with - psnr_without" in units["gain_db"] and "per held-out test view" in units["psnr_with"]


def test_a_device_or_dtype_other_than_the_loaded_models_is_refused_before_the_work(tmp_path, monkeypatch):
    """``evaluate_fewshot(..., loaded=lm, dtype="bf16")`` with ``lm`` in float32 ran in float32 without a word (as
    ``genxd.generate`` did before it refused): refused as there, before any scene is written; the loaded model's own
    device / precision are taken. So is a ``model`` beside ``loaded``."""
    from types import SimpleNamespace

    from genxd.checkpoints import LoadedModel

    def loaded_on(device: str) -> LoadedModel:  # a stand-in: nothing is loaded, nothing runs
        pipe = SimpleNamespace(_execution_device=torch.device(device), unet=SimpleNamespace(dtype=torch.float32))
        defaults = {"resolution": 64, "num_frames": 4, "num_inference_steps": 1, "guidance_scale": 1.0}
        return LoadedModel(pipe=pipe, path=tmp_path, defaults=defaults, bundled=False)

    def written(*args, **kwargs):
        raise AssertionError("scenes were written")

    monkeypatch.setattr(evaluation_fewshot, "write_fewshot_scenes", written)
    with pytest.raises(ValueError, match=r"^dtype bf16 is not the precision of loaded \(float32\): a loaded model "
                                         r"runs as it was loaded; leave dtype out"):
        evaluate_fewshot(loaded=loaded_on("cpu"), dtype="bf16", progress=False, data_root=tmp_path / "data")
    with pytest.raises(ValueError, match=r"^device cpu is not the device of loaded \(cuda:0\): a loaded model runs "
                                         r"where it was loaded"):
        evaluate_fewshot(loaded=loaded_on("cuda:0"), device="cpu", progress=False, data_root=tmp_path / "data")
    # a model beside it was ignored without a word (loaded ran): refused, as genxd.generate refuses it
    with pytest.raises(ValueError, match=r"^give model or loaded, not both \(loaded is the model already loaded from "
                                         f"{re.escape(str(tmp_path))}\\)$"):
        evaluate_fewshot(model="/nonexistent", loaded=loaded_on("cpu"), progress=False, data_root=tmp_path / "data")
    with pytest.raises(AssertionError, match="scenes were written"):  # its own settings: on to the work
        evaluate_fewshot(loaded=loaded_on("cpu"), device="cpu", dtype="fp32", progress=False,
                         data_root=tmp_path / "data")
