"""Few-shot 3D generation on ReconFusion-format scenes: how target views are grouped.

Follows the authors' ``dataset/reconf_gen.py`` (direct) and ``dataset/reconf_group.py`` (grouped):

- **direct**: the split's test views, padded to a multiple of ``T = num_frames - num_context`` by
  repeating the first ones, are cut into groups of ``T`` targets; the context views are the first
  ``num_context`` training views of the split.
- **grouped**: the poses fitted by ``genxd trajectory fit`` (``POSE_DIR/<key>/gen_poses_w2c.json``)
  are grouped around anchors chosen by farthest-point sampling of the camera centres (starting
  from the first training view); each group takes the ``T`` poses nearest its anchor and the
  ``num_context`` training views nearest the group's centroid.

Frames are laid out as the authors do: 3 context views at frames ``[0, T//2 + 1, F - 1]`` with the
targets between them (2 views: first and last; 1 view: first). All frames use the first context
view's intrinsics, but for the last frame of the 2-view layout, which keeps the second view's (as theirs).
Images are centre-cropped to a square (intrinsics adjusted) or, with ``pad_to_square``, padded with black
(then un-padded on output), and resized to ``resolution`` with PIL's LANCZOS on 8-bit values, as the
authors' loaders (and ``genxd generate``) resize.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import PIL.Image
import torch
import torch.nn.functional as F
from torch import Tensor

from .cameras import formats
from .validation import arg, setting, text_setting

if TYPE_CHECKING:
    from .data.reconfusion import ReconFusionScene


@dataclass
class FewshotGroup:
    """One generation: ``F`` frames, ``V`` context views (tensors on CPU, float32)."""

    key: str
    name: str
    context_images: Tensor  # [V, 3, R, R]
    c2w: Tensor  # [F, 4, 4]
    K: Tensor  # [F, 3, 3] normalised, for the square (padded or cropped) frame
    context_index: Tensor  # [V]
    reference_frames: Tensor  # [F, 3, R, R]: ground truth where known, else the nearest context view
    frame_source: list[int]  # dataset image index of each frame, -1 for a fitted pose
    crop_box: tuple[int, int, int, int] | None = None  # (top, bottom, left, right) of the unpadded image
    K_unpadded: Tensor | None = None


def _resize_lanczos(images: Tensor, size: int) -> Tensor:
    """Square ``images [N, 3, S, S]`` in [0, 1] resized to ``size x size`` with PIL's LANCZOS on their 8-bit values
    (rounded): :func:`genxd.utils.images.fit_image`, as the authors' ``crop_shim.rescale``."""
    from .utils.images import fit_image, pil_to_tensor, tensor_to_uint8

    resized = [pil_to_tensor(fit_image(PIL.Image.fromarray(np.ascontiguousarray(a)), size, size))
               for a in tensor_to_uint8(images)]
    return torch.stack(resized) if resized else images.new_zeros(0, 3, size, size)


def _square_intrinsics(K: Tensor, height: int, width: int, resolution: int,
                       pad: bool) -> tuple[Tensor, tuple | None, Tensor | None]:
    """``(K', box, K_unpadded)``: normalised ``K [N, 3, 3]`` of ``height x width`` images for their square frame
    (:func:`_square_pixels`), the unpadded image's pixel box in the ``resolution`` frame and its intrinsics (padding
    only; else None)."""
    H, W = height, width
    Kp = K.clone()
    if pad:
        S = max(H, W)
        top, left = (S - H) // 2, (S - W) // 2
        Kp[:, 0, 0], Kp[:, 0, 2] = K[:, 0, 0] * W / S, (K[:, 0, 2] * W + left) / S
        Kp[:, 1, 1], Kp[:, 1, 2] = K[:, 1, 1] * H / S, (K[:, 1, 2] * H + top) / S
        s = resolution / S
        t, l = round(top * s), round(left * s)
        box = (t, max(t + 1, round((top + H) * s)), l, max(l + 1, round((left + W) * s)))  # at least a pixel
        return Kp, box, _cropped_intrinsics(Kp, resolution, box)
    S = min(H, W)
    top, left = (H - S) // 2, (W - S) // 2
    Kp[:, 0, 0], Kp[:, 0, 2] = K[:, 0, 0] * W / S, (K[:, 0, 2] * W - left) / S
    Kp[:, 1, 1], Kp[:, 1, 2] = K[:, 1, 1] * H / S, (K[:, 1, 2] * H - top) / S
    return Kp, None, None


def _square_pixels(images: Tensor, resolution: int, pad: bool) -> Tensor:
    """``images [N, 3, H, W]`` made square (centred crop, or black padding with ``pad``) and resized to
    ``[N, 3, resolution, resolution]``; each image on its own (the same whether given one at a time or together)."""
    _, _, H, W = images.shape
    if pad:
        S = max(H, W)
        top, left = (S - H) // 2, (S - W) // 2
        images = F.pad(images, (left, S - W - left, top, S - H - top))
    else:
        S = min(H, W)
        top, left = (H - S) // 2, (W - S) // 2
        images = images[..., top : top + S, left : left + S]
    return _resize_lanczos(images, resolution)


def _square(images: Tensor, K: Tensor, resolution: int, pad: bool) -> tuple[Tensor, Tensor, tuple | None, Tensor | None]:
    """Make ``images [N,3,H,W]`` square (crop or pad) and resize; adjust normalised ``K [N,3,3]``."""
    Kp, box, K_unpadded = _square_intrinsics(K, images.shape[-2], images.shape[-1], resolution, pad)
    return _square_pixels(images, resolution, pad), Kp, box, K_unpadded


def _squared_scene(scene: ReconFusionScene, resolution: int, pad: bool) -> tuple[Tensor, Tensor, tuple | None, Tensor | None]:
    """:func:`_square` of a ReconFusion scene's images and intrinsics, decoding its encoded images one at a time
    (each squared and resized as it is decoded: a scene of many large photos is never held at its stored size)."""
    from .data.reconfusion import decode_scene_images

    K = scene.K.float()
    if scene.images is not None:  # decoded when loaded
        return _square(scene.images.float(), K, resolution, pad)
    images, (H, W) = decode_scene_images(scene.image_bytes, f"scene {scene.key!r}",
                                         downsize=lambda image: _square_pixels(image[None].float(), resolution, pad)[0])
    return (images, *_square_intrinsics(K, H, W, resolution, pad))


def _cropped_intrinsics(K: Tensor, size: int, box: tuple[int, int, int, int]) -> Tensor:
    """Normalised ``K [N, 3, 3]`` of ``size x size`` frames cropped to the pixel ``box`` (top, bottom, left, right):
    the un-padded output, whose box is rounded to pixels (the original image's ``K`` was up to 0.4 pixel off it)."""
    top, bottom, left, right = box
    out = K.clone()
    out[:, 0, 0], out[:, 0, 2] = K[:, 0, 0] * size / (right - left), (K[:, 0, 2] * size - left) / (right - left)
    out[:, 1, 1], out[:, 1, 2] = K[:, 1, 1] * size / (bottom - top), (K[:, 1, 2] * size - top) / (bottom - top)
    return out


def context_layout(num_context: int, num_frames: int) -> list[int]:
    """Frame positions of the context views (the authors' layout)."""
    t = num_frames - num_context
    if num_context == 1:
        return [0]
    if num_context == 2:
        return [0, num_frames - 1]
    if num_context == 3:
        return [0, t // 2 + 1, num_frames - 1]
    raise ValueError(f"num_context must be 1, 2 or 3, got {num_context}")


def _frame_intrinsics(K: Tensor, ctx_ids: list[int], layout: list[int], num_frames: int) -> Tensor:
    """``[F, 3, 3]``: the first context view's ``K`` at every frame, but at the last frame of the 2-view layout,
    which keeps the second view's (the authors' ``cat([cond_K[:1], target_K, cond_K[1:]])``)."""
    out = K[ctx_ids[0]][None].expand(num_frames, 3, 3).clone()
    if len(ctx_ids) == 2:
        out[layout[1]] = K[ctx_ids[1]]
    return out


def _farthest_point_indices(points: Tensor, n: int, start: int = 0) -> list[int]:
    chosen = [start]
    dist = torch.full((points.shape[0],), float("inf"), dtype=points.dtype)
    cur = start
    for _ in range(n - 1):
        dist = torch.minimum(dist, (points - points[cur]).square().sum(-1))
        cur = int(dist.argmax())
        chosen.append(cur)
    return chosen


def _missing_poses(pose_dir: Path, key: str, path: Path) -> str:
    """Why the fitted poses of scene ``key`` are not at ``path``: ``genxd trajectory fit --out OUT`` writes them to
    ``OUT/<data folder name>/<key>/``, so a ``pose_dir`` of ``OUT`` itself is named with the folder to give."""
    inside = sorted(d for d in pose_dir.iterdir() if d.is_dir() and (d / key / "gen_poses_w2c.json").is_file()) \
        if pose_dir.is_dir() else []
    if inside:
        return (f"{path}: fitted poses not found; genxd trajectory fit wrote them under its --out's folder named "
                f"after the data folder: {text_setting('pose_dir', inside[0])}")
    return f"{path}: fitted poses not found (run 'genxd trajectory fit' first)"


def build_fewshot_groups(scenes: dict, strategy: str, pose_dir: str | Path | None, n_views: int, num_context: int,
                         num_frames: int, resolution: int, pad_to_square: bool) -> list[FewshotGroup]:
    """All generation groups of all ``scenes`` (``{key: ReconFusionScene}``)."""
    if strategy not in ("direct", "grouped"):
        raise ValueError(f"strategy must be 'direct' or 'grouped', got {strategy!r}")
    if strategy == "grouped" and pose_dir is None:
        raise ValueError(f"the grouped strategy needs {arg('pose_dir')} (the output of 'genxd trajectory fit')")
    layout = context_layout(num_context, num_frames)
    t = num_frames - num_context
    if t < 1:
        raise ValueError(f"num_frames ({num_frames}) must exceed num_context ({num_context})")
    target_slots = [i for i in range(num_frames) if i not in layout]
    groups: list[FewshotGroup] = []
    for key, scene in scenes.items():
        if n_views not in scene.splits:
            have = ", ".join(str(k) for k in sorted(scene.splits)) or "none"
            raise ValueError(f"{setting('n_views', n_views)}: scene {key!r} has no train_test_split_{n_views} "
                             f"(has: {have})")
        train_ids, test_ids = scene.splits[n_views]
        if len(train_ids) < num_context:
            raise ValueError(f"scene {key!r}: split {n_views} has {len(train_ids)} training views, "
                             f"{setting('num_context', num_context)} needs {num_context}")
        sq_images, sq_K, box, K_unp = _squared_scene(scene, resolution, pad_to_square)
        c2w_all = scene.c2w.float()
        centres_train = c2w_all[train_ids, :3, 3]
        if strategy == "direct":
            tgt = list(test_ids)
            if len(tgt) % t:
                tgt = tgt + tgt[: t - len(tgt) % t]
                while len(tgt) % t:
                    tgt = tgt + tgt[: t - len(tgt) % t]
            target_sets = [(tgt[i : i + t], [train_ids[c] for c in range(num_context)]) for i in range(0, len(tgt), t)]
            fitted = torch.zeros(0, 4, 4)  # none: every target is a dataset view
        else:
            assert pose_dir is not None  # refused above for the grouped strategy
            path = Path(pose_dir) / key / "gen_poses_w2c.json"
            if path.is_dir():  # it said 'fitted poses not found (run genxd trajectory fit first)'
                raise IsADirectoryError(f"{path} is a folder, not a fitted pose file (genxd trajectory fit writes "
                                        f"a file there): give the {arg('pose_dir')} it wrote, or move the folder "
                                        f"away and run 'genxd trajectory fit' again")
            if not path.is_file():
                raise FileNotFoundError(_missing_poses(Path(pose_dir), key, path))
            fitted = formats.load_w2c_list_json(path).float()
            if len(fitted) < t:  # each group takes its t nearest poses: fewer left frames with an all-zero c2w
                raise ValueError(
                    f"{path}: {len(fitted)} fitted pose{'s' if len(fitted) != 1 else ''}, fewer than the {t} target "
                    f"frames of a group ({setting('num_frames', num_frames)} less {num_context} context views); fit "
                    f"at least {t} (genxd trajectory fit --num-points) or use fewer frames")
            centres = fitted[:, :3, 3]
            pts = torch.cat([centres_train[:1], centres])
            anchors = pts[_farthest_point_indices(pts, pts.shape[0] // t + 1, 0)]
            nearest = torch.cdist(anchors, centres).argsort(dim=1)[:, :t]
            target_sets = []
            for row in nearest:
                centroid = centres[row].mean(0, keepdim=True)
                ctx = torch.cdist(centroid, centres_train)[0].argsort()[:num_context].tolist()
                target_sets.append(([-1 - int(i) for i in row], [train_ids[c] for c in ctx]))
        for gi, (targets, ctx_ids) in enumerate(target_sets):
            c2w = torch.zeros(num_frames, 4, 4)
            ref = torch.zeros(num_frames, 3, resolution, resolution)
            source = [0] * num_frames
            for slot, cid in zip(layout, ctx_ids):
                c2w[slot], ref[slot], source[slot] = c2w_all[cid], sq_images[cid], cid
            for slot, tid in zip(target_slots, targets):
                if tid >= 0:
                    c2w[slot], ref[slot], source[slot] = c2w_all[tid], sq_images[tid], tid
                else:
                    c2w[slot] = fitted[-1 - tid]
                    near = torch.cdist(c2w[slot, :3, 3][None], c2w_all[ctx_ids, :3, 3])[0].argmin()
                    ref[slot], source[slot] = sq_images[ctx_ids[int(near)]], -1
            K = _frame_intrinsics(sq_K, ctx_ids, layout, num_frames)
            groups.append(
                FewshotGroup(
                    key=key, name=f"{key}_{strategy}_{gi:03d}", context_images=sq_images[ctx_ids],
                    c2w=c2w, K=K, context_index=torch.tensor(layout), reference_frames=ref, frame_source=source,
                    crop_box=box, K_unpadded=None if K_unp is None else _frame_intrinsics(K_unp, ctx_ids, layout, num_frames),
                )
            )
    return groups
