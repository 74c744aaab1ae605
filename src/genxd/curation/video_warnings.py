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
"""

from __future__ import annotations

import contextlib
import warnings
from typing import Iterator

from ..validation import GenXDWarning

__all__ = ["collected_warnings"]


@contextlib.contextmanager
def collected_warnings() -> Iterator[list[str]]:
    """Collect the genxd warnings raised inside the block (each message once, in order) into the list it gives;
    other warnings are let through as they were."""
    notes: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GenXDWarning)
        try:
            yield notes
        finally:
            others = []
            for item in caught:
                if issubclass(item.category, GenXDWarning):
                    if str(item.message) not in notes:
                        notes.append(str(item.message))
                else:
                    others.append(item)
    for item in others:
        warnings.warn_explicit(item.message, item.category, item.filename, item.lineno, source=item.source)

