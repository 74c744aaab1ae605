"""A minimal binary glTF (.glb) writer: coloured line sets and image-textured quads, unlit.

Enough for the demo's camera preview (frusta, the path, the input image on the first frustum), shown by
Gradio's ``Model3D`` viewer (Babylon.js). Written here rather than through trimesh because the preview
needs two things trimesh's exporter does not write: line primitives with per-vertex colours and the
``KHR_materials_unlit`` material (so the image shows its own colours whatever the viewer's lights are).

Coordinates are glTF's: right-handed, +y up, metres (callers convert from OpenCV axes).
Spec: https://registry.khronos.org/glTF/specs/2.0/glTF-2.0.html (GLB container, section 4.4).
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..utils.json_text import json_text

__all__ = ["GlbScene"]

_FLOAT = 5126
_UINT32 = 5125
_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_LINES = 1
_TRIANGLES = 4


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


@dataclass
class GlbScene:
    """Collects primitives, then writes one .glb with one mesh node per primitive."""

    _json: dict = field(default_factory=lambda: {
        "asset": {"version": "2.0", "generator": "genxd.demo"},
        "scene": 0, "scenes": [{"nodes": []}], "nodes": [], "meshes": [], "accessors": [], "bufferViews": [],
        "materials": [], "extensionsUsed": ["KHR_materials_unlit"],
    })
    _bin: bytearray = field(default_factory=bytearray)

    # ------------------------------------------------------------------ low level
    def _view(self, data: bytes, target: int | None) -> int:
        while len(self._bin) % 4:
            self._bin.append(0)
        view = {"buffer": 0, "byteOffset": len(self._bin), "byteLength": len(data)}
        if target is not None:
            view["target"] = target
        self._bin.extend(data)
        self._json["bufferViews"].append(view)
        return len(self._json["bufferViews"]) - 1

    def _accessor(self, array: np.ndarray, kind: str, target: int | None) -> int:
        comp = _UINT32 if array.dtype == np.uint32 else _FLOAT
        acc = {"bufferView": self._view(np.ascontiguousarray(array).tobytes(), target), "componentType": comp,
               "count": int(array.shape[0]), "type": kind}
        if kind == "VEC3" and comp == _FLOAT:  # min / max are required for positions
            acc["min"] = array.min(axis=0).tolist()
            acc["max"] = array.max(axis=0).tolist()
        self._json["accessors"].append(acc)
        return len(self._json["accessors"]) - 1

    def _material(self, texture: int | None = None) -> int:
        pbr: dict = {"metallicFactor": 0.0, "roughnessFactor": 1.0}
        if texture is not None:
            pbr["baseColorTexture"] = {"index": texture}
        self._json["materials"].append({"pbrMetallicRoughness": pbr, "doubleSided": True,
                                        "extensions": {"KHR_materials_unlit": {}}})
        return len(self._json["materials"]) - 1

    def _add_mesh(self, primitive: dict, name: str) -> None:
        self._json["meshes"].append({"name": name, "primitives": [primitive]})
        self._json["nodes"].append({"mesh": len(self._json["meshes"]) - 1, "name": name})
        self._json["scenes"][0]["nodes"].append(len(self._json["nodes"]) - 1)

    # ------------------------------------------------------------------ primitives
    def add_lines(self, points: np.ndarray, colors: np.ndarray, name: str = "lines") -> None:
        """Line segments: ``points [2S, 3]`` (pairs of end points), ``colors [2S, 3]``: sRGB in [0, 1]
        (stored linear, as glTF's vertex colours are)."""
        points = np.asarray(points, dtype=np.float32).reshape(-1, 3)
        colors = np.asarray(colors, dtype=np.float32).reshape(-1, 3)
        if len(points) % 2 or len(colors) != len(points):
            raise ValueError("add_lines: need pairs of points and one colour per point")
        rgba = np.concatenate([_srgb_to_linear(colors), np.ones((len(colors), 1), np.float32)], axis=1)
        self._add_mesh({
            "attributes": {"POSITION": self._accessor(points, "VEC3", _ARRAY_BUFFER),
                           "COLOR_0": self._accessor(rgba, "VEC4", _ARRAY_BUFFER)},
            "mode": _LINES, "material": self._material(),
        }, name)

    def add_image_quad(self, corners: np.ndarray, image: np.ndarray, name: str = "image") -> None:
        """A quad showing ``image`` (``uint8 [H, W, 3]``); ``corners [4, 3]``: the image's top-left,
        top-right, bottom-right, bottom-left corners in space."""
        import PIL.Image

        corners = np.asarray(corners, dtype=np.float32).reshape(4, 3)
        png = io.BytesIO()
        PIL.Image.fromarray(np.asarray(image, dtype=np.uint8)).save(png, format="PNG")
        self._json.setdefault("images", []).append({"bufferView": self._view(png.getvalue(), None), "mimeType": "image/png"})
        self._json.setdefault("samplers", [{"magFilter": 9729, "minFilter": 9729}])  # LINEAR
        self._json.setdefault("textures", []).append({"source": len(self._json["images"]) - 1, "sampler": 0})
        texture = len(self._json["textures"]) - 1
        uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)  # glTF: (0, 0) = image top-left
        faces = np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32)
        self._add_mesh({
            "attributes": {"POSITION": self._accessor(corners, "VEC3", _ARRAY_BUFFER),
                           "TEXCOORD_0": self._accessor(uv, "VEC2", _ARRAY_BUFFER)},
            "indices": self._accessor(faces, "SCALAR", _ELEMENT_ARRAY_BUFFER),
            "mode": _TRIANGLES, "material": self._material(texture),
        }, name)

    # ------------------------------------------------------------------ output
    def to_bytes(self) -> bytes:
        """The .glb file: 12-byte header, JSON chunk (space padded), BIN chunk (zero padded)."""
        doc = dict(self._json, buffers=[{"byteLength": len(self._bin)}])
        if not doc["meshes"]:
            raise ValueError("empty scene")
        js = json_text(doc, separators=(",", ":")).encode()
        js += b" " * (-len(js) % 4)
        binary = bytes(self._bin) + b"\0" * (-len(self._bin) % 4)
        total = 12 + 8 + len(js) + 8 + len(binary)
        return (struct.pack("<4sII", b"glTF", 2, total) + struct.pack("<I4s", len(js), b"JSON") + js
                + struct.pack("<I4s", len(binary), b"BIN\0") + binary)

    def save(self, path: str | Path) -> Path:
        from ..utils.io import atomic_file

        path = Path(path)
        with atomic_file(path) as tmp:
            tmp.write_bytes(self.to_bytes())
        return path
