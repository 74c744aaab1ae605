"""The user-facing jobs, from Python: ``genxd.generate(...)`` and ``genxd.fewshot(...)``.

The ``genxd`` command line calls exactly these functions. Each scene is written to its own folder
(atomically: a folder appears complete or not at all):

- ``video.mp4``: the generated frames; ``compare.mp4``: input (or ground truth) | generated;
- ``frames/000.png ...``: every frame;
- ``cameras.json``: the authors' format (pixel ``fx, fy, cx, cy``, ``height``, ``width``,
  ``cameras``: world-to-camera 3x4 per frame); ``cameras_rel.json``: world-to-camera 3x4 relative
  to the first context view (the authors' ``_rel.json``); ``transforms.json``: nerfstudio;
- ``meta.json``: the settings used; ``target_indices.json`` for few-shot scenes.
"""

from __future__ import annotations

import inspect
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import torch
from torch import Tensor

from .cameras import formats, relative_poses, trajectories
from .pipelines.distributed import GenerationError, ProcessGroup, SceneResult, failed_result, write_summary
from .utils.images import Fit, collect_images, load_image, save_png, tensor_to_uint8
from .utils.io import atomic_dir, write_json_atomic
from .utils.video import write_mp4

BUNDLED_MODEL_DIR = Path(__file__).parent / "assets" / "genxd-small"
GENERATION_CONFIG = "generation_config.json"

#: Defaults when the model folder has no ``generation_config.json`` (the released model's settings).
RELEASED_DEFAULTS = {"resolution": 256, "num_frames": 12, "num_inference_steps": 25, "guidance_scale": 3.0}


def default_model_path() -> Path | None:
    """The small model shipped inside the package, if present."""
    return BUNDLED_MODEL_DIR if (BUNDLED_MODEL_DIR / "unet").is_dir() else None


def pick_device(device: str | None) -> torch.device:
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda asked for, but CUDA is not available")
    return dev


def pick_dtype(dtype: str | torch.dtype | None, device: torch.device) -> torch.dtype:
    """Default: bfloat16 on CUDA (the fast path), float32 on CPU."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype in (None, "auto"):
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    table = {"fp32": torch.float32, "float32": torch.float32, "bf16": torch.bfloat16, "bfloat16": torch.bfloat16,
             "fp16": torch.float16, "float16": torch.float16}
    if dtype not in table:
        raise ValueError(f"dtype must be one of {sorted(table)}, got {dtype!r}")
    return table[dtype]


@dataclass
class LoadedModel:
    pipe: "object"
    path: Path
    defaults: dict
    bundled: bool


def load_model(model: str | Path | None, device: str | None = None, dtype: str | torch.dtype | None = None,
               fast: bool | None = None, compile_unet: bool = False, offload: str = "none") -> LoadedModel:
    """Load a GenXD pipeline (``model`` None: the bundled small model) onto ``device``.

    ``fast`` (default: on for CUDA) turns on the GPU fast path (:mod:`genxd.pipelines.fast`: bf16, CUDA-graph
    replays, channels-last, the zero-weight temporal path skipped in 3D); ``compile_unet`` adds
    ``torch.compile`` of the UNet's blocks: about 1.5x faster UNet calls on an H100 after a warm-up of about
    1.5 minutes per image size the first time (cached on disk). ``offload`` (CUDA): ``"model"`` keeps only the
    model in use on the GPU, ``"group"`` also streams the UNet block by block (:mod:`genxd.pipelines.offload`).
    Memory defaults (:func:`genxd.pipelines.memory.configure_memory`): VAE decoding in windows sized by the
    image (the whole clip at the bundled model's size).
    """
    from .pipelines import GenXDPipeline, resolve_checkpoint
    from .pipelines.memory import configure_memory
    from .pipelines.offload import OFFLOAD_MODES

    if offload not in OFFLOAD_MODES:
        raise ValueError(f"offload must be one of {', '.join(OFFLOAD_MODES)}; got {offload!r}")

    bundled = model is None
    if bundled:
        path = default_model_path()
        if path is None:
            from .pipelines import DOWNLOAD_HINT

            raise FileNotFoundError(
                "no --model given and no bundled model in this installation; get the released one with: "
                + DOWNLOAD_HINT
            )
    else:
        path = resolve_checkpoint(model)
    dev = pick_device(device)
    dt = pick_dtype(dtype, dev)
    use_fast = fast if fast is not None else dev.type == "cuda"
    if offload != "none" and not (dev.type == "cuda" and use_fast):
        raise ValueError("--offload needs a CUDA GPU (it moves weights between the GPU and the host)")
    pipe = GenXDPipeline.from_pretrained(path, torch_dtype=dt)
    if offload == "none":
        pipe.to(dev)  # with offload the weights stay on the host until used
    defaults = dict(RELEASED_DEFAULTS)
    cfg = Path(path) / GENERATION_CONFIG
    if cfg.is_file():
        defaults.update(json.loads(cfg.read_text()))
    if use_fast:
        from .pipelines.fast import enable_fast_path

        # the UNet keeps the chosen dtype (--dtype fp32: the authors' numerics, still replayed as a graph)
        enable_fast_path(pipe, dtype=dt, compile=compile_unet, offload=offload, device=dev)
    elif dev.type == "cpu":
        from .pipelines.fast import enable_cpu_path

        enable_cpu_path(pipe)  # the exact 3D skip and channels-last convolutions
    configure_memory(pipe)  # decoding windows by image size
    return LoadedModel(pipe=pipe, path=Path(path), defaults=defaults, bundled=bundled)


def _call_with_known_kwargs(fn, **kwargs):
    params = inspect.signature(fn).parameters
    return fn(**{k: v for k, v in kwargs.items() if k in params and v is not None})


def camera_trajectory(camera: str | Path, num_frames: int, focal: float | None = None, elevation: float | None = None,
                      azimuth_range: tuple[float, float] | None = None, radius: float | None = None) -> tuple[Tensor, Tensor]:
    """Target cameras ``(c2w [F,4,4], K [F,3,3])`` from a preset name or a camera-path file.

    Files: the authors' camera JSON (``cameras`` key) or a nerfstudio ``transforms.json``
    (``frames`` key); their own frame count is used.
    """
    path = Path(str(camera))
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise FileNotFoundError(f"{path}: camera path file not found")
        data = json.loads(path.read_text())
        loaded = formats.load_transforms_json(path) if "frames" in data else formats.load_camera_json(path)
        return loaded.c2w.float(), loaded.K.float()
    name = str(camera)
    if name not in trajectories.PRESETS:
        raise ValueError(f"--camera must be one of {sorted(trajectories.PRESETS)} or a .json camera path, got {name!r}")
    return _call_with_known_kwargs(
        trajectories.PRESETS[name], num_frames=num_frames, focal=focal, elevation=elevation,
        azimuth_range=tuple(azimuth_range) if azimuth_range is not None else None, radius=radius,
    )


def write_scene(folder: Path, frames: Tensor, c2w: Tensor, K: Tensor, context_index: Sequence[int],
                left: Tensor, meta: dict, fps: float, target_indices: Sequence[int] | None = None) -> Path:
    """Write one scene's outputs into ``folder`` (created atomically; replaced if it exists).

    ``frames [F,3,H,W]`` in [0, 1]; ``left [F,3,H,W]`` is shown beside them in ``compare.mp4``.
    """
    f, _, h, w = frames.shape
    with atomic_dir(folder) as tmp:
        (tmp / "frames").mkdir()
        names = [f"frames/{i:03d}.png" for i in range(f)]
        for name, fr in zip(names, frames):
            save_png(tmp / name, fr)
        write_mp4(tmp / "video.mp4", tensor_to_uint8(frames), fps=fps)
        write_mp4(tmp / "compare.mp4", tensor_to_uint8(torch.cat([left, frames], dim=-1)), fps=fps)
        formats.save_camera_json(tmp / "cameras.json", c2w, K, h, w)
        rel = relative_poses(c2w.double(), c2w[context_index[0]].double())
        formats.save_w2c_list_json(tmp / "cameras_rel.json", rel)
        formats.save_transforms_json(tmp / "transforms.json", c2w, K, h, w, file_paths=names)
        if target_indices is not None:
            write_json_atomic(tmp / "target_indices.json", [int(i) for i in target_indices])
        write_json_atomic(tmp / "meta.json", {**meta, "context_index": [int(i) for i in context_index]})
    return folder


def _unique_names(paths: Sequence[Path]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        stem = p.stem
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        out.append(stem if n == 0 else f"{stem}_{n}")
    return out


@dataclass
class GenerateSettings:
    """Settings of :func:`generate` (``None`` = the model's default)."""

    camera: str = "orbit"
    mode: str = "3d"
    motion_strength: float = 0.0
    num_frames: int | None = None
    resolution: int | None = None
    num_inference_steps: int | None = None
    guidance_scale: float | None = None
    seed: int = 0
    focal: float | None = None
    elevation: float | None = None
    azimuth_range: tuple[float, float] | None = None
    radius: float | None = None
    fit: Fit = "crop"
    fps: float | None = None
    batch_size: int = 1
    scheduler: str | None = None  # sampler (genxd.pipelines.schedulers); None: the model's default
    decode_chunk: int | None = None  # frames per VAE decoding window; None: by image size
    sequential_guidance: bool = False  # guidance branches as two UNet calls (less memory)
    extra: dict = field(default_factory=dict)


def generate_scenes(
    images: str | Path | Iterable[str | Path],
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    compile_unet: bool = False,
    offload: str = "none",
    overwrite: bool = False,
    skip_existing: bool = False,
    summary: str | Path | None = None,
    progress: bool = True,
    loaded: LoadedModel | None = None,
    **settings,
) -> list[SceneResult]:
    """Like :func:`generate`, but a failed input is recorded and the others still run.

    Under ``accelerate launch`` (several processes) each process generates its share of the inputs
    (:class:`genxd.pipelines.distributed.ProcessGroup`); every process returns the results of all inputs.

    Args:
        skip_existing: leave existing output folders as they are (status ``skipped``) instead of refusing.
        summary: where the main process writes the job summary JSON (``None``: none).
        offload: ``"none"``, ``"model"`` or ``"group"`` (CUDA; :func:`load_model`).
    Returns:
        one :class:`SceneResult` per input, in input order (``status`` written / skipped / failed).
    Raises:
        ValueError / FileNotFoundError / FileExistsError for problems of the whole job (bad settings,
        missing input path, no model, existing outputs without ``overwrite`` / ``skip_existing``).
    """
    from tqdm.auto import tqdm

    unknown = set(settings) - set(GenerateSettings.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown generate() settings: {sorted(unknown)}")
    s = GenerateSettings(**settings)
    if isinstance(images, (str, Path)):
        images = [images]
    paths = collect_images(images)
    out_dir = Path(out_dir)
    folders = [out_dir / n for n in _unique_names(paths)]
    todo = _check_existing(folders, overwrite, skip_existing)
    if s.batch_size < 1:
        raise ValueError("batch_size must be >= 1")

    group = ProcessGroup(device)
    rank = group.process_index
    lm = loaded or load_model(model, group.device(device), dtype, compile_unet=compile_unet, offload=offload)
    pipe, d = lm.pipe, lm.defaults
    scheduler = s.scheduler or d.get("scheduler", "euler")
    pipe.set_scheduler(scheduler)  # ValueError for an unknown name
    from .pipelines.memory import configure_memory

    configure_memory(pipe, decode_chunk=s.decode_chunk or "auto", sequential_guidance=s.sequential_guidance,
                     offload="none")  # offload was applied at loading
    res = int(s.resolution or d["resolution"])
    if res % pipe.latent_multiple:
        raise ValueError(f"--resolution must be a multiple of {pipe.latent_multiple} for this model, got {res}")
    num_frames = int(s.num_frames or d["num_frames"])
    steps = int(s.num_inference_steps or d["num_inference_steps"])
    guidance = float(s.guidance_scale if s.guidance_scale is not None else d["guidance_scale"])
    focal = s.focal if s.focal is not None else d.get("focal")
    c2w, K = camera_trajectory(s.camera, num_frames, focal, s.elevation, s.azimuth_range, s.radius)
    num_frames = c2w.shape[0]
    if num_frames < 2:
        raise ValueError("the camera path needs at least 2 frames")
    fps = s.fps or max(1.0, num_frames / 2)
    meta_common = {
        "model": "bundled:genxd-small" if lm.bundled else str(lm.path), "camera": str(s.camera), "mode": s.mode,
        "motion_strength": s.motion_strength, "scheduler": scheduler, "num_inference_steps": steps,
        "guidance_scale": guidance,
        "resolution": res, "num_frames": num_frames, "fit": s.fit, "process_index": rank,
        "num_processes": group.num_processes,
    }
    # every process has checked the existing outputs before any process writes one
    group.wait_for_everyone()

    results = [SceneResult(i, str(paths[i]), str(folders[i]), "skipped", process_index=rank)
               for i in range(len(paths)) if i not in todo] if group.is_main_process else []
    mine = group.split(todo)
    show = progress and group.is_main_process
    pipe.set_progress_bar_config(disable=not show, leave=False, desc="denoising")
    bar = tqdm(total=len(mine), desc="scenes" if group.num_processes == 1 else f"scenes (process 0 of {group.num_processes})",
               unit="scene", disable=not show)
    tensors: dict[int, Tensor] = {}
    for i in mine:  # decode first: a bad file fails alone, before the generation starts
        try:
            tensors[i] = load_image(paths[i], res, res, s.fit)
        except Exception as exc:  # noqa: BLE001 - recorded, the other inputs go on
            results.append(failed_result(i, str(paths[i]), str(folders[i]), exc, rank))
            bar.update()
    ready = [i for i in mine if i in tensors]
    for start in range(0, len(ready), s.batch_size):
        idx = ready[start:start + s.batch_size]
        started = time.time()
        try:
            batch = torch.stack([tensors[i] for i in idx])[:, None]  # B 1 3 H W
            gens = [torch.Generator(device="cpu").manual_seed(s.seed + i) for i in idx]
            out = pipe(
                context_images=batch, target_c2w=c2w, target_K=K, context_index=[0], mode=s.mode,
                motion_strength=s.motion_strength, num_inference_steps=steps, guidance_scale=guidance,
                generator=gens, output_type="pt",
            )
        except Exception as exc:  # noqa: BLE001
            results += [_timed(failed_result(i, str(paths[i]), str(folders[i]), exc, rank), started) for i in idx]
            bar.update(len(idx))
            continue
        for j, i in enumerate(idx):
            try:
                meta = {**meta_common, "input": str(paths[i]), "seed": s.seed + i}
                left = tensors[i][None].expand(num_frames, -1, -1, -1)
                write_scene(folders[i], out.frames[j].cpu(), c2w, K, [0], left, meta, fps)
                results.append(_timed(SceneResult(i, str(paths[i]), str(folders[i]), "written", process_index=rank),
                                      started))
            except Exception as exc:  # noqa: BLE001
                results.append(_timed(failed_result(i, str(paths[i]), str(folders[i]), exc, rank), started))
            bar.update()
    bar.close()
    results = group.gather(results)
    if summary is not None and group.is_main_process:
        write_summary(summary, results, group.num_processes, {"command": "generate", "out": str(out_dir)})
    return results


def _timed(result: SceneResult, started: float) -> SceneResult:
    """``result`` with its wall-clock span (sampling started, output written): job throughput from the summary."""
    result.started_at, result.finished_at = started, time.time()
    return result


def _check_existing(folders: Sequence[Path], overwrite: bool, skip_existing: bool) -> list[int]:
    """Indices of the outputs to write; refuse existing ones unless ``overwrite`` or ``skip_existing``."""
    if overwrite and skip_existing:
        raise ValueError("--overwrite and --skip-existing contradict each other: choose one")
    existing = [i for i, f in enumerate(folders) if f.exists()]
    if existing and not (overwrite or skip_existing):
        raise FileExistsError(f"output already exists: {folders[existing[0]]} (use --overwrite to replace it "
                              "or --skip-existing to keep it)")
    return [i for i in range(len(folders)) if not (skip_existing and i in existing)]


def generate(
    images: str | Path | Iterable[str | Path],
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    device: str | None = None,
    dtype: str | None = None,
    compile_unet: bool = False,
    offload: str = "none",
    overwrite: bool = False,
    skip_existing: bool = False,
    progress: bool = True,
    loaded: LoadedModel | None = None,
    **settings,
) -> list[Path]:
    """Generate a 3D (or video / 4D) scene from each input image along a camera path.

    Args:
        images: image files and/or folders of images; each image is its own scene (frame 0).
        out_dir: one sub-folder per image (named after it) is written here.
        model: checkpoint folder or cached hub id; None = the bundled small model.
        skip_existing: keep existing output folders (not regenerated) instead of refusing them.
        settings: fields of :class:`GenerateSettings` (``camera="orbit"|"forward"|...|path.json``,
            ``mode="3d"|"video"|"4d"``, ``motion_strength``, ``num_frames``, ``resolution``,
            ``num_inference_steps``, ``guidance_scale``, ``seed``, ``focal``, ``elevation``,
            ``azimuth_range``, ``radius``, ``fit="crop"|"pad"``, ``batch_size``, ``scheduler``, ``decode_chunk``,
            ``sequential_guidance``).
        offload: ``"none"``, ``"model"`` or ``"group"`` (CUDA, small GPUs; :func:`load_model`).
    Returns:
        the scene folders written (under ``accelerate launch``: by all processes).
    Raises:
        GenerationError after the other inputs are written, when some inputs failed (a bad image ...).
    """
    results = generate_scenes(images, out_dir, model, device=device, dtype=dtype, compile_unet=compile_unet, offload=offload,
                              overwrite=overwrite, skip_existing=skip_existing, progress=progress, loaded=loaded, **settings)
    if any(r.status == "failed" for r in results):
        raise GenerationError(results)
    return [Path(r.output) for r in results if r.status == "written"]


def fewshot_scenes(
    data_root: str | Path,
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    strategy: str = "direct",
    pose_dir: str | Path | None = None,
    n_views: int = 9,
    num_context: int = 3,
    num_frames: int | None = None,
    resolution: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    save_target_only: bool = False,
    pad_to_square: bool = False,
    device: str | None = None,
    dtype: str | None = None,
    compile_unet: bool = False,
    overwrite: bool = False,
    skip_existing: bool = False,
    summary: str | Path | None = None,
    progress: bool = True,
    loaded: LoadedModel | None = None,
) -> list[SceneResult]:
    """Like :func:`fewshot`, but a failed group is recorded and the others still run; one result per group.

    Under ``accelerate launch`` each process generates its share of the groups; ``input`` of a result is the
    group name (its output folder). ``skip_existing`` / ``summary``: as :func:`generate_scenes`.
    """
    from tqdm.auto import tqdm

    from .data.reconfusion import load_reconfusion
    from .fewshot import build_fewshot_groups

    group = ProcessGroup(device)
    rank = group.process_index
    lm = loaded or load_model(model, group.device(device), dtype, compile_unet=compile_unet)
    d = lm.defaults
    res = int(resolution or d["resolution"])
    num_frames = int(num_frames or d["num_frames"])
    steps = int(num_inference_steps or d["num_inference_steps"])
    guidance = float(guidance_scale if guidance_scale is not None else d["guidance_scale"])
    scenes = load_reconfusion(data_root)
    if not scenes:
        raise ValueError(f"{data_root}: no scenes in index.json")
    groups = build_fewshot_groups(
        scenes, strategy=strategy, pose_dir=pose_dir, n_views=n_views, num_context=num_context,
        num_frames=num_frames, resolution=res, pad_to_square=pad_to_square,
    )
    out_dir = Path(out_dir)
    folders = [out_dir / g.name for g in groups]
    labels = [g.name for g in groups]
    todo = _check_existing(folders, overwrite, skip_existing)
    # every process has checked the existing outputs before any process writes one
    group.wait_for_everyone()

    results = [SceneResult(i, labels[i], str(folders[i]), "skipped", process_index=rank)
               for i in range(len(groups)) if i not in todo] if group.is_main_process else []
    show = progress and group.is_main_process
    lm.pipe.set_progress_bar_config(disable=not show, leave=False, desc="denoising")
    for gi in tqdm(group.split(todo), desc="groups", unit="group", disable=not show):
        g = groups[gi]
        try:
            out = lm.pipe(
                context_images=g.context_images[None], target_c2w=g.c2w[None], target_K=g.K[None],
                context_index=g.context_index[None], mode="3d", motion_strength=0.0, num_inference_steps=steps,
                guidance_scale=guidance, generator=torch.Generator().manual_seed(seed + gi), output_type="pt",
            )
            frames, c2w, K, left = out.frames[0].cpu(), g.c2w, g.K, g.reference_frames
            keep = list(range(num_frames))
            if save_target_only:
                ctx = set(g.context_index.tolist())
                keep = [i for i in keep if i not in ctx]
            frames, c2w, K, left = frames[keep], c2w[keep], K[keep], left[keep]
            if pad_to_square and g.crop_box is not None:
                t, b, l, r = g.crop_box
                frames, left = frames[..., t:b, l:r], left[..., t:b, l:r]
                K = g.K_unpadded[keep]
            ctx_idx = [keep.index(i) for i in g.context_index.tolist() if i in keep] or [0]
            meta = {"scene": g.key, "strategy": strategy, "n_views": n_views, "num_context": num_context,
                    "num_inference_steps": steps, "guidance_scale": guidance, "seed": seed + gi,
                    "pad_to_square": pad_to_square, "save_target_only": save_target_only,
                    "model": "bundled:genxd-small" if lm.bundled else str(lm.path),
                    "process_index": rank, "num_processes": group.num_processes}
            tgt = [g.frame_source[i] for i in keep]
            write_scene(folders[gi], frames, c2w, K, ctx_idx, left, meta, fps=max(1.0, num_frames / 2),
                        target_indices=tgt)
            results.append(SceneResult(gi, labels[gi], str(folders[gi]), "written", process_index=rank))
        except Exception as exc:  # noqa: BLE001 - recorded, the other groups go on
            results.append(failed_result(gi, labels[gi], str(folders[gi]), exc, rank))
    results = group.gather(results)
    if summary is not None and group.is_main_process:
        write_summary(summary, results, group.num_processes, {"command": "fewshot", "out": str(out_dir)})
    return results


def fewshot(
    data_root: str | Path,
    out_dir: str | Path,
    model: str | Path | None = None,
    *,
    strategy: str = "direct",
    pose_dir: str | Path | None = None,
    n_views: int = 9,
    num_context: int = 3,
    num_frames: int | None = None,
    resolution: int | None = None,
    num_inference_steps: int | None = None,
    guidance_scale: float | None = None,
    seed: int = 0,
    save_target_only: bool = False,
    pad_to_square: bool = False,
    device: str | None = None,
    dtype: str | None = None,
    compile_unet: bool = False,
    overwrite: bool = False,
    skip_existing: bool = False,
    progress: bool = True,
    loaded: LoadedModel | None = None,
) -> list[Path]:
    """Generate views of ReconFusion-format scenes from their few-shot training views.

    ``strategy="direct"``: generate at the split's test views (groups of ``num_frames - num_context``
    targets); ``"grouped"``: along the trajectories fitted by ``genxd trajectory fit`` (``pose_dir``).
    See :mod:`genxd.fewshot` for the grouping rules (the authors' ``reconf_gen.py`` /
    ``reconf_group.py``). Returns the group folders written; raises :class:`GenerationError` (after the
    other groups are written) when some groups failed.
    """
    results = fewshot_scenes(
        data_root, out_dir, model, strategy=strategy, pose_dir=pose_dir, n_views=n_views, num_context=num_context,
        num_frames=num_frames, resolution=resolution, num_inference_steps=num_inference_steps,
        guidance_scale=guidance_scale, seed=seed, save_target_only=save_target_only, pad_to_square=pad_to_square,
        device=device, dtype=dtype, compile_unet=compile_unet, overwrite=overwrite, skip_existing=skip_existing, progress=progress,
        loaded=loaded,
    )
    if any(r.status == "failed" for r in results):
        raise GenerationError(results, "groups")
    return [Path(r.output) for r in results if r.status == "written"]


__all__ = ["generate", "fewshot", "generate_scenes", "fewshot_scenes", "SceneResult", "GenerationError", "load_model",
           "default_model_path", "camera_trajectory", "write_scene", "GenerateSettings", "LoadedModel", "asdict"]
