"""A cap on the disk space uploads to the demo may fill.

Gradio's upload route (``POST /gradio_api/upload``) takes any number of files in one request, each up to the
page's file size limit, and keeps them in its folder (``GRADIO_TEMP_DIR``) for an hour (``delete_cache``): a client
posting files in a loop filled the disk. :class:`UploadBudget` (ASGI middleware) refuses an upload, with HTTP 413
and one line, while that folder (uploads and the copies of outputs Gradio serves) plus the request's declared
size, and the declared sizes of the uploads still being received, is over the budget (uploads sent together were
each checked against the disk alone, and all passed); an upload that does not state its size (a chunked body) is
refused (411). One upload larger than the page ever sends (its input images, each at the file size limit, with
their form's framing) is refused at once (413), unread: its declared size was held from the budget while a slow
client sent it.

The bytes on disk are a running count: the last walk of the folder plus the declared sizes of the uploads answered
since (at least what they wrote). A check walks the folder again (a walk stats every file: about 0.3 s at 10,000
files) only when that walk is ``refresh_s`` old, so that files Gradio's clean-up removed, and files that came
otherwise (the copies of outputs Gradio serves), are seen within that time, or when the count leaves less than an
eighth of the budget free: there each upload is checked against a fresh walk, and none is refused on the count
alone. Checks that need a walk while one runs wait for it instead of walking too.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Callable

from .workdir import folder_bytes

__all__ = ["UploadBudget", "largest_page_upload"]

log = logging.getLogger("genxd.demo")

MIB = 2**20
# bytes a browser's form adds to each file it sends, with room to spare: the boundary line (at most 70 bytes), the
# part's headers with the file's name (at most 255 bytes, each escaped to at most 3) and type, the line ends
PART_ALLOWANCE = 4096


def largest_page_upload(max_files: int, max_file_bytes: int) -> int:
    """Bytes of the largest upload the page sends: its ``max_files`` input images (the camera file and the video are
    one file each), each of ``max_file_bytes``, in one ``multipart/form-data`` body."""
    return max(int(max_files), 1) * (int(max_file_bytes) + PART_ALLOWANCE)


class UploadBudget:
    """ASGI middleware: a ``POST`` to a path ending in ``/upload`` is refused (413) while ``folder`` holds
    ``max_bytes`` or more with the request's ``Content-Length`` and those of the uploads in flight added (one
    event loop: the check and the reservation run with no ``await`` between them). Given the page's ``max_files``
    and ``max_file_bytes``, one larger than :func:`largest_page_upload` is refused (413) before anything else.
    ``folder``'s bytes are counted as the module says (``refresh_s``: the oldest walk a check trusts, by ``clock``)."""

    def __init__(self, app: Any, folder: str | Path, max_bytes: int, max_files: int | None = None,
                 max_file_bytes: int | None = None, refresh_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.app, self.folder, self.max_bytes = app, Path(folder), int(max_bytes)
        self.in_flight = 0  # declared bytes of the uploads passed on and not yet answered
        self.refresh_s, self.clock = float(refresh_s), clock
        self.near_bytes = self.max_bytes // 8  # a count that leaves less free than this is walked at every check
        self.walks = 0  # walks of the folder so far
        self._walked = 0  # bytes the last walk found
        self._walked_at = -float("inf")  # clock() as it began
        self._answered = 0  # declared bytes of every upload answered so far
        self._answered_at_walk = 0  # ... as the last walk began: those answered after it are not in its bytes
        self._walking: Any = None  # the walk under way (an anyio.Event set when it ends), or None
        self.max_request_bytes: int | None = None  # the most one upload may declare (None: no cap)
        self.too_large = ""  # the refusal of an upload over it
        if max_files is not None and max_file_bytes is not None:
            self.max_request_bytes = largest_page_upload(max_files, max_file_bytes)
            files = f"{max_files} file{'s' if max_files != 1 else ''}"
            self.too_large = (f"an upload holds at most {files} of up to {max_file_bytes / MIB:g} MiB each "
                              f"({self.max_request_bytes / MIB:.2f} MiB with the form's framing)")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and scope.get("method") == "POST" and scope.get("path", "").rstrip("/").endswith("/upload"):
            import anyio

            declared = None  # the server holds the body to it; a chunked body (no length) could be of any size
            for key, value in scope.get("headers", []):
                if key == b"content-length" and value.isdigit():
                    declared = int(value)
            if declared is None:
                from starlette.responses import JSONResponse

                await JSONResponse({"detail": "an upload must state its size (Content-Length)"},
                                   status_code=411)(scope, receive, send)
                return
            if self.max_request_bytes is not None and declared > self.max_request_bytes:
                from starlette.responses import JSONResponse

                msg = f"{self.too_large}; this one states {declared / MIB:.2f} MiB"
                log.warning("genxd demo: refused an upload of %d bytes: %s", declared, msg)
                await JSONResponse({"detail": msg}, status_code=413)(scope, receive, send)
                return
            if self._needs_walk(declared):
                await self._walk(anyio)
            if self.on_disk() + self.in_flight + declared > self.max_bytes:
                from starlette.responses import JSONResponse

                msg = (f"the server's space for uploads is full ({self.max_bytes / MIB:g} MiB; files are removed an "
                       "hour after they came): try again later")
                log.warning("genxd demo: refused an upload of %d bytes: %s", declared, msg)
                await JSONResponse({"detail": msg}, status_code=413)(scope, receive, send)
                return
            self.in_flight += declared  # until answered: its files are on disk by then (see on_disk)
            try:
                await self.app(scope, receive, send)
            finally:
                self.in_flight -= declared
                self._answered += declared  # and in the count until a walk that begins after this
            return
        await self.app(scope, receive, send)

    def on_disk(self) -> int:
        """Bytes in ``folder`` as counted: the last walk's plus the declared sizes of the uploads answered since it
        began (an upload's files are at most its declared size; files removed or added otherwise since that walk
        are not in it)."""
        return self._walked + self._answered - self._answered_at_walk

    def _needs_walk(self, declared: int) -> bool:
        stale = self.clock() - self._walked_at >= self.refresh_s
        near = self.on_disk() + self.in_flight + declared > self.max_bytes - self.near_bytes
        return stale or near

    async def _walk(self, anyio: Any) -> None:
        """Count ``folder``'s bytes again (in a thread), or wait for the walk under way."""
        if self._walking is not None:
            await self._walking.wait()
            return
        done = self._walking = anyio.Event()
        began, answered = self.clock(), self._answered
        try:
            walked = await anyio.to_thread.run_sync(folder_bytes, self.folder)
            self._walked, self._walked_at, self._answered_at_walk = walked, began, answered
            self.walks += 1
        finally:
            self._walking = None
            done.set()
