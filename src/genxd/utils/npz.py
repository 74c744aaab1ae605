"""The arrays of an ``.npz`` file someone else made, sized from their headers before any data is read.

``np.load(...)["name"]`` allocates the shape an array's header states and inflates its compressed data into it:
a few megabytes of compressed zeros claiming gigabytes (an ``.npz`` is a zip) exhaust the memory before a reader
can compare the shape with the one it expects. :func:`npz_shape` reads only the header.
"""

from __future__ import annotations

import os
import tokenize
import zipfile
import zlib

import numpy as np

__all__ = ["NPZ_READ_ERRORS", "npz_shape", "require_numpy_file"]

#: what reading an ``.npz`` that is damaged or no archive raises besides ValueError / KeyError (TokenError: a
#: damaged ``.npy`` header)
NPZ_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, zipfile.BadZipFile, zlib.error,
                                                    tokenize.TokenError)


def npz_shape(z: np.lib.npyio.NpzFile, name: str) -> tuple[int, ...]:
    """The shape the header of ``z[name]`` states, without reading its data. KeyError when ``z`` has no such
    array; ValueError when its header is damaged (as ``z[name]`` would raise). The member is the one ``z[name]``
    reads: ``name`` itself when the zip holds a member of that name, else ``name.npy`` (a zip holding both read the
    header of ``name.npy`` and the data of ``name``, which could claim any shape)."""
    archive = z.zip
    assert archive is not None  # open: every caller reads the shapes inside the file's with block
    member = name if name in archive.namelist() else f"{name}.npy"
    with archive.open(member) as f:
        major, _ = np.lib.format.read_magic(f)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, _ = read(f)
    return tuple(int(n) for n in shape)


#: how an ``.npy`` file and a zip (``.npz``: a local file header, or the end record of an empty archive) begin
_NUMPY_MAGIC = (b"\x93NUMPY", b"PK\x03\x04", b"PK\x05\x06")


def require_numpy_file(path: str | os.PathLike) -> None:
    """A ValueError unless ``path`` begins as an ``.npy`` file or an ``.npz`` archive does. ``np.load`` takes any other
    file for a pickle and, with ``allow_pickle=False``, said of a damaged or foreign file (text, an image, a page of
    HTML saved under the name) "This file contains pickled (object) data. If you trust the file you can load it
    unsafely using the `allow_pickle=` keyword argument": advice to unpickle what is not even a pickle. An OSError
    of the machine (a missing file, a permission) is raised as is."""
    with open(path, "rb") as f:
        start = f.read(6)
    if not start.startswith(_NUMPY_MAGIC):
        raise ValueError(f"not a NumPy .npy or .npz file (it begins {start!r}; genxd does not read pickled data)")
