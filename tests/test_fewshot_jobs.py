"""genxd.fewshot_jobs: resuming a few-shot job into an existing output folder."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from genxd.cli import app

from .helpers import another_task_writes_meanwhile, free_port

runner = CliRunner()


@pytest.fixture(scope="module")
def reconfusion(tmp_path_factory):
    """One 8-view scene with a 3-view and a 6-view split (test views [1, 2, 4, 5, 7] and [6, 7])."""
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render

    root = tmp_path_factory.mktemp("fewshot") / "rf"
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    images = render(make_scene(2), c2w, K, 32, 32).rgb
    write_reconfusion_scene(root, "scene", images, c2w, K, {3: ([0, 3, 6], [1, 2, 4, 5, 7]),
                                                             6: ([0, 1, 2, 3, 4, 5], [6, 7])})
    return root


@pytest.fixture(scope="module")
def bundled():
    """The bundled model, loaded once for the tests that sample with it (a loaded model serves job after job)."""
    from genxd.api import load_model

    return load_model(None, "cpu")


def _fewshot(root, out, model, *args, frames=5):
    return runner.invoke(app, ["fewshot", str(root), "--model", str(model), "--out", str(out), "--steps", "1",
                               "--guidance", "1", "--frames", str(frames), "--resolution", "64", "-q",
                               *map(str, args)])


def test_skip_existing_refuses_groups_of_another_split(reconfusion, tmp_path, reference_small) -> None:
    """Found by the few-shot audit: group folders are named <scene>_<strategy>_<NNN>, without the split, so a
    6-view run with --skip-existing into a 3-view run's folder kept the 3-view groups (generated at the 3-view
    split's test poses) as if they were its own, and said nothing."""
    out = tmp_path / "fs"
    # 8 frames: the 5 test views in one group (scene_direct_000), one sampling call
    assert _fewshot(reconfusion, out, reference_small, "--n-views", 3, frames=8).exit_code == 0
    result = _fewshot(reconfusion, out, reference_small, "--n-views", 6, "--skip-existing")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "scene_direct_000: an existing group made with n_views 3, not 6" in lines[0], lines
    kept = _fewshot(reconfusion, out, reference_small, "--n-views", 3, "--skip-existing", frames=8)
    assert kept.exit_code == 0 and sorted(p.name for p in out.iterdir()) == ["scene_direct_000"], kept.output


def test_skip_existing_refuses_groups_of_another_frame_count(reconfusion, tmp_path, reference_small) -> None:
    """Found by the eval / fewshot review (s58): the frame count decides which test views a group holds (8 frames:
    scene_direct_000 holds the 5 test views; 5 frames: 2 of them), and a --frames 5 --skip-existing run into an
    8-frame run's folder kept its scene_direct_000 and wrote 001 and 002 beside it: test views twice, without a word."""
    out = tmp_path / "fs"
    assert _fewshot(reconfusion, out, reference_small, "--n-views", 3, frames=8).exit_code == 0
    result = _fewshot(reconfusion, out, reference_small, "--n-views", 3, "--skip-existing", frames=5)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "scene_direct_000: an existing group made with num_frames 8, not 5" in lines[0], lines
    assert sorted(p.name for p in out.iterdir()) == ["scene_direct_000"]


@pytest.mark.slow
def test_two_processes_name_the_process_on_the_groups_bar(reconfusion, tmp_path) -> None:
    """Found by the multi-process audit: under ``accelerate launch`` generate's bar said ``scenes (process 0 of 2)``
    (it counts process 0's share), few-shot's said ``groups`` over 2 of the 3 groups. 2 CPU processes (gloo): ~20 s."""
    out = tmp_path / "fs"
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port",
           str(free_port()), "-m", "genxd", "fewshot", str(reconfusion), "--out", str(out), "--steps", "1",
           "--frames", "5", "--resolution", "32", "--guidance", "1", "--n-views", "3"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240, cwd=tmp_path)
    log = proc.stdout[-3000:] + proc.stderr[-3000:]
    assert proc.returncode == 0, log
    bars = [line for line in proc.stderr.splitlines() if line.startswith("groups")]
    assert bars and all(line.startswith("groups (process 0 of 2): ") for line in bars), log
    assert "2/2" in bars[-1], log  # process 0's share of the 3 groups
    assert len(list(out.glob("scene_direct_*"))) == 3, log


def test_an_interrupted_long_path_group_continues_bitwise(reconfusion, tmp_path, monkeypatch, bundled) -> None:
    """``genxd fewshot``'s long paths (groups longer than a window) kept no windows when interrupted, unlike
    ``genxd generate``'s; now each group keeps its own (its plan, cameras and context views in the fingerprint)
    and the same job continues to the frames of an uninterrupted run, bit for bit (bundled model)."""
    import os

    import torch

    from genxd.fewshot_jobs import fewshot_scenes
    from genxd.pipelines import long_path_state
    from genxd.pipelines.long_path_state import PARTIAL_FOLDER, STATE_FILE

    from .pipelines.long_path_standin import spy_generate_long
    from .pipelines.test_long_path_state import _interrupt_after_first_call

    lm = bundled
    settings = dict(n_views=3, num_context=3, num_frames=8, window=6, num_inference_steps=1, guidance_scale=1.0,
                    resolution=32, progress=False, loaded=lm)
    outputs = spy_generate_long(monkeypatch)
    whole = fewshot_scenes(reconfusion, tmp_path / "whole", **settings)
    assert [r.status for r in whole] == ["written"] and not (tmp_path / "whole" / PARTIAL_FOLDER).exists()
    assert outputs[0].calls > 1  # a long path of several sampling calls
    out = tmp_path / "stopped"
    save = _interrupt_after_first_call(monkeypatch)
    with pytest.raises(KeyboardInterrupt) as stopped:
        fewshot_scenes(reconfusion, out, **settings)
    assert stopped.value.__notes__[0].startswith("kept 1 of ")
    parts, index = sorted(os.listdir(out / PARTIAL_FOLDER / "scene_direct_000"))
    assert parts.startswith("part-00000-") and index == STATE_FILE
    monkeypatch.setattr(long_path_state.BatchState, "save", save)
    assert [r.status for r in fewshot_scenes(reconfusion, out, **settings)] == ["written"]
    resumed = outputs[-1]
    assert resumed.calls == outputs[0].calls - 1  # the first call's windows were not sampled again
    assert torch.equal(resumed.latents.whole(), outputs[0].latents.whole())  # decoded as they are written: the PNGs below
    assert sorted(os.listdir(out)) == ["scene_direct_000"]
    for png in sorted((tmp_path / "whole" / "scene_direct_000" / "frames").iterdir()):
        assert (out / "scene_direct_000" / "frames" / png.name).read_bytes() == png.read_bytes()


def test_no_model_is_loaded_when_every_long_groups_kept_windows_are_refused(reconfusion, tmp_path, monkeypatch) -> None:
    """Found by the follow-up audit: when the kept windows of every long-path group were refused (a rerun with
    another --seed, a state file that cannot be read), fewshot loaded the model anyway (tens of seconds for the
    released one) and then had nothing to generate; generate skips loading then, and so does fewshot now."""
    from genxd import api
    from genxd.fewshot_jobs import fewshot_scenes
    from genxd.pipelines.long_path_state import PARTIAL_FOLDER, STATE_FILE

    kept = tmp_path / "out" / PARTIAL_FOLDER / "scene_direct_000"
    kept.mkdir(parents=True)
    (kept / STATE_FILE).write_bytes(b"not a state")
    monkeypatch.setattr(api, "load_model", lambda *a, **k: pytest.fail("the model was loaded"))
    results = fewshot_scenes(reconfusion, tmp_path / "out", n_views=3, num_context=3, num_frames=8, window=6,
                             num_inference_steps=1, guidance_scale=1.0, progress=False)
    assert [r.status for r in results] == ["failed"]
    assert f"{kept / STATE_FILE} cannot be read" in results[0].error
    assert (kept / STATE_FILE).read_bytes() == b"not a state"  # kept: refused, not deleted


def test_skip_existing_keeps_groups_another_run_writes_meanwhile(reconfusion, tmp_path, monkeypatch, bundled) -> None:
    """Found by the simplicity review: two tasks of a job array running ``genxd fewshot ... --skip-existing`` into
    one folder: a group the other task wrote while this one sampled it was recorded as failed ("written by another
    run while this one worked"), and one it wrote before this one got to it was sampled again (and failed too);
    generate kept both. fewshot now keeps both (status skipped), as generate_scenes does, and samples only the
    groups still missing (bundled model)."""
    from genxd import fewshot_jobs

    out = tmp_path / "out"
    # the other task wrote 000 while this one sampled it, then 001
    written = another_task_writes_meanwhile(monkeypatch, fewshot_jobs, out, "scene_direct_000", "scene_direct_001")
    results = fewshot_jobs.fewshot_scenes(reconfusion, out, n_views=3, num_context=3, num_frames=5, resolution=32,
                                          num_inference_steps=1, guidance_scale=1.0, progress=False,
                                          skip_existing=True, loaded=bundled)
    assert [(r.index, r.status) for r in sorted(results, key=lambda r: r.index)] == [
        (0, "skipped"), (1, "skipped"), (2, "written")]
    assert written == ["scene_direct_000", "scene_direct_002"]  # 001 was not sampled again
    assert (out / "scene_direct_000" / "meta.json").read_text() == "{}"


def test_a_shard_plans_and_warns_for_its_own_groups_only(tmp_path, monkeypatch) -> None:
    """Found by the job-array audit: ``--shard 0/2`` planned every group of the job and warned about every scene
    (scene 'b''s repeated test views and non-square views, which only task 1 of 2 generates). Now a task plans
    its own groups and warns about its own scenes; task 1 still warns about 'b' (no model is loaded: the groups
    are kept by --skip-existing)."""
    import warnings

    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import make_scene, orbit_cameras, render
    from genxd.fewshot_jobs import fewshot_scenes
    from genxd.pipelines import long_paths

    root = tmp_path / "rf"
    c2w, K = orbit_cameras(8, radius=4.0, elevation_deg=25.0, azimuth_range_deg=120.0, focal=1.0)
    write_reconfusion_scene(root, "a", render(make_scene(2), c2w, K, 32, 32).rgb, c2w, K, {3: ([0, 3, 6], [1, 2])})
    write_reconfusion_scene(root, "b", render(make_scene(2), c2w, K, 48, 32).rgb, c2w, K, {3: ([0, 3, 6], [1])})
    out = tmp_path / "out"
    for name in ("a_direct_000", "b_direct_000"):  # kept: no model to load
        (out / name).mkdir(parents=True)
        (out / name / "meta.json").write_text("{}")
    plan_for, planned = long_paths.plan_for, []

    def counted(*args, **kwargs):
        planned.append(args[3])
        return plan_for(*args, **kwargs)

    monkeypatch.setattr(long_paths, "plan_for", counted)

    def run(shard):
        planned.clear()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results = fewshot_scenes(root, out, n_views=3, num_context=3, num_frames=5, num_inference_steps=1,
                                     guidance_scale=1.0, progress=False, skip_existing=True, shard=shard)
        return results, [str(w.message) for w in caught if "scene 'b'" in str(w.message)]

    results, about_b = run((0, 2))
    assert [(r.input, r.status) for r in results] == [("a_direct_000", "skipped")]
    assert about_b == [] and len(planned) == 1
    results, about_b = run((1, 2))
    assert [(r.input, r.status) for r in results] == [("b_direct_000", "skipped")]
    assert len(about_b) == 2 and len(planned) == 1  # repeated test views, non-square views


def test_a_long_group_is_written_a_window_at_a_time_to_the_files_of_the_whole_decode(reconfusion, tmp_path,
                                                                                       monkeypatch) -> None:
    """A long group's frames were decoded whole (generate_long(decode=True)) and held until written, as genxd
    generate did before 50ca4ce; now they are decoded a window at a time as they are written, the files byte for
    byte those of the whole decode (the views kept: --save-target-only). A stand-in model."""
    from genxd.fewshot_jobs import fewshot_scenes
    from genxd.utils.images import save_png, tensor_to_uint8

    from .pipelines.long_path_standin import standin_loaded
    from .pipelines.long_path_standin import spy_generate_long

    outputs = spy_generate_long(monkeypatch)
    lm = standin_loaded(tmp_path / "model", window=8)
    results = fewshot_scenes(reconfusion, tmp_path / "out", n_views=3, num_context=3, num_frames=40, window=6,
                             num_inference_steps=1, guidance_scale=1.0, save_target_only=True, progress=False,
                             loaded=lm)
    assert [r.status for r in results] == ["written"]
    (out,) = outputs
    assert lm.pipe.most_alive <= 2 * 6, lm.pipe.most_alive  # a window, the one before let go: not the 40 frames
    whole = tensor_to_uint8(lm.pipe.decode_latents(out.latents.whole(), out.plan.window)[0])
    keep = [i for i in range(40) if i not in out.plan.inputs]
    frames = sorted((tmp_path / "out" / "scene_direct_000" / "frames").iterdir())
    assert len(frames) == len(keep) == 37
    for png, i in zip(frames, keep):
        save_png(tmp_path / "ref.png", whole[i])
        assert png.read_bytes() == (tmp_path / "ref.png").read_bytes(), png.name


def test_kept_frames_closes_the_stream_of_runs_it_reads() -> None:
    """A group's kept frames closed early (write_scene stopped: a write failed) close the decoding stream they read,
    which otherwise stayed open (holding the fp16 VAE's upcast) while a traceback kept it."""
    import torch

    from genxd.fewshot_jobs import _kept_frames

    state = []

    def runs():
        try:
            for start in range(0, 6, 2):
                yield torch.arange(start, start + 2, dtype=torch.float32).view(2, 1, 1, 1).expand(2, 3, 4, 4)
        finally:
            state.append("closed")

    stream = runs()
    kept = _kept_frames(stream, [1, 2, 5], None)
    assert next(kept)[:, 0, 0, 0].tolist() == [1.0]
    kept.close()
    assert state == ["closed"]
    assert [r[:, 0, 0, 0].tolist() for r in _kept_frames(runs(), [1, 2, 5], (0, 2, 1, 3))] == [[1.0], [2.0], [5.0]]
    assert next(_kept_frames(runs(), [0], (0, 2, 1, 3))).shape == (1, 3, 2, 2)


def test_every_process_sees_the_groups_the_main_process_restored(reconfusion, tmp_path, reference_small,
                                                                 monkeypatch) -> None:
    """As generate's (tests/test_api_process_shares.py): a run killed between the two renames of --overwrite left
    ``.scene_direct_002....old`` and no ``scene_direct_002``; process 1 of 2 lists the groups to write only once
    the main process has renamed it back, so with ``skip_existing`` both split the same 2 groups (process 1 takes
    group 1; listed before the restore it would have split 3 and taken group 2, the main process's kept one)."""
    import genxd.fewshot_jobs as fewshot_jobs
    from genxd.utils.io import temp_name

    from .test_api_process_shares import SecondOfTwo, _dead_pid

    out = tmp_path / "fs"
    out.mkdir()
    aside = out / temp_name("scene_direct_002", "old").replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")
    aside.mkdir()
    earlier = '{"strategy": "direct", "n_views": 3, "num_context": 3, "earlier": true}'
    (aside / "meta.json").write_text(earlier)
    monkeypatch.setattr(fewshot_jobs, "ProcessGroup", lambda device=None: SecondOfTwo(out))
    results = fewshot_jobs.fewshot_scenes(reconfusion, out, reference_small, n_views=3, num_frames=5, resolution=64,
                                          num_inference_steps=1, guidance_scale=1.0, skip_existing=True,
                                          progress=False)
    # 5 test views, 2 targets a group: 3 groups; process 0's list to do is groups 0 and 1: process 1 takes group 1
    assert [(r.index, r.status) for r in results] == [(1, "written")]
    assert (out / "scene_direct_002" / "meta.json").read_text() == earlier
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == ["scene_direct_001",
                                                                                  "scene_direct_002"]


def _warnings_until_the_model_loads(monkeypatch, root, out, **settings) -> list[str]:
    """The GenXDWarnings of ``genxd.fewshot(root, out, **settings)`` up to the model's loading (not done)."""
    import warnings

    from genxd import api
    from genxd.fewshot_jobs import fewshot_scenes
    from genxd.validation import GenXDWarning

    class Loading(Exception):
        pass

    monkeypatch.setattr(api, "load_model", lambda *a, **k: (_ for _ in ()).throw(Loading()))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(Loading):
            fewshot_scenes(root, out, n_views=3, num_context=3, progress=False, **settings)
    return [str(w.message) for w in caught if issubclass(w.category, GenXDWarning)]


def test_a_window_outside_the_trained_frame_counts_is_named_as_the_window(reconfusion, tmp_path, monkeypatch):
    """--frames 8 --window 6 said '--frames 6 is outside what the bundled model was trained on': the window, named
    as --frames with its value (genxd generate says '--window 6')."""
    said = _warnings_until_the_model_loads(monkeypatch, reconfusion, tmp_path / "out", num_frames=8, window=6)
    assert any(m.startswith("window 6 is outside what ") for m in said), said
    assert not any(m.startswith("num_frames 6") for m in said), said


def test_anchors_and_overlap_of_groups_that_fit_one_window_are_said_unused(reconfusion, tmp_path, monkeypatch):
    """As genxd generate says for a path one window holds; fewshot dropped them without a word."""
    said = _warnings_until_the_model_loads(monkeypatch, reconfusion, tmp_path / "out", num_frames=8, anchors=3,
                                           overlap=2)
    assert [m for m in said if "is not used" in m] == [
        f"{name} is not used: the path's 8 frames are made in one window (it shapes the windows of longer paths only)"
        for name in ("anchors 3", "overlap 2")], said


def test_a_scene_key_with_control_characters_makes_one_line_group_folders(reconfusion, tmp_path,
                                                                           reference_small) -> None:
    """Found by the eval / fewshot review (s58): a ReconFusion scene key holding a newline or a terminal escape (from
    index.json) made group folders with that newline in their names, which the one-path-a-line output of ``-q``
    printed escaped (``a\\nb_direct_000``: no such folder); they are replaced by ``_``, as genxd generate names
    its output folders."""
    from genxd.data.reconfusion import load_reconfusion, write_reconfusion_scene

    scene = load_reconfusion(reconfusion, keys=["scene"])["scene"]
    root = tmp_path / "rf"
    write_reconfusion_scene(root, "a\nb\x1b[31m", scene.decoded_images(), scene.c2w, scene.K,
                            {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    out = tmp_path / "fs"
    result = _fewshot(root, out, reference_small, "--n-views", 3, frames=8)  # one group
    assert result.exit_code == 0, result.output
    assert os.listdir(out) == ["a_b_[31m_direct_000"]
    assert result.stdout.splitlines() == [str(out / "a_b_[31m_direct_000")]


def test_a_pose_dir_of_the_direct_strategy_is_said_unused(reconfusion, tmp_path, monkeypatch):
    """Found by the eval / fewshot review (s58): the direct strategy reads no fitted poses, and a --pose-dir given
    with it (the default strategy) was dropped without a word."""
    poses = tmp_path / "poses"
    poses.mkdir()
    said = _warnings_until_the_model_loads(monkeypatch, reconfusion, tmp_path / "out", num_frames=8, pose_dir=poses)
    assert [m for m in said if "is not used" in m] == [
        "pose_dir is not used: the direct strategy generates at the split's test views (the fitted poses are the "
        "targets of strategy='grouped')"], said
    said = _warnings_until_the_model_loads(monkeypatch, reconfusion, tmp_path / "out", num_frames=8)
    assert not [m for m in said if "is not used" in m], said


def test_a_scene_key_named_as_a_temporary_makes_a_group_folder_the_cleanup_keeps(reconfusion, tmp_path,
                                                                                 reference_small) -> None:
    """Found by the s58 review: a scene key of index.json named as a killed run's temporary
    (``.x.HOST-PID-abcdef12.part.y``, this machine and a dead process) made a hidden group folder of that pattern,
    which the cleanup at the start of the next run into the same folder deleted (a user's output lost). A leading
    ``.`` of a key is now ``_`` in its folder's name: visible, and never a temporary's name."""
    from genxd.data.reconfusion import load_reconfusion, write_reconfusion_scene
    from genxd.utils.io import _host, clean_stale

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    key = f".x.{_host()}-{dead.pid}-abcdef12.part.y"
    scene = load_reconfusion(reconfusion, keys=["scene"])["scene"]
    root = tmp_path / "rf"
    write_reconfusion_scene(root, key, scene.decoded_images(), scene.c2w, scene.K, {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    out = tmp_path / "fs"
    folder = "_" + key[1:] + "_direct_000"
    result = _fewshot(root, out, reference_small, "--n-views", 3, frames=8)  # one group
    assert result.exit_code == 0, result.output
    assert os.listdir(out) == [folder]
    assert clean_stale(out) == []  # what the next run into out does first: it deleted the group folder
    assert os.listdir(out) == [folder]


def test_a_summary_that_is_a_file_of_the_data_folder_is_refused_overwrite_or_not(tmp_path, monkeypatch):
    """``genxd fewshot DATA --summary DATA/index.json --overwrite`` replaced the dataset's index with the job's summary
    after the job (found by this session's generate review). Refused before any model is read, --overwrite or not; a
    new file in the data folder is no input and is taken."""
    import shutil

    import torch

    from genxd import api
    from genxd.data.reconfusion import write_reconfusion_scene
    from genxd.data.synthetic import orbit_cameras

    from .cli.fake_model import use_fake_model

    root = tmp_path / "rf"
    write_reconfusion_scene(root, "scene", torch.rand(8, 3, 16, 16), *orbit_cameras(8, radius=4.0, focal=1.0),
                            {3: ([0, 3, 6], [1, 2, 4, 5, 7])})
    index = (root / "index.json").read_bytes()
    use_fake_model(monkeypatch, resolution=16, num_frames=4)
    for extra in ([], ["--overwrite"]):
        result = runner.invoke(app, ["fewshot", str(root), "-o", str(tmp_path / "out"), "--summary",
                                     str(root / "index.json"), "--frames", "4", *extra])
        assert result.exit_code == 2, result.output
        assert result.output.strip().splitlines()[-1] == (
            f"genxd: error: summary file (--summary) {root / 'index.json'} is a file in the input folder {root} "
            "(DATA_ROOT): writing the summary would replace it; give another file name"), result.output
        assert (root / "index.json").read_bytes() == index and not (tmp_path / "out").exists()
    monkeypatch.setattr(api, "load_model", lambda *a, **k: (_ for _ in ()).throw(AssertionError("loaded")))
    shutil.rmtree(tmp_path / "out", ignore_errors=True)
    result = runner.invoke(app, ["fewshot", str(root), "-o", str(tmp_path / "out"), "--summary",
                                 str(root / "new.json"), "--frames", "4"])
    assert "summary file" not in result.output, result.output
