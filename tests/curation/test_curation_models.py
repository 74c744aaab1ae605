"""Pluggable learned models: tiny randomly initialised transformers folders made by the tests.

The real models (Mask2Former, Depth Anything V2) load the same way from their local folders; no
weights are downloaded. Skipped when ``transformers`` is not installed. A custom masker (the
``Masker`` protocol) is tested without transformers.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from genxd.curation import CurationConfig, VideoSource, curate_video

from .conftest import write_frames


def _tiny_depth_anything(folder):
    transformers = pytest.importorskip("transformers")
    backbone = transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, image_size=56,
        patch_size=14, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False,
    )
    config = transformers.DepthAnythingConfig(
        backbone_config=backbone, fusion_hidden_size=16, neck_hidden_sizes=[8, 16, 32, 32], head_hidden_size=8,
        reassemble_hidden_size=32, patch_size=14,
    )
    transformers.DepthAnythingForDepthEstimation(config).save_pretrained(folder)
    transformers.DPTImageProcessor(
        size={"height": 56, "width": 56}, keep_aspect_ratio=False, ensure_multiple_of=14, do_pad=False
    ).save_pretrained(folder)
    return folder


def _tiny_mask2former(folder):
    transformers = pytest.importorskip("transformers")
    backbone = transformers.SwinConfig(
        image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4,
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )
    config = transformers.Mask2FormerConfig(
        backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32, encoder_feedforward_dim=32,
        dim_feedforward=32, encoder_layers=1, decoder_layers=2, num_attention_heads=2, num_queries=8,
        id2label={0: "person", 1: "road", 2: "car"}, label2id={"person": 0, "road": 1, "car": 2},
    )
    transformers.Mask2FormerForUniversalSegmentation(config).save_pretrained(folder)
    transformers.Mask2FormerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


def test_transformers_depth_and_mask_models_load_and_run(tmp_path):
    from genxd.curation import TransformersDepthEstimator, TransformersInstanceMasker

    frames = np.random.default_rng(0).integers(0, 255, (3, 48, 64, 3), dtype=np.uint8)
    depth = TransformersDepthEstimator(_tiny_depth_anything(tmp_path / "depth"))
    out = depth(frames)
    assert out.shape == (3, 48, 64) and np.isfinite(out).all() and depth.inverse
    masker = TransformersInstanceMasker(_tiny_mask2former(tmp_path / "mask"), score_threshold=0.0)
    assert masker.movable_ids == {0, 2}  # "person" and "car", not "road"
    labels = masker(frames)
    assert labels.shape == (3, 48, 64) and labels.dtype == np.int32 and labels.min() >= 0


def test_curate_with_a_depth_model(verdict_clips, tmp_path):
    model = _tiny_depth_anything(tmp_path / "depth")
    source = VideoSource("clip", write_frames(verdict_clips["static_a"], tmp_path / "in"), "frames")
    record = curate_video(source, tmp_path / "out", CurationConfig(focal=1.0, depth_model=str(model)))
    assert record["status"] == "ok", record
    meta = json.loads((tmp_path / "out" / "clip" / "meta.json").read_text())
    assert meta["depth_source"].startswith("model:depth")
    assert len(meta["depth_alignment"]) == meta["num_registered"]
    assert all(np.isfinite(a["scale"]) and a["num_points"] > 0 for a in meta["depth_alignment"])


def test_custom_masker_is_used(verdict_clips, tmp_path):
    clip = verdict_clips["dynamic_a"]
    calls = []

    class EverythingStatic:
        name = "nothing-moves"

        def __call__(self, frames):
            calls.append(frames.shape)
            return np.zeros(frames.shape[:3], np.int32)

    source = VideoSource("clip", write_frames(clip, tmp_path / "in"), "frames")
    record = curate_video(source, tmp_path / "out", CurationConfig(focal=1.0), masker=EverythingStatic())
    assert record["status"] == "ok" and calls == [clip.frames.shape]
    meta = json.loads((tmp_path / "out" / "clip" / "meta.json").read_text())
    # No object masks: nothing is tracked, so the moving objects go unnoticed (strength 0).
    assert meta["mask_source"] == "nothing-moves" and meta["motion_strength"] == 0.0 and meta["objects"] == []
