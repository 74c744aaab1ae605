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
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

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
    and ``max_file_bytes``, one larger than :func:`largest_page_upload` is refused (413) before anything else."""

    def __init__(self, app: Any, folder: str | Path, max_bytes: int, max_files: int | None = None,
                 max_file_bytes: int | None = None) -> None:
        self.app, self.folder, self.max_bytes = app, Path(folder), int(max_bytes)
        self.in_flight = 0  # declared bytes of the uploads passed on and not yet answered
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
            used = await anyio.to_thread.run_sync(folder_bytes, self.folder)
            if used + self.in_flight + declared > self.max_bytes:
                from starlette.responses import JSONResponse

                msg = (f"the server's space for uploads is full ({self.max_bytes / MIB:g} MiB; files are removed an "
                       "hour after they came): try again later")
                log.warning("genxd demo: refused an upload of %d bytes: %s", declared, msg)
                await JSONResponse({"detail": msg}, status_code=413)(scope, receive, send)
                return
            self.in_flight += declared  # until answered: its files are on disk by then, counted by the next walk
            try:
                await self.app(scope, receive, send)
            finally:
                self.in_flight -= declared
            return
        await self.app(scope, receive, send)
