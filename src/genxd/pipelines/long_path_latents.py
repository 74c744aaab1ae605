"""A long path's initial noise and latents at a memory that does not grow with the path.

:func:`~genxd.pipelines.long_paths.sample_long` needs, for each sampling call, the initial noise of its windows'
frames and the latents of their context frames, and it keeps the latents of the frames it makes. Held whole, both
grow with the path (``[N, 4, h, w]`` float32 each: 1.3 GB for 10,000 frames at 512x512). Here:

* :class:`ChunkedNoise`: each scene's noise is the same ``torch.randn((1, N, 4, h, w), generator=g)`` as before, bit
  for bit, drawn a chunk of frames at a time: the generator's state is noted before each chunk, so any chunk can be
  drawn again from it when a window needs its frames (the last few chunks are kept). torch's CPU normal kernel turns
  uniforms into normals in blocks of 16 values and draws its last 16 values again when the count is not a multiple
  of 16 (a tensor of fewer than 16 values takes another kernel), so chunks of a multiple of 16 values, the last one
  of at least 16, give the values of the single draw and leave the generator where it would (the per-window seeds
  are drawn after it). Memory: a few chunks (:data:`NOISE_CHUNK_VALUES`) and a generator state (5 KB) per chunk.
* :class:`DiskLatents`: the latents of the path in an unnamed temporary file (gone when closed, or when the process
  ends however it ends), read and written a window's frames at a time with plain reads and writes (not a memory
  map, whose pages would count in the process's memory); :class:`SceneLatents` is one scene's, read as a tensor is
  indexed (what :func:`~genxd.pipelines.long_paths.decoded_frames` and the kept state read and write).
* :class:`MemoryLatents`: the same in one tensor (``generate_long``'s default: its ``latents`` are a tensor).
"""

from __future__ import annotations

import errno
import math
import tempfile
from collections import OrderedDict
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import Tensor

#: values per chunk of :class:`ChunkedNoise` (1 MiB of float32: 16 frames at 512x512, 256 at 128x128)
NOISE_CHUNK_VALUES = 1 << 18
#: chunks of noise kept per scene (a 3D path grows from both ends of its inputs)
NOISE_CHUNKS_KEPT = 2


def noise_chunks(num_frames: int, frame_values: int, chunk_values: int = NOISE_CHUNK_VALUES) -> list[tuple[int, int]]:
    """``[(start, end), ...]`` frames of the chunks: each a multiple of 16 values but the last, which has at least 16
    (or is the whole path, of fewer): drawn one after another from a generator, the values of one draw of the path."""
    align = 16 // math.gcd(frame_values, 16)  # frames of a multiple of 16 values
    size = max(align, chunk_values // frame_values // align * align)
    bounds = [[start, min(start + size, num_frames)] for start in range(0, num_frames, size)]
    if len(bounds) > 1 and (bounds[-1][1] - bounds[-1][0]) * frame_values < 16:
        last = bounds.pop()
        bounds[-1][1] = last[1]
    return [(s, e) for s, e in bounds]


class ChunkedNoise:
    """``[B, N, *frame_shape]``: scene ``s``'s noise is ``torch.randn((1, N, *frame_shape), generator=generators[s])``
    (one after another: the same generator given for several scenes draws them in turn, as :func:`torch.cat` of such
    draws did); built by drawing it chunk by chunk, which leaves each generator where that draw would. ``None``:
    torch's global generator."""

    def __init__(self, generators: Sequence[torch.Generator | None], num_frames: int, frame_shape: Sequence[int],
                 chunk_values: int | None = None):
        self.shape = (len(generators), num_frames, *(int(x) for x in frame_shape))
        self.frame_values = math.prod(self.shape[2:])
        self.chunks = noise_chunks(num_frames, self.frame_values, chunk_values or NOISE_CHUNK_VALUES)
        self._states: list[list[Tensor]] = []  # per scene, the generator's state before each chunk
        self._kept: list[OrderedDict[int, Tensor]] = [OrderedDict() for _ in generators]
        for g in generators:
            g = torch.default_generator if g is None else g
            states = []
            for start, end in self.chunks:
                states.append(g.get_state())
                torch.randn((end - start) * self.frame_values, generator=g, dtype=torch.float32)
            self._states.append(states)

    def _chunk_index(self, frame: int) -> int:
        size = self.chunks[0][1] - self.chunks[0][0]
        return min(frame // size, len(self.chunks) - 1)  # the last chunk may hold a short tail too

    def _chunk(self, s: int, k: int) -> Tensor:
        kept = self._kept[s]
        if k in kept:
            kept.move_to_end(k)
            return kept[k]
        start, end = self.chunks[k]
        g = torch.Generator()
        g.set_state(self._states[s][k])
        values = torch.randn((end - start) * self.frame_values, generator=g, dtype=torch.float32)
        kept[k] = values.reshape(end - start, *self.shape[2:])
        while len(kept) > NOISE_CHUNKS_KEPT:
            kept.popitem(last=False)
        return kept[k]

    def frames(self, s: int, frames: Sequence[int]) -> Tensor:
        """Scene ``s``'s noise of ``frames``: ``[len(frames), *frame_shape]``."""
        out = torch.empty((len(frames), *self.shape[2:]))
        for i, f in enumerate(frames):
            k = self._chunk_index(int(f))
            out[i] = self._chunk(s, k)[int(f) - self.chunks[k][0]]
        return out


class TensorNoise:
    """Noise given whole (``[B, N, ...]``), read as :class:`ChunkedNoise` is."""

    def __init__(self, noise: Tensor):
        self.noise, self.shape = noise, tuple(noise.shape)

    def frames(self, s: int, frames: Sequence[int]) -> Tensor:
        return self.noise[s, list(frames)]


def _frame_list(key: Any, n: int) -> list[int]:
    """The frames a tensor index along a dimension of ``n`` names (an int, slice, list, int or bool tensor)."""
    if isinstance(key, slice):
        return list(range(*key.indices(n)))
    if isinstance(key, Tensor) and key.dtype == torch.bool:
        key = key.nonzero().flatten()
    items = torch.as_tensor(key).reshape(-1).tolist()
    for f in items:
        if not -n <= f < n:
            raise IndexError(f"frame {f} is out of range for {n} frames")
    return [f % n for f in items]


class MemoryLatents:
    """Latents ``[B, N, ...]`` in one tensor (``tensor``), read and written as :class:`DiskLatents` are."""

    def __init__(self, tensor: Tensor):
        self.tensor, self.shape = tensor, tuple(tensor.shape)

    def read(self, s: int, frames: Sequence[int]) -> Tensor:
        return self.tensor[s, list(frames)]

    def write(self, s: int, frames: Sequence[int], values: Tensor) -> None:
        self.tensor[s, list(frames)] = values.to(self.tensor.dtype)

    def empty_like(self) -> MemoryLatents:
        return MemoryLatents(self.tensor.clone())

    def __getitem__(self, s: int) -> Tensor:
        return self.tensor[s]

    def whole(self) -> Tensor:
        return self.tensor

    def close(self) -> None:
        """Nothing to release (as :meth:`DiskLatents.close` is called)."""


class DiskLatents:
    """Latents ``[B, N, *frame_shape]`` float32 in an unnamed temporary file in ``folder`` (made if missing; None: the
    system's temporary folder, ``TMPDIR``), zero until written; ``[s]``: scene ``s``'s (:class:`SceneLatents`)."""

    def __init__(self, batch: int, num_frames: int, frame_shape: Sequence[int], folder: str | Path | None = None):
        self.shape = (int(batch), int(num_frames), *(int(x) for x in frame_shape))
        self.frame_bytes = math.prod(self.shape[2:]) * 4
        self._folder = folder
        if folder is not None:
            Path(folder).mkdir(parents=True, exist_ok=True)
        self._file = tempfile.TemporaryFile(prefix=".genxd-latents-", dir=folder, buffering=0)
        self._file.truncate(batch * num_frames * self.frame_bytes)  # sparse: nothing written yet

    def _runs(self, frames: Sequence[int]) -> list[tuple[int, int, int]]:
        """``(position in frames, first frame, count)`` of each run of consecutive frames."""
        runs: list[list[int]] = []
        for i, f in enumerate(frames):
            if runs and f == runs[-1][1] + runs[-1][2]:
                runs[-1][2] += 1
            else:
                runs.append([i, int(f), 1])
        return [(i, f, k) for i, f, k in runs]

    def _offset(self, s: int, f: int) -> int:
        if not 0 <= s < self.shape[0] or not 0 <= f < self.shape[1]:
            raise IndexError(f"scene {s}, frame {f} out of range for {self.shape[:2]}")
        return (s * self.shape[1] + f) * self.frame_bytes

    def read(self, s: int, frames: Sequence[int]) -> Tensor:
        """Scene ``s``'s latents of ``frames``: ``[len(frames), *frame_shape]``."""
        out = torch.empty((len(frames), *self.shape[2:]))
        if not len(frames):
            return out
        buf = memoryview(out.numpy()).cast("B")  # type: ignore[arg-type]  # numpy's stubs: ndarray has no __buffer__
        for i, f, k in self._runs(frames):
            view, want = buf[i * self.frame_bytes:(i + k) * self.frame_bytes], k * self.frame_bytes
            self._file.seek(self._offset(s, f))
            got = 0
            while got < want:
                n = self._file.readinto(view[got:])
                if not n:
                    raise OSError(f"the temporary file of a long path's latents ended early (frame {f})")
                got += n
        return out

    def write(self, s: int, frames: Sequence[int], values: Tensor) -> None:
        """Scene ``s``'s latents of ``frames`` := ``values [len(frames), *frame_shape]``."""
        values = values.detach().to("cpu", torch.float32).contiguous()
        if tuple(values.shape) != (len(frames), *self.shape[2:]):
            raise ValueError(f"{len(frames)} frames of latents {self.shape[2:]} expected, got {tuple(values.shape)}")
        if not len(frames):
            return
        buf = memoryview(values.numpy()).cast("B")  # type: ignore[arg-type]  # numpy's stubs: ndarray has no __buffer__
        for i, f, k in self._runs(frames):
            self._file.seek(self._offset(s, f))
            rest = buf[i * self.frame_bytes:(i + k) * self.frame_bytes]
            where = f"a long path's latents (frame {f}) in {self._folder or tempfile.gettempdir()}"
            while rest:  # unbuffered: a full disk (or a file size limit) writes part and says how much
                try:
                    n = self._file.write(rest)
                except OSError as exc:  # the write after a short one: ENOSPC / EFBIG, said with what and where
                    raise OSError(exc.errno, f"{exc.strerror}: {where}") from None
                if not n:
                    raise OSError(errno.ENOSPC, f"no space left for {where}")
                rest = rest[n:]

    def empty_like(self) -> DiskLatents:
        return DiskLatents(self.shape[0], self.shape[1], self.shape[2:], self._folder)

    def __getitem__(self, s: int) -> SceneLatents:
        if not -self.shape[0] <= s < self.shape[0]:
            raise IndexError(f"scene {s} out of range for {self.shape[0]} scenes")
        return SceneLatents(self, s % self.shape[0])

    def whole(self) -> Tensor:
        """Every latent, ``[B, N, ...]`` (the memory this class saves)."""
        return torch.stack([self.read(s, range(self.shape[1])) for s in range(self.shape[0])])

    def close(self) -> None:
        self._file.close()

    def __del__(self) -> None:  # the file is unnamed: closing it frees its space (no ResourceWarning when collected)
        file = getattr(self, "_file", None)
        if file is not None:
            file.close()


class SceneLatents:
    """One scene's latents ``[N, *frame_shape]`` in a :class:`DiskLatents`, indexed as a tensor along the frames (an
    int, slice, list or tensor of frames, after any ``None``; the rest of the index applies to what is read) and
    assigned frames the same way: what :func:`~genxd.pipelines.long_paths.decoded_frames` and
    :class:`~genxd.pipelines.long_path_state.PartialRun` read and write."""

    dtype = torch.float32
    device = torch.device("cpu")

    def __init__(self, store: DiskLatents, scene: int):
        self.store, self.scene, self.shape = store, scene, torch.Size(store.shape[1:])

    def __len__(self) -> int:
        return self.shape[0]

    def detach(self) -> SceneLatents:
        return self

    def _split(self, key: Any) -> tuple[list[int], tuple, int]:
        """``(frames, the index of what is read, the position of the frames' axis in it)``."""
        key = key if isinstance(key, tuple) else (key,)
        at = next((i for i, k in enumerate(key) if k is not None), len(key))
        frame_key = key[at] if at < len(key) else slice(None)
        rest = key[:at] + ((0 if isinstance(frame_key, int) else slice(None)),) + key[at + 1:]
        return _frame_list(frame_key, self.shape[0]), rest, at

    def __getitem__(self, key: Any) -> Tensor:
        frames, rest, _ = self._split(key)
        return self.store.read(self.scene, frames)[rest]

    def __setitem__(self, key: Any, values: Tensor) -> None:
        frames, rest, at = self._split(key)
        if any(k is not None for k in rest[:at]) or len(rest) > at + 1:
            raise IndexError("only whole frames of a long path's latents can be assigned")
        values = torch.as_tensor(values, dtype=torch.float32)
        self.store.write(self.scene, frames, values.expand(len(frames), *self.shape[1:]))
