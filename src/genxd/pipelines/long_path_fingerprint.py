"""The fingerprint of a long path's kept state (:mod:`genxd.pipelines.long_path_state`): digests of tensors, of a
scene's input image and of a model's files, the kind of device, and the entries common to a job's scenes
(:func:`job_fingerprint`)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

__all__ = ["tensor_digest", "image_digest", "model_files_digest", "model_files", "timed_model_files_digest",
           "device_kind", "job_fingerprint"]


def tensor_digest(*tensors: Tensor) -> str:
    """A short sha256 of tensors' shapes, dtypes and bytes."""
    h = hashlib.sha256()
    for t in tensors:
        t = torch.as_tensor(t).detach().cpu().contiguous()
        h.update(f"{tuple(t.shape)} {t.dtype};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def image_digest(image: Tensor) -> str:
    """:func:`tensor_digest` of a scene's input as float32 in [0, 1]: an 8-bit one (``genxd generate`` holds its
    inputs so) is hashed as the floats it is sampled from, the digest of the states written before it was held so."""
    if image.dtype == torch.uint8:
        from ..utils.images import uint8_to_tensor

        image = uint8_to_tensor(image)
    return tensor_digest(image)


def model_files_digest(folder: str | Path) -> str:
    """A short sha256 of what genxd loads from a model folder (:func:`model_files`): the files' names, sizes and
    bytes (weights too: about 1 s per GB on a busy 2-core CPU, under 10 s for the released model, once per process
    and file: :func:`_file_digest`). Not their modification times: a copied or reinstalled model is the same model
    (format 1 hashed the weights' times, so an upgrade of genxd, whose bundled model is written anew, refused every
    kept state as made with another model)."""
    folder = Path(folder)
    h = hashlib.sha256()
    for f in model_files(folder):
        h.update(f"{f.relative_to(folder).as_posix()}:{f.stat().st_size}:{_file_digest(f)};".encode())
    return h.hexdigest()[:16]


def model_files(folder: Path) -> list[Path]:
    """The files of a model folder that decide its frames, sorted: those of its components (``unet/``, ``vae/``,
    ``scheduler/``: what :meth:`~genxd.pipelines.pipeline_genxd.GenXDPipeline.from_checked_folder` loads) and its
    ``generation_config.json`` (:func:`genxd.checkpoints.model_info`), hidden ones left out. Not the rest: a training
    checkpoint's ``accelerate_state/`` (optimiser state) and ``ema.safetensors`` (what ``unet/`` holds), a cloned
    hub repository's ``.git/`` or a download's ``.cache/`` (a checkpoint and the same model copied out of it are
    the same model)."""
    from ..checkpoint_folders import COMPONENTS
    from ..checkpoints import GENERATION_CONFIG

    found = [folder / GENERATION_CONFIG] if (folder / GENERATION_CONFIG).is_file() else []
    for component in COMPONENTS:
        found += [f for f in (folder / component).rglob("*") if f.is_file()
                  and not any(part.startswith(".") for part in f.relative_to(folder).parts)]
    return sorted(found)


#: a file's sha256 by (path, size, modification time, inode): a long-lived process (the demo, a notebook) hashes
#: the same weights once
_FILE_DIGESTS: dict[tuple, str] = {}


def _file_digest(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns, st.st_ino)
    if key not in _FILE_DIGESTS:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(8 << 20):
                h.update(chunk)
        _FILE_DIGESTS[key] = h.hexdigest()
    return _FILE_DIGESTS[key]


def timed_model_files_digest(folder: str | Path) -> str:
    """The ``model_files`` entry of a format-1 state (genxd before d9eeafd, 2026-12-05 18:26): the bytes of the small
    files, the names, sizes and modification times of those over 1 MiB. Only to continue such a state."""
    folder = Path(folder)
    h = hashlib.sha256()
    for f in sorted(p for p in folder.rglob("*") if p.is_file()):
        st = f.stat()
        h.update(f"{f.relative_to(folder).as_posix()}:{st.st_size};".encode())
        h.update(f.read_bytes() if st.st_size <= 1 << 20 else str(st.st_mtime_ns).encode())
    return h.hexdigest()[:16]


def device_kind(device: str | torch.device) -> str:
    """``cpu``, or ``cuda (NVIDIA H200)``: float results differ between kinds of device."""
    device = torch.device(device)  # resolved by job_fingerprint (genxd.checkpoints.pick_device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def job_fingerprint(model_folder: Path, model_label: str, pipe: Any, device: str | torch.device | None,
                    dtype: str | torch.dtype | None, **settings: Any) -> dict:
    """The fingerprint entries common to a job's scenes: ``settings`` (JSON values, named as the arguments), the
    model's files and name, the kind of device and the precision (of ``pipe``, a loaded pipeline, else of
    ``device`` / ``dtype`` as :func:`genxd.checkpoints.load_model` will pick them), the genxd and torch versions."""
    from .. import __version__
    from ..checkpoints import pick_device, pick_dtype

    if pipe is not None:
        device = getattr(pipe, "_execution_device", "cpu")
        dtype = getattr(getattr(pipe, "unet", None), "dtype", None) or torch.float32
    else:
        device = pick_device(device)
        dtype = pick_dtype(dtype, device)
    return {"genxd": __version__, "torch": torch.__version__, "model": model_label,
            "model_files": model_files_digest(model_folder), "device": device_kind(device),
            "dtype": str(dtype).replace("torch.", ""), **settings}
