"""Errors a DataLoader worker raised, as PyTorch raises them again in the training process: their own message
without the worker's traceback PyTorch puts in front ("Caught ValueError in DataLoader worker process 0. Original
Traceback ...")."""

from __future__ import annotations

import pickle
import re

__all__ = ["not_sent_to_workers", "worker_error", "without_worker_traceback"]

_WORKER_ERROR = re.compile(r"Caught \w+ in DataLoader worker process \d+\.\nOriginal Traceback \(most recent call "
                           r"last\):\n")


def worker_error(text: str) -> tuple[str, str] | None:
    """``(name, message)`` of the error a DataLoader worker raised, from the text of the error PyTorch raises again
    in the training process ("Caught ValueError in DataLoader worker process 0. Original Traceback ..."): the first
    line after the last traceback's frames names the class (qualified, unless builtin) before its message. None
    for other text."""
    if not _WORKER_ERROR.match(text):
        return None
    lines = text.rstrip("\n").splitlines()
    last = max(i for i, line in enumerate(lines) if line.startswith(("Original Traceback (", "Traceback (")))
    for i in range(last + 1, len(lines)):
        if lines[i] and not lines[i][0].isspace():  # the frames are indented; the error's own lines are not
            error = "\n".join(lines[i:])
            return lines[i].split(":", 1)[0], re.sub(r"^[\w.]+: ", "", error, count=1)
    return None


def without_worker_traceback(text: str) -> str:
    """The message of an error a DataLoader worker raised, without the traceback PyTorch puts in front of it when
    it raises it again in the training process (``genxd train`` printed all of it on its one error line); other
    text as it is."""
    error = worker_error(text)
    return text if error is None else error[1]


def not_sent_to_workers(exc: BaseException) -> bool:
    """Whether ``exc``, raised while a DataLoader started its workers, is the dataset failing to pickle: workers
    that start by spawn (macOS, Windows) or forkserver (Linux from Python 3.14) are sent the dataset pickled."""
    if isinstance(exc, pickle.PicklingError):
        return True
    # "cannot pickle '_io.TextIOWrapper' object"; a lambda or class defined in a function: "Can't pickle local
    # object 'f.<locals>.<lambda>'" up to Python 3.12, "Can't get local object ..." on 3.13 (PicklingError on 3.14)
    text = str(exc).lower()
    return isinstance(exc, (TypeError, AttributeError)) and ("pickle" in text
                                                            or text.startswith("can't get local object"))
