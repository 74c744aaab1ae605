"""The paper's few-shot protocol on held-out synthetic ReconFusion-format scenes (``genxd eval --modes fewshot``).

For each scene, Gaussians are fitted to **3 context views** and scored (PSNR / SSIM) on the split's
held-out test views, once **without** and once **with** views that the model generated from the same
3 views. The paper reports +4.8 dB with its model (``with`` above ``without``).

- **Scenes** (held out: seed :data:`FEWSHOT_SEED` = 9, never a training seed): static synthetic scenes
  (``genxd.data.synthetic.make_clip``, clip seeds ``9 * 1,000,003 + i``) seen along an orbit arc of
  60-180 degrees by ``num_views`` (24) cameras at the model's resolution, focal 1.1, written in
  ReconFusion format (``train_test_split_3``: views 0, 12 and 23 train, the other 21 test).
- **Generated views**: ``groups`` (2) generations of the model's ``F`` (8) frames, each with the 3
  context views at frames ``0, T//2 + 1, F - 1`` (the authors' layout) and ``F - 3`` targets between
  them, at poses interpolated (rotation slerp, centre lerp) between neighbouring dataset cameras at
  fractional positions: **never a test pose**. For the model the poses are scaled so that the depth of
  the context cameras' focus (the point nearest their optical axes, :func:`genxd.reconstruction.init.camera_focus`)
  is 1, the training convention (median scene depth 1); the Gaussians see the original poses.
  The generated views are also scored against renders at their poses (``generated_psnr``).
- **Reconstruction**: :func:`genxd.reconstruction.train_gaussians` with the same settings and seed
  for both runs (``iterations``, random initialisation in the frusta, at most 8,000 Gaussians);
  ``with`` trains on the 3 real views plus the generated ones (each real view repeated
  ``real_repeat`` times in the training set; default 1: a plain union, as ``genxd reconstruct --extra-views``).
"""

from __future__ import annotations

import contextlib
import statistics
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

__all__ = ["FEWSHOT_SEED", "write_fewshot_scenes", "interpolate_poses", "generation_targets", "evaluate_fewshot"]

#: Synthetic seed of the few-shot scenes (held out: training refuses it).
FEWSHOT_SEED = 9


def fewshot_key(seed: int, i: int) -> str:
    """The key of held-out scene ``i`` of ``seed`` (:func:`write_fewshot_scenes`), e.g. ``fewshot_9_000``."""
    return f"fewshot_{seed}_{i:03d}"


def _is_fewshot_key(key: str) -> bool:
    """Whether ``key`` is one :func:`fewshot_key` gives (of any seed and scene)."""
    import re

    found = re.fullmatch(r"fewshot_(-?\d+)_(\d+)", key)
    return found is not None and fewshot_key(int(found[1]), int(found[2])) == key


def write_fewshot_scenes(root: str | Path, num_scenes: int = 10, num_views: int = 24, resolution: int = 64,
                         seed: int = FEWSHOT_SEED, focal: float = 1.1) -> list[str]:
    """Write the held-out scenes in ReconFusion format under ``root``; returns their keys."""
    from .data.synthetic import make_clip, write_reconfusion

    keys = []
    for i in range(num_scenes):
        clip = make_clip(seed * 1_000_003 + i, "3d", num_views, resolution, resolution, camera="orbit", focal=focal,
                         supersample=3)
        key = fewshot_key(seed, i)
        write_reconfusion(root, key, clip.render.rgb, clip.c2w, clip.K, overwrite=True)
        keys.append(key)
    return keys


def interpolate_poses(c2w: Tensor, positions: list[float]) -> Tensor:
    """Cameras at fractional ``positions`` along ``c2w [N, 4, 4]`` (slerp of rotations, lerp of centres)."""
    from scipy.spatial.transform import Rotation, Slerp

    n = c2w.shape[0]
    rots = Rotation.from_matrix(c2w[:, :3, :3].double().numpy())
    slerp = Slerp(np.arange(n, dtype=np.float64), rots)
    pos = np.asarray(positions, dtype=np.float64)
    if pos.min() < 0 or pos.max() > n - 1:
        raise ValueError(f"positions must lie in [0, {n - 1}], got {positions}")
    R = torch.from_numpy(slerp(pos).as_matrix())
    lo = np.floor(pos).astype(int).clip(0, n - 2)
    w = torch.from_numpy(pos - lo)[:, None]
    t = c2w[lo, :3, 3].double() * (1 - w) + c2w[lo + 1, :3, 3].double() * w
    out = torch.eye(4, dtype=torch.float64).repeat(len(pos), 1, 1)
    out[:, :3, :3], out[:, :3, 3] = R, t
    return out.float()


def generation_targets(train_ids: list[int], num_frames: int, groups: int) -> tuple[list[int], list[list[float]]]:
    """Context frame slots and, per group, the fractional dataset positions of its target frames.

    The targets between two consecutive context views are spread evenly over the open interval
    between them, at ``a + (b - a) (k + 0.5) / n`` (``n`` targets of all groups there); group ``g`` takes
    every ``groups``-th one. A position on a whole number (a dataset view, maybe a test view) raises.
    """
    from .fewshot import context_layout

    if len(train_ids) != 3:
        raise ValueError(f"the protocol uses 3 context views, got {len(train_ids)}")
    layout = context_layout(3, num_frames)
    per_gap = [layout[1] - layout[0] - 1, layout[2] - layout[1] - 1]
    positions: list[list[float]] = [[] for _ in range(groups)]
    for gap, (a, b) in enumerate(zip(train_ids[:-1], train_ids[1:])):
        n = per_gap[gap] * groups
        spots = [a + (b - a) * (k + 0.5) / n for k in range(n)]
        for g in range(groups):
            positions[g].extend(spots[g::groups])
    if any(abs(p - round(p)) < 1e-6 for ps in positions for p in ps):
        raise ValueError(f"a generated pose would coincide with a dataset view (context views {train_ids})")
    return layout, positions


def _psnr(a: Tensor, b: Tensor) -> float:
    return float(10 * torch.log10(1.0 / (a - b).square().mean().clamp_min(1e-12)))


def evaluate_fewshot(model: str | Path | None = None, num_scenes: int = 10, iterations: int = 300, num_views: int = 24,
                     groups: int = 2, real_repeat: int = 1, steps: int | None = None, guidance: float | None = None,
                     device: str | None = None, dtype: str | torch.dtype | None = None, data_root: str | Path | None = None,
                     seed: int = FEWSHOT_SEED, progress: bool = True, out: str | Path | None = None,
                     loaded=None, overwrite: bool = False, allow_pickle: bool = False) -> dict:
    """Run the protocol (module docstring); returns (and writes to ``out``) a JSON-able report.

    ``allow_pickle``: ``model`` may be a folder holding only pickle weights; ``device`` / ``dtype``: as
    :func:`genxd.api.load_model` (default: CUDA when available, bf16 there, fp32 on CPU); beside ``loaded``, only
    its own device / precision (another is refused: the loaded model runs as it was loaded), and no ``model``.

    ``data_root``: where the synthetic scenes are written (default: a temporary folder), refused when it holds scenes
    other than held-out ones (an earlier run's, of any seed or number, are taken). ``out`` is rewritten after every
    scene; an existing ``out`` is refused unless ``overwrite``, also one that another run wrote while this one worked
    (this run replaces only its own earlier report)."""
    from .utils.progress import progress_bar

    from .api import load_model
    from .checkpoints import job_settings_restored
    from .data.reconfusion import load_reconfusion
    from .data.synthetic import make_scene, render
    from .reconstruction import ReconstructionConfig, Views, evaluate_views, train_gaussians
    from .reconstruction.init import camera_focus

    from . import job_specs as js
    from . import validation as v
    from .evaluation import check_run_settings
    from .output_folders import write_own_report

    num_scenes = v.check(num_scenes, js.EVAL_SCENES, "num_scenes")
    iterations = v.check(iterations, js.FEWSHOT_ITERATIONS, "iterations")
    num_views = v.check(num_views, js.FEWSHOT_VIEWS, "num_views")
    groups = v.check(groups, js.FEWSHOT_GROUPS, "groups")
    real_repeat = v.check(real_repeat, js.FEWSHOT_REAL_REPEAT, "real_repeat")
    steps = v.check(steps, v.STEPS, "steps")
    guidance = v.check(guidance, v.GUIDANCE, "guidance")
    seed = v.check(seed, v.SEED, "seed")
    out = check_run_settings(out, progress, overwrite)
    if out is not None:
        from .output_folders import check_report_file

        check_report_file(out, overwrite)  # before minutes of work
    if loaded is not None:  # a loaded model runs as it was loaded: another device / dtype is refused, not ignored,
        from .job_setup import check_run_settings as check_loaded_settings

        check_loaded_settings(model, loaded, "none", device, None, dtype)  # and a model beside it (as generate)
    if data_root is not None:  # a file there was refused only after the model had loaded (NotADirectoryError)
        from .utils.io import check_writable_dir
        from .utils.paths import path_argument

        data_root = path_argument(data_root, "data_root", "a folder path")
        check_writable_dir(data_root, v.arg("data_root"))
        _check_scratch_folder(data_root)
    lm = loaded or load_model(model, device, dtype,  # dtype None: bf16 on CUDA, fp32 on CPU (as evaluate)
                              allow_pickle=allow_pickle, progress=progress)
    if loaded is None:  # (evaluate checked its model's)
        from .evaluation import _check_model_frames

        _check_model_frames(lm, "genxd eval" if v.is_cli() else "evaluate_fewshot()")
    d = lm.defaults
    res, frames_n = int(d["resolution"]), int(d["num_frames"])
    steps = int(steps or d["num_inference_steps"])
    guidance = float(guidance if guidance is not None else d["guidance_scale"])
    # the scenes written to a temporary folder are removed also when the run fails or is interrupted
    with contextlib.ExitStack() as cleanup:
        if data_root is None:
            data_root = cleanup.enter_context(tempfile.TemporaryDirectory(prefix="genxd-fewshot-"))
        keys = write_fewshot_scenes(data_root, num_scenes, num_views, res, seed)
        scenes = load_reconfusion(data_root, keys=keys)
        config = ReconstructionConfig(iterations=iterations, init="random", init_points=3000, max_gaussians=8000,
                                      device="cpu", seed=0)
        rows = []
        written = None  # this run's report as last written (its file's stat): replaced by the next scene's
        for i, key in enumerate(progress_bar(keys, desc="fewshot", disable=not progress)):
            scene = scenes[key]
            images, c2w, K = scene.decoded_images().float(), scene.c2w.float(), scene.K.float()
            train_ids, test_ids = (list(map(int, x)) for x in scene.splits[3])
            layout, positions = generation_targets(train_ids, frames_n, groups)
            # the model's camera scale: depth of the context cameras' focus = 1
            _, focus_depth = camera_focus(c2w[train_ids])
            scale = 1.0 / max(focus_depth, 1e-6)
            batch_c2w, target_c2w = [], []
            for g in range(groups):
                frames_c2w = torch.zeros(frames_n, 4, 4)
                slots = [s for s in range(frames_n) if s not in layout]
                tgt = interpolate_poses(c2w, positions[g])
                for slot, cid in zip(layout, train_ids):
                    frames_c2w[slot] = c2w[cid]
                for slot, pose in zip(slots, tgt):
                    frames_c2w[slot] = pose
                target_c2w.append(tgt)
                scaled = frames_c2w.clone()
                scaled[:, :3, 3] *= scale
                batch_c2w.append(scaled)
            ctx = images[train_ids][None].expand(groups, -1, -1, -1, -1)
            Kf = K[train_ids[0]][None].expand(frames_n, 3, 3)
            gens = [torch.Generator().manual_seed(1000 * i + g) for g in range(groups)]
            # one call at a time on a loaded model (its lock, held for the sampling only: the fits below take
            # minutes), whose progress bars are the caller's again afterwards (they were left off)
            with lm.lock, job_settings_restored(lm.pipe):
                lm.pipe.set_progress_bar_config(disable=True)
                out_frames = lm.pipe(ctx, torch.stack(batch_c2w), Kf[None].expand(groups, -1, -1, -1),
                                     context_index=torch.tensor(layout)[None].expand(groups, -1), mode="3d",
                                     num_inference_steps=steps, guidance_scale=guidance,
                                     generator=gens).frames.cpu().float()
            slots = [s for s in range(frames_n) if s not in layout]
            gen_images = torch.cat([out_frames[g, slots] for g in range(groups)])
            gen_c2w = torch.cat(target_c2w)
            # how good the generated views are: renders of the same scene at their poses
            truth = render(make_scene(seed * 1_000_003 + i), gen_c2w, K[:1].expand(len(gen_c2w), 3, 3), res, res, supersample=3).rgb
            real = Views(images=images[train_ids], c2w=c2w[train_ids], K=K[train_ids], names=[f"train/{j}" for j in train_ids])
            test = Views(images=images[test_ids], c2w=c2w[test_ids], K=K[test_ids], names=[f"test/{j}" for j in test_ids])
            rep = max(1, int(real_repeat))
            both = Views(images=torch.cat([real.images.repeat(rep, 1, 1, 1), gen_images]),
                         c2w=torch.cat([real.c2w.repeat(rep, 1, 1), gen_c2w]),
                         K=torch.cat([real.K.repeat(rep, 1, 1), K[:1].expand(len(gen_c2w), 3, 3)]),
                         names=real.names * rep + [f"generated/{j}" for j in range(len(gen_c2w))])
            background = torch.zeros(3)
            without = evaluate_views(train_gaussians(real, config, progress=False).model, test, background)[0]
            with_gen = evaluate_views(train_gaussians(both, config, progress=False).model, test, background)[0]
            rows.append({"scene": key, "psnr_without": without["psnr"], "psnr_with": with_gen["psnr"],
                         "ssim_without": without["ssim"], "ssim_with": with_gen["ssim"],
                         "gain_db": with_gen["psnr"] - without["psnr"], "generated_psnr": _psnr(gen_images, truth),
                         "num_generated": len(gen_c2w), "num_test": len(test_ids)})
            report = _summary(rows, lm, num_scenes, seed, num_views, groups, real_repeat, res, frames_n, steps, guidance,
                              iterations)
            if out is not None:  # after every scene: a long run that is stopped keeps what it measured
                written = write_own_report(out, report, overwrite, written)
    return report


def _check_scratch_folder(data_root: Path) -> None:
    """A ValueError when ``data_root`` (where the held-out synthetic scenes are written) holds a ReconFusion index
    with scenes other than held-out ones (:func:`fewshot_key`; of any earlier run: another seed or more scenes): they
    would be mixed with a dataset of the user's (not evaluated: only the synthetic ones are)."""
    from .data.reconfusion import INDEX_FILE, read_reconfusion_index

    if not (data_root / INDEX_FILE).is_file():
        return
    others = [k for k in read_reconfusion_index(data_root) if not _is_fewshot_key(k)]
    if others:
        raise ValueError(f"{data_root}: holds other scenes ({', '.join(others[:3])}{', ...' if len(others) > 3 else ''}); "
                         "data_root is where the held-out synthetic scenes are written, not data to evaluate (a "
                         "capture of yours: genxd fewshot-data, then genxd fewshot, reconstruct --n-views "
                         "--extra-views and eval-recon)")


def _summary(rows: list[dict], lm, num_scenes: int, seed: int, num_views: int, groups: int, real_repeat: int, res: int,
             frames_n: int, steps: int, guidance: float, iterations: int) -> dict:
    return {
        "model": "bundled:genxd-small" if lm.bundled else str(lm.path), "num_scenes": num_scenes,
        "scenes_done": len(rows), "seed": seed, "num_views": num_views, "context_views": 3, "groups": groups,
        "real_repeat": real_repeat, "resolution": res, "frames": frames_n, "steps": steps, "guidance": guidance,
        "iterations": iterations,
        "psnr_without": statistics.mean(r["psnr_without"] for r in rows),
        "psnr_with": statistics.mean(r["psnr_with"] for r in rows),
        "gain_db": statistics.mean(r["gain_db"] for r in rows),
        "fraction_with_above_without": sum(r["gain_db"] > 0 for r in rows) / len(rows),
        "generated_psnr": statistics.mean(r["generated_psnr"] for r in rows),
        "per_scene": rows,
    }
