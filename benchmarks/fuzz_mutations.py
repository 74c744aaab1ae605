"""Mutations for the input fuzzer (``benchmarks/fuzz_inputs.py``): bytes, JSON trees and text tokens.

Every mutator takes a ``random.Random`` (so a case is reproduced from its seed) and returns the mutated value
with a short description of what was done. :func:`mutate_copy` applies one to a copy of a seed file or of one
file inside a seed folder.
"""

from __future__ import annotations

import copy
import json
import random
import re
import shutil
import struct
from pathlib import Path
from typing import Any, Callable

__all__ = ["mutate_bytes", "mutate_json", "mutate_text", "mutate_copy", "INTERESTING_NUMBERS"]

#: Values that break readers: zero, signs, limits of the integer widths, IEEE specials.
INTERESTING_NUMBERS: tuple[Any, ...] = (
    0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**63 - 1, -(2**63), 2**64, 10**30, 1e308, -1e308, 1e-320,
    float("nan"), float("inf"), float("-inf"), 0.5, -0.0,
)

_WORDS = (
    b"\x00" * 8, b"\xff" * 8, struct.pack("<d", float("nan")), struct.pack("<d", float("inf")),
    struct.pack("<Q", 2**62), struct.pack("<Q", 2**32 + 1), struct.pack("<I", 0x7FFFFFFF), struct.pack("<i", -1),
    struct.pack("<d", 1e308), struct.pack("<d", -0.0),
)


def mutate_bytes(rng: random.Random, data: bytes) -> tuple[bytes, str]:
    """One random byte-level mutation: flip bytes, truncate, insert, delete, overwrite a word, repeat a block."""
    b = bytearray(data)
    if not b:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 16))), "filled an empty file"
    op = rng.choice(("flip", "truncate", "insert", "delete", "word", "word", "repeat"))
    if op == "flip":
        k = rng.randint(1, 8)
        for _ in range(k):
            b[rng.randrange(len(b))] = rng.randrange(256)
        return bytes(b), f"set {k} random bytes"
    if op == "truncate":
        n = rng.randrange(len(b))
        return bytes(b[:n]), f"cut to {n} of {len(b)} bytes"
    if op == "insert":
        at = rng.randrange(len(b) + 1)
        extra = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        b[at:at] = extra
        return bytes(b), f"inserted {len(extra)} bytes at {at}"
    if op == "delete":
        at = rng.randrange(len(b))
        n = rng.randint(1, min(16, len(b) - at))
        del b[at:at + n]
        return bytes(b), f"deleted {n} bytes at {at}"
    if op == "word":
        word = rng.choice(_WORDS)
        # Aligned to 4 bytes where the file is long enough: the binary formats' fields are 4- or 8-byte words.
        at = rng.randrange(0, max(1, len(b) - len(word) + 1), 4) if len(b) >= len(word) else 0
        b[at:at + len(word)] = word
        return bytes(b), f"wrote {word.hex()} at {at}"
    at = rng.randrange(len(b))
    n = rng.randint(1, min(64, len(b) - at))
    b[at:at] = b[at:at + n] * rng.randint(1, 4)
    return bytes(b), f"repeated {n} bytes at {at}"


def _paths(tree: Any, prefix: tuple = ()) -> list[tuple]:
    """Every node of a JSON tree as a key path (the root is ``()``)."""
    out = [prefix]
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _paths(v, prefix + (i,))
    return out


def _random_value(rng: random.Random) -> Any:
    return rng.choice((
        None, True, "", "x", "1.5", [], {}, [[]], [None], [1, 2], {"a": 1},
        rng.choice(INTERESTING_NUMBERS), rng.choice(INTERESTING_NUMBERS),
        [rng.choice(INTERESTING_NUMBERS)] * rng.randint(1, 20),
    ))


def mutate_json(rng: random.Random, tree: Any) -> tuple[Any, str]:
    """One structural mutation of a JSON tree: replace, delete, duplicate or resize a node, or rename a key."""
    tree = copy.deepcopy(tree)
    paths = _paths(tree)
    path = rng.choice(paths)
    parent = tree
    for key in path[:-1]:
        parent = parent[key]
    op = rng.choice(("replace", "replace", "replace", "delete", "grow", "shrink", "rename", "number"))
    if not path:
        return _random_value(rng), "replaced the whole document"
    key = path[-1]
    node = parent[key]
    where = "/".join(str(k) for k in path)
    if op == "delete":
        del parent[key]
        return tree, f"deleted {where}"
    if op == "grow" and isinstance(node, list):
        node.extend(copy.deepcopy(node[: rng.randint(1, 3)]) if node else [_random_value(rng)])
        return tree, f"lengthened {where}"
    if op == "shrink" and isinstance(node, list) and node:
        del node[rng.randrange(len(node)):]
        return tree, f"shortened {where}"
    if op == "rename" and isinstance(parent, dict):
        parent[str(key) + "_"] = parent.pop(key)
        return tree, f"renamed {where}"
    if op == "number" and isinstance(node, (int, float)) and not isinstance(node, bool):
        parent[key] = rng.choice(INTERESTING_NUMBERS)
        return tree, f"set {where} to {parent[key]!r}"
    parent[key] = _random_value(rng)
    return tree, f"set {where} to {parent[key]!r}"[:120]


_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def mutate_text(rng: random.Random, text: str) -> tuple[str, str]:
    """One token-level mutation of a text file: a number replaced, a token dropped or doubled, a line cut,
    duplicated or dropped."""
    lines = text.splitlines(keepends=True)
    numbers = list(_NUMBER.finditer(text))
    op = rng.choice(("number", "number", "drop-token", "double-token", "cut-line", "dup-line", "drop-line"))
    if op == "number" and numbers:
        m = rng.choice(numbers)
        new = rng.choice(("nan", "inf", "-inf", "-1", "0", "1e308", "99999999999999999999", "x", "", "1.5"))
        return text[:m.start()] + new + text[m.end():], f"number {m.group()!r} at {m.start()} -> {new!r}"
    data_lines = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    if not data_lines:
        return text + "x\n", "appended a stray token"
    i = rng.choice(data_lines)
    tokens = lines[i].split()
    if op == "drop-token" and tokens:
        del tokens[rng.randrange(len(tokens))]
        lines[i] = " ".join(tokens) + "\n"
        return "".join(lines), f"dropped a token of line {i + 1}"
    if op == "double-token" and tokens:
        j = rng.randrange(len(tokens))
        tokens.insert(j, tokens[j])
        lines[i] = " ".join(tokens) + "\n"
        return "".join(lines), f"doubled a token of line {i + 1}"
    if op == "cut-line":
        cut = rng.randrange(len(lines[i]))
        lines[i] = lines[i][:cut] + "\n"
        return "".join(lines), f"cut line {i + 1} at {cut}"
    if op == "dup-line":
        lines.insert(i, lines[i])
        return "".join(lines), f"duplicated line {i + 1}"
    del lines[i]
    return "".join(lines), f"dropped line {i + 1}"


def _json_dumps(tree: Any) -> str:
    # allow_nan: Python writes NaN / Infinity, which Python's reader accepts: what a careless writer produces.
    return json.dumps(tree, allow_nan=True)


def mutate_copy(rng: random.Random, seed: Path, dest: Path, kind: str | Callable[[Path], str] = "bytes",
                pick: Callable[[Path], bool] | None = None) -> str:
    """Copy ``seed`` (a file or a folder) to ``dest`` and mutate one file of the copy.

    ``kind``: ``"bytes"``, ``"json"``, ``"text"``, or a function of the chosen file's path returning one of them.
    ``pick``: which files of a folder may be chosen (default: every file). Returns what was done.
    """
    if seed.is_dir():
        shutil.copytree(seed, dest)
        files = sorted(p for p in dest.rglob("*") if p.is_file() and (pick is None or pick(p)))
        target = rng.choice(files)
    else:
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(seed, dest)
        target = dest
    how = kind(target) if callable(kind) else kind
    name = target.relative_to(dest).as_posix() if seed.is_dir() else target.name
    if how == "json":
        try:
            tree = json.loads(target.read_text())
        except (ValueError, UnicodeDecodeError):
            how = "bytes"
        else:
            new, what = mutate_json(rng, tree)
            target.write_text(_json_dumps(new))
            return f"{name}: {what}"
    if how == "text":
        try:
            text = target.read_text()
        except UnicodeDecodeError:
            how = "bytes"
        else:
            new, what = mutate_text(rng, text)
            target.write_text(new)
            return f"{name}: {what}"
    new, what = mutate_bytes(rng, target.read_bytes())
    target.write_bytes(new)
    return f"{name}: {what}"
