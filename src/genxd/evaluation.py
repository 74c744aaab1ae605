"""``genxd eval``: generation quality on held-out synthetic scenes, against ground-truth renders.

For each held-out scene (``genxd.data.datasets.SyntheticDataset`` with a seed never used in
training: items of seed ``s`` are clips ``s * 1_000_003 + i``; the bundled model was trained on seeds
0-4, fewer than a million items each; 5 is the validation seed, 7 (3D) and 8 (4D) the held-out
ones), the model generates the clip's frames from its context views and is scored on the
**non-context frames** against the renders of the same cameras:

- ``3d-1view``: context frame 0; ``3d-3view``: frames ``0, F//2, F-1``;
- PSNR (one mean squared error over the scene's non-context frames, not a mean of per-frame PSNRs) and
  SSIM (Gaussian window 11, sigma 1.5; mean over those frames) per scene, then the means over scenes
  (``units`` in the report, ``genxd.evaluation_units``); the **repeat-input baseline** predicts
  every frame as its nearest context view;
- **camera following**: PSNR against the ground truth at the asked cameras minus PSNR against the
  ground truth in reversed frame order (> 0 means the frames follow the camera path);
- ``4d``: with a static camera, the mean frame-to-frame change of the generated frames (|RGB|
  difference in [0, 1], averaged over channels) in 3D mode, in 4D mode at motion strength 0 and at a
  high motion strength; over all pixels (``frame_change_*``) and over the input view's object pixels
  (``object_frame_change_*``: the render's object ids, grown by 2 pixels). Motion 0 should stay near
  3D mode; the high strength should move objects more.

Beside the synthetic suite, on the held-out **photographs** (``genxd.evaluation_photos``: homography
ground truth for cameras that only turn or zoom, PSNR over covered pixels, repeat-input baseline):

- ``photo-pan`` (the ``pan`` preset, rotate mode), ``photo-zoom`` (the ``zoom`` preset),
  ``photo-look`` (a look-around in place); per-photo rows and means;
- ``photo-cards``: rendered photo-card scenes (``type: photo`` data of seed ``seed``, cards layout,
  turning and zooming cameras, **training** photos in new compositions), 1 context view, scored as
  ``3d-1view``: with seed 5 the validation scenes of the training recipe (guidance choice).

and ``fewshot``: the paper's few-shot protocol (``genxd.evaluation_fewshot``: Gaussians from 3 views
of held-out synthetic ReconFusion-format scenes, with and without generated views; slow on a CPU).
- ``camera-3d`` / ``camera-4d``: **camera accuracy** (``genxd eval-camera``, ``genxd.cameras.evaluate``):
  each held-out scene (3D: seed 7; 4D: seed 8, moving cameras only, the clip's own image motion strength, as the
  model is trained on: ``motion_source="image"``) is
  generated from its first frame along its own cameras; SfM recovers the cameras of the generated
  frames and of the ground-truth renders (the noise floor of the measure) and CameraCtrl's RotErr /
  TransErr against the requested cameras are reported (means over the scenes SfM could reconstruct,
  failures counted). SfM runs on one thread (``sfm_threads`` in the report): another thread count can
  give other cameras on poorly constrained scenes.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import torch
from torch import Tensor

HELD_OUT_SEED = 7
#: The "high" motion strength of the 4D test: inside what the bundled model was trained on (its 4D
#: training clips have motion strengths 0.6 - 21, median 3.5, 95% below 8.5; ``docs/small_model.md``).
DEFAULT_EVAL_MOTION = 8.0
#: Held-out scenes of the synthetic modes, and of the few-shot protocol, and its Gaussian-splatting steps, by default.
DEFAULT_EVAL_SCENES, DEFAULT_FEWSHOT_SCENES, DEFAULT_FEWSHOT_ITERATIONS = 50, 10, 300
#: Every ``genxd eval`` mode (the photo modes are in :mod:`genxd.evaluation_photos`).
EVAL_MODES = ("3d-1view", "3d-3view", "4d", "photo-pan", "photo-zoom", "photo-look", "photo-cards", "fewshot",
              "camera-3d", "camera-4d")
MODES = EVAL_MODES
#: Camera accuracy modes (RotErr / TransErr of the generated frames' cameras recovered by SfM).
CAMERA_MODES = ("camera-3d", "camera-4d")
#: Camera paths of the camera-accuracy modes (every one moves the camera).
CAMERA_PATHS_3D = ("orbit", "forward", "handheld", "sway", "spiral")
CAMERA_PATHS_4D = ("orbit", "forward", "handheld", "sway", "pan", "dolly")
#: SfM threads of the camera-accuracy modes: another thread count gives other cameras on poorly constrained
#: scenes (a ground-truth ``sway`` scene of seed 7: RotErr 80.7 degrees on 1 thread, 59.2 on 2), so the count
#: is fixed, not "all cores", and the figures are the same on any machine.
CAMERA_SFM_THREADS = 1


def object_pixels(object_id: Tensor, dilate: int = 2) -> Tensor:
    """``[H, W]`` bool: pixels of the input view's moving objects (``object_id > 0``), grown by
    ``dilate`` pixels so that an object that moves a little stays inside its mask."""
    mask = (object_id > 0).float()[None, None]
    if dilate > 0:
        mask = torch.nn.functional.max_pool2d(mask, 2 * dilate + 1, stride=1, padding=dilate)
    return mask[0, 0] > 0


def _psnr(a: Tensor, b: Tensor) -> float:
    mse = (a - b).square().mean().clamp_min(1e-12)
    return float(10 * torch.log10(1.0 / mse))


def _ssim(a: Tensor, b: Tensor) -> float:
    from .reconstruction.metrics import ssim

    return float(ssim(a, b).mean())


@dataclass
class SceneScore:
    psnr: float
    ssim: float
    baseline_psnr: float
    baseline_ssim: float
    following: float


def score_clip(frames: Tensor, gt: Tensor, context_index: list[int]) -> SceneScore:
    """``frames``/``gt`` ``[F, 3, H, W]``; scores on the frames not in ``context_index``."""
    f = gt.shape[0]
    targets = [i for i in range(f) if i not in context_index]
    nearest = [min(context_index, key=lambda c: abs(c - i)) for i in targets]
    pred, ref, base = frames[targets], gt[targets], gt[nearest]
    reversed_ref = gt.flip(0)[targets]
    return SceneScore(
        psnr=_psnr(pred, ref), ssim=_ssim(pred, ref), baseline_psnr=_psnr(base, ref), baseline_ssim=_ssim(base, ref),
        following=_psnr(pred, ref) - _psnr(pred, reversed_ref),
    )


def _camera_scene(folder: Path, frames: Tensor, c2w: Tensor, K: Tensor) -> Path:
    """Write ``frames [F, 3, H, W]`` and their requested cameras as a scene folder eval-camera reads."""
    from .cameras import save_camera_json
    from .utils.images import save_png

    (folder / "frames").mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        save_png(folder / "frames" / f"{i:03d}.png", frame)
    save_camera_json(folder / "cameras.json", c2w, K, frames.shape[-2], frames.shape[-1])
    return folder


def camera_accuracy(pipe, mode: str, num_scenes: int, frames_n: int, res: int, steps: int, guidance: float,
                    seed: int = HELD_OUT_SEED, motion_strength: float | None = None, progress: bool = True) -> dict:
    """``camera-3d`` / ``camera-4d`` (see the module docstring): eval-camera figures of the generated
    frames and of the ground-truth renders of the same cameras."""
    import tempfile

    from .utils.progress import progress_bar

    from .cameras.evaluate import evaluate_scene, summarise
    from .data.datasets import SyntheticDataset

    kind = "3d" if mode == "camera-3d" else "4d"
    # 4D: the clip's image motion strength, the quantity the model is trained on (the world displacement x 100 of
    # motion_source="world" is 5-20x larger: 28-91 on seed 8's first clips, beyond the bundled model's 0.6-21)
    data = SyntheticDataset(length=num_scenes, num_frames=frames_n, height=res, kinds=[kind],
                            seed=seed if kind == "3d" else seed + 1, motion_source="image" if kind == "4d" else "world",
                            cameras_3d=CAMERA_PATHS_3D, cameras_4d=CAMERA_PATHS_4D)
    generated, truth = [], []
    with tempfile.TemporaryDirectory(prefix="genxd_eval_camera_") as tmp:
        for i in progress_bar(range(num_scenes), desc=mode, disable=not progress):
            s = data[i]
            strength = float(s["motion_strength"]) if kind == "4d" else 0.0
            frames = pipe(s["frames"][:1][None], s["c2w"][None], s["K"][None], context_index=[[0]], mode=kind,
                          motion_strength=strength, num_inference_steps=steps, guidance_scale=guidance,
                          generator=torch.Generator().manual_seed(i)).frames[0].cpu()
            gen = evaluate_scene(_camera_scene(Path(tmp) / f"gen_{i:03d}", frames, s["c2w"], s["K"]),
                                 num_threads=CAMERA_SFM_THREADS)
            ref = evaluate_scene(_camera_scene(Path(tmp) / f"gt_{i:03d}", s["frames"], s["c2w"], s["K"]),
                                 num_threads=CAMERA_SFM_THREADS)
            for r, name in ((gen, "generated"), (ref, "ground_truth")):
                r["scene"] = f"{name}/{s['name']}"
            generated.append(gen)
            truth.append(ref)
    keep = ("scene", "status", "reason", "method", "num_registered", "num_frames")

    def compact(r: dict) -> dict:
        out = {k: r[k] for k in keep if k in r}
        if r["status"] == "ok":
            out.update({k: r["errors"][k] for k in ("RotErr", "TransErr", "mean_rot_err_deg", "centre_err_rel")})
        return out

    return {"sfm_threads": CAMERA_SFM_THREADS, "generated": summarise(generated), "ground_truth": summarise(truth),
            "scenes": [compact(r) for r in generated], "ground_truth_scenes": [compact(r) for r in truth]}


def run_settings(pipe, fast: bool | None) -> dict:
    """What else decides the figures: the weights' dtype and device, the fast path, genxd's version and the
    noise (bf16 on CUDA, the default there, gives other figures than the float32 the docs quote)."""
    from . import __version__

    weights = next(pipe.unet.parameters())
    use_fast = bool(fast) if fast is not None else weights.device.type == "cuda"  # as load_model decides
    return {"dtype": str(weights.dtype).removeprefix("torch."), "device": str(weights.device), "fast": use_fast,
            "genxd_version": __version__, "noise_seed": "the scene's or photo's index (0, 1, ...); fewshot: 1000 x index + group"}


def mean_psnr_gain(report: dict, modes: tuple[str, ...] = ("3d-1view", "photo-cards")) -> float:
    """Mean of ``psnr_gain_db`` over those of ``modes`` that ``report`` (of :func:`evaluate`) has: the
    validation score a training piece is chosen by (3D single view and photo cards)."""
    present = [m for m in modes if m in report]
    if not present:
        raise ValueError(f"the report has none of the modes {modes}")
    return sum(report[m]["psnr_gain_db"] for m in present) / len(present)


def check_run_settings(out: str | Path | None, progress: bool, overwrite: bool) -> Path | None:
    """An evaluation's report path, checked with ``progress`` / ``overwrite`` before the model loads (they were taken
    as truthy: ``overwrite="no"`` replaced the report; load_model checks the loading settings). A ValueError /
    TypeError naming the argument."""
    from . import validation as v

    for name, flag in (("progress", progress), ("overwrite", overwrite)):
        v.check(flag, v.Flag(), name)
    if out is not None:
        from .utils.paths import path_argument

        out = path_argument(out, "out", "a file path")
    return out

def _check_before_running(modes: Sequence[str], out: str | Path | None, overwrite: bool) -> None:
    """What would fail after minutes of work: an existing report (without ``overwrite``), a photo package missing."""
    if out is not None:
        from .output_folders import check_report_file

        check_report_file(out, overwrite)
    photo_modes = [m for m in modes if m.startswith("photo-")]
    if photo_modes:
        from .data.synthetic.photos import HELD_OUT_PHOTOS, TRAINING_PHOTOS, photo_path

        needed = (TRAINING_PHOTOS if "photo-cards" in photo_modes else ()) + (
            HELD_OUT_PHOTOS if set(photo_modes) - {"photo-cards"} else ())
        for photo in needed:
            photo_path(photo)  # MissingPhotoError (a FileNotFoundError): which package to install


def _check_model_frames(lm, job: str) -> None:
    """The frame count of the loaded model ``lm`` (a :class:`~genxd.checkpoints.LoadedModel`), which ``job`` samples
    at, checked before anything is sampled (:func:`~genxd.generation_settings.check_model_frames_sampled`)."""
    from .checkpoints import GENERATION_CONFIG
    from .generation_settings import check_model_frames_sampled

    check_model_frames_sampled(lm.path / GENERATION_CONFIG, lm.defaults["num_frames"], job)


#: The modes each count or setting of :func:`evaluate` is used by (another mode ignores it).
SETTING_MODES = {"num_scenes": ("3d-1view", "3d-3view", "4d", "photo-cards", *CAMERA_MODES), "motion_strength": ("4d",),
                 "fewshot_scenes": ("fewshot",), "fewshot_iterations": ("fewshot",)}


def _warn_unused_settings(modes: Sequence[str], **given: object) -> None:
    """A warning for each setting of ``given`` (None: not given) that none of ``modes`` uses (:data:`SETTING_MODES`):
    ``genxd eval --modes fewshot -n 3`` scored the 10 few-shot scenes of ``--fewshot-scenes``, ``--motion-strength``
    without the 4d mode did nothing, without a word."""
    from . import validation as v

    for name, value in given.items():
        users = SETTING_MODES[name]
        if value is not None and not set(users) & set(modes):
            v.warn(f"{v.setting(name, value)} is not used: it is for the mode{'s' if len(users) > 1 else ''} "
                   f"{', '.join(users)}, not {', '.join(modes)}")


def evaluate(model: str | Path | None = None, num_scenes: int | None = None, steps: int | None = None,
             guidance: float | None = None, device: str | None = None, seed: int = HELD_OUT_SEED,
             motion_strength: float | None = None, progress: bool = True, out: str | Path | None = None,
             modes: tuple[str, ...] | list[str] | str = ("3d-1view", "3d-3view", "4d"), dtype: str | torch.dtype | None = None,
             fast: bool | None = None, fewshot_scenes: int | None = None, fewshot_iterations: int | None = None,
             overwrite: bool = False, allow_pickle: bool = False) -> dict:
    """Run the evaluation; returns (and writes to ``out`` if given) a JSON-able report.

    ``device`` / ``dtype`` / ``fast`` / ``allow_pickle``: as :func:`genxd.api.load_model` (default: CUDA when
    available, bfloat16 and the fast path there, float32 on CPU; ``dtype="fp32", fast=False`` on CUDA gives the CPU
    numbers up to floating-point order). ``modes``: a tuple or list of mode names, or a comma-separated string
    (``"3d-1view,4d"``, as ``genxd eval --modes``). None for ``num_scenes`` (the synthetic modes' scenes),
    ``motion_strength`` (4d), ``fewshot_scenes`` / ``fewshot_iterations`` (fewshot): 50, :data:`DEFAULT_EVAL_MOTION`,
    10, 300; one given for none of ``modes`` is said unused (a warning).
    An existing ``out`` is refused unless ``overwrite``; the photo modes' packages are checked before anything
    runs (they used to fail after the synthetic modes, losing their results). ``out`` is written after each mode
    but the last, with ``modes_left`` (the modes still to run; absent from the whole report)."""
    from .utils.progress import progress_bar

    from .api import load_model
    from .data.datasets import SyntheticDataset

    from . import job_specs as js
    from . import validation as v

    if isinstance(modes, str):  # "4d" or "3d-1view,4d": the command line's spelling (it was read letter by letter)
        modes = tuple(m.strip() for m in modes.split(",") if m.strip())
    # modes=None was "'NoneType' object is not iterable"; modes=() loaded the model and scored nothing
    if not isinstance(modes, (list, tuple)) or not all(isinstance(m, str) for m in modes):
        raise v.InvalidType(f"{v.arg('modes')} must be evaluation mode names (a tuple or a comma-separated string), "
                            f"got {modes!r} ({type(modes).__name__})"[:300])
    if not modes:
        raise v.InvalidValue(f"{v.arg('modes')} is empty: choose one or more of {', '.join(EVAL_MODES)}")
    bad = [m for m in modes if m not in EVAL_MODES]
    if bad:
        raise ValueError(f"unknown evaluation mode(s) {bad}; choose from {', '.join(EVAL_MODES)}")
    modes = tuple(dict.fromkeys(modes))  # a mode given twice ran twice (minutes), its figures the same
    given = {"num_scenes": num_scenes, "motion_strength": motion_strength, "fewshot_scenes": fewshot_scenes,
             "fewshot_iterations": fewshot_iterations}  # None: not given (said unused after the checks below)
    num_scenes = DEFAULT_EVAL_SCENES if num_scenes is None else num_scenes
    motion_strength = DEFAULT_EVAL_MOTION if motion_strength is None else motion_strength
    fewshot_scenes = DEFAULT_FEWSHOT_SCENES if fewshot_scenes is None else fewshot_scenes
    fewshot_iterations = DEFAULT_FEWSHOT_ITERATIONS if fewshot_iterations is None else fewshot_iterations
    # the counts before the model loads ("num_scenes=0" failed after it, as "length must be >= 1")
    num_scenes = v.check(num_scenes, js.EVAL_SCENES, "num_scenes")
    steps = v.check(steps, v.STEPS, "steps")
    guidance = v.check(guidance, v.GUIDANCE, "guidance")
    seed = v.check(seed, v.SEED, "seed")
    motion_strength = v.check(motion_strength, v.MOTION_STRENGTH, "motion_strength")  # nan went on to the model
    fewshot_scenes = v.check(fewshot_scenes, js.EVAL_SCENES, "fewshot_scenes")
    fewshot_iterations = v.check(fewshot_iterations, js.FEWSHOT_ITERATIONS, "fewshot_iterations")
    _warn_unused_settings(modes, **given)
    out = check_run_settings(out, progress, overwrite)
    _check_before_running(modes, out, overwrite)
    # dtype None: load_model's default for the device (bf16 on CUDA, fp32 on CPU); device None is "auto" there, not
    # the CPU (it was taken for the CPU here: float32 on a GPU, unlike device="auto" and the documented default)
    lm = load_model(model, device, dtype, fast=fast,
                    allow_pickle=allow_pickle, progress=progress)
    _check_model_frames(lm, "genxd eval" if v.is_cli() else "evaluate()")
    pipe, d = lm.pipe, lm.defaults
    res, frames_n = int(d["resolution"]), int(d["num_frames"])
    steps = int(steps or d["num_inference_steps"])
    guidance = float(guidance if guidance is not None else d["guidance_scale"])
    pipe.set_progress_bar_config(disable=True)
    report: dict = {"model": "bundled:genxd-small" if lm.bundled else str(lm.path), "resolution": res,
                    "frames": frames_n, "steps": steps, "guidance": guidance, **run_settings(pipe, fast)}
    from .evaluation_units import report_units
    from .output_folders import write_own_report

    done: list[str] = []  # the modes scored so far
    written = None  # this run's report as last written (its file's stat): replaced by the next mode's

    def keep(*finished: str) -> None:
        """With ``out``: the report so far, written once ``finished`` are scored (``modes_left``: those still to
        run), so that a failure or Ctrl-C in a later mode keeps what the earlier ones measured (minutes or hours)."""
        nonlocal written
        done.extend(finished)
        left = [m for m in modes if m not in done]
        if out is not None and left:  # the last one: the whole report, written below
            written = write_own_report(out, {**report, "units": report_units(report), "modes_left": left}, overwrite,
                                       written)

    if any(m in modes for m in ("3d-1view", "3d-3view", "4d", "photo-cards", *CAMERA_MODES)):
        report.update(num_scenes=num_scenes, held_out_seed=seed)  # the synthetic scenes' count and seed
    if any(m in modes for m in ("4d", "camera-4d")):
        report["held_out_seed_4d"] = seed + 1  # the 4D scenes' own seed (held_out_seed alone misled: newcomer run 2)
    data3d = SyntheticDataset(length=num_scenes, num_frames=frames_n, height=res, kinds=["3d"], seed=seed,
                              motion_source="world")
    contexts = {"3d-1view": [0], "3d-3view": [0, frames_n // 2, frames_n - 1], "photo-cards": [0]}
    for mode in [m for m in modes if m in contexts]:
        ctx = contexts[mode]
        data = data3d
        if mode == "photo-cards":
            from .data.photo_scenes import PhotoSceneDataset

            data = PhotoSceneDataset(length=num_scenes, num_frames=frames_n, height=res, kinds=["3d"], seed=seed,
                                     layouts=["cards"], cameras_cards=["rotate", "zoom"], motion_source="world",
                                     supersample=3)
        scores = []
        for i in progress_bar(range(num_scenes), desc=mode, disable=not progress):
            s = data[i]
            gen = torch.Generator().manual_seed(i)
            out_frames = pipe(s["frames"][ctx][None], s["c2w"][None], s["K"][None], context_index=[ctx], mode="3d",
                              num_inference_steps=steps, guidance_scale=guidance, generator=gen).frames[0].cpu()
            scores.append(score_clip(out_frames, s["frames"], ctx))
        report[mode] = {
            "psnr": statistics.mean(x.psnr for x in scores), "ssim": statistics.mean(x.ssim for x in scores),
            "baseline_psnr": statistics.mean(x.baseline_psnr for x in scores),
            "baseline_ssim": statistics.mean(x.baseline_ssim for x in scores),
            "psnr_gain_db": statistics.mean(x.psnr - x.baseline_psnr for x in scores),
            "fraction_above_baseline": sum(x.psnr > x.baseline_psnr for x in scores) / len(scores),
            "camera_following_db": statistics.mean(x.following for x in scores),
        }
        keep(mode)
    if "4d" in modes:
        from .cameras import trajectories

        c2w, K = trajectories.static(num_frames=frames_n, focal=1.1)
        data4d = SyntheticDataset(length=num_scenes, num_frames=frames_n, height=res, kinds=["4d"], seed=seed + 1,
                                  motion_source="world")
        # key -> (mode, strength); motion_strength 0 is the 4d_motion0 run itself (it was sampled twice, the same)
        runs = {key: (mode, strength) for key, mode, strength in
                zip(("3d", "4d_motion0", f"4d_motion{motion_strength:g}"), ("3d", "4d", "4d"), (0.0, 0.0, motion_strength))}
        keys = tuple(runs)
        change: dict[str, list[float]] = {k: [] for k in keys}
        change_obj: dict[str, list[float]] = {k: [] for k in keys}
        for i in progress_bar(range(num_scenes), desc="4d", disable=not progress):
            clip = data4d.render_clip(i)
            img = data4d.sample_from_clip(clip)["frames"][:1][None]
            objects = object_pixels(clip.render.object_id[0].cpu())  # H W bool
            for key, (mode, strength) in runs.items():
                fr = pipe(img, c2w[None], K[None], context_index=[0], mode=mode, motion_strength=strength,
                          num_inference_steps=steps, guidance_scale=guidance,
                          generator=torch.Generator().manual_seed(i)).frames[0].cpu()
                diff = (fr[1:] - fr[:-1]).abs().mean(dim=1)  # F-1 H W
                change[key].append(float(diff.mean()))
                if bool(objects.any()):
                    change_obj[key].append(float(diff[:, objects].mean()))
        report["4d"] = {"motion_strength": motion_strength}
        report["4d"].update({f"frame_change_{k}": statistics.mean(v) for k, v in change.items()})
        report["4d"].update({f"object_frame_change_{k}": statistics.mean(v) for k, v in change_obj.items() if v})
        report["4d"]["scenes_with_objects"] = len(change_obj[keys[0]])
        keep("4d")
    from .evaluation_photos import PHOTO_MODES, evaluate_photos

    photo_modes = tuple(m for m in modes if m in PHOTO_MODES)  # photo-cards is scored with the 3D modes above
    if photo_modes:
        report.update(evaluate_photos(pipe, d, photo_modes, steps, guidance, progress=progress))
        keep(*photo_modes)
    if "fewshot" in modes:
        from .evaluation_fewshot import evaluate_fewshot

        report["fewshot"] = evaluate_fewshot(num_scenes=fewshot_scenes, iterations=fewshot_iterations, steps=steps,
                                             guidance=guidance, progress=progress, loaded=lm)
        keep("fewshot")
    for mode in [m for m in modes if m in CAMERA_MODES]:
        report[mode] = camera_accuracy(pipe, mode, num_scenes, frames_n, res, steps, guidance, seed, motion_strength,
                                       progress)
        keep(mode)
    report["units"] = report_units(report)  # what each number measures (PSNR: one MSE per scene, not per frame)
    if out is not None:  # a report another run wrote meanwhile (before or between the modes' writes): kept
        write_own_report(out, report, overwrite, written)
    return report
