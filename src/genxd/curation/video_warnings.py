"""The warnings of one video's curation, kept with its result.

A warning about one video (``decoded 16 of the 24 frames NAME states; the file may be cut short``, ``NAME is
long``) was only printed by whichever process curated it: on the terminal from the main process, in Python's own
format with a source line from a ``--workers`` process, and not at all under Ray (task output is not sent to the
driver), and never in ``index.jsonl`` or ``meta.json``. Collected here, they go into the video's record and
``meta.json`` (``warnings``) and are shown once by the process that runs the command, the same way for every
engine (found by the curation-at-scale audit).

A warning that matters while the video runs (``NAME is long: N frames go to SfM``: minutes of SfM follow) is
collected as the others and also handed at once to ``curate_video``'s ``on_note``, since shown with the record it
came after the SfM it warned about.

Collected per thread (a context variable that :func:`genxd.validation.warn` reads), not with
``warnings.catch_warnings``: that swaps process-wide state (the filters and ``warnings.showwarning``), so in the web
app, where a clip's cameras are read (:func:`genxd.cameras.clip_cameras.recover_clip_cameras`) in one handler thread
while an upload's check runs its own ``catch_warnings`` in another, the two blocks' exits could interleave and leave
the recording hook in place: every later warning of the process was swallowed.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ..validation import COLLECTED

__all__ = ["collected_warnings"]


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """Collect the genxd warnings (:func:`genxd.validation.warn`) raised inside the block by this thread (each
    message once, in order) into the list it gives; other warnings, and other threads' genxd warnings, are not
    touched (nor are Python's warning filters)."""
    notes: list[str] = []
    token = COLLECTED.set(notes)
    try:
        yield notes
    finally:
        COLLECTED.reset(token)
