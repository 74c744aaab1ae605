"""A filter for one spurious diffusers warning.

diffusers' ``ModelMixin.to`` (0.3x-0.42) warns "There are modules in X that should be kept in float32: []" on
every cast with a dtype, also when the list is empty: it replaces a missing list with ``[]`` and then tests it
for ``None``. genxd casts its UNet and VAE on purpose (the GPU fast path, the fp16 VAE's upcast around encoding
and decoding, training's VAE dtype), so each ``genxd generate`` on a GPU printed two such lines that asked for
nothing. The filter drops exactly that message when its list is empty; the warning for a model that does keep
modules in float32 still shows.
"""

from __future__ import annotations

import logging

LOGGER_NAME = "diffusers.models.modeling_utils"
_EMPTY_LIST_WARNING = "that should be kept in float32: []."


class EmptyFloat32ListFilter(logging.Filter):
    """Drops diffusers' float32-modules warning when it names no module."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _EMPTY_LIST_WARNING not in record.getMessage()


def install() -> None:
    """Attach the filter to diffusers' ``modeling_utils`` logger once (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(isinstance(f, EmptyFloat32ListFilter) for f in logger.filters):
        logger.addFilter(EmptyFloat32ListFilter())
