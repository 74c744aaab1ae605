"""Long paths beyond the model's window (``genxd.pipelines.long_paths``) on held-out synthetic scenes.

    # the figures of docs/long_paths_results.md (CPU, bundled model; heavy: use many cores)
    python benchmarks/eval_long_paths.py --workers 16 --threads 2 \
        --out benchmarks/results/eval_long_paths.json --contact-sheet docs/images/long_paths_contact_sheet.png

Scenes are never used in training (``docs/small_model.md``): 3D scenes are items of seed 7, 4D scenes
items of seed 8 of ``genxd.data.datasets.SyntheticDataset`` (the seeds of ``genxd eval``); each is
rendered along a longer camera path than the dataset's clips, with the same scene and camera height:

- **3D**: a 64-frame 360-degree orbit (``orbit_cameras``: 64 distinct views 5.625 degrees apart, the
  last one next to the first), radius, elevation and focal length of the scene's own orbit clip; the
  input is frame 0. Methods, all from the same initial noise of every frame: ``long`` (anchors, then
  chunks: the library's plan), ``naive`` (independent windows, each conditioned on the input only),
  ``window8`` (one 8-frame window over the first 8 cameras), ``repeat`` (every frame = the input).
  Figures: PSNR / SSIM on the 63 non-input frames against the renders; the first 8 frames (1-7)
  against ``window8``; **seams**: the mean |RGB| change between consecutive frames made by different
  windows over the mean change between consecutive frames made by one window (pairs with the input
  frame and the wrap-around pair 63 -> 0 left out); **loop closure**: PSNR between frames 0 and 63 (5.6
  degrees apart), next to the same figure for the ground truth.
- **4D**: 48 frames (object times 0..1), the input frame 0, motion strength 30 (``--motion-strength``; the
  high value of ``genxd eval`` is 8, ``DEFAULT_EVAL_MOTION``) with a ``static`` camera and a ``moving`` one (a 120-degree orbit arc over the 48 frames);
  methods ``long`` (overlapping windows along time), ``long_m0`` (the same at motion strength 0: the
  flicker level, no object motion asked) and ``naive`` (independent windows). Figures per window: the
  mean |RGB| change between consecutive frames over the ground truth's object pixels (either frame's,
  grown by 2 pixels: ``genxd.evaluation.object_pixels``), i.e. the motion measure of ``genxd eval``
  per window; seams as in 3D (all pixels and object pixels).

Each (scene, task) result is written to ``--work`` as soon as it is done (resumable: done tasks are
skipped); ``--workers N`` runs tasks in N processes of ``--threads`` threads each. The summary (means
over scenes, per-scene figures, the settings, the time and UNet calls of each method) is printed and
written to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_output, long_path_scenes: beside this script

from bench_output import out_help, resolve_out, save_json  # noqa: E402
from long_path_scenes import (  # noqa: E402
    SEED_3D, SEED_4D, long_scene, pair_changes, per_window, psnr, seams,
)


# ------------------------------------------------------------------------------------------------ generation


class Runner:
    """The model, loaded once per worker process, sampling as ``genxd generate`` does (its sampler set by
    :func:`genxd.checkpoints.configure_sampling`, the paths by :func:`genxd.pipelines.long_paths.generate_long`)."""

    def __init__(self, steps: int | None, guidance: float | None, threads: int, device: str = "cpu",
                 model: str | None = None, scheduler: str | None = None) -> None:
        torch.set_num_threads(threads)
        from genxd.api import load_model
        from genxd.checkpoints import configure_sampling

        if device == "cuda":
            # float32 without TF32, the plain pipeline (no bf16 fast path): the CPU's numerics up to round-off
            torch.backends.cuda.matmul.allow_tf32 = False
            torch.backends.cudnn.allow_tf32 = False
        self.device = device
        self.lm = load_model(model, device, "fp32", fast=False)
        self.pipe = self.lm.pipe
        d = self.lm.defaults
        self.scheduler = scheduler or d.get("scheduler", "euler")
        configure_sampling(self.pipe, self.scheduler)
        self.pipe.set_progress_bar_config(disable=True)
        self.window = int(d["num_frames"])
        self.res = int(d["resolution"])
        self.steps = int(steps or d["num_inference_steps"])
        self.guidance = float(guidance if guidance is not None else d["guidance_scale"])

    def run(self, plan, sample: dict, seed: int, mode: str = "3d", motion: float = 0.0,
            context_from: str = "latents", motion_guidance: float = 0.0) -> dict:
        """The path ``plan`` over ``sample``'s cameras from its input frames, as ``genxd generate`` makes it with
        ``--seed seed``: every frame's initial noise, then the per-window seeds of a stochastic sampler, from
        one generator (so every method of a scene starts from the same noise)."""
        from genxd.pipelines.long_paths import generate_long

        n = plan.num_frames
        t = time.perf_counter()
        out = generate_long(self.pipe, sample["frames"][list(plan.inputs)][None], sample["c2w"][:n], sample["K"][:n],
                            plan, mode=mode, motion_strength=motion, num_inference_steps=self.steps,
                            guidance_scale=self.guidance, generator=torch.Generator().manual_seed(seed),
                            context_from=context_from, motion_guidance_scale=motion_guidance)
        return {"frames": out.frames[0], "seconds": time.perf_counter() - t, "sampling_calls": out.calls,
                "unet_calls": out.calls * self.steps, "made_by": plan.generated_by(), "plan": plan}


#: 3D methods (``--methods-3d``); window8 is the reference of the first 8 frames.
METHODS_3D = {
    "long": "the library's default 3D plan (make_plan, the model's defaults: progressive)",
    "long_o1": "progressive with --overlap 1",
    "long_nofill": "progressive, windows not filled up with extra context frames (shorter windows)",
    "anchored": "anchors spread over the path, then chunks (--anchors = the rest of the window)",
    "naive": "independent windows of the input + the next 7 frames, in frame order",
    "naive_ordered": "the same windows shown in path order (order_along_path)",
    "window8": "one 8-frame window over the first 8 cameras",
}
#: 4D runs, in summary order (the last two only with --images-variant / --keep-inputs-variant).
METHODS_4D = ("long", "long_m0", "naive", "long_images", "long_keep")


def _plan_3d(name: str, r: Runner, s: dict, num_frames: int):
    from genxd.pipelines.long_paths import (LongPathSettings, camera_distance, make_plan, plan_independent,
                                            plan_progressive, resolve_settings)

    settings = resolve_settings(LongPathSettings(), r.window, r.window)
    dist = camera_distance(s["c2w"], s["K"])
    if name == "long":
        return make_plan("3d", s["c2w"], s["K"], [0], settings)
    if name == "long_o1":
        return plan_progressive(dist, [0], r.window, overlap=1)
    if name == "long_nofill":
        return plan_progressive(dist, [0], r.window, settings.overlap, fill=False)
    if name == "anchored":
        return make_plan("3d", s["c2w"], s["K"], [0], resolve_settings(LongPathSettings(anchors=r.window - 1), r.window, r.window))
    if name == "naive":
        return plan_independent(num_frames, [0], r.window)
    if name == "naive_ordered":
        return plan_independent(num_frames, [0], r.window, dist)
    if name == "window8":
        return make_plan("3d", s["c2w"][:r.window], s["K"][:r.window], [0], settings)
    raise ValueError(f"unknown 3d method {name!r}; known: {', '.join(METHODS_3D)}")


def task_3d(r: Runner, index: int, num_frames: int, images_variant: bool = False,
            methods: tuple[str, ...] = ("long", "naive", "window8"), res: dict | None = None) -> tuple[dict, dict]:
    """Run the ``methods`` missing from ``res`` (an earlier result of this task, or None) and add them."""
    from genxd.evaluation import score_clip

    s = long_scene("3d", index, num_frames, r.res)
    gt = s["frames"]
    res = dict(res or {"scene": index, "clip_seed": SEED_3D * 1_000_003 + index, "frames": num_frames})
    base = score_clip(gt, gt, [0])  # the repeat-input baseline does not depend on the method
    res["repeat_psnr"], res["repeat_ssim"] = base.baseline_psnr, base.baseline_ssim
    res["gt_loop_psnr"] = psnr(gt[0], gt[-1])
    todo = [m for m in methods if m not in res]
    if images_variant and "long_images" not in res:
        todo.append("long_images")
    gt_changes = pair_changes(gt)
    frames = {"gt": gt}
    for name in todo:
        plan = _plan_3d("long" if name == "long_images" else name, r, s, num_frames)
        run = r.run(plan, s, index, context_from="images" if name == "long_images" else "latents")
        fr = run["frames"]
        if name == "window8":
            res[name] = {"first8_psnr": psnr(fr[1:], gt[1:r.window]), "seconds": run["seconds"],
                         "unet_calls": run["unet_calls"], "sampling_calls": run["sampling_calls"]}
            continue
        sc = score_clip(fr, gt, [0])
        made_by = run["made_by"]
        res[name] = {
            "psnr": sc.psnr, "ssim": sc.ssim, "first8_psnr": psnr(fr[1:r.window], gt[1:r.window]),
            "seams": seams(pair_changes(fr), made_by, {0}),
            "gt_seams_same_pairs": seams(gt_changes, made_by, {0}),
            "loop_psnr": psnr(fr[0], fr[-1]), "last_frame_psnr": psnr(fr[-1], gt[-1]),
            "seconds": run["seconds"], "sampling_calls": run["sampling_calls"], "unet_calls": run["unet_calls"],
            "plan": plan.to_dict(),
        }
        frames[name] = fr
    return res, frames


def task_4d(r: Runner, index: int, num_frames: int, camera: str, motion: float | str,
            images_variant: bool = False, keep_inputs_variant: bool = False,
            time_cycle: int | None = None, overlap: int | None = None,
            methods: tuple[str, ...] = ("long", "long_m0", "naive"), motion_guidance: float = 0.0) -> tuple[dict, dict]:
    """``motion``: the motion strength asked for, or ``"truth"``: the scene's own (``long_scene``); ``overlap``:
    generated frames conditioning each later window (None: the library's default); ``methods``: which of
    ``long``, ``long_m0``, ``naive`` to run; ``motion_guidance``: the pipeline's ``motion_guidance_scale`` for
    ``long`` and ``naive`` (``long_m0`` asks for no motion, so none)."""
    from genxd.evaluation import object_pixels
    from genxd.pipelines.long_paths import (LongPathSettings, make_plan, plan_independent, plan_temporal,
                                            resolve_settings)

    s = long_scene("4d", index, num_frames, r.res, camera, time_cycle)
    truth = s.pop("truth_motion_strength")
    motion = truth if motion == "truth" else float(motion)
    gt = s["frames"]
    objects = torch.stack([object_pixels(o) for o in s["object_id"]])  # N H W
    settings = resolve_settings(LongPathSettings(overlap=overlap), r.window, r.window)
    long_plan = make_plan("4d", s["c2w"], s["K"], [0], settings)
    makers = {
        "long": lambda: r.run(long_plan, s, index, "4d", motion, motion_guidance=motion_guidance),
        "long_m0": lambda: r.run(long_plan, s, index, "4d", 0.0),
        "naive": lambda: r.run(plan_independent(num_frames, [0], r.window), s, index, "4d", motion,
                               motion_guidance=motion_guidance),
    }
    runs = {name: make() for name, make in makers.items() if name in methods}
    if images_variant:
        runs["long_images"] = r.run(long_plan, s, index, "4d", motion, context_from="images")
    if keep_inputs_variant:  # every later window also sees the input (plan_temporal(keep_inputs=True))
        keep_plan = plan_temporal(num_frames, [0], r.window, settings.overlap, keep_inputs=True)
        runs["long_keep"] = r.run(keep_plan, s, index, "4d", motion)
    res: dict = {"scene": index, "clip_seed": SEED_4D * 1_000_003 + index, "camera": camera, "frames": num_frames,
                 "motion_strength": motion, "truth_motion_strength": truth, "time_cycle": time_cycle,
                 "motion_guidance": motion_guidance, "overlap": settings.overlap,
                 "objects_seen": bool(objects.any())}
    gt_obj = pair_changes(gt, objects)
    for name, run in runs.items():
        fr, made_by = run["frames"], run["made_by"]
        ch, ch_obj = pair_changes(fr), pair_changes(fr, objects)
        n_win = len(run["plan"].windows)
        res[name] = {
            "seams": seams(ch, made_by, {0}), "seams_objects": seams(ch_obj, made_by, {0}),
            "motion_per_window": per_window(ch_obj, made_by, n_win),
            # do the objects stay what they are: PSNR against the ground truth on the objects' pixels, frames 1..
            "psnr_objects": _mean(psnr(fr[i][:, objects[i]], gt[i][:, objects[i]])
                                  for i in range(1, num_frames) if bool(objects[i].any())),
            "motion_per_window_all_pixels": per_window(ch, made_by, n_win),
            "gt_motion_per_window": per_window(gt_obj, made_by, n_win),
            "drift_from_input": [float((fr[i] - fr[0]).abs().mean(dim=0)[objects[i] | objects[0]].mean())
                                 if bool((objects[i] | objects[0]).any()) else math.nan for i in range(num_frames)],
            "seconds": run["seconds"], "sampling_calls": run["sampling_calls"], "unet_calls": run["unet_calls"],
        }
    res["long_plan"] = long_plan.to_dict()
    frames = {"gt": gt} | {k: run["frames"] for k, run in runs.items() if k != "long_m0"}  # what the sheet may show
    return res, frames


# ------------------------------------------------------------------------------------------------ driver

_RUNNER: Runner | None = None


def _init(steps, guidance, threads, device="cpu", model=None, scheduler=None) -> None:
    global _RUNNER
    os.environ["OMP_NUM_THREADS"] = str(threads)
    _RUNNER = Runner(steps, guidance, threads, device, model, scheduler)


def _task_path(work: Path, task: tuple) -> Path:
    return work / ("_".join(str(t) for t in task) + ".json")


@dataclass(frozen=True)
class TaskSettings:
    """What every task of one run shares (the command line's choices)."""

    work: Path
    frames_3d: int
    frames_4d: int
    motion: float | str
    images_variant: bool
    methods_3d: tuple[str, ...]
    keep_inputs_variant: bool
    time_cycle: int | None = None
    overlap_4d: int | None = None
    methods_4d: tuple[str, ...] = ("long", "long_m0", "naive")
    motion_guidance: float = 0.0


def _run_task(job: tuple[tuple, TaskSettings]) -> str:
    """Run one task (``("3d", i)`` or ``("4d", i, camera)``), write its JSON (and for scene 0 its frames)."""
    task, st = job
    from genxd.utils.io import write_json_atomic

    assert _RUNNER is not None
    kind, index = task[0], int(task[1])
    path = _task_path(st.work, task)
    if kind == "3d":
        earlier = json.loads(path.read_text()) if path.is_file() else None
        if earlier is not None and earlier.get("steps") != _RUNNER.steps:
            raise SystemExit(f"{path} was made with {earlier.get('steps')} steps, not {_RUNNER.steps}: use another --work")
        res, frames = task_3d(_RUNNER, index, st.frames_3d, st.images_variant, st.methods_3d, earlier)
    else:
        res, frames = task_4d(_RUNNER, index, st.frames_4d, task[2], st.motion, st.images_variant,
                              st.keep_inputs_variant, st.time_cycle, st.overlap_4d, st.methods_4d,
                              st.motion_guidance)
    res["steps"], res["guidance"], res["threads"] = _RUNNER.steps, _RUNNER.guidance, torch.get_num_threads()
    res["device"], res["scheduler"] = _RUNNER.device, _RUNNER.scheduler
    if index == 0:  # the contact sheet's frames
        from genxd.utils.io import atomic_file

        pt = path.with_suffix(".pt")
        old = torch.load(pt) if pt.is_file() else {}
        with atomic_file(pt) as tmp:
            torch.save(old | {k: (v * 255).round().to(torch.uint8) for k, v in frames.items()}, tmp)
    write_json_atomic(path, res)
    return "_".join(str(t) for t in task)


def _mean(values) -> float:
    vals = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.mean(vals) if vals else math.nan


def summarise(results_3d: list[dict], results_4d: list[dict]) -> dict:
    out: dict = {}
    if results_3d:
        r3 = results_3d
        ms = [m for m in list(METHODS_3D) + ["long_images"] if m != "window8" and all(m in r for r in r3)]
        out["3d"] = {
            "scenes": len(r3),
            "methods": {m: METHODS_3D.get(m, "long, generated frames passed as decoded images") for m in ms + ["window8"]},
            "psnr": {m: _mean(r[m]["psnr"] for r in r3) for m in ms} | {"repeat": _mean(r["repeat_psnr"] for r in r3)},
            "ssim": {m: _mean(r[m]["ssim"] for r in r3) for m in ms} | {"repeat": _mean(r["repeat_ssim"] for r in r3)},
            "scenes_above_naive": {m: sum(r[m]["psnr"] > r["naive"]["psnr"] for r in r3) for m in ms if "naive" in ms},
            "scenes_above_repeat": {m: sum(r[m]["psnr"] > r["repeat_psnr"] for r in r3) for m in ms},
            "first8_psnr": {m: _mean(r[m]["first8_psnr"] for r in r3) for m in ms}
                           | {"window8": _mean(r["window8"]["first8_psnr"] for r in r3)},
            "seam_ratio": {m: _mean(r[m]["seams"]["ratio"] for r in r3) for m in ms},
            "seam_ratio_gt_same_pairs": {m: _mean(r[m]["gt_seams_same_pairs"]["ratio"] for r in r3) for m in ms},
            "seam_change": {m: {k: _mean(r[m]["seams"][k] for r in r3) for k in ("inside", "boundary")} for m in ms},
            "loop_psnr": {m: _mean(r[m]["loop_psnr"] for r in r3) for m in ms} | {"ground_truth": _mean(r["gt_loop_psnr"] for r in r3)},
            "last_frame_psnr": {m: _mean(r[m]["last_frame_psnr"] for r in r3) for m in ms},
            "seconds_per_scene": {m: _mean(r[m]["seconds"] for r in r3) for m in ms + ["window8"]},
            "unet_calls": {m: r3[0][m]["unet_calls"] for m in ms + ["window8"]},
            "sampling_calls": {m: r3[0][m]["sampling_calls"] for m in ms},
        }
        out["3d"]["first8_gap_db"] = {m: out["3d"]["first8_psnr"][m] - out["3d"]["first8_psnr"]["window8"] for m in ms}
        # methods run on some of the scenes only: their means beside the other methods' on the same scenes
        partial: dict = {}
        for m in [m for m in list(METHODS_3D) + ["long_images"] if m not in ms and m != "window8"]:
            sub = [r for r in r3 if m in r]
            if not sub:
                continue
            same = [k for k in ms if all(k in r for r in sub)]
            partial[m] = {
                "scenes": [r["scene"] for r in sub],
                "psnr": {k: _mean(r[k]["psnr"] for r in sub) for k in [m] + same}
                        | {"repeat": _mean(r["repeat_psnr"] for r in sub)},
                "first8_gap_db": {k: _mean(r[k]["first8_psnr"] - r["window8"]["first8_psnr"] for r in sub)
                                  for k in [m] + same},
                "seam_ratio": {k: _mean(r[k]["seams"]["ratio"] for r in sub) for k in [m] + same},
                "loop_psnr": {k: _mean(r[k]["loop_psnr"] for r in sub) for k in [m] + same}
                             | {"ground_truth": _mean(r["gt_loop_psnr"] for r in sub)},
                "seconds_per_scene": _mean(r[m]["seconds"] for r in sub), "unet_calls": sub[0][m]["unet_calls"],
            }
        if partial:
            out["3d"]["some_scenes_only"] = partial
    for cam in ("static", "moving"):
        r4 = [r for r in results_4d if r["camera"] == cam]
        if not r4:
            continue
        block: dict = {"scenes": len(r4)}
        for m in [m for m in METHODS_4D if m in r4[0]]:
            n_win = len(r4[0][m]["motion_per_window"])
            block[m] = {
                "motion_per_window": [_mean(r[m]["motion_per_window"][w] for r in r4) for w in range(n_win)],
                "motion_per_window_all_pixels": [_mean(r[m]["motion_per_window_all_pixels"][w] for r in r4) for w in range(n_win)],
                "gt_motion_per_window": [_mean(r[m]["gt_motion_per_window"][w] for r in r4) for w in range(n_win)],
                "seam_ratio": _mean(r[m]["seams"]["ratio"] for r in r4),
                "psnr_objects": _mean(r[m].get("psnr_objects", math.nan) for r in r4),
                "seam_ratio_objects": _mean(r[m]["seams_objects"]["ratio"] for r in r4),
                "seam_change_objects": {k: _mean(r[m]["seams_objects"][k] for r in r4) for k in ("inside", "boundary")},
                "drift_from_input": [_mean(r[m]["drift_from_input"][i] for r in r4) for i in range(len(r4[0][m]["drift_from_input"]))],
                "seconds_per_scene": _mean(r[m]["seconds"] for r in r4),
                "unet_calls": r4[0][m]["unet_calls"], "sampling_calls": r4[0][m]["sampling_calls"],
            }
        out[f"4d_{cam}"] = block
    return out


def contact_sheet(work: Path, out: Path, index: int, every: int = 4, scale: int = 2) -> None:
    """Rows: 3D ground truth / long / naive (every ``every``-th frame), then 4D static and moving long / naive."""
    from PIL import Image, ImageDraw

    from genxd.utils.io import atomic_file

    rows = []
    for task, label_rows in (((f"3d_{index}"), ("3D ground truth", "3D long", "3D naive")),
                             ((f"4d_{index}_static"), ("4D static: ground truth", "4D static: long", "4D static: naive")),
                             ((f"4d_{index}_moving"), ("4D moving: ground truth", "4D moving: long", "4D moving: naive"))):
        p = work / f"{task}.pt"
        if not p.is_file():
            continue
        frames = torch.load(p)
        keys, labels = ["gt", "long", "naive"], list(label_rows)
        if "long_keep" in frames:  # the 4D variant that keeps the input in every window
            keys.append("long_keep")
            labels.append(label_rows[1] + " + input")
        for key, label in zip(keys, labels):
            if key not in frames:  # a method not run (--methods-4d)
                continue
            fr = frames[key][::every].permute(0, 2, 3, 1).numpy()  # n H W 3
            gap = np.full((fr.shape[1], 2, 3), 255, np.uint8)
            tiles = [np.concatenate([t, gap], axis=1) for t in fr]
            rows.append((label, np.concatenate(tiles, axis=1)))
    if not rows:
        return
    width = max(r.shape[1] for _, r in rows)
    label_w = 150
    strips = []
    for label, r in rows:
        r = np.pad(r, ((0, 2), (0, width - r.shape[1]), (0, 0)), constant_values=255)
        img = Image.new("RGB", (label_w, r.shape[0]), "white")
        ImageDraw.Draw(img).text((4, r.shape[0] // 2 - 6), label, fill="black")
        strips.append(np.concatenate([np.asarray(img), r.repeat(1, 0)], axis=1))
    sheet = np.concatenate(strips, axis=0)
    big = np.asarray(Image.fromarray(sheet).resize((sheet.shape[1] * scale, sheet.shape[0] * scale), Image.NEAREST))
    with atomic_file(out) as tmp:
        Image.fromarray(big).save(tmp, format="PNG")


def _motion_arg(text: str) -> float | str:
    if text == "truth":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a number or 'truth', got {text!r}") from None


def main() -> None:
    from genxd.pipelines.schedulers import scheduler_names

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes-3d", type=int, default=20, help="held-out 3D scenes (items 0..n-1 of seed 7)")
    ap.add_argument("--scenes-4d", type=int, default=10, help="held-out 4D scenes (items 0..n-1 of seed 8)")
    ap.add_argument("--frames-3d", type=int, default=64)
    ap.add_argument("--frames-4d", type=int, default=48)
    ap.add_argument("--motion-strength", type=_motion_arg, default=30.0,
                    help="4D: the motion strength asked for, or 'truth' (each scene's own object motion)")
    ap.add_argument("--time-cycle", type=int, default=None,
                    help="4D: objects move back and forth, 0 -> 1 in this many frames (default: once over the path)")
    ap.add_argument("--model", default=None, help="model folder (default: the bundled model)")
    ap.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's, 25)")
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--scheduler", choices=scheduler_names(), default=None,
                    help="sampler, as genxd generate --scheduler (default: the model's)")
    ap.add_argument("--workers", type=int, default=1, help="worker processes (one task at a time each)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per worker")
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu",
                    help="cuda: every worker on the first GPU, float32 without TF32 (the CPU's numerics up to round-off)")
    ap.add_argument("--work", type=Path, default=ROOT / "outputs" / "eval_long_paths", help="per-task results (resumable)")
    ap.add_argument("--out", type=Path, default=None, help="summary: " + out_help("eval_long_paths"))
    ap.add_argument("--contact-sheet", type=Path, default=None)
    ap.add_argument("--methods-3d", default="long,naive,window8",
                    help=f"3D methods, comma-separated (window8 required; known: {', '.join(METHODS_3D)}). A task "
                         "file in --work that lacks some of them gets only those run and added")
    ap.add_argument("--overlap-4d", type=int, default=None,
                    help="4D long plan: generated frames conditioning each later window (default: the library's)")
    ap.add_argument("--methods-4d", default="long,long_m0,naive",
                    help="4D methods, comma-separated (known: long, long_m0, naive)")
    ap.add_argument("--motion-guidance", type=float, default=0.0,
                    help="4D: the pipeline's motion_guidance_scale for 'long' and 'naive' (default 0: none)")
    ap.add_argument("--note", default=None, help="a sentence stored in the summary (e.g. how --work was made)")
    ap.add_argument("--images-variant", action="store_true",
                    help="also run 'long_images': generated frames condition later windows as decoded images, "
                         "encoded again (ablation of passing latents)")
    ap.add_argument("--keep-inputs-variant", action="store_true",
                    help="also run 'long_keep' in 4D: every later window also takes the input as context")
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    methods_3d = tuple(m.strip() for m in args.methods_3d.split(",") if m.strip())
    unknown = [m for m in methods_3d if m not in METHODS_3D]
    if unknown or "window8" not in methods_3d:
        raise SystemExit(f"--methods-3d: unknown {unknown} or window8 missing; known: {', '.join(METHODS_3D)}")
    methods_4d = tuple(m.strip() for m in args.methods_4d.split(",") if m.strip())
    if not methods_4d or any(m not in ("long", "long_m0", "naive") for m in methods_4d):
        raise SystemExit(f"--methods-4d: {args.methods_4d!r}; known: long, long_m0, naive")
    tasks = [("3d", i) for i in range(args.scenes_3d)]
    tasks += [("4d", i, cam) for i in range(args.scenes_4d) for cam in ("static", "moving")]

    def missing(t: tuple) -> bool:
        p = _task_path(args.work, t)
        if not p.is_file():
            return True
        return t[0] == "3d" and not all(m in json.loads(p.read_text()) for m in methods_3d)

    todo = [t for t in tasks if missing(t)]
    print(f"{len(tasks)} tasks, {len(tasks) - len(todo)} done already, {len(todo)} to run on {args.workers} worker(s)",
          file=sys.stderr)
    settings = TaskSettings(args.work, args.frames_3d, args.frames_4d, args.motion_strength, args.images_variant,
                            methods_3d, args.keep_inputs_variant, args.time_cycle, args.overlap_4d, methods_4d,
                            args.motion_guidance)
    jobs = [(t, settings) for t in todo]
    t0 = time.perf_counter()
    if todo:
        if args.workers > 1:
            import multiprocessing as mp

            ctx = mp.get_context("spawn")
            init_args = (args.steps, args.guidance, args.threads, args.device, args.model, args.scheduler)
            with ctx.Pool(args.workers, initializer=_init, initargs=init_args) as pool:
                for name in pool.imap_unordered(_run_task, jobs):
                    print(f"done {name} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        else:
            _init(args.steps, args.guidance, args.threads, args.device, args.model, args.scheduler)
            for job in jobs:
                print(f"done {_run_task(job)} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    results_3d = [json.loads(_task_path(args.work, t).read_text()) for t in tasks if t[0] == "3d"]
    results_4d = [json.loads(_task_path(args.work, t).read_text()) for t in tasks if t[0] == "4d"]
    summary = {
        "benchmark": "long paths beyond the model's window (genxd.pipelines.long_paths), float32 (the model: key model)",
        "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]),
        "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
        "workers": args.workers, "threads_per_worker": args.threads, "device": args.device,
        "model": args.model or "bundled",
        "steps": results_3d[0]["steps"] if results_3d else (results_4d[0]["steps"] if results_4d else None),
        "held_out_seeds": {"3d": SEED_3D, "4d": SEED_4D},
        **({"note": args.note} if args.note else {}),
        **summarise(results_3d, results_4d),
        "per_scene_3d": results_3d, "per_scene_4d": results_4d,
    }
    brief = {k: v for k, v in summary.items() if not k.startswith("per_scene")}
    print(json.dumps(brief, indent=1))
    save_json(resolve_out(args.out, "eval_long_paths"), summary, indent=1)
    if args.contact_sheet is not None:
        contact_sheet(args.work, args.contact_sheet, 0)


if __name__ == "__main__":
    main()
