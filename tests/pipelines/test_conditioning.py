"""build_conditions called by a researcher (docs/training.md names it as the function the pipeline and training
share): ints and lists are taken, a wrong shape is a ValueError naming the argument. Before, an int indicator
failed with "'int' object has no attribute 'to'", an index out of range or a batch dimension left out in a
scatter's RuntimeError, a list index with "'list' object has no attribute 'shape'"."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genxd.pipelines.conditioning import build_conditions


def _inputs(b: int = 2, f: int = 3) -> dict:
    c2w = torch.eye(4).repeat(b, f, 1, 1)
    c2w[..., 0, 3] = torch.linspace(0, 0.2, f)
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(b, f, 1, 1)
    return dict(context_latents=torch.randn(b, 1, 4, 8, 8, generator=torch.Generator().manual_seed(0)),
                context_index=torch.zeros(b, 1, dtype=torch.long), target_c2w=c2w, target_K=K,
                indicator=torch.full((b,), 2, dtype=torch.long), motion_strength=torch.full((b,), 3.0))


def test_ints_lists_and_scalars_give_the_same_conditions_as_tensors():
    want = build_conditions(**_inputs())
    got = build_conditions(**{**_inputs(), "context_index": [[0], [0]], "indicator": 2, "motion_strength": 3.0})
    for name in ("mask", "context_latents", "rays", "added_time_ids", "motion_ids", "indicator"):
        assert torch.equal(getattr(got, name), getattr(want, name)), name


@pytest.mark.parametrize("change, message", [
    (dict(context_latents=torch.zeros(1, 4, 8, 8)), r"^context_latents must be \[B, V, C, h, w\], got \(1, 4, 8, 8\)$"),
    (dict(context_index=torch.tensor([[5], [0]])), r"^context_index values must be frame indices in \[0, 3\), got \[\[5\], \[0\]\]$"),
    (dict(context_index=torch.tensor([0, 0])), r"^context_index must be integer \[B, V\] = \[2, 1\], got torch.int64 \(2,\)$"),
    (dict(target_c2w=torch.eye(4).repeat(3, 1, 1)), r"^target_c2w must be \[B=2, F, 4, 4\], got \(3, 4, 4\)$"),
    (dict(target_K=torch.eye(3).repeat(2, 2, 1, 1)), r"^target_K must be \[B, F, 3, 3\] = \[2, 3, 3, 3\], got \(2, 2, 3, 3\)$"),
    (dict(indicator=torch.tensor([0, 1, 2])), r"^indicator must be integer \[B=2\] \(0 = 3D, 1 = video, 2 = 4D\)"),
    (dict(indicator=7), r"^indicator values must be 0 \(3D\), 1 \(video\) or 2 \(4D\), got \[7, 7\]$"),
    (dict(motion_strength=torch.ones(3)), r"^motion_strength must be \[B=2\] or a scalar, got \(3,\)$"),
])
def test_a_wrong_input_names_the_argument(change, message):
    with pytest.raises(ValueError, match=message):
        build_conditions(**{**_inputs(), **change})


@pytest.mark.parametrize("change, message", [
    (dict(indicator=True), r"^indicator must be integer \[B=2\] \(0 = 3D, 1 = video, 2 = 4D\), got torch.bool \(2,\)$"),
    (dict(context_index=torch.zeros(2, 1, dtype=torch.bool)),
     r"^context_index must be integer \[B, V\] = \[2, 1\], got torch.bool \(2, 1\)$"),
    (dict(context_index=[[False], [True]]), r"^context_index must be integer .*, got torch.bool \(2, 1\)$"),
])
def test_booleans_are_no_indices_or_modes(change, message):
    """A bool indicator ended in torch.isin's RuntimeError; a bool context_index was taken as frames 0 and 1."""
    with pytest.raises(ValueError, match=message):
        build_conditions(**{**_inputs(), **change})


def test_rays_default_to_the_first_context_view_as_the_reference():
    """Without ``reference_c2w`` (training's call) the rays are relative to the first context view, which need not
    be the lowest frame: context frames (3, 1) make frame 3 the reference, where the camera sits at the origin, so its
    moments o x d are zero and its directions are the camera-space ones ((u - cx) / fx, (v - cy) / fy, 1), normalised.
    (The pipeline passes the reference, so the fixture cases did not check this default: the last context view
    passed them.)"""
    f, h, w = 5, 2, 4
    c2w = torch.eye(4).repeat(1, f, 1, 1)
    c2w[0, :, 0, 3] = 0.1 * torch.arange(f)  # cameras side by side, not turned
    K = torch.tensor([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]]).repeat(1, f, 1, 1)
    cond = build_conditions(torch.zeros(1, 2, 4, h, w), torch.tensor([[3, 1]]), c2w, K, 2, None)
    assert cond.mask[0, :, 0, 0, 0].tolist() == [0.0, 1.0, 0.0, 1.0, 0.0]
    direction, moment = cond.rays[0, :, :3], cond.rays[0, :, 3:]
    assert moment[3].abs().max() < 1e-7
    u = (torch.arange(w) + 0.5) / w - 0.5
    v = (torch.arange(h) + 0.5) / h - 0.5
    expected = torch.stack([u.expand(h, w), v[:, None].expand(h, w), torch.ones(h, w)])
    torch.testing.assert_close(direction[3], expected / expected.norm(dim=0))
    # frame 1 sits 0.2 to the reference's left (-x): o = (-0.2, 0, 0), so the moment is o x d = (0, 0.2 d_z, -0.2 d_y)
    d1 = direction[1]
    torch.testing.assert_close(moment[1], torch.stack([torch.zeros(h, w), 0.2 * d1[2], -0.2 * d1[1]]))


@pytest.mark.parametrize("names, case", [(("3d", "mv", "MV"), "mv"), (("video",), "video"), (("4d", "4D"), "4d")])
def test_mode_names_give_the_authors_indicators(reference_cases, names, case):
    """Each mode name (and the alias "mv", which the fixture cases never pass by name) gives the indicator that the
    authors' code used for that kind of case (``unet.<case>.indicator`` in the reference fixtures)."""
    from genxd.pipelines.conditioning import mode_to_indicator

    expected = reference_cases[f"unet.{case}.indicator"].unique().tolist()
    assert len(expected) == 1
    for name in names:
        assert mode_to_indicator(name) == expected[0], name


def test_added_time_ids_are_0_1_except_in_video_mode():
    """The added time ids per frame are [0, 1] in 3D and 4D and [0, 0] in video mode (the module's spec, from the
    authors' sampling code); the guidance's negative zeroes them. With the fixture model their effect on the UNet
    (3e-5) is below the parity tolerances, so ids swapped between the modes passed every parity test."""
    kw = _inputs(b=3)
    cond = build_conditions(**{**kw, "indicator": torch.tensor([0, 1, 2])})
    assert cond.added_time_ids.tolist() == [[[0.0, 1.0]] * 3, [[0.0, 0.0]] * 3, [[0.0, 1.0]] * 3]
    assert cond.unconditional().added_time_ids.abs().max() == 0


def test_the_guidance_negative_drops_every_condition_but_the_mask_and_mode():
    """The unconditional branch of classifier-free guidance (the module's spec, as the authors' sampling builds its
    negative) zeroes the context latents, rays, added time ids and motion ids, and keeps the mask and the mode.
    Found by mutation testing: a negative keeping the rays passed this file and test_objective (which builds its
    expectation with this same method); one keeping the motion strength moves the fixture model's 4D latents by
    7e-4, under the parity tolerance (1e-2)."""
    cond = build_conditions(**_inputs())
    unc = cond.unconditional()
    assert cond.context_latents.abs().max() > 0 and cond.rays.abs().max() > 0 and cond.motion_ids.tolist() == [3.0, 3.0]
    for name in ("context_latents", "rays", "added_time_ids", "motion_ids"):
        assert getattr(unc, name).shape == getattr(cond, name).shape and not getattr(unc, name).any(), name
    assert torch.equal(unc.mask, cond.mask) and cond.mask.any()
    assert torch.equal(unc.indicator, cond.indicator)


def test_an_index_equal_to_the_frame_count_is_refused_by_name():
    """Frame indices are in [0, F): F itself passed the check with ``> f`` and failed in the scatter (mutation round 4)."""
    with pytest.raises(ValueError, match=r"^context_index values must be frame indices in \[0, 3\), got \[\[3\], \[0\]\]$"):
        build_conditions(**{**_inputs(), "context_index": torch.tensor([[3], [0]])})


def test_the_unet_input_replaces_the_context_frames_and_keeps_the_image_channels_zero():
    """``[x | zeros (4) | rays (6) | mask]``, x the noisy latents with the context frames replaced by their latents
    (the module's spec; adding them to the noise instead, or filling the image channels with them, passed every
    conditioning test: mutation round 4)."""
    cond = build_conditions(**_inputs())
    noisy = torch.randn(2, 3, 4, 8, 8, generator=torch.Generator().manual_seed(1))
    x = cond.unet_input(noisy)
    assert x.shape == (2, 3, 15, 8, 8)
    assert torch.equal(x[:, 0, :4], cond.context_latents[:, 0]) and torch.equal(x[:, 1:, :4], noisy[:, 1:])
    assert not x[:, :, 4:8].any()
    assert torch.equal(x[:, :, 8:14], cond.rays) and torch.equal(x[:, :, 14:], cond.mask)


def test_video_mode_has_no_camera_rays():
    """Video mode conditions on no camera: its rays are zeros, the other modes' are not (in one batch)."""
    cond = build_conditions(**{**_inputs(b=3), "indicator": torch.tensor([0, 1, 2])})
    assert cond.rays[0].any() and not cond.rays[1].any() and cond.rays[2].any()


def test_condition_dropout_keeps_where_told_and_drops_elsewhere():
    """``select(keep)``: the conditional values where keep is True, the guidance negative's where False."""
    cond = build_conditions(**_inputs())
    picked = cond.select(torch.tensor([True, False]))
    unc = cond.unconditional()
    for name in ("context_latents", "rays", "added_time_ids", "motion_ids"):
        assert torch.equal(getattr(picked, name)[0], getattr(cond, name)[0]), name
        assert torch.equal(getattr(picked, name)[1], getattr(unc, name)[1]), name
    assert torch.equal(picked.mask, cond.mask)


def test_concatenating_conditions_with_and_without_motion_ids_is_refused():
    """GenXDConditions.cat (both guidance branches in one call) takes motion ids from all items or none; a mix was a
    TypeError from torch.cat before (and, for a moment in session 51, silently a shorter motion batch)."""
    from genxd.pipelines.conditioning import GenXDConditions

    with_motion = build_conditions(**_inputs())
    without = build_conditions(**{**_inputs(), "motion_strength": None})
    both = GenXDConditions.cat([with_motion, with_motion.unconditional()])
    assert both.motion_ids is not None and both.motion_ids.shape[0] == 2 * with_motion.motion_ids.shape[0]
    assert GenXDConditions.cat([without, without]).motion_ids is None
    for items in ([with_motion, without], [without, with_motion]):
        with pytest.raises(ValueError, match=r"^conditions to concatenate: 1 of 2 have motion ids; give them all or none$"):
            GenXDConditions.cat(items)


@pytest.mark.parametrize("mode", [None, 2.7, True, "4d".encode(), [2]])
def test_a_mode_that_is_not_a_name_or_an_integer_is_a_type_error(mode):
    """None failed in int()'s words ('int() argument must be ... not NoneType'); 2.7 was read as mode 2 and True
    as mode 1 (video) without a word."""
    from genxd.pipelines.conditioning import mode_to_indicator

    with pytest.raises(TypeError, match=r"^mode must be one of \['3d', '4d', 'mv', 'video'\] or 0/1/2, got "):
        mode_to_indicator(mode)
    assert mode_to_indicator(np.int64(2)) == 2
