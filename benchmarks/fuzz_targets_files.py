"""Fuzz targets: the other files genxd reads back: model folders, training configs, curation records, ReconFusion
scenes.

- ``model-folder``: what ``genxd generate --model DIR`` reads: :func:`genxd.checkpoints.model_info` (the
  folder's configs, the generation defaults ``generate`` takes from it) then :func:`genxd.checkpoints.load_model`
  on the CPU, and one call of the loaded UNet, VAE decoder and scheduler on a tiny input, whose output must be
  finite. Seed: a copy of the bundled model (``src/genxd/assets/genxd-small``); its JSON files mutated as JSON
  trees or bytes, its safetensors files as bytes (header, truncation);
- ``train-config``: :func:`genxd.training.config.load_config` on YAML presets (``genxd/configs/tiny.yaml``,
  ``genxd/configs/tiny_vae.yaml`` and a preset with a ``base:``), text-token and byte mutations; a config that is read
  must not hold a non-finite number;
- ``curate-index``: the resume records of ``genxd curate``: :func:`genxd.curation.dataset.curate_dataset` on an
  output folder whose every video is done (``meta.json`` present, so nothing is curated again) but whose
  ``index.jsonl`` lines (JSON trees, text, bytes) or a video's ``meta.json`` are mutated;
- ``reconfusion-scene``: what ``genxd reconstruct`` and ``genxd fewshot`` read of a ReconFusion torch folder
  (:func:`genxd.reconstruction.views.load_views`, :func:`~genxd.reconstruction.views.reconfusion_split` for every
  split, :func:`genxd.data.reconfusion.load_reconfusion`): ``index.json`` mutated as JSON, the scene file's
  ``cameras`` / ``train_test_split_*`` / ``images`` mutated as a JSON tree and saved again, or as bytes.
"""

from __future__ import annotations

import json
import math
import random
import shutil
from pathlib import Path

from fuzz_mutations import mutate_bytes, mutate_copy, mutate_json, mutate_text
from fuzz_target import FuzzTarget

__all__ = ["TARGETS"]

REPO = Path(__file__).resolve().parents[1]
ALLOWED = (ValueError, FileNotFoundError, NotADirectoryError, IsADirectoryError, FileExistsError, PermissionError)


# ---------------------------------------------------------------------------------------------------------------
# model-folder
# ---------------------------------------------------------------------------------------------------------------


def _model_seeds(folder: Path) -> list[Path]:
    from genxd.checkpoints import BUNDLED_MODEL_DIR

    seed = folder / "genxd-small"
    shutil.copytree(BUNDLED_MODEL_DIR, seed)
    return [seed]


def _mutate_model(rng: random.Random, seed: Path, dest: Path) -> str:
    if rng.random() < 0.25:  # the weights: header corruption, truncation
        return mutate_copy(rng, seed, dest, kind="bytes", pick=lambda p: p.suffix == ".safetensors")
    return mutate_copy(rng, seed, dest, kind="json" if rng.random() < 0.85 else "bytes",
                       pick=lambda p: p.suffix == ".json")


def _uses_generation_defaults(info) -> None:
    """What ``generate`` / ``fewshot`` take from the model's defaults (genxd.api, genxd.fewshot_jobs)."""
    d = info.defaults
    res = int(d["resolution"])
    int(d["num_inference_steps"])
    float(d["guidance_scale"])
    int(d["num_frames"])
    if info.latent_multiple:
        res % info.latent_multiple
    info.preset_scale
    from genxd import validation as v

    v.outside_trained(info.trained, {"resolution": res, "num_frames": int(d["num_frames"]), "motion_strength": 1.0})


def load_and_run_model(path: Path) -> None:
    """``model_info`` then ``load_model`` (CPU, fp32), as ``genxd generate --model`` does, and one UNet call, one
    VAE decode and a scheduler's timesteps on a tiny input: all finite."""
    import warnings

    import torch

    from genxd.checkpoints import load_model, model_info

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        info = model_info(path)
        _uses_generation_defaults(info)
        lm = load_model(path, device="cpu", dtype="fp32")
    unet, vae, scheduler = lm.pipe.unet, lm.pipe.vae, lm.pipe.scheduler
    c = unet.config
    down = 2 ** (len(c.block_out_channels) - 1)
    n_ids = c.projection_class_embeddings_input_dim // c.addition_time_embed_dim
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, c.in_channels, down, down, generator=g)
    with torch.no_grad():
        out = unet(x, 10.0, torch.zeros(1, n_ids), 0).sample
        if not bool(torch.isfinite(out).all()):
            raise AssertionError(f"{path}: loaded, but its UNet gives non-finite outputs")
        latents = torch.randn(2, vae.config.latent_channels, 2, 2, generator=g)
        image = vae.decode(latents, num_frames=2).sample
        if not bool(torch.isfinite(image).all()):
            raise AssertionError(f"{path}: loaded, but its VAE decodes to non-finite images")
    scheduler.set_timesteps(3)
    sigmas = getattr(scheduler, "sigmas", None)
    if sigmas is not None and not bool(torch.isfinite(torch.as_tensor(sigmas)).all()):
        raise AssertionError(f"{path}: loaded, but its scheduler's sigmas are not finite")


# ---------------------------------------------------------------------------------------------------------------
# train-config
# ---------------------------------------------------------------------------------------------------------------


def _config_seeds(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    seeds = []
    for name in ("tiny.yaml", "tiny_vae.yaml"):
        shutil.copy2(REPO / "src" / "genxd" / "configs" / name, folder / name)
        seeds.append(folder / name)
    # a preset with a base, as genxd/configs/paper_stage1_1gpu.yaml: the pair travels as one folder, the child is read
    pair = folder / "with_base"
    pair.mkdir()
    shutil.copy2(REPO / "src" / "genxd" / "configs" / "tiny.yaml", pair / "tiny.yaml")
    (pair / "child.yaml").write_text(
        "# a preset on top of tiny.yaml\nbase: tiny.yaml\noutput_dir: outputs/child\n"
        "data:\n  num_frames: 6\n  height: 48\ntraining:\n  batch_size: 1\n  learning_rate: 2.0e-4\n"
        "  max_steps: 20\nconditioning:\n  context_corruption: 0.25\n")
    seeds.append(pair)
    return seeds


def _mutate_config(rng: random.Random, seed: Path, dest: Path) -> str:
    return mutate_copy(rng, seed, dest, kind="text" if rng.random() < 0.85 else "bytes")


def _finite_tree(tree, where: str = "") -> None:
    if isinstance(tree, float) and not math.isfinite(tree):
        raise AssertionError(f"read, but {where} is {tree}")
    if isinstance(tree, dict):
        for k, val in tree.items():
            _finite_tree(val, f"{where}.{k}" if where else str(k))
    elif isinstance(tree, list):
        for i, val in enumerate(tree):
            _finite_tree(val, f"{where}[{i}]")


def read_config(path: Path) -> None:
    """``load_config`` as ``genxd train`` / ``train-vae`` call it (the kind from the file name)."""
    from genxd.training.config import config_to_dict, load_config

    file = path / "child.yaml" if path.is_dir() else path
    cfg = load_config(file, overrides=None, kind="vae" if "vae" in file.name else "genxd")
    _finite_tree(config_to_dict(cfg))


# ---------------------------------------------------------------------------------------------------------------
# curate-index
# ---------------------------------------------------------------------------------------------------------------


def _curate_seeds(folder: Path) -> list[Path]:
    """An input folder of three frame folders and an output folder where all three are done, as a run writes it:
    ``a`` and ``b`` recorded ``ok`` in ``index.jsonl``, ``c`` renamed into place but its index line never written
    (the run died), plus an earlier failed attempt of ``a``."""
    import numpy as np
    from PIL import Image

    from genxd.curation.dataset import append_index
    from genxd.curation.frames import VideoSource
    from genxd.curation.pipeline import video_record

    seed = folder / "curate"
    (seed / "curated").mkdir(parents=True)
    for vid in ("clip_a", "clip_b", "clip_c"):
        frames = seed / "videos" / vid
        frames.mkdir(parents=True)
        for i in range(2):
            Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(frames / f"{i:03d}.png")
        sample = seed / "curated" / vid
        sample.mkdir()
        (sample / "meta.json").write_text(json.dumps({
            "video_id": vid, "source": str(frames), "verdict": "static" if vid != "clip_b" else "dynamic",
            "motion_strength": 0.4 if vid != "clip_b" else 7.5, "num_frames": 2, "num_registered": 2,
            "mean_reprojection_error": 0.61, "frames": [{"name": "000.png", "source_index": 0},
                                                        {"name": "001.png", "source_index": 1}],
            "timings": {"frames": 0.01, "sfm": 1.2}}, indent=2))
    src = {vid: VideoSource(vid, seed / "videos" / vid, "frames") for vid in ("clip_a", "clip_b", "clip_c")}
    append_index(seed / "curated", video_record(src["clip_a"], "failed", stage="sfm", reason="too few registered frames",
                                            seconds=1.5))
    for vid in ("clip_a", "clip_b"):
        meta = json.loads((seed / "curated" / vid / "meta.json").read_text())
        append_index(seed / "curated", video_record(
            src[vid], "ok", verdict=meta["verdict"], motion_strength=meta["motion_strength"], num_frames=2,
            num_registered=2, mean_reprojection_error=0.61, seconds=2.5))
    return [seed]


def _mutate_curate(rng: random.Random, seed: Path, dest: Path) -> str:
    r = rng.random()
    if r < 0.35:
        return mutate_copy(rng, seed, dest, kind="json" if rng.random() < 0.8 else "bytes",
                           pick=lambda p: p.name == "meta.json")
    shutil.copytree(seed, dest)
    index = dest / "curated" / "index.jsonl"
    if r < 0.8:  # one line as a JSON tree
        lines = index.read_text().splitlines(keepends=True)
        i = rng.randrange(len(lines))
        tree, what = mutate_json(rng, json.loads(lines[i]))
        lines[i] = json.dumps(tree, allow_nan=True) + "\n"
        index.write_text("".join(lines))
        return f"curated/index.jsonl line {i + 1}: {what}"
    if r < 0.9:
        text, what = mutate_text(rng, index.read_text())
        index.write_text(text)
        return f"curated/index.jsonl: {what}"
    data, what = mutate_bytes(rng, index.read_bytes())
    index.write_bytes(data)
    return f"curated/index.jsonl: {what}"


def resume_curation(path: Path) -> None:
    """``curate_dataset`` on a done output folder: reads ``index.jsonl`` and the ``meta.json`` of videos
    without an ``ok`` line, decides what to skip, curates nothing (every video has its ``meta.json``)."""
    from genxd.curation.dataset import curate_dataset, latest_records

    summary = curate_dataset(path / "videos", path / "curated", progress=False)
    if summary.ok:
        raise AssertionError(f"{path}: a done folder was curated again ({summary.to_dict()})")
    for record in summary.records:  # a damaged meta.json is recorded as a failure of its video: its reason
        if record.get("status") != "ok":
            if record.get("stage") != "output":
                raise AssertionError(f"{path}: a done video was curated again ({record})")
            raise ValueError(record["reason"])
    latest_records(path / "curated")


# ---------------------------------------------------------------------------------------------------------------
# reconfusion-scene
# ---------------------------------------------------------------------------------------------------------------


def _reconfusion_seeds(folder: Path) -> list[Path]:
    import torch

    from genxd.cameras import trajectories
    from genxd.data.reconfusion import write_reconfusion_scene

    c2w, K = trajectories.orbit(num_frames=6)
    g = torch.Generator().manual_seed(0)
    images = torch.rand(6, 3, 8, 12, generator=g)
    one = folder / "rf_one_scene"
    write_reconfusion_scene(one, "scene_a", images, c2w, K, {3: ([0, 2, 4], [1, 3, 5]), 2: ([0, 5], [1, 2, 3, 4])},
                            extras={"poses_bounds": torch.rand(6, 17, generator=g)})
    two = folder / "rf_two_scenes"
    write_reconfusion_scene(two, "scene_a", images, c2w, K, {3: ([0, 2, 4], [1, 3, 5])})
    write_reconfusion_scene(two, "scene_b", images[:4], c2w[:4], K[:4], {3: ([0, 1, 2], [3])})
    return [one, two]


def _tree_of(value):
    import torch

    if torch.is_tensor(value):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _tree_of(val) for k, val in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tree_of(val) for val in value]
    return value


def _mutate_reconfusion(rng: random.Random, seed: Path, dest: Path) -> str:
    import torch

    r = rng.random()
    if r < 0.3:
        return mutate_copy(rng, seed, dest, kind="json", pick=lambda p: p.name == "index.json")
    if r < 0.45:
        return mutate_copy(rng, seed, dest, kind="bytes", pick=lambda p: p.suffix == ".torch")
    shutil.copytree(seed, dest)
    file = rng.choice(sorted(dest.glob("*.torch")))
    scene = torch.load(file, weights_only=True)[0]
    # the camera rows and the splits as a JSON tree (the images stay tensors: their count, not their bytes)
    fields = [k for k in scene if k not in ("images", "key")]
    tree = {k: _tree_of(scene[k]) for k in fields}
    tree["images"] = list(range(len(scene["images"])))
    new, what = mutate_json(rng, tree)
    out: dict = {"key": scene["key"]}
    if isinstance(new, dict):
        for k, val in new.items():
            if k == "images" and isinstance(val, list):
                out[k] = [scene["images"][i] if isinstance(i, int) and not isinstance(i, bool)
                          and 0 <= i < len(scene["images"]) else torch.as_tensor([1, 2, 3], dtype=torch.uint8)
                          for i in val]
            elif k == "cameras" and isinstance(val, list):
                try:
                    out[k] = torch.tensor(val, dtype=torch.float32)
                except (TypeError, ValueError, RuntimeError):
                    out[k] = val
            else:
                out[k] = val
    else:
        out = new
    torch.save([out], file)
    return f"{file.name}: {what}"


def read_reconfusion(path: Path) -> None:
    """What ``genxd reconstruct`` (``load_views``, ``reconfusion_split``) and ``genxd fewshot``
    (``load_reconfusion``) read; every split's ids must index the scene's views, the cameras be finite."""
    import torch

    from genxd.data.reconfusion import load_reconfusion, read_reconfusion_index
    from genxd.reconstruction.views import load_views, reconfusion_split

    scenes = load_reconfusion(path)
    for key in read_reconfusion_index(path):
        views = load_views(path, resolution=None, scene_key=key)
        if not (bool(torch.isfinite(views.c2w).all()) and bool(torch.isfinite(views.K).all())):
            raise AssertionError(f"{path}: scene {key!r} read with non-finite cameras")
        for n in scenes[key].splits:
            _, train, test = reconfusion_split(path, key, n)
            if any(not 0 <= i < len(views) for i in train + test):
                raise AssertionError(f"{path}: split {n} of {key!r} read with ids outside {len(views)} views")


TARGETS = [
    FuzzTarget("model-folder", "model folders (generation_config.json, unet/vae/scheduler configs, safetensors): "
               "model_info + load_model + a tiny UNet/VAE call", _model_seeds, _mutate_model, load_and_run_model,
               allowed=ALLOWED),
    FuzzTarget("train-config", "training YAML presets (with and without base:), text-token and byte mutations",
               _config_seeds, _mutate_config, read_config, allowed=ALLOWED),
    FuzzTarget("curate-index", "genxd curate's resume records: index.jsonl lines and meta.json of a done output "
               "folder", _curate_seeds, _mutate_curate, resume_curation, allowed=ALLOWED),
    FuzzTarget("reconfusion-scene", "ReconFusion torch folders: index.json, scene cameras / splits / images",
               _reconfusion_seeds, _mutate_reconfusion, read_reconfusion, allowed=ALLOWED),
]
