"""Static scenes (3D) of a ReconFusion torch folder (``index.json`` + scene files), all views used.

The files themselves are read by :mod:`genxd.data.reconfusion`."""

from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Sequence

from torch import Tensor

from ...utils.paths import loop_note, relative_to_cwd_note
from ...validation import warn
from .clips import _as_list, _Cameras, _ClipDataset, _decode_image

__all__ = ["ReconFusionDataset"]


class ReconFusionDataset(_ClipDataset):
    """Scenes of a ReconFusion torch folder (``index.json`` + scene files; 3D, indicator 0).

    All views of every scene are used (not only a few-shot split). Cameras are read once at
    construction; images are decoded per item (the last ``cache_size`` scenes' bytes are kept).
    """

    default_kind = "3d"

    def __init__(
        self,
        root: str | os.PathLike,
        num_frames: int = 8,
        height: int = 256,
        width: int | None = None,
        view_sampling: str = "clip",
        stride: int | Sequence[int] = 1,
        clip_spacing: int | None = None,
        samples_per_scene: int = 8,
        fit: str = "crop",
        pad_value: float = 1.0,
        camera_normalization: str = "path",
        keys: Sequence[str] | None = None,
        cache_size: int = 2,
        seed: int = 0,
    ) -> None:
        from genxd.data.reconfusion import INDEX_FILE, load_reconfusion_scene, read_reconfusion_index

        super().__init__(num_frames, height, width, fit, pad_value, camera_normalization, stride, clip_spacing,
                         view_sampling, samples_per_scene, seed, cache_size)
        self.root = Path(root)
        if not self.root.exists():  # "no index.json" before, of a folder not there (a relative path from elsewhere)
            note = loop_note(self.root) or relative_to_cwd_note(self.root)
            raise FileNotFoundError(f"{self.root}: no such folder{note}")
        if not self.root.is_dir():  # "x/index.json: no index.json" before, of the index given as the root
            hint = f"; its folder {self.root.parent} is one" if (self.root.parent / INDEX_FILE).is_file() else ""
            raise NotADirectoryError(f"{self.root}: is a file, not a folder (a reconfusion root is a ReconFusion torch "
                                     f"folder, {INDEX_FILE} and its scene files{hint})")
        # one key alone (keys: scan65) is that scene, not its characters
        chosen = None if keys is None else [str(k) for k in _as_list(keys)]
        if chosen is not None and not chosen:  # "no scene has enough frames ... 0 scenes found" before
            raise ValueError(f"keys: an empty list chooses no scene of {self.root / INDEX_FILE}; leave it out to "
                             "train every scene")
        index = read_reconfusion_index(self.root, chosen)
        if chosen is not None and len(chosen) > len(index):  # keys: [a, a] read a once, in silence
            again = [k for i, k in enumerate(chosen) if k in chosen[:i]]
            warn(f"ReconFusionDataset: {len(again)} key{'s are' if len(again) > 1 else ' is'} given more than once "
                 f"(e.g. {again[0]!r}): each scene is read once (to weigh a dataset, give its data.datasets entry a "
                 "weight)")
        self.keys = list(index)
        self.files = [self.root / index[k] for k in self.keys]
        self.cameras = []
        for key, path in zip(self.keys, self.files):
            scene = load_reconfusion_scene(path, key=key, decode_images=False)
            self.cameras.append((scene.c2w.float(), scene.K.float()))
        self._bytes: OrderedDict = OrderedDict()
        self._build_clips()

    def scene_names(self) -> list[str]:
        return self.keys

    def _num_views(self, scene: int) -> int:
        return int(self.cameras[scene][0].shape[0])

    def _load_cameras(self, scene: int) -> _Cameras:
        c2w, K = self.cameras[scene]
        return _Cameras(c2w, K, list(range(len(c2w))))

    def _view_name(self, scene: int, position: int) -> str:
        return f"{self.files[scene]}: image {position}"

    def _read_views(self, scene: int, positions: list[int]) -> list[Tensor]:
        """The views' images, decoded as :func:`genxd.data.reconfusion.decode_image` decodes them; a ValueError
        naming the file and the view for one that cannot be (was "image: cannot read image")."""
        from genxd.data.reconfusion import load_reconfusion_scene

        if scene not in self._bytes:
            data = load_reconfusion_scene(self.files[scene], key=self.keys[scene], decode_images=False)
            self._bytes[scene] = data.image_bytes
            while len(self._bytes) > max(1, self.cache_size):
                self._bytes.popitem(last=False)
        return [_decode_image(self._bytes[scene][p].numpy().tobytes(), self._view_name(scene, p)) for p in positions]

    def __getstate__(self) -> dict:
        state = super().__getstate__()
        state["_bytes"] = OrderedDict()
        return state
