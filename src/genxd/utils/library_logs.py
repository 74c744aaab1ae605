"""Log lines of the libraries genxd uses that ask the user for nothing, kept off stderr (applied by ``import genxd``;
only the standard ``logging`` module, so the import stays light: loggers are configured by name before the
libraries exist).

- bitsandbytes (the ``train`` extra), which diffusers imports whenever it loads a model: on CPUs with AVX-512 BF16
  its CPU backend warns that an optional ``kernels`` download is missing, on every command. genxd never uses
  4-bit CPU kernels (8-bit AdamW is on CUDA), so that one logger is kept to errors.
- diffusers' ``ModelMixin.to`` (0.3x-0.42) warns "There are modules in X that should be kept in float32: []" on
  every cast with a dtype, also when the list is empty: it replaces a missing list with ``[]`` and then tests it
  for ``None``. genxd casts its UNet and VAE on purpose (the GPU fast path, the fp16 VAE's upcast around encoding
  and decoding, training's VAE dtype), so each ``genxd generate`` on a GPU printed two such lines. The filter
  drops exactly that message when its list is empty; the warning for a model that does keep modules in float32
  still shows.
- diffusers' ``from_pretrained`` warns in two lines ("Some weights of X were not initialized from the model
  checkpoint ... You should probably TRAIN this model") when weights are missing from a file. genxd's loaders
  report exactly that as their one-line error, naming the file and a weight
  (:func:`genxd.checkpoints.load_component`, ``load_model``): while they load, :func:`genxd_reports_missing_weights`
  drops that warning (only there: a model a user loads with diffusers directly still warns).
- diffusers' ``DiffusionPipeline.to("cpu")`` of a float16 pipeline warns, in a paragraph, that running it "will
  fail"; it runs (about 3x slower than float32 on a 2-core CPU). ``load_model`` says that in one line instead
  (:func:`genxd_reports_float16_on_cpu`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Iterator

BITSANDBYTES_CPU_LOGGER = "bitsandbytes.backends.cpu.ops"
DIFFUSERS_MODELING_LOGGER = "diffusers.models.modeling_utils"
_EMPTY_LIST_WARNING = "that should be kept in float32: []."
_MISSING_WEIGHTS_WARNING = "were not initialized from the model checkpoint"
DIFFUSERS_PIPELINE_LOGGER = "diffusers.pipelines.pipeline_utils"
_FLOAT16_ON_CPU_WARNING = "cannot run with `cpu` device"


class EmptyFloat32ListFilter(logging.Filter):
    """Drops diffusers' float32-modules warning when it names no module."""

    def filter(self, record: logging.LogRecord) -> bool:
        return _EMPTY_LIST_WARNING not in record.getMessage()


def quiet_library_logs() -> None:
    """Apply the settings above (idempotent)."""
    logging.getLogger(BITSANDBYTES_CPU_LOGGER).setLevel(logging.ERROR)
    logger = logging.getLogger(DIFFUSERS_MODELING_LOGGER)
    if not any(isinstance(f, EmptyFloat32ListFilter) for f in logger.filters):
        logger.addFilter(EmptyFloat32ListFilter())


class DroppedMessages(logging.Filter):
    """Drops the records whose message holds one of ``substrings``."""

    def __init__(self, *substrings: str) -> None:
        super().__init__()
        self.substrings = substrings

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(s in message for s in self.substrings)


@contextlib.contextmanager
def dropped_messages(logger_name: str, *substrings: str) -> Iterator[None]:
    """While the block runs, records of ``logger_name`` holding one of ``substrings`` are dropped."""
    logger = logging.getLogger(logger_name)
    dropped = DroppedMessages(*substrings)
    logger.addFilter(dropped)
    try:
        yield
    finally:
        logger.removeFilter(dropped)


def genxd_reports_missing_weights() -> contextlib.AbstractContextManager[None]:
    """While a genxd loader loads a model (it reports missing weights itself, in one line): diffusers' two-line
    warning about them is dropped."""
    return dropped_messages(DIFFUSERS_MODELING_LOGGER, _MISSING_WEIGHTS_WARNING)


@contextlib.contextmanager
def library_bars(enabled: bool) -> Iterator[None]:
    """Within this block diffusers' own progress bars (its "Loading checkpoint shards" bar of a sharded model
    folder) show only when ``enabled`` (``genxd generate -q``: off); its setting is put back afterwards."""
    from diffusers.utils import logging as diffusers_logging

    was = diffusers_logging.is_progress_bar_enabled()
    if not enabled:
        diffusers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was and not enabled:
            diffusers_logging.enable_progress_bar()


def genxd_reports_float16_on_cpu() -> contextlib.AbstractContextManager[None]:
    """While genxd moves a float16 model to the CPU (it says in one line that this is slow): diffusers' paragraph
    saying the pipeline "will fail" there (it runs) is dropped."""
    return dropped_messages(DIFFUSERS_PIPELINE_LOGGER, _FLOAT16_ON_CPU_WARNING)
