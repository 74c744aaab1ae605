"""Per-user state of the demo: a private temporary folder, the validated inputs, the latest results.

Nothing is shared between sessions: each browser session gets its own :class:`Session` (Gradio state),
whose folder is removed when the session ends (tab closed, or the state's time to live), and every
session folder lives under the app's root folder, removed when the server stops. Each job (Generate, Lift)
has its own cancel flag (:class:`Jobs`): Cancel stops the jobs asked for before it, not a later one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import PIL.Image

from ..utils.image_formats import missing_decoder_message, prepare_decoder
from ..utils.image_limits import WARNING_FILTERS_LOCK
from ..utils.images import collect_images, decode_side, draft_at_least, frames_note, read_rgb

__all__ = ["Jobs", "Limits", "Session", "stored_name", "validate_uploads"]

log = logging.getLogger("genxd.demo")

MIB = 2**20
MAX_RESOLUTION = 1024  # the page's cap (genxd generate takes up to 4096): one job must not hold a device for hours
# bytes of a stored upload's name: the file-name limit (255 on Linux, macOS, Windows) less the ".png" that the
# gallery's copy of a TIFF or HEIC adds (genxd.demo.gallery.gallery_picture)
MAX_STORED_NAME_BYTES = 255 - len(".png")


@dataclass(frozen=True)
class Limits:
    """Upload limits (the page's file size limit is enforced by Gradio; these by :func:`validate_uploads`)."""

    max_file_mb: float = 20.0  # MiB (2**20 bytes), as Gradio's max_file_size="20mb" counts
    max_images: int = 4
    max_pixels: int = 40_000_000  # decoded size; larger images are refused before decoding
    # a JPEG is decoded at 1/2, 1/4 or 1/8 scale while both sides stay this large (what generation reads at the
    # page's largest resolution, genxd.utils.images.load_image): its max_pixels count that size, so a 48-megapixel
    # phone photo is taken, as genxd generate takes it
    jpeg_decode_side: int = decode_side(MAX_RESOLUTION, MAX_RESOLUTION)
    min_side: int = 8


class Jobs:
    """The cancel flags of one session's jobs: one per job, so that Cancel stops the jobs asked for before it
    (running or still waiting for a device) and never a job asked for after it.

    :meth:`request` is called when a job is asked for (Generate / Lift pressed), :meth:`start` when it begins
    (the oldest requested flag: the session's jobs leave the queue in the order they were asked for; a job
    started without a request gets a fresh flag) and :meth:`end` when it is over."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[threading.Event] = []
        self._running: list[threading.Event] = []

    def request(self) -> threading.Event:
        flag = threading.Event()
        with self._lock:
            self._waiting.append(flag)
        return flag

    def start(self) -> threading.Event:
        with self._lock:
            flag = self._waiting.pop(0) if self._waiting else threading.Event()
            self._running.append(flag)
        return flag

    def drop_request(self) -> None:
        """Forget the oldest flag asked for and not started: its job was refused before it began (Gradio refused a
        value of the request), so it never calls :meth:`start`."""
        with self._lock:
            if self._waiting:
                self._waiting.pop(0)

    def end(self, flag: threading.Event) -> None:
        with self._lock:
            if flag in self._running:
                self._running.remove(flag)

    def state(self) -> int:
        """0: no job asked for; 1: jobs asked for, none running (waiting for a device); 2: a job running."""
        with self._lock:
            return 2 if self._running else 1 if self._waiting else 0

    def cancel(self) -> int:
        """Set the flag of every job asked for so far; returns how many jobs that stops."""
        with self._lock:
            flags = self._waiting + self._running
        for flag in flags:
            flag.set()
        return len(flags)


@dataclass
class Session:
    """One browser session's folder and results."""

    dir: Path
    jobs: Jobs = field(default_factory=Jobs)
    closed: bool = False
    inputs: list[Path] = field(default_factory=list)
    run: int = 0
    scene: Path | None = None  # the latest generated scene folder
    lift: Path | None = None  # its reconstruction folder
    lift_times: list[float] = field(default_factory=list)
    # runs a job is still reading or writing (a Lift on one device while a Generate on another keeps a newer scene):
    # how many jobs use each; :meth:`keep_run` leaves them, :meth:`using_run` removes them when the last job ends
    in_use: dict[Path, int] = field(default_factory=dict)
    _runs_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def create(cls, root: Path) -> "Session":
        root.mkdir(parents=True, exist_ok=True)
        return cls(Path(tempfile.mkdtemp(prefix="session-", dir=root)))

    def clear_inputs(self) -> None:
        """Forget the uploaded images and remove their copies (a new upload replaces them)."""
        self.inputs = []
        shutil.rmtree(self.dir / "inputs", ignore_errors=True)

    def snapshot_inputs(self, inputs: list[Path]) -> list[Path]:
        """Copies of ``inputs`` in a folder of their own for one generation job (hard links where the file system
        allows), so that a new upload, which removes the uploaded files, leaves a job waiting for a device its
        images; :meth:`release_snapshot` removes them. FileNotFoundError when an input is gone already."""
        folder = Path(tempfile.mkdtemp(prefix="job-inputs-", dir=self.dir))
        try:
            copies = []
            for path in inputs:
                target = folder / path.name
                try:
                    os.link(path, target)
                except OSError as exc:
                    if isinstance(exc, FileNotFoundError):
                        raise
                    shutil.copy2(path, target)
                copies.append(target)
            return copies
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise

    def release_snapshot(self, copies: list[Path]) -> None:
        """Remove the folder of :meth:`snapshot_inputs`' copies (after the job)."""
        if copies:
            shutil.rmtree(copies[0].parent, ignore_errors=True)

    def new_run(self) -> Path:
        """A fresh folder for the next generation. The earlier runs stay (the page still shows the last result)
        until this run's scene is kept (:meth:`keep_run`); a run that is cancelled or fails is removed by its job."""
        self.run += 1
        path = self.dir / f"run{self.run}"
        path.mkdir(parents=True)
        return path

    def keep_run(self, scene: Path) -> None:
        """``scene`` (in a folder of :meth:`new_run`) is the session's result now: the runs before it are removed,
        except those a job still uses (:meth:`using_run` removes them when it ends)."""
        number = _run_number(scene.parent)
        assert number is not None  # a scene is made in a folder of new_run
        with self._runs_lock:
            for old in self.dir.glob("run*"):
                if (n := _run_number(old)) is not None and n < number and old not in self.in_use:
                    shutil.rmtree(old, ignore_errors=True)
            self.scene, self.lift, self.lift_times = scene, None, []

    @contextlib.contextmanager
    def using_run(self, run: Path) -> Iterator[None]:
        """A job reads or writes ``run`` (a folder of :meth:`new_run`) meanwhile: a newer scene kept meanwhile
        (another device) does not remove it under the job; it is removed when the last job using it ends, if it is
        no longer the session's scene."""
        with self._runs_lock:
            self.in_use[run] = self.in_use.get(run, 0) + 1
        try:
            yield
        finally:
            with self._runs_lock:
                self.in_use[run] -= 1
                if not self.in_use[run]:
                    del self.in_use[run]
                    if self.scene is None or self.scene.parent != run:
                        shutil.rmtree(run, ignore_errors=True)

    def close(self) -> None:
        self.closed = True
        self.jobs.cancel()
        shutil.rmtree(self.dir, ignore_errors=True)

    def remove_if_closed(self) -> bool:
        """After a job: when the session closed meanwhile, remove its folder again (the job may have written into
        it after :meth:`close` removed it, past its last cancel check) and return True."""
        if self.closed:
            shutil.rmtree(self.dir, ignore_errors=True)
        return self.closed


def _run_number(folder: Path) -> int | None:
    """``N`` of a ``runN`` folder of :meth:`Session.new_run`, else None."""
    tail = folder.name[3:]
    return int(tail) if folder.name.startswith("run") and tail.isdigit() else None


class SessionsByPage:
    """The one :class:`Session` of each open page, by Gradio's session hash.

    A page's events can run concurrently (its load, an upload, a camera change); while its ``gr.State`` is still
    empty each of them used to make a session of its own, and the last one written back replaced the others,
    losing an upload on a busy server. Looking the session up by the page's hash under a lock gives every event
    of a page the same object; :meth:`close` (the state's delete callback) forgets and removes it.

    At most ``max_sessions`` are kept: a client without Gradio's heartbeat (raw HTTP ``/call/upload``) gets a new
    session hash, so a new session and folder, on every request, and Gradio drops such a state only after its time
    to live (hours). A new page past the limit closes the least recently used sessions that have no job asked for,
    then, while still past it, those whose jobs only wait for a device (a client can ask for jobs in sessions of its
    own without end); never one whose job runs (their folders are removed; such a page's next event starts
    afresh)."""

    def __init__(self, root: Path, max_sessions: int = 100) -> None:
        self.root, self.max_sessions = root, max_sessions
        self._lock = threading.Lock()
        self._by_page: OrderedDict[str, Session] = OrderedDict()  # least recently used first

    def get(self, page: str | None) -> Session:
        if page is None:  # called outside a page's event (Python use of the handlers)
            return Session.create(self.root)
        evicted: list[Session] = []
        with self._lock:
            session = self._by_page.get(page)
            if session is None or session.closed:
                self._by_page.pop(page, None)
                states = {k: s.jobs.state() for k, s in self._by_page.items()}
                closable = [k for k in states if states[k] == 0] + [k for k in states if states[k] == 1]
                while len(self._by_page) >= self.max_sessions and closable:
                    evicted.append(self._by_page.pop(closable.pop(0)))
                session = self._by_page[page] = Session.create(self.root)
            self._by_page.move_to_end(page)
        for old in evicted:  # outside the lock: removing a folder takes a while
            log.warning("genxd demo: %d sessions open; closed the least recently used one without a running job",
                        self.max_sessions)
            old.close()
        return session

    def close_page(self, page: str | None) -> None:
        """The page was closed (Gradio's unload event): its jobs stop and its folder is removed now, not when
        Gradio drops its state (an hour later)."""
        with self._lock:
            session = self._by_page.pop(page, None) if page is not None else None
        if session is not None:
            session.close()

    def close(self, session: Session | None) -> None:
        if session is None:
            return
        with self._lock:
            for page in [k for k, v in self._by_page.items() if v is session]:
                del self._by_page[page]
        session.close()


def _check_image(p: Path, limits: Limits) -> str | None:
    """Raise ValueError when ``p`` is not an image the page takes; returns a note for the page (an animated image:
    only its first frame is used) or None."""
    if p.stat().st_size > limits.max_file_mb * MIB:
        raise ValueError(f"{p}: file larger than {limits.max_file_mb:g} MiB")
    collect_images([p])  # the CLI's check: an image suffix
    kind = prepare_decoder(p)  # HEIC: pillow-heif registered where installed
    try:
        # over PIL's warning limit: refused below (max_pixels), no warning; the filters are the process's (the lock)
        with WARNING_FILTERS_LOCK, warnings.catch_warnings():
            warnings.simplefilter("ignore", PIL.Image.DecompressionBombWarning)
            with PIL.Image.open(p) as im:  # header only: refuse huge images before decoding them
                w, h = im.size
                note = frames_note(im, p.name)  # what genxd generate warns (genxd.utils.images), said in the page
                draft_at_least(im, limits.jpeg_decode_side)  # a JPEG: the size it is decoded at (no pixels read)
                decoded = im.size[0] * im.size[1]
    except PIL.Image.DecompressionBombError:
        read_rgb(p)  # raises genxd generate's one-line message for the decompression-bomb limit (header only)
        raise ValueError(f"{p}: image too large (over PIL's decompression-bomb limit)") from None
    except Exception as exc:  # noqa: BLE001 - any failure to read the header: not a readable image
        if kind is not None and isinstance(exc, PIL.UnidentifiedImageError):  # HEIC / AVIF: say what to install
            raise ValueError(f"{p}: {missing_decoder_message(kind)}") from None
        raise ValueError(f"{p}: cannot read image ({exc.__class__.__name__}: {exc})") from None
    if decoded > limits.max_pixels:
        raise ValueError(f"{p}: image of {w}x{h} pixels; at most {limits.max_pixels / 1e6:g} megapixels "
                         "(downscale it first)")
    if min(w, h) < limits.min_side:
        raise ValueError(f"{p}: image of {w}x{h} pixels; each side must be at least {limits.min_side}")
    read_rgb(p, at_least=limits.jpeg_decode_side)  # the CLI's check: decodes the whole file (a JPEG as above)
    return None if note is None else f"{note}."


def stored_name(index: int, name: str) -> str:
    """The name of upload ``index``'s copy: ``NN_name``, its stem cut (at a character, in UTF-8 bytes) so that the
    whole name fits :data:`MAX_STORED_NAME_BYTES` and keeps its suffix (what :func:`collect_images` checks)."""
    prefix, suffix = f"{index:02d}_", Path(name).suffix
    stem = name[:len(name) - len(suffix)]
    while stem and len(os.fsencode(prefix + stem + suffix)) > MAX_STORED_NAME_BYTES:
        stem = stem[:-1]
    return prefix + stem + suffix


def validate_uploads(paths: Sequence[str | Path], dest: Path, limits: Limits,
                     notes: list[str] | None = None) -> list[Path]:
    """Check uploaded images as ``genxd generate`` does (image suffix, decodable) plus the demo's limits,
    and copy them into ``dest``. Raises ValueError with a one-line message naming the file (its name only:
    the server's folders are not shown). ``notes``: gets a line for each image taken with a caveat (an
    animated image's first frame)."""
    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("no image uploaded")
    if len(files) > limits.max_images:
        raise ValueError(f"{len(files)} images uploaded; at most {limits.max_images}")
    found = []
    for p in files:  # every file checked before any is copied: a refused upload leaves no copies behind
        try:
            found.append(_check_image(p, limits))
        except (ValueError, OSError) as exc:
            raise ValueError(str(exc).replace(str(p), p.name).replace(str(p.parent), "")) from None
    out: list[Path] = []
    dest.mkdir(parents=True, exist_ok=True)
    try:
        for i, p in enumerate(files):
            target = dest / stored_name(i, p.name)
            shutil.copyfile(p, target)
            out.append(target)
    except BaseException:
        for target in out:
            target.unlink(missing_ok=True)
        raise
    if notes is not None:
        notes.extend(note for note in found if note is not None)
    return out
