"""A long path interrupted loses nothing: the windows done are kept in OUT/.genxd-partial and the same job continues
from them, bit for bit (genxd.pipelines.long_path_state)."""

from __future__ import annotations

import os
import warnings
from dataclasses import replace

import numpy as np
import PIL.Image
import pytest
import torch

from genxd.api import default_model_path, generate_scenes, load_model
from genxd.pipelines import long_path_state, long_paths
from genxd.pipelines.long_path_state import PARTIAL_FOLDER, STATE_FILE, PartialRun, PartialRuns, Scene

from ..helpers import load_script
from .long_path_standin import spy_generate_long
from genxd.pipelines.long_paths import (CameraDistances, LongPathPlan, LongPathSettings, Window, make_plan,
                                        plan_anchored, plan_progressive, plan_temporal, resolve_settings)
from genxd.cameras import orbit

needs_bundled = pytest.mark.skipif(default_model_path() is None, reason="no bundled model in this installation")


@pytest.fixture(scope="module")
def model():
    return load_model(None, "cpu")  # the bundled model


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    path = tmp_path_factory.mktemp("state_imgs") / "scene.png"
    PIL.Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype(np.uint8)).save(path)
    return path


def _interrupt_after_first_call(monkeypatch):
    """Ctrl-C once the first sampling call's windows are saved (deterministic, not by timing)."""
    save = long_path_state.BatchState.save

    def save_then_stop(self, latents, known):
        save(self, latents, known)
        raise KeyboardInterrupt

    monkeypatch.setattr(long_path_state.BatchState, "save", save_then_stop)
    return save




# 8 frames of an orbit, window 4: 3 windows in 2 sampling calls (the two ends of the orbit, then its closure)
SETTINGS = dict(num_frames=8, window=4, num_inference_steps=2, progress=False)


@needs_bundled
def test_interrupted_then_resumed_run_equals_an_uninterrupted_one_bitwise(model, image, tmp_path, monkeypatch):
    _check_resumed_equals_whole(model, image, tmp_path, monkeypatch)


@pytest.mark.cuda
@needs_bundled
def test_interrupted_then_resumed_run_equals_an_uninterrupted_one_bitwise_on_cuda(image, tmp_path, monkeypatch):
    """The same on a GPU, float32 and bfloat16 (the fast path's kernels): the continued windows must see the same
    latents and noise as in the uninterrupted run, whatever cuDNN / cuBLAS pick."""
    for dtype in ("fp32", "bf16"):
        _check_resumed_equals_whole(load_model(None, "cuda", dtype), image, tmp_path / dtype, monkeypatch)


def _check_resumed_equals_whole(model, image, tmp_path, monkeypatch):
    outputs = spy_generate_long(monkeypatch)
    assert generate_scenes(image, tmp_path / "whole", loaded=model, **SETTINGS)[0].status == "written"
    assert not (tmp_path / "whole" / PARTIAL_FOLDER).exists()  # success leaves no work folder

    out = tmp_path / "stopped"
    save = _interrupt_after_first_call(monkeypatch)
    with pytest.raises(KeyboardInterrupt) as stopped:
        generate_scenes(image, out, loaded=model, **SETTINGS)
    assert stopped.value.__notes__ == [f"kept 2 of 3 windows (7 of 8 frames) of scene in {out / PARTIAL_FOLDER}; "
                                       "to continue, make the same call again"]
    assert os.listdir(out) == [PARTIAL_FOLDER]  # no scene folder, the windows done kept
    parts, index = sorted(os.listdir(out / PARTIAL_FOLDER / "scene"))  # 1 call, 1 part
    assert parts.startswith("part-00000-") and index == STATE_FILE

    monkeypatch.setattr(long_path_state.BatchState, "save", save)
    assert generate_scenes(image, out, loaded=model, **SETTINGS)[0].status == "written"
    whole, resumed = outputs[0], outputs[-1]
    assert resumed.calls == 1  # the first call's windows were not sampled again
    assert torch.equal(resumed.latents.whole(), whole.latents.whole())  # both in a file (genxd generate)
    assert os.listdir(out) == ["scene"]
    files = [p.relative_to(out / "scene") for p in sorted((out / "scene").rglob("*")) if p.is_file()]
    assert len(files) == 8 + 6  # the frames, both videos, the cameras (3 files), meta.json: byte for byte
    for name in files:
        assert (out / "scene" / name).read_bytes() == (tmp_path / "whole" / "scene" / name).read_bytes(), name
    monkeypatch.undo()


@needs_bundled
def test_a_state_made_with_other_settings_is_refused_naming_what_differs(model, image, tmp_path, monkeypatch):
    out = tmp_path / "o"
    settings = {**SETTINGS, "num_inference_steps": 1}
    save = _interrupt_after_first_call(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        generate_scenes(image, out, loaded=model, **settings)
    monkeypatch.setattr(long_path_state.BatchState, "save", save)
    state = (out / PARTIAL_FOLDER / "scene" / STATE_FILE).read_bytes()

    result = generate_scenes(image, out, loaded=model, **{**settings, "seed": 3, "guidance_scale": 1.5})[0]
    assert result.status == "failed" and result.bad_input
    assert (f"{out / PARTIAL_FOLDER / 'scene'} holds 2 of 3 windows of an interrupted run with other settings: "
            "guidance_scale 2.0 (now 1.5); seed 0 (now 3): run with those settings to continue it, or pass "
            "overwrite=True to start over") in result.error
    assert (out / PARTIAL_FOLDER / "scene" / STATE_FILE).read_bytes() == state  # refused, kept as it was
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = generate_scenes(image, out, loaded=model, overwrite=True, **{**settings, "seed": 3})[0]
    assert written.status == "written"
    assert any("seed 0 (now 3); discarded (overwrite)" in str(w.message) for w in caught)
    assert os.listdir(out) == ["scene"]


@needs_bundled
def test_a_failed_scene_says_what_was_kept(model, image, tmp_path, monkeypatch):
    save = long_path_state.BatchState.save

    def save_then_fail(self, latents, known):  # an error in the second sampling call
        save(self, latents, known)
        raise RuntimeError("CUDA error: an illegal memory access was encountered")

    monkeypatch.setattr(long_path_state.BatchState, "save", save_then_fail)
    out = tmp_path / "o"
    result = generate_scenes(image, out, loaded=model, **{**SETTINGS, "num_inference_steps": 1})[0]
    assert result.status == "failed"
    assert result.error == ("CUDA error: an illegal memory access was encountered (kept 2 of 3 windows (7 of 8 frames) "
                            f"of scene in {out / PARTIAL_FOLDER}; to continue, make the same call again)")
    assert (out / PARTIAL_FOLDER / "scene" / STATE_FILE).is_file()


@needs_bundled
def test_a_written_scene_skipped_keeps_no_work_folder(model, image, tmp_path):
    """Killed between writing the scene and removing its state: the next run that skips the scene removes it."""
    out = tmp_path / "o"
    (out / "scene").mkdir(parents=True)
    (out / PARTIAL_FOLDER / "scene").mkdir(parents=True)
    (out / PARTIAL_FOLDER / "scene" / STATE_FILE).write_bytes(b"kept")
    assert generate_scenes(image, out, loaded=model, skip_existing=True, **SETTINGS)[0].status == "skipped"
    assert os.listdir(out) == ["scene"]


@needs_bundled
def test_a_continued_run_opens_the_state_file_twice(model, image, tmp_path, monkeypatch):
    """Once to check it before the model loads, once to restore its frames; a run continuing a scene opened it four
    times (the check, the 'continuing' line, the restore's check again, the restore's load)."""
    import safetensors
    import safetensors.torch

    out = tmp_path / "o"
    save = _interrupt_after_first_call(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        generate_scenes(image, out, loaded=model, **SETTINGS)
    monkeypatch.setattr(long_path_state.BatchState, "save", save)
    state = out / PARTIAL_FOLDER / "scene" / STATE_FILE
    opened = []

    def counted(module):
        safe_open = module.safe_open

        def open_counted(filename, *args, **kwargs):
            opened.append(os.path.samefile(filename, state) if os.path.exists(filename) else False)
            return safe_open(filename, *args, **kwargs)

        monkeypatch.setattr(module, "safe_open", open_counted)

    counted(safetensors)
    counted(safetensors.torch)  # load_file's
    assert generate_scenes(image, out, loaded=model, **{**SETTINGS, "progress": True})[0].status == "written"
    assert opened.count(True) == 2, opened


def _plan():
    c2w, K = orbit(num_frames=20)
    return make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(window=8), 8, 8))


def test_the_state_file_is_written_atomically(tmp_path, monkeypatch):
    """A crash while the state is written (its new part here) leaves the previous state whole, and no half file."""
    import safetensors.torch

    run = PartialRun(tmp_path / "scene", {"seed": 0}, _plan())
    first, known = torch.randn(20, 4, 8, 8), torch.zeros(20, dtype=torch.bool)
    known[:8] = True
    run.save(first, known)
    save_file = safetensors.torch.save_file

    def crash_halfway(tensors, filename, metadata=None):
        save_file(tensors, filename, metadata=metadata)
        with open(filename, "r+b") as f:  # as far as the write had come
            f.truncate(os.path.getsize(filename) // 2)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", crash_halfway)
    with pytest.raises(OSError, match="No space left"):
        run.save(torch.randn(20, 4, 8, 8), torch.ones(20, dtype=torch.bool))
    parts, index = sorted(os.listdir(tmp_path / "scene"))  # the first part and its index, no half file
    assert parts.startswith("part-00000-") and index == STATE_FILE
    latents, restored = torch.zeros(20, 4, 8, 8), torch.zeros(20, dtype=torch.bool)
    PartialRun(tmp_path / "scene", {"seed": 0}, _plan()).restore(latents, restored)
    assert torch.equal(restored, known) and torch.equal(latents[:8], first[:8]) and not latents[8:].any()


def test_a_damaged_state_is_refused_not_used(tmp_path):
    runs = PartialRuns(tmp_path, _plan(), {"seed": 0})
    scene = Scene("scene", torch.zeros(3, 64, 64), 0)
    (tmp_path / PARTIAL_FOLDER / "scene").mkdir(parents=True)
    (tmp_path / PARTIAL_FOLDER / "scene" / STATE_FILE).write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{")
    ready, refused = runs.check({0: scene}, 1)
    assert ready == [] and "state.safetensors cannot be read" in str(refused[0])
    # no settings can continue it: the line says only how to start over (it said to run with those settings)
    assert str(refused[0]).endswith("): pass overwrite=True to start over")


def test_a_refused_scene_is_checked_again_with_its_batch_mates(tmp_path):
    """Scenes sampled together decide each other's floats: a state made in a batch that changed is refused too."""
    plan = _plan()
    scenes = {i: Scene(name, torch.full((3, 64, 64), float(i)), i) for i, name in enumerate("abc")}
    runs = PartialRuns(tmp_path, plan, {"steps": 2})
    assert runs.check(scenes, 3) == ([0, 1, 2], {})
    known = torch.zeros(20, dtype=torch.bool)
    known[:8] = True
    runs.batch([0, 1, 2]).save(torch.zeros(3, 20, 4, 8, 8), known.expand(3, -1))
    scenes[0] = Scene("a", torch.ones(3, 64, 64), 0)  # the input of a changed
    ready, refused = PartialRuns(tmp_path, plan, {"steps": 2}).check(scenes, 3)
    assert ready == [] and "the input image differs" in str(refused[0])
    assert "scenes sampled together ['a', 'b', 'c'] (now ['b', 'c'])" in str(refused[1])


@pytest.mark.parametrize("scheduler", ["euler", "dpmpp-2m-sde"])
def test_resumed_sampling_is_bitwise_also_with_a_stochastic_sampler(reference_small, tmp_path, scheduler):
    """generate_long with a state: stopped after the first call, then continued, as one run without a stop (the
    sampler's own noise at each step comes from a seed per window, not from where torch's global generator is)."""
    from genxd.pipelines import GenXDPipeline

    pipe = GenXDPipeline.from_pretrained(reference_small)
    pipe.set_scheduler(scheduler)
    c2w, K = orbit(num_frames=8)
    plan = make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(window=4), 12, 12))
    img = torch.rand(1, 1, 3, 64, 64, generator=torch.Generator().manual_seed(1))

    def run(state=None):
        return long_paths.generate_long(pipe, img, c2w, K, plan, num_inference_steps=3, decode=False, state=state,
                                        generator=[torch.Generator().manual_seed(0)])

    whole = run()
    state = long_path_state.BatchState([PartialRun(tmp_path / "scene", {"seed": 0}, plan)])
    save = state.save

    def save_then_stop(latents, known):
        save(latents, known)
        raise KeyboardInterrupt

    state.save = save_then_stop
    with pytest.raises(KeyboardInterrupt):
        run(state)
    torch.rand(100)  # the global generator elsewhere than where the stopped run left it
    state.save = save
    resumed = run(state)
    assert resumed.calls == 1 and torch.equal(resumed.latents, whole.latents)


def _model_folder(root, weights: bytes):
    """A model folder's layout with a config and a weights file over 1 MiB (format 1 hashed such files' times)."""
    (root / "unet").mkdir(parents=True)
    (root / "unet" / "config.json").write_text('{"num_frames": 8}')
    (root / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(weights)
    return root


def test_a_copied_or_reinstalled_model_is_the_same_model(tmp_path):
    """The model's digest is its bytes: an upgrade of genxd writes its bundled model anew (other modification times),
    and every kept state was refused as made with another model ('the model's files differs')."""
    weights = np.random.default_rng(0).bytes(3 << 20)
    folder = _model_folder(tmp_path / "a", weights)
    digest = long_path_state.model_files_digest(folder)
    os.utime(folder / "unet" / "diffusion_pytorch_model.safetensors", ns=(10**18, 10**18))  # as a new install's
    assert long_path_state.model_files_digest(folder) == digest
    changed = _model_folder(tmp_path / "b", weights[:-1] + bytes([weights[-1] ^ 1]))  # one bit of the weights
    assert long_path_state.model_files_digest(changed) != digest


def test_the_model_digest_is_of_what_genxd_loads(tmp_path):
    """The digest hashed every file under the model folder: a training checkpoint given as the model (its
    optimiser state in accelerate_state/, ema.safetensors) or a cloned hub repository (.git/) read 'the model's
    files differs' from the same model copied out, and the checkpoint hashed gigabytes of optimiser state (found by
    review). It hashes the components genxd loads (unet/, vae/, scheduler/) and generation_config.json."""
    import shutil

    weights = np.random.default_rng(0).bytes(3 << 20)
    exported = _model_folder(tmp_path / "exported", weights)
    (exported / "scheduler").mkdir()
    (exported / "scheduler" / "scheduler_config.json").write_text('{"num_train_timesteps": 1000}')
    (exported / "generation_config.json").write_text('{"resolution": 64}')
    digest = long_path_state.model_files_digest(exported)
    checkpoint = tmp_path / "checkpoint-0000100"
    shutil.copytree(exported, checkpoint)
    (checkpoint / "accelerate_state").mkdir()
    (checkpoint / "accelerate_state" / "optimizer.bin").write_bytes(b"adam moments")
    (checkpoint / "ema.safetensors").write_bytes(weights)
    (checkpoint / "training_state.json").write_text('{"step": 100}')
    (checkpoint / ".git").mkdir()
    (checkpoint / ".git" / "HEAD").write_text("ref: refs/heads/main")
    (checkpoint / "unet" / ".DS_Store").write_bytes(b"finder")
    assert long_path_state.model_files_digest(checkpoint) == digest
    (checkpoint / "accelerate_state" / "optimizer.bin").write_bytes(b"adam moments, a step later")
    assert long_path_state.model_files_digest(checkpoint) == digest
    for changed in ("unet/diffusion_pytorch_model.safetensors", "scheduler/scheduler_config.json",
                    "generation_config.json"):
        other = tmp_path / changed.replace("/", "_")
        shutil.copytree(exported, other)
        (other / changed).write_bytes((other / changed).read_bytes()[:-1] + b" ")
        assert long_path_state.model_files_digest(other) != digest, changed


def _format_1_digest(folder) -> str:
    """model_files as genxd wrote it in format 1 (5b4046b .. fb0368b): small files' bytes, large files' mtimes."""
    import hashlib

    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(folder).as_posix()}:{st.st_size};".encode())
        h.update(f.read_bytes() if st.st_size <= 1 << 20 else str(st.st_mtime_ns).encode())
    return h.hexdigest()[:16]


def _format_1_state(out, name, fingerprint, known):
    """A state file as genxd wrote it in format 1 (a fingerprint with "format": 1; same tensors)."""
    import json

    import safetensors.torch

    (out / PARTIAL_FOLDER / name).mkdir(parents=True)
    safetensors.torch.save_file({"latents": torch.ones(20, 4, 8, 8), "known": known.to(torch.uint8)},
                                str(out / PARTIAL_FOLDER / name / STATE_FILE),
                                metadata={"fingerprint": json.dumps({**fingerprint, "format": 1}, sort_keys=True)})


def test_a_state_of_the_earlier_format_continues_with_the_same_model_folder(tmp_path):
    """A state an earlier genxd kept (format 1) is continued by this one when the model folder is untouched, and
    refused when it is not, offering only to start over: it said 'the genxd that wrote it (state format 1) can
    continue it', but that genxd hashes the same changed modification times and refuses it too (found by review)."""
    folder = _model_folder(tmp_path / "model", np.random.default_rng(0).bytes(3 << 20))
    job = {"model_files": long_path_state.model_files_digest(folder), "steps": 2}
    plan, scene = _plan(), Scene("scene", torch.zeros(3, 64, 64), 0)
    known = torch.zeros(20, dtype=torch.bool)
    known[:8] = True
    runs = PartialRuns(tmp_path / "out", plan, job, model_folder=folder)
    fingerprint = {k: v for k, v in runs.fingerprint(scene, ["scene"]).items() if k != "format"}
    _format_1_state(tmp_path / "out", "scene", {**fingerprint, "model_files": _format_1_digest(folder)}, known)
    assert runs.check({0: scene}, 1) == ([0], {})
    latents, restored = torch.zeros(20, 4, 8, 8), torch.zeros(20, dtype=torch.bool)
    runs.batch([0]).restore(latents[None], restored[None])
    assert torch.equal(restored, known) and bool(latents[:8].eq(1).all()) and not latents[8:].any()

    os.utime(folder / "unet" / "diffusion_pytorch_model.safetensors", ns=(10**18, 10**18))  # format 1 cannot tell
    ready, refused = PartialRuns(tmp_path / "out", plan, job, model_folder=folder).check({0: scene}, 1)
    assert ready == [] and "state format 1 (now 3)" in str(refused[0])
    assert str(refused[0]).endswith(
        "the model's files differs: it cannot be continued (state format 1 fingerprinted the weights by their "
        "modification times, which have changed: nothing can confirm the same model); pass overwrite=True to start "
        "over")
    assert "can continue it" not in str(refused[0])


def test_the_earlier_format_digest_is_taken_once_a_job(tmp_path, monkeypatch):
    """Upgrading format-1 states hashes the model folder (its small files' bytes) once, not for every scene's
    state and again on each restore."""
    folder = _model_folder(tmp_path / "model", np.random.default_rng(0).bytes(3 << 20))
    job = {"model_files": long_path_state.model_files_digest(folder), "steps": 2}
    plan = _plan()
    scenes = {i: Scene(f"scene{i}", torch.full((3, 64, 64), float(i)), i) for i in range(3)}
    known = torch.zeros(20, dtype=torch.bool)
    known[:8] = True
    runs = PartialRuns(tmp_path / "out", plan, job, model_folder=folder)
    names = [s.name for s in scenes.values()]
    for scene in scenes.values():
        fingerprint = {k: v for k, v in runs.fingerprint(scene, names).items() if k != "format"}
        _format_1_state(tmp_path / "out", scene.name, {**fingerprint, "model_files": _format_1_digest(folder)}, known)
    taken = []
    digest = long_path_state.timed_model_files_digest
    monkeypatch.setattr(long_path_state, "timed_model_files_digest", lambda f: taken.append(f) or digest(f))
    assert runs.check(scenes, 3) == ([0, 1, 2], {})
    latents, restored = torch.zeros(3, 20, 4, 8, 8), torch.zeros(3, 20, dtype=torch.bool)
    runs.batch([0, 1, 2]).restore(latents, restored)
    assert bool(restored[:, :8].all()) and not restored[:, 8:].any()
    assert taken == [folder]


def test_a_3d_state_of_the_earlier_format_with_a_motion_strength_continues(tmp_path):
    """genxd generate --mode 3d --motion-strength 3 recorded 3 in a format-1 state; 3D settings record 0 now
    (42fc5d6: the frames do not use it), so such a state was refused ('motion_strength 3.0 (now 0.0): run with
    those settings') though no settings could match it (found by review). It reads as 0 now; 4D keeps its own."""
    folder = _model_folder(tmp_path / "model", np.random.default_rng(0).bytes(3 << 20))
    plan, scene = _plan(), Scene("scene", torch.zeros(3, 64, 64), 0)
    known = torch.zeros(20, dtype=torch.bool)
    known[:8] = True
    for mode, saved, ok in (("3d", 3.0, True), ("4d", 3.0, False)):
        out = tmp_path / mode
        job = {"model_files": long_path_state.model_files_digest(folder), "mode": mode, "motion_strength": 0.0}
        runs = PartialRuns(out, plan, job, model_folder=folder)
        fingerprint = {k: v for k, v in runs.fingerprint(scene, ["scene"]).items() if k != "format"}
        _format_1_state(out, "scene", {**fingerprint, "model_files": _format_1_digest(folder),
                                       "motion_strength": saved}, known)
        ready, refused = runs.check({0: scene}, 1)
        assert (ready, refused) == ([0], {}) if ok else "motion_strength 3.0 (now 0.0)" in str(refused[0]), mode


def test_an_input_held_as_8_bits_has_the_digest_of_its_floats(tmp_path):
    """``genxd generate`` holds its inputs as uint8 (float32 took 6.3 GB for 2,000 inputs at 512x512): a scene's
    fingerprint still hashes the float32 image it is sampled from, as the states kept before were written with."""
    from genxd.utils.images import pil_to_tensor

    im = PIL.Image.fromarray((np.random.default_rng(2).random((64, 64, 3)) * 255).astype(np.uint8))
    floats = pil_to_tensor(im)  # what a scene's image was (load_image), hashed the old way
    held = torch.from_numpy(np.array(im)).permute(2, 0, 1).contiguous()
    runs = PartialRuns(tmp_path / "out", _plan(), {"steps": 2})
    fingerprint = runs.fingerprint(Scene("scene", held, 0), ["scene"])
    assert fingerprint["input"] == long_path_state.tensor_digest(floats)
    assert fingerprint == runs.fingerprint(Scene("scene", floats, 0), ["scene"])


def _state_of(out, plan, planner: int | None, scene) -> None:
    """A state of one window of ``plan`` as a genxd of ``planner`` wrote it (None: before the entry, 2026-12-05)."""
    runs = PartialRuns(out, plan, {"steps": 2})
    assert runs.check({0: scene}, 1) == ([0], {})
    if planner is None:
        runs.runs[0].fingerprint.pop("planner", None)
    else:
        runs.runs[0].fingerprint["planner"] = planner
    known = torch.zeros(plan.num_frames, dtype=torch.bool)
    known[list(plan.windows[0].frames)] = True
    runs.runs[0].save(torch.randn(plan.num_frames, 4, 2, 2), known)


def _repeated_orbit(n: int = 30):
    """An orbit whose cameras come three times each: exact ties, which the planner before 2026-12-05
    (``torch.cdist``'s distances, about 6e-8 off) broke otherwise."""
    c2w, K = orbit(num_frames=n)
    again = torch.arange(n) // 3
    return c2w[again], K[again]


def _plans_of_both_planners(settings: dict | None):
    """``(the earlier planner's plan, this one's)`` of :func:`_repeated_orbit` with window 8, overlap 2 (they
    differ), both with ``settings`` recorded."""
    cdist_distance = load_script("benchmarks/bench_long_path_plan.py").cdist_distance
    c2w, K = _repeated_orbit()
    earlier = replace(plan_anchored(cdist_distance(c2w, K), [0], 8, overlap=2), settings=settings)
    now = replace(plan_anchored(CameraDistances(c2w, K), [0], 8, overlap=2), settings=settings)
    assert earlier != now
    return earlier, now


@pytest.mark.parametrize("planner", [None, 1])
def test_a_state_planned_otherwise_by_an_earlier_genxd_says_so(tmp_path, planner):
    """A kept state of the genxd before the exact camera distances (2026-12-05) with the plan settings recorded and
    the same: where they plan its cameras otherwise (ties broken otherwise: repeated cameras), the line says that
    this genxd plans them otherwise and that the genxd that wrote it continues it (it said to run with those
    settings: the same ones); where the plan is the same, the state continues."""
    settings = {"window": 8, "overlap": 2, "anchors": 7, "strategy": "auto"}
    earlier, now = _plans_of_both_planners(settings)
    scene = Scene("scene", torch.zeros(3, 8, 8), 1)
    _state_of(tmp_path, earlier, planner, scene)
    ready, refused = PartialRuns(tmp_path, now, {"steps": 2}).check({0: scene}, 1)
    assert ready == [] and str(refused[0]).startswith(f"{tmp_path / PARTIAL_FOLDER / 'scene'} holds ")
    assert str(refused[0]).endswith(
        f" of {earlier.num_frames} frames of an interrupted run of an earlier genxd: the plan of windows differs: this genxd plans some camera paths otherwise than the one that "
        f"wrote it (since {long_path_state.PLANNER_SINCE[2]}: planner {long_path_state.PLANNER}, the state's 1): that genxd can continue it with the "
        "settings it was run with, or pass overwrite=True to start over")
    _state_of(tmp_path / "same", now, planner, scene)  # the same plan: continued whatever planned it
    assert PartialRuns(tmp_path / "same", now, {"steps": 2}).check({0: scene}, 1) == ([0], {})


@pytest.mark.parametrize("earlier_planner", [True, False])
def test_a_state_without_plan_settings_planned_otherwise_names_both_causes(tmp_path, earlier_planner):
    """A state of before 2026-12-05 records no window, overlap or anchors (the plan's digest only): a plan that
    differs may be the earlier planner's (repeated cameras) or of another --window (the reviewer's case: window 10,
    now 8), which no genxd continues with these settings; the line says both, not 'that genxd can continue it'."""
    settings = {"window": 8, "overlap": 2, "anchors": 7, "strategy": "auto"}
    if earlier_planner:
        earlier, now = _plans_of_both_planners(settings)
    else:
        c2w, K = orbit(num_frames=40)
        earlier = plan_progressive(CameraDistances(c2w, K), [0], 10)
        now = make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(8), 8, 12))
    scene = Scene("scene", torch.zeros(3, 8, 8), 1)
    _state_of(tmp_path, replace(earlier, settings=None), None, scene)
    ready, refused = PartialRuns(tmp_path, now, {"steps": 2}).check({0: scene}, 1)
    assert ready == [] and str(refused[0]).endswith(
        "frames of an interrupted run of an earlier genxd or with other settings: the plan of windows differs: if it "
        "was run with this window, overlap and anchors, this genxd plans its camera path otherwise (since "
        f"{long_path_state.PLANNER_SINCE[2]}: planner {long_path_state.PLANNER}, the state's 1) and the genxd that wrote it can continue it with the "
        "settings it was run with; otherwise run with those settings to continue it, or pass overwrite=True to start "
        "over")


def test_a_state_of_an_earlier_planner_with_other_plan_settings_is_of_other_settings(tmp_path):
    """A state whose recorded plan settings differ (--window 10, now 8) was planned otherwise by its settings, not
    its planner: the line names the setting and says to run with it."""
    c2w, K = orbit(num_frames=40)
    earlier = make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(10), 10, 12))
    now = make_plan("3d", c2w, K, [0], resolve_settings(LongPathSettings(8), 8, 12))
    assert now.settings == {"window": 8, "overlap": 2, "anchors": 0, "strategy": "auto"}
    scene = Scene("scene", torch.zeros(3, 8, 8), 1)
    _state_of(tmp_path, earlier, 1, scene)
    ready, refused = PartialRuns(tmp_path, now, {"steps": 2}).check({0: scene}, 1)
    assert ready == [] and str(refused[0]).endswith(
        "frames of an interrupted run with other settings: the plan of windows differs; window 10 (now 8): run "
        "with those settings to continue it, or pass overwrite=True to start over")


def test_a_state_of_this_planner_with_another_plan_is_of_other_settings(tmp_path):
    """This planner's state of another plan (another --window, --overlap or --anchors): run with those settings."""
    c2w, K = orbit(num_frames=20)
    scene = Scene("scene", torch.zeros(3, 8, 8), 1)
    _state_of(tmp_path, plan_anchored(CameraDistances(c2w, K), [0], 8, anchors=3), long_path_state.PLANNER, scene)
    ready, refused = PartialRuns(tmp_path, plan_progressive(CameraDistances(c2w, K), [0], 8), {"steps": 2}).check(
        {0: scene}, 1)
    assert ready == [] and str(refused[0]).endswith(
        "frames of an interrupted run with other settings: the plan of windows differs: run with those settings to "
        "continue it, or pass overwrite=True to start over")



def test_a_4d_state_of_planner_2_continues_where_its_plan_is_the_same(tmp_path):
    """Planner 3 (2026-12-06) changed only some 4D / video plans (small windows between two inputs): a kept state of
    planner 2 whose plan is the same continues; one whose plan changed is refused naming both planners and the date
    of the first change after the state's planner (2026-12-06 for planner 2; 2026-12-05 for planner 1, whose plans
    the exact camera distances changed: it said 2026-12-06, the date of a change to 4D plans only)."""
    settings = {"window": 3, "overlap": 1, "anchors": 0, "strategy": "auto"}
    scene = Scene("scene", torch.zeros(3, 8, 8), 0)
    same = replace(plan_temporal(12, [0], 3, 1), settings=settings)  # one input: no frame between two inputs
    _state_of(tmp_path / "same", same, 2, scene)
    assert PartialRuns(tmp_path / "same", same, {"steps": 2}).check({0: scene}, 1) == ([0], {})
    # plan_temporal(9, [0, 4], 3, 1) as planner 2 made it: frames 2-3 in (1, 2, 3), holding neither input
    windows = [((0, 1, 4), (0, 4)), ((1, 2, 3), (1,)), ((3, 4, 5), (4, 3)), ((5, 6, 7), (5,)), ((6, 7, 8), (6, 7))]
    old = LongPathPlan("temporal", 9, 3, (0, 4), tuple(Window(f, c, k, "time") for k, (f, c) in enumerate(windows)),
                       settings=settings)
    now = replace(plan_temporal(9, [0, 4], 3, 1), settings=settings)
    assert old != now
    for planner, since in ((2, "2026-12-06"), (1, "2026-12-05")):
        _state_of(tmp_path / str(planner), old, planner, scene)
        ready, refused = PartialRuns(tmp_path / str(planner), now, {"steps": 2}).check({0: scene}, 1)
        assert ready == [] and f"(since {since}: planner {long_path_state.PLANNER}, the state's {planner})" in str(
            refused[0]), refused


@pytest.mark.parametrize("kept_frames, now_frames", [(12, 20), (20, 12)])
def test_a_state_of_another_path_length_says_the_frames_it_holds(tmp_path, kept_frames, now_frames):
    """A state kept from a path of another length (``--frames 12``, then ``--frames 20``) is refused saying the
    frames it holds: it raised an IndexError when the path grew (the windows of the new plan were looked up in the
    state's shorter frame list), and when it shrank it counted the new plan's windows, not its own."""
    scene = Scene("scene", torch.zeros(3, 8, 8), 0)
    kept = plan_progressive(CameraDistances(*orbit(num_frames=kept_frames)), [0], 8)
    _state_of(tmp_path, kept, long_path_state.PLANNER, scene)
    held = len(kept.windows[0].frames)
    now = plan_progressive(CameraDistances(*orbit(num_frames=now_frames)), [0], 8)
    ready, refused = PartialRuns(tmp_path, now, {"steps": 2}).check({0: scene}, 1)
    assert ready == [] and str(refused[0]).startswith(
        f"{tmp_path / PARTIAL_FOLDER / 'scene'} holds {held} of {kept_frames} frames of an interrupted run with other "
        "settings: the plan of windows differs: run with those settings to continue it")


def test_a_state_of_the_same_plan_says_the_windows_it_holds(tmp_path):
    """Where the plan is the same (other settings only), the refusal counts the state's windows, as before."""
    scene = Scene("scene", torch.zeros(3, 8, 8), 0)
    plan = plan_progressive(CameraDistances(*orbit(num_frames=20)), [0], 8)
    _state_of(tmp_path, plan, long_path_state.PLANNER, scene)
    ready, refused = PartialRuns(tmp_path, plan, {"steps": 3}).check({0: scene}, 1)
    assert ready == [] and str(refused[0]).startswith(
        f"{tmp_path / PARTIAL_FOLDER / 'scene'} holds 1 of {len(plan.windows)} windows of an interrupted run with "
        "other settings: steps 2 (now 3)")
