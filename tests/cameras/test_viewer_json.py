"""The 3DGS viewer's ``cameras.json`` (3DGS's ``train.py``; ``genxd reconstruct``'s ``cameras_3dgs.json`` and
``3dgs/cameras.json``) read as a camera path. Before, ``read_camera_path`` took its list for a w2c list and refused
it: "matrices[0]: expected a 3x4 or 4x4 matrix (list of rows), got an object"."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from genxd.cameras import read_camera_path, trajectories
from genxd.cameras.viewer_json import VIEWER_JSON
from genxd.reconstruction.inria_model import viewer_cameras
from genxd.reconstruction.views import Views

H, W = 12, 20  # not square: a swapped fx / fy or width / height shows


def _known_path(n: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """An orbit's c2w and intrinsics with fx / W != fy / H, principal point at the image centre."""
    c2w, K = trajectories.orbit(num_frames=n)
    K = K.double().clone()
    K[:, 0, 0], K[:, 1, 1] = 0.8, 1.3
    return c2w.double(), K


def _write_viewer_json(path: Path, c2w: torch.Tensor, K: torch.Tensor) -> Path:
    views = Views(torch.zeros(len(c2w), 3, H, W), c2w, K, [f"frames/{i:03d}.png" for i in range(len(c2w))])
    path.write_text(json.dumps(viewer_cameras(views)))
    return path


def test_reconstructs_viewer_cameras_read_back_as_the_path_they_were_written_from(tmp_path):
    c2w, K = _known_path()
    cam = read_camera_path(_write_viewer_json(tmp_path / "cameras.json", c2w, K), dtype=torch.float64)
    assert cam.source_format == VIEWER_JSON
    assert (cam.height, cam.width) == (H, W)
    torch.testing.assert_close(cam.c2w, c2w, atol=1e-12, rtol=0)
    pixels = torch.stack([cam.K[:, 0, 0] * W, cam.K[:, 1, 1] * H, cam.K[:, 0, 2] * W, cam.K[:, 1, 2] * H], dim=1)
    expected = torch.tensor([0.8 * W, 1.3 * H, W / 2, H / 2], dtype=torch.float64).expand(len(c2w), 4)
    torch.testing.assert_close(pixels, expected, atol=1e-12, rtol=0)
    assert cam.names == [f"frames/{i:03d}" for i in range(len(c2w))]
    # a folder holding it (3dgs/ of a reconstruct output) is read through it
    assert read_camera_path(tmp_path).source_format == VIEWER_JSON


def _entries(tmp_path: Path) -> list[dict]:
    c2w, K = _known_path(2)
    return json.loads(_write_viewer_json(tmp_path / "cameras.json", c2w, K).read_text())


def _reflected(e: dict) -> None:
    e["rotation"][0] = [-v for v in e["rotation"][0]]


@pytest.mark.parametrize("change, says", [
    (lambda e: e.pop("fy"), "[1]: missing fy"),
    (lambda e: e.pop("rotation"), "[1]: missing rotation"),
    (lambda e: e.update(rotation=[[1, 0, 0], [0, 1, 0]]), "[1]: 'rotation': expected a 3x3 matrix"),
    (lambda e: e["rotation"].__setitem__(2, [0, 0, 1, 0]), "[1]: 'rotation'[2]: expected 3 numbers, got 4"),
    (lambda e: e.update(position=[0, 1]), "[1]: 'position': expected 3 numbers, got 2"),
    (lambda e: e.update(position=[0, "1", 2]), "[1]: 'position'[1]: expected a number"),
    (lambda e: e.update(fx=math.inf), "[1]: 'fx': must be finite"),
    (lambda e: e["position"].__setitem__(0, math.nan), "[1]: 'position'[0]: must be finite"),
    (lambda e: e.update(fx=-3.0), "[1]: 'fx': must be positive"),
    (lambda e: e.update(width=20.5), "[1]: 'width': must be a whole number"),
    (_reflected, "[1]: 'rotation', 'position': rotation has determinant != +1"),
    (lambda e: e["rotation"].__setitem__(0, [2, 0, 0]), "[1]: 'rotation', 'position': rotation part is not orthonormal"),
    (lambda e: e.update(height=13), "views have different sizes (height, width) [(12, 20), (13, 20)]"),
])
def test_a_bad_view_is_one_error_naming_the_file_the_view_and_the_field(tmp_path, change, says):
    entries = _entries(tmp_path)
    change(entries[1])
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(entries))
    with pytest.raises(ValueError) as info:
        read_camera_path(path)
    message = str(info.value)
    assert message.startswith(f"{path} ({VIEWER_JSON}): ") and says in message, message
    assert "\n" not in message


def test_a_view_that_is_not_an_object_is_named(tmp_path):
    entries = _entries(tmp_path)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps([entries[0], [[1, 0, 0, 0]]]))
    with pytest.raises(ValueError, match=r"\[1\]: expected an object with width, height, position, rotation, fx, "
                                         r"fy, got a list of 1 item"):
        read_camera_path(path)


def test_a_3dgs_cameras_json_of_a_model_trained_with_eval_is_read_in_image_order(tmp_path):
    """3DGS's train.py lists the test views (every 8th image, with --eval) before the training views: a path of 17
    images went 0, 8, 16, 1, 2, ..., back and forth along the capture. Now the views are in the order of their
    images' names (numbers compared as numbers), the order 3DGS read them in; without names, the list's."""
    c2w, K = _known_path(17)
    entries = json.loads(_write_viewer_json(tmp_path / "cameras.json", c2w, K).read_text())
    for e in entries:
        e["img_name"] = f"IMG_{int(e['img_name'][-3:]) + 1}"  # no extension, not zero-padded (IMG_1 ... IMG_17)
    test_first = [entries[i] for i in range(17) if i % 8 == 0] + [entries[i] for i in range(17) if i % 8]
    (tmp_path / "cameras.json").write_text(json.dumps([{**e, "id": k} for k, e in enumerate(test_first)]))
    cam = read_camera_path(tmp_path / "cameras.json", dtype=torch.float64)
    assert cam.names == [f"IMG_{i + 1}" for i in range(17)]
    torch.testing.assert_close(cam.c2w, c2w, atol=1e-12, rtol=0)
    for e in test_first:
        del e["img_name"]
    (tmp_path / "cameras.json").write_text(json.dumps(test_first))
    cam = read_camera_path(tmp_path / "cameras.json", dtype=torch.float64)
    assert cam.names is None
    torch.testing.assert_close(cam.c2w, c2w[[i for i in range(17) if i % 8 == 0] + [i for i in range(17) if i % 8]],
                               atol=1e-12, rtol=0)
