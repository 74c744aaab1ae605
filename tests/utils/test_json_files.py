"""``genxd.utils.json_files``: JSON files read with one line naming the file for whatever Python cannot take (and
never parsed when over the size limit), optional records read as "not said"; ``genxd.utils.io`` re-exports them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genxd.utils import io, json_files


def test_io_re_exports_the_json_functions_and_either_module_imports_first():
    # moved out of genxd.utils.io (past ~600 lines): callers importing them from there get the same objects
    for name in ("read_json", "read_json_object", "write_json_atomic"):
        assert getattr(io, name) is getattr(json_files, name), name
    for first in ("genxd.utils.json_files", "genxd.utils.io"):  # no import cycle whichever comes first
        code = f"import {first}; from genxd.utils.io import read_json; from genxd.utils.json_files import read_json"
        src = str(Path(json_files.__file__).parents[2])  # the genxd under test, not another installed one
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH")]))}
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr


def test_the_json_size_limit_is_not_a_copy_in_io_that_does_nothing(tmp_path, monkeypatch):
    """io re-exported MAX_JSON_BYTES after the move: a copy, so an outside monkeypatch of io.MAX_JSON_BYTES (as
    genxd's own tests did before the move) changed nothing read_json reads, silently. Now io has no such name (the
    patch fails), and the limit set where it lives is the one read_json applies."""
    assert not hasattr(io, "MAX_JSON_BYTES")
    with pytest.raises(AttributeError):
        monkeypatch.setattr(io, "MAX_JSON_BYTES", 1)
    path = tmp_path / "cam.json"
    path.write_text("[1, 2]")
    monkeypatch.setattr(json_files, "MAX_JSON_BYTES", 3)
    with pytest.raises(ValueError, match=r"at most \d+ MiB are read"):
        io.read_json(path)  # the re-exported reader follows the limit where it lives


def test_write_json_atomic_refuses_an_existing_file_unless_told(tmp_path):
    path = tmp_path / "r.json"
    json_files.write_json_atomic(path, {"psnr": float("nan")})
    assert json_files.read_json(path) == {"psnr": None}  # strict JSON: no number is null
    with pytest.raises(FileExistsError, match="already exists"):
        json_files.write_json_atomic(path, {}, overwrite=False)
    assert json_files.read_json(path) == {"psnr": None}
    json_files.write_json_atomic(path, [1])
    assert json_files.read_json(path) == [1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no temporary left


@pytest.mark.parametrize("text, says", [
    ("[1" + "0" * 5000 + "]", "a number of more than 4300 digits"),  # was: Python's 'Exceeds the limit ... use
    ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),  # sys.set_int_max_str_digits()', no file named
], ids=["huge-integer", "deep-nesting"])
def test_a_json_file_python_cannot_take_is_one_error_naming_it(tmp_path, text, says):
    path = tmp_path / "cam.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=f"^{path}: {says}") as info:
        json_files.read_json(path, "a camera file")
    assert "set_int_max_str_digits" not in str(info.value)


def test_a_json_file_too_large_to_parse_is_refused_before_it_is_read(tmp_path, monkeypatch):
    # was: read whole and parsed (~40 times its size in memory: a 2 GB camera file exhausted the memory);
    # the file is sparse (no disk used), and reading it is made to fail so that only the size is looked at
    path = tmp_path / "cameras.json"
    with open(path, "wb") as f:
        f.truncate(64 * 2**20 + 1)  # json_files.MAX_JSON_BYTES + 1
    monkeypatch.setattr(Path, "read_bytes", lambda self: pytest.fail(f"{self} was read"))
    with pytest.raises(ValueError, match=rf"^{path}: a JSON file of 64 MiB; at most 64 MiB are read \(expected a camera"):
        json_files.read_json(path, "a camera file")


def test_optional_records_nested_too_deeply_read_as_not_said(tmp_path):
    # was: RecursionError's traceback where an unreadable record means "not said" (an output folder's meta.json,
    # a curated video's meta.json for its settings, a few-shot group's target_indices.json)
    from genxd.curation.run_settings import recorded_settings
    from genxd.reconstruction.extra_views import conditioning_views

    deep = "[" * 100_000 + "]" * 100_000
    for name in ("meta.json", "target_indices.json"):
        (tmp_path / name).write_text(deep)
    assert json_files.read_json_object(tmp_path / "meta.json") == {}
    assert recorded_settings(None, tmp_path / "meta.json") is None
    (tmp_path / "meta.json").write_text('{"context_index": [0]}')
    assert conditioning_views(tmp_path) is None
