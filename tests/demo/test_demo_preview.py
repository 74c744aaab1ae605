"""The demo's 3D previews without a browser: the .glb writer, the camera preview's frusta, the splat viewer's framing."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from genxd.cameras import trajectories
from genxd.demo.glb import GlbScene
from genxd.demo.preview import frustum_corners, write_camera_preview


def read_glb(path: Path) -> tuple[dict, bytes]:
    data = path.read_bytes()
    magic, version, total = struct.unpack_from("<4sII", data, 0)
    assert (magic, version, total) == (b"glTF", 2, len(data))
    jlen, jtype = struct.unpack_from("<I4s", data, 12)
    assert jtype == b"JSON" and jlen % 4 == 0
    doc = json.loads(data[20:20 + jlen])
    blen, btype = struct.unpack_from("<I4s", data, 20 + jlen)
    assert btype == b"BIN\0" and 28 + jlen + blen == len(data)
    return doc, data[28 + jlen:]


def accessor(doc: dict, binary: bytes, index: int) -> np.ndarray:
    acc = doc["accessors"][index]
    view = doc["bufferViews"][acc["bufferView"]]
    dtype = np.float32 if acc["componentType"] == 5126 else np.uint32
    width = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4}[acc["type"]]
    raw = binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]]
    return np.frombuffer(raw, dtype=dtype).reshape(acc["count"], width)


# ---------------------------------------------------------------------- glb / preview
def test_glb_layout_and_contents(tmp_path):
    scene = GlbScene()
    pts = np.array([[0, 0, 0], [1, 2, 3], [1, 2, 3], [-1, 0, 5]], dtype=np.float32)
    scene.add_lines(pts, np.array([[1, 0, 0]] * 4))
    image = np.zeros((5, 7, 3), np.uint8)
    image[0, 0] = (255, 0, 0)
    scene.add_image_quad(np.array([[0, 0, 0], [1, 0, 0], [1, -1, 0], [0, -1, 0]]), image)
    doc, binary = read_glb(scene.save(tmp_path / "a.glb"))
    lines, quad = (m["primitives"][0] for m in doc["meshes"])
    assert lines["mode"] == 1 and quad["mode"] == 4
    got = accessor(doc, binary, lines["attributes"]["POSITION"])
    np.testing.assert_array_equal(got, pts)
    acc = doc["accessors"][lines["attributes"]["POSITION"]]
    assert acc["min"] == [-1, 0, 0] and acc["max"] == [1, 2, 5]
    np.testing.assert_array_equal(accessor(doc, binary, lines["attributes"]["COLOR_0"])[0], [1, 0, 0, 1])
    np.testing.assert_array_equal(accessor(doc, binary, quad["indices"]).ravel(), [0, 1, 2, 0, 2, 3])
    assert all("KHR_materials_unlit" in m["extensions"] for m in doc["materials"])
    img = doc["images"][0]
    view = doc["bufferViews"][img["bufferView"]]
    import io

    import PIL.Image

    decoded = np.asarray(PIL.Image.open(io.BytesIO(binary[view["byteOffset"]:view["byteOffset"] + view["byteLength"]])))
    np.testing.assert_array_equal(decoded, image)
    for v in doc["bufferViews"]:
        assert v["byteOffset"] % 4 == 0


def test_frustum_corners_follow_the_convention():
    # identity camera, centred principal point, fx/W = 0.5: the image plane at depth 2 spans x, y in [-2, 2]
    K = torch.tensor([[[0.5, 0, 0.5], [0, 0.5, 0.5], [0, 0, 1.0]]])
    c = frustum_corners(torch.eye(4)[None], K, 2.0)[0]
    np.testing.assert_allclose(c.numpy(), [[-2, -2, 2], [2, -2, 2], [2, 2, 2], [-2, 2, 2]], atol=1e-9)
    # a camera moved and turned: corners move with it
    c2w, K = trajectories.orbit(num_frames=4)
    corners = frustum_corners(c2w, K, 1.0)
    centre = corners.mean(1)  # the image centre at depth 1 along each camera's +z
    np.testing.assert_allclose(centre.numpy(), (c2w[:, :3, 3] + c2w[:, :3, 2]).double().numpy(), atol=1e-5)


def test_camera_preview_puts_the_image_on_the_context_frames(tmp_path):
    c2w, K = trajectories.orbit(num_frames=8)
    img = np.full((16, 16, 3), 200, np.uint8)
    doc, binary = read_glb(write_camera_preview(tmp_path / "p.glb", c2w, K, [img, img], [0, 7]))
    names = [m["name"] for m in doc["meshes"]]
    assert names == ["cameras", "inputs", "input_0", "input_7"]
    # input 0's quad is the first camera's image plane (in glTF axes: y and z flipped)
    quad = accessor(doc, binary, doc["meshes"][2]["primitives"][0]["attributes"]["POSITION"])
    assert np.allclose(quad[:, 2], quad[0, 2]) and quad[0, 2] < 0  # in front of camera 0: -z in glTF
    assert quad[0, 1] > quad[3, 1]  # top-left above bottom-left: image up is +y


def test_framing_turns_the_first_camera_into_the_viewer_camera():
    from genxd.demo.splats import VIEWER_HALF_TAN, _viewer_c2w, framing

    c2w, K = trajectories.orbit(num_frames=4, elevation=20, azimuth_range=(30, 90), focal=1.25)
    first = c2w[1].double().numpy()  # any camera: not the identity
    rng = np.random.default_rng(0)
    means = first[:3, 3] + (rng.normal(size=(500, 3)) * 0.2 + [0, 0, 2.0]) @ first[:3, :3].T
    f = framing(first, K[1].double().numpy(), means, np.full(500, 2.0))
    rot, pos = _viewer_c2w()
    d = np.linalg.norm(f.centre - first[:3, 3])
    assert abs(d - 2.0) < 0.1  # the median depth of the points
    np.testing.assert_allclose(f.rotation @ first[:3, :3], rot, atol=1e-6)  # c2w is float32
    # the first camera lands on the viewer's axis; the scene at depth d fills the viewer's height as it filled
    # the image's: d * s * VIEWER_HALF_TAN... i.e. s = (5 / d) * VIEWER_HALF_TAN / (0.5 / fy)
    np.testing.assert_allclose(f.scale, 5.0 / d * VIEWER_HALF_TAN / (0.5 / 1.25), rtol=1e-6)  # K is float32
    landed = f.points(first[None, :3, 3])[0]
    np.testing.assert_allclose(landed / np.linalg.norm(landed), pos / np.linalg.norm(pos), atol=1e-6)


def test_a_viewer_ply_is_written_atomically(tmp_path, monkeypatch):
    """The viewer's copies (``run/viewer/time_NNNN.ply``) were written in place: a Lift pressed again rewrote them
    while the time slider could hand the page one half written, and a failed write left a truncated file. Now a
    write that fails leaves the file before it, and nothing else, in the folder."""
    from plyfile import PlyData, PlyElement

    from genxd.demo.splats import write_viewer_ply

    names = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
             "rot_0", "rot_1", "rot_2", "rot_3"]
    rng = np.random.default_rng(0)
    data = np.empty(50, dtype=[(n, "f4") for n in names])
    for n in names:
        data[n] = rng.normal(size=50)
    data["z"] += 3.0
    src = tmp_path / "scene.ply"
    PlyData([PlyElement.describe(data, "vertex")]).write(str(src))
    c2w, K = np.eye(4), np.array([[1.0, 0, 0.5], [0, 1.0, 0.5], [0, 0, 1]])
    dst = tmp_path / "viewer" / "time_0000.ply"
    write_viewer_ply(src, dst, c2w, K)
    before = dst.read_bytes()
    assert len(PlyData.read(str(dst))["vertex"].data) == 50

    def half_then_fail(self, stream):
        with open(stream, "wb") as fh:
            fh.write(before[: len(before) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(PlyData, "write", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_viewer_ply(src, dst, c2w, K)
    assert dst.read_bytes() == before
    assert [p.name for p in dst.parent.iterdir()] == [dst.name]
