"""JSON files genxd reads and writes: camera files, configs, indexes, records.

- :func:`read_json`: a JSON file parsed, or one line naming the file (missing, empty, over :data:`MAX_JSON_BYTES`,
  not UTF-8 text, not JSON, nested too deeply, a number Python will not parse).
- :func:`read_json_object`: an optional record (an output folder's ``meta.json``) as a dict, ``{}`` when unreadable.
- :func:`write_json_atomic`: strict JSON (:func:`~genxd.utils.json_text.json_text`) written atomically by the rules
  of :mod:`genxd.utils.io`.

:mod:`genxd.utils.io` re-exports the three functions for callers that import them from there, not
:data:`MAX_JSON_BYTES`: a test or a caller changing it sets it here (``genxd.utils.json_files.MAX_JSON_BYTES``), where
:func:`read_json` reads it (a copy in ``io`` would be a setting that a change leaves unread).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

from .json_text import json_text
from .paths import require_file

#: Largest JSON file :func:`read_json` parses: Python's objects take about 40 times a file's bytes (a 32 MB list of a
#: million w2c matrices: 1.2 GB and 14 s), so a 2 GB camera file would exhaust the memory before any check ran.
#: Camera files, configs, indexes and records genxd reads are far smaller (a 10,000-frame transforms.json: ~7 MB).
MAX_JSON_BYTES = 64 * 2**20


def read_json(path: str | os.PathLike, expected: str = "a JSON file") -> Any:
    """Parse a JSON file; FileNotFoundError when it is missing, a ValueError naming the file when it is empty,
    larger than :data:`MAX_JSON_BYTES`, not UTF-8 text, not JSON or nested too deeply. ``expected`` says what
    the file should be (used in the messages), e.g. "a camera JSON"."""
    from .file_groups import settle

    path = Path(path)
    settle(path)  # one of a group of files whose replacement was stopped: the group finished first (one lstat)
    try:  # one stat for a regular file; require_file's one-line error otherwise
        st = path.stat()
    except (OSError, ValueError):
        st = None
    if st is None or not stat.S_ISREG(st.st_mode):
        st = require_file(path).stat()  # raises for what is no regular file (one there now is read)
    size = st.st_size
    if size > MAX_JSON_BYTES:
        raise ValueError(f"{path}: a JSON file of {size / 2**20:.0f} MiB; at most {MAX_JSON_BYTES // 2**20} MiB "
                         f"are read (expected {expected})")
    data = path.read_bytes()
    if not data.strip():
        raise ValueError(f"{path}: empty file (expected {expected})")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not a text file (expected {expected})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); expected {expected}"
        ) from None
    except RecursionError:
        raise ValueError(f"{path}: JSON nested too deeply (expected {expected})") from None
    except ValueError:  # Python's limit on integer digits (its message advises sys.set_int_max_str_digits)
        raise ValueError(f"{path}: a number of more than {sys.get_int_max_str_digits()} digits (expected "
                         f"{expected})") from None  # the limit and its getter came together (Python 3.10.7, 3.11)


def read_json_object(path: str | os.PathLike) -> dict:
    """A JSON file holding an object, as a dict; ``{}`` when it is missing, unreadable, not JSON or not an object
    (for optional records such as an output folder's ``meta.json``, where absence means "not said")."""
    try:
        data = json.loads(Path(path).read_bytes())
    except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested too deeply
        return {}
    return data if isinstance(data, dict) else {}


def write_json_atomic(path: str | os.PathLike, obj: Any, overwrite: bool = True, indent: int | None = 4) -> Path:
    """Write ``obj`` as JSON atomically; refuse to replace an existing file unless ``overwrite``."""
    from ..validation import overwrite_hint
    from .io import atomic_file  # io re-exports this module's names: imported here, no cycle

    path = Path(path)
    if os.path.lexists(path) and not overwrite:
        raise FileExistsError(f"{path} already exists ({overwrite_hint()})")
    with atomic_file(path, replace=overwrite) as tmp:
        tmp.write_text(json_text(obj, indent=indent) + "\n")
    return path


__all__ = ["MAX_JSON_BYTES", "read_json", "read_json_object", "write_json_atomic"]
