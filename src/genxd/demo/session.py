"""Per-user state of the demo: a private temporary folder, the validated inputs, the latest results.

Nothing is shared between sessions: each browser session gets its own :class:`Session` (Gradio state),
whose folder is removed when the session ends (tab closed, or the state's time to live), and every
session folder lives under the app's root folder, removed when the server stops.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import PIL.Image

from ..utils.images import collect_images, read_rgb

__all__ = ["Limits", "Session", "validate_uploads"]


@dataclass(frozen=True)
class Limits:
    """Upload limits (the page's file size limit is enforced by Gradio; these by :func:`validate_uploads`)."""

    max_file_mb: float = 20.0
    max_images: int = 4
    max_pixels: int = 40_000_000  # decoded size; larger images are refused before decoding
    min_side: int = 8


@dataclass
class Session:
    """One browser session's folder and results."""

    dir: Path
    cancel: threading.Event = field(default_factory=threading.Event)
    inputs: list[Path] = field(default_factory=list)
    run: int = 0
    scene: Path | None = None  # the latest generated scene folder
    lift: Path | None = None  # its reconstruction folder
    lift_times: list[float] = field(default_factory=list)

    @classmethod
    def create(cls, root: Path) -> "Session":
        root.mkdir(parents=True, exist_ok=True)
        return cls(Path(tempfile.mkdtemp(prefix="session-", dir=root)))

    def new_run(self) -> Path:
        """A fresh folder for the next generation; the previous run's files are removed."""
        if self.run:
            shutil.rmtree(self.dir / f"run{self.run}", ignore_errors=True)
        self.run += 1
        self.scene = self.lift = None
        self.lift_times = []
        path = self.dir / f"run{self.run}"
        path.mkdir(parents=True)
        return path

    def close(self) -> None:
        self.cancel.set()
        shutil.rmtree(self.dir, ignore_errors=True)


class SessionsByPage:
    """The one :class:`Session` of each open page, by Gradio's session hash.

    A page's events can run concurrently (its load, an upload, a camera change); while its ``gr.State`` is still
    empty each of them used to make a session of its own, and the last one written back replaced the others,
    losing an upload on a busy server. Looking the session up by the page's hash under a lock gives every event
    of a page the same object; :meth:`close` (the state's delete callback) forgets and removes it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._lock = threading.Lock()
        self._by_page: dict[str, Session] = {}

    def get(self, page: str | None) -> Session:
        if page is None:  # called outside a page's event (Python use of the handlers)
            return Session.create(self.root)
        with self._lock:
            session = self._by_page.get(page)
            if session is None:
                session = self._by_page[page] = Session.create(self.root)
            return session

    def close(self, session: Session | None) -> None:
        if session is None:
            return
        with self._lock:
            for page in [k for k, v in self._by_page.items() if v is session]:
                del self._by_page[page]
        session.close()


def _check_image(p: Path, limits: Limits) -> None:
    if p.stat().st_size > limits.max_file_mb * 1e6:
        raise ValueError(f"{p}: file larger than {limits.max_file_mb:g} MB")
    collect_images([p])  # the CLI's check: an image suffix
    try:
        with PIL.Image.open(p) as im:  # header only: refuse huge images before decoding them
            w, h = im.size
    except (OSError, SyntaxError, ValueError) as exc:
        raise ValueError(f"{p}: cannot read image ({exc.__class__.__name__}: {exc})") from None
    if w * h > limits.max_pixels:
        raise ValueError(f"{p}: image of {w}x{h} pixels; at most {limits.max_pixels / 1e6:g} megapixels")
    if min(w, h) < limits.min_side:
        raise ValueError(f"{p}: image of {w}x{h} pixels; each side must be at least {limits.min_side}")
    read_rgb(p)  # the CLI's check: decodes the whole file


def validate_uploads(paths: Sequence[str | Path], dest: Path, limits: Limits) -> list[Path]:
    """Check uploaded images as ``genxd generate`` does (image suffix, decodable) plus the demo's limits,
    and copy them into ``dest``. Raises ValueError with a one-line message naming the file (its name only:
    the server's folders are not shown)."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no image uploaded")
    if len(paths) > limits.max_images:
        raise ValueError(f"{len(paths)} images uploaded; at most {limits.max_images}")
    out = []
    dest.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        try:
            _check_image(p, limits)
        except (ValueError, OSError) as exc:
            raise ValueError(str(exc).replace(str(p), p.name).replace(str(p.parent), "")) from None
        target = dest / f"{i:02d}_{p.name}"
        shutil.copyfile(p, target)
        out.append(target)
    return out
