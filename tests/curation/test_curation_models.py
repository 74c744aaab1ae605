"""Pluggable learned models: tiny randomly initialised transformers folders made by the tests.

The real models (Mask2Former, Depth Anything V2) load the same way from their local folders; the
tests build the same model classes from small config objects (seeded), save them and load them
through genxd's loaders: nothing is downloaded. Tests of the ``transformers`` paths skip when it
is not installed (the ``models`` extra); the fallback switch and a custom masker (the ``Masker``
protocol) are tested without it.
"""

from __future__ import annotations

import json
import sys

import cv2
import numpy as np
import pytest

from genxd.curation import CurationConfig, EpipolarFlowMasker, VideoSource, curate_video, load_masker
from genxd.validation import cli_style

from .conftest import write_frames

NEEDS_MODELS = "needs the 'models' extra (transformers): pip install -e '.[models]'"
LABELS = {0: "person", 1: "road", 2: "car"}  # "person" and "car" are movable, "road" is not
FRAMES = np.random.default_rng(0).integers(0, 255, (3, 48, 64, 3), dtype=np.uint8)


def _transformers():
    return pytest.importorskip("transformers", reason=NEEDS_MODELS)


def _tiny_depth_anything(folder, metric: bool = False):
    """A Depth Anything (DINOv2 backbone) with 56 px inputs; its last bias is positive so the
    relative head (a ReLU) does not output zeros everywhere, as random weights can."""
    transformers = _transformers()
    import torch

    torch.manual_seed(0)
    backbone = transformers.Dinov2Config(
        hidden_size=32, num_hidden_layers=4, num_attention_heads=2, intermediate_size=64, image_size=56,
        patch_size=14, out_features=["stage1", "stage2", "stage3", "stage4"], reshape_hidden_states=False,
    )
    config = transformers.DepthAnythingConfig(
        backbone_config=backbone, fusion_hidden_size=16, neck_hidden_sizes=[8, 16, 32, 32], head_hidden_size=8,
        reassemble_hidden_size=32, patch_size=14, depth_estimation_type="metric" if metric else "relative",
        **({"max_depth": 20} if metric else {}),  # an int: transformers 5 checks the type
    )
    model = transformers.DepthAnythingForDepthEstimation(config)
    with torch.no_grad():
        model.head.conv3.bias.fill_(1.0)
    model.save_pretrained(folder)
    transformers.DPTImageProcessor(
        size={"height": 56, "width": 56}, keep_aspect_ratio=False, ensure_multiple_of=14, do_pad=False
    ).save_pretrained(folder)
    return folder


def _tiny_mask2former(folder, only_class: int | None = None):
    """A Mask2Former (Swin backbone) with 64 px inputs and 8 queries over :data:`LABELS`.

    ``only_class``: every query predicts that class (its class logits are set), else each query's
    class comes from the random weights (scaled up so that each is confident)."""
    transformers = _transformers()
    import torch

    torch.manual_seed(0)
    backbone = transformers.SwinConfig(
        image_size=64, patch_size=4, embed_dim=16, depths=[1, 1, 1, 1], num_heads=[1, 1, 2, 2], window_size=4,
        out_features=["stage1", "stage2", "stage3", "stage4"],
    )
    config = transformers.Mask2FormerConfig(
        backbone_config=backbone, feature_size=32, mask_feature_size=32, hidden_dim=32, encoder_feedforward_dim=32,
        dim_feedforward=32, encoder_layers=1, decoder_layers=2, num_attention_heads=2, num_queries=8,
        id2label=LABELS, label2id={v: k for k, v in LABELS.items()},
    )
    model = transformers.Mask2FormerForUniversalSegmentation(config)
    with torch.no_grad():
        head = model.class_predictor  # Linear(hidden_dim, num_labels + 1 "no object")
        if only_class is None:
            head.weight.mul_(30.0)
            head.bias.zero_()
            head.bias[-1] = -20.0  # no "no object" query
        else:
            head.weight.zero_()
            head.bias.fill_(-10.0)
            head.bias[only_class] = 10.0
    model.save_pretrained(folder)
    transformers.Mask2FormerImageProcessor(size={"height": 64, "width": 64}).save_pretrained(folder)
    return folder


@pytest.fixture(scope="module")
def depth_model_dir(tmp_path_factory):
    return _tiny_depth_anything(tmp_path_factory.mktemp("models") / "depth")


@pytest.fixture(scope="module")
def mask_model_dir(tmp_path_factory):
    return _tiny_mask2former(tmp_path_factory.mktemp("models") / "mask")


def test_depth_estimator_shapes_and_kind(depth_model_dir, tmp_path):
    from genxd.curation import TransformersDepthEstimator

    depth = TransformersDepthEstimator(depth_model_dir, batch_size=2)  # batches of 2 and 1
    out = depth(FRAMES)
    assert out.shape == (3, 48, 64) and out.dtype == np.float32 and np.isfinite(out).all()
    assert out.min() > 0 and out.std() > 0  # a real (non-constant) relative depth map came out
    assert depth.inverse and depth.name == "transformers:depth"
    # The same frames one at a time give the same maps (no batch mixing); 1e-5: float32 batched conv.
    np.testing.assert_allclose(TransformersDepthEstimator(depth_model_dir, batch_size=1)(FRAMES), out, rtol=1e-5, atol=1e-5)
    metric = TransformersDepthEstimator(_tiny_depth_anything(tmp_path / "metric", metric=True))
    assert not metric.inverse  # metric models are aligned on depth, not inverse depth


def test_masks_are_the_dilated_segments_of_movable_classes(mask_model_dir):
    import torch

    from genxd.curation import TransformersInstanceMasker

    assert isinstance(load_masker(mask_model_dir), TransformersInstanceMasker)  # a folder switches the model on
    masker = TransformersInstanceMasker(mask_model_dir, score_threshold=0.0, dilate_fraction=0.05, batch_size=2)
    assert masker.movable_ids == {0, 2}  # "person" and "car", not "road"
    labels = masker(FRAMES)
    assert labels.shape == (3, 48, 64) and labels.dtype == np.int32

    # The reference: transformers' own post-processing of the same model's outputs.
    inputs = masker.processor(images=list(FRAMES), return_tensors="pt")
    with torch.no_grad():
        outputs = masker.model(**inputs)
    results = masker.processor.post_process_instance_segmentation(outputs, threshold=0.0, target_sizes=[(48, 64)] * 3)
    radius = round(0.05 * 64)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    seen = set()
    for frame_labels, result in zip(labels, results):
        seg = result["segmentation"].numpy()
        movable = np.zeros(seg.shape, bool)
        for info in result["segments_info"]:
            seen.add(LABELS[info["label_id"]])
            if info["label_id"] in (0, 2):
                movable |= seg == info["id"]
        expected = cv2.dilate(movable.astype(np.uint8), kernel) > 0
        np.testing.assert_array_equal(frame_labels > 0, expected)
        assert frame_labels.max() <= len(result["segments_info"])  # one id per movable segment at most
    assert seen == {"person", "road", "car"}  # the check saw both kinds of class

    assert not TransformersInstanceMasker(mask_model_dir, score_threshold=0.999)(FRAMES).any()  # all below threshold


def test_only_movable_classes_are_masked(tmp_path):
    from genxd.curation import TransformersInstanceMasker

    road = TransformersInstanceMasker(_tiny_mask2former(tmp_path / "road", only_class=1), score_threshold=0.0)
    assert not road(FRAMES).any()
    car = TransformersInstanceMasker(_tiny_mask2former(tmp_path / "car", only_class=2), score_threshold=0.0)
    assert (car(FRAMES) > 0).mean() > 0.5


def test_curate_with_learned_models(verdict_clips, depth_model_dir, tmp_path):
    mask_dir = _tiny_mask2former(tmp_path / "mask", only_class=1)  # finds "road" only: nothing to mask
    source = VideoSource("clip", write_frames(verdict_clips["static_a"], tmp_path / "in"), "frames")
    config = CurationConfig(focal=1.0, depth_model=str(depth_model_dir), mask_model=str(mask_dir))
    record = curate_video(source, tmp_path / "out", config)
    assert record["status"] == "ok", record
    meta = json.loads((tmp_path / "out" / "clip" / "meta.json").read_text())
    assert meta["mask_source"] == "transformers:mask" and meta["mask_fraction"] == 0.0 and meta["objects"] == []
    assert meta["depth_source"] == "model:depth aligned to SfM"
    assert len(meta["depth_alignment"]) == meta["num_registered"] > 0
    assert all(np.isfinite(a["scale"]) and a["scale"] > 0 and a["num_points"] > 0 for a in meta["depth_alignment"])


def test_fallback_switch(tmp_path, monkeypatch):
    from genxd.curation import TransformersDepthEstimator

    assert isinstance(load_masker(None), EpipolarFlowMasker)  # no model: the classical flow masker
    with pytest.raises(FileNotFoundError, match="^mask_model folder not found"):
        CurationConfig(mask_model=str(tmp_path / "missing"))
    # Without transformers, a model folder is a clear error naming the missing package.
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(ValueError, match="^mask_model needs the 'transformers' package"):
        load_masker(tmp_path)
    with pytest.raises(ValueError, match="^depth_model needs the 'transformers' package"):
        TransformersDepthEstimator(tmp_path)
    with cli_style(), pytest.raises(ValueError, match="^--mask-model needs the 'transformers' package"):
        load_masker(tmp_path)
    with cli_style(), pytest.raises(ValueError, match="^--depth-model needs the 'transformers' package"):
        TransformersDepthEstimator(tmp_path)


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
