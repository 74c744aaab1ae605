"""Photo-textured training data: the photo sets, the photo-world renderer, the 'photo' dataset type."""

import importlib.util
import math

import numpy as np
import pytest
import torch

if importlib.util.find_spec("skimage") is None or importlib.util.find_spec("sklearn") is None:
    pytest.skip("needs the 'train-data' extra (scikit-image, scikit-learn): pip install -e '.[train-data]'", allow_module_level=True)

from genxd.cameras import intrinsics_from_focal, project_points  # noqa: E402
from genxd.data.datasets import build_dataset  # noqa: E402
from genxd.data.synthetic.photo_clips import make_photo_clip  # noqa: E402
from genxd.data.synthetic.photo_world import PhotoWorld, render_photo_world  # noqa: E402
from genxd.data.synthetic.photos import (  # noqa: E402
    HELD_OUT_PHOTOS,
    TRAINING_PHOTOS,
    Photo,
    PhotoPool,
    held_out_photos,
    photo_path,
)
from genxd.evaluation_photos import covered_psnr, homography_views  # noqa: E402


@pytest.fixture(scope="module")
def pool():
    return PhotoPool(TRAINING_PHOTOS[:3], max_side=256)


def test_held_out_photos_are_pinned_and_never_in_the_training_pool():
    assert {p.label for p in HELD_OUT_PHOTOS}.isdisjoint({p.label for p in TRAINING_PHOTOS})
    held = {str(photo_path(p)) for p in HELD_OUT_PHOTOS}
    assert held.isdisjoint({str(photo_path(p)) for p in TRAINING_PHOTOS})
    names = [n for n, img in held_out_photos()]
    assert names == ["astronaut", "chelsea", "coffee", "rocket", "china"]
    with pytest.raises(ValueError, match="held-out"):
        PhotoPool((HELD_OUT_PHOTOS[0],))
    # the same file under another name is refused by its content
    alias = Photo("renamed", HELD_OUT_PHOTOS[2].package, HELD_OUT_PHOTOS[2].relative)
    with pytest.raises(ValueError, match="content of a held-out photo"):
        PhotoPool((alias,))
    with pytest.raises(ValueError, match="not training photos"):
        build_dataset({"type": "photo", "length": 2, "photos": ["astronaut"]})


def test_crops_are_deterministic_and_sized(pool):
    a = pool.crop(np.random.default_rng(5), (24, 40))
    b = pool.crop(np.random.default_rng(5), (24, 40))
    c = pool.crop(np.random.default_rng(6), (24, 40))
    assert a.shape == (3, 24, 40) and torch.equal(a, b) and not torch.equal(a, c)
    assert 0.0 <= float(a.min()) and float(a.max()) <= 1.0


def _card_world(texture, depth=3.0, half=0.5, displacement=(0.0, 0.0, 0.0)):
    """One emissive card facing a camera at the origin that looks along +z (OpenCV axes = world axes)."""
    return PhotoWorld(
        textures=[texture, torch.zeros(3, 4, 4)], rect_centres=torch.tensor([[0.0, 0.0, depth]]),
        rect_u=torch.tensor([[1.0, 0.0, 0.0]]), rect_v=torch.tensor([[0.0, 1.0, 0.0]]),
        rect_half=torch.tensor([[half, half]]), rect_texture=torch.tensor([0]), rect_lit=torch.tensor([False]),
        rect_displacements=torch.tensor([list(displacement)]), sky_texture=1,
    )


def test_a_photo_card_lands_where_the_camera_model_projects_it():
    tex = torch.rand(3, 32, 32)
    world = _card_world(tex)
    K = intrinsics_from_focal(1.0)
    out = render_photo_world(world, torch.eye(4), K, 32, 32, supersample=1)
    card = out.object_id[0] == 1
    # the card spans [-0.5, 0.5] at depth 3: normalised image coordinates 0.5 +- 1/6, i.e. pixels 10.67..21.33
    uv, z = project_points(torch.tensor([[-0.5, -0.5, 3.0], [0.5, 0.5, 3.0]]), torch.eye(4), K)
    lo, hi = (uv[0] * 32).tolist(), (uv[1] * 32).tolist()
    cols = card.any(0).nonzero().flatten()
    assert int(cols.min()) == math.ceil(lo[0] - 0.5) and int(cols.max()) == math.floor(hi[0] - 0.5)
    torch.testing.assert_close(out.depth[0][card], torch.full((int(card.sum()),), 3.0), atol=1e-5, rtol=0)
    assert not bool(out.sky[0][card].any()) and bool(out.sky[0][~card].all())
    # emissive, unshaded: pixel 16 (u = 16.5 / 32) is at x = 3 * (u - 0.5) on the card, i.e. texture
    # coordinate (x / 0.5 + 1) / 2 = 0.546875 = the centre of texel 17 of 32
    torch.testing.assert_close(out.rgb[0, :, 16, 16], tex[:, 17, 17], atol=1e-4, rtol=0)


def test_a_turning_camera_sees_a_homography_of_the_photo_world(pool):
    clip = make_photo_clip(11, "3d", 4, 32, 32, pool=pool, layout="cards", camera="rotate", focal=1.1, supersample=3)
    assert float((clip.c2w[:, :3, 3] - clip.c2w[:1, :3, 3]).norm(dim=-1).max()) < 1e-5
    source = render_photo_world(clip.world, clip.c2w[:1], clip.K[:1], 96, 96, supersample=3).rgb[0]
    gt, covered = homography_views(source, clip.K[0], clip.c2w, clip.K, 32, 32, 3, c2w0=clip.c2w[0])
    psnr = covered_psnr(gt[1:], clip.images[1:], covered[1:])
    assert psnr > 30.0, psnr  # measured 46.0 dB (other seeds: 36.3, 34.9; sharp photo edges resample worst)


def test_photo_clips_are_deterministic_and_4d_cards_move(pool):
    a = make_photo_clip(4, "4d", 4, 24, 24, pool=pool, layout="cards", camera="static", supersample=1)
    b = make_photo_clip(4, "4d", 4, 24, 24, pool=pool, layout="cards", camera="static", supersample=1)
    assert torch.equal(a.images, b.images) and a.world.motion_strength > 0
    assert not torch.equal(a.images[0], a.images[-1])  # a static camera: only the cards moved
    s3 = make_photo_clip(5, "3d", 3, 24, 24, pool=pool, layout="world", supersample=1)
    assert s3.world.motion_strength == 0 and torch.equal(s3.times, torch.zeros(3))
    centres, rotations = s3.world.object_poses(torch.tensor([0.0, 1.0]))
    assert centres.shape == (2, s3.world.num_objects + s3.world.num_rects, 3) and rotations.shape[-2:] == (3, 3)


def test_photo_dataset_items_cache_and_motion(tmp_path):
    spec = {"type": "photo", "length": 4, "photos": [p.name for p in TRAINING_PHOTOS[:3]], "supersample": 1,
            "cache_dir": str(tmp_path)}
    data = build_dataset(spec, num_frames=4, height=16, seed=2)
    items = [data[i] for i in range(4)]
    assert [s["kind"] for s in items] == ["3d", "4d", "3d", "4d"]
    assert all(s["frames"].shape == (4, 3, 16, 16) and s["name"].startswith("photo-") for s in items)
    assert all(float(s["motion_strength"]) == 0 for s in items[::2])
    assert len(list(tmp_path.rglob("*.safetensors"))) == 4
    again = build_dataset(spec, num_frames=4, height=16, seed=2)
    assert torch.equal(again[1]["frames"], items[1]["frames"]) and torch.equal(again[1]["c2w"], items[1]["c2w"])
    with pytest.raises(ValueError, match="layouts"):
        build_dataset({"type": "photo", "layouts": ["beach"]})


def test_zoom_path_in_photo_cards_keeps_the_camera_still(pool):
    clip = make_photo_clip(3, "3d", 3, 16, 16, pool=pool, layout="cards", camera="zoom", supersample=1)
    assert float(clip.c2w[:, :3, 3].std(0).max()) < 1e-6
    assert not torch.allclose(clip.K[0], clip.K[-1])


def test_wide_orbits_cut_every_texture_from_one_photo_and_turn_far(pool):
    """``orbit_wide`` (issue 24, the orbit rows): 40-360 degrees about a card cluster, the camera never
    crosses a card or the backdrop, and every texture (cards, backdrop, panorama, floor) is one photo's."""
    used: list[int | None] = []

    class Recording(PhotoPool):
        def crop(self, rng, size, **kw):
            used.append(kw.get("photo"))
            return super().crop(rng, size, **kw)

    rec = Recording(TRAINING_PHOTOS[:3], max_side=256)
    spans = []
    for seed in range(6):
        used.clear()
        clip = make_photo_clip(seed, "3d", 8, 16, 16, pool=rec, layout="cards", camera="orbit_wide", supersample=1)
        assert len(set(used)) == 1 and used[0] is not None and len(used) == clip.world.sky_texture + 1 + (
            clip.world.ground_texture >= 0)
        eye = clip.c2w[:, :3, 3]
        centre = clip.world.rect_centres[: clip.world.num_rects - 1].mean(0)
        radius = (eye - centre).norm(dim=-1)
        card_reach = (clip.world.rect_centres[:-1] - centre).norm(dim=-1) + clip.world.rect_half[:-1].norm(dim=-1)
        assert float(card_reach.max()) < float(radius.min())  # the cards stay inside the camera's circle
        forward = clip.c2w[:, :3, 2]
        spans.append(math.degrees(math.acos(float((forward[0] * forward[-1]).sum().clamp(-1, 1)))))
    assert max(spans) > 40.0
    used.clear()
    make_photo_clip(0, "3d", 4, 16, 16, pool=rec, layout="cards", camera="orbit", supersample=1)
    assert used and all(p is None for p in used)  # the other paths draw a random photo per texture
    with pytest.raises(IndexError, match="out of range"):
        pool.crop(np.random.default_rng(0), 8, photo=3)
