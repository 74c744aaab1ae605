"""``genxd generate --input-list``: a list file saved by a Windows editor (CRLF line ends, a UTF-8 byte order mark)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genxd.cli.generate import read_input_list


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_a_windows_list_file_names_the_same_paths(tmp_path, bom):
    """A list saved with a byte order mark (Notepad's 'UTF-8 with BOM') made its first path '\\ufeffa.png':
    'genxd: error: .../\\ufeffa.png: no such file or folder', the mark invisible in the message."""
    (tmp_path / "list.txt").write_bytes(bom + "a.png\r\n# a comment\r\n\r\nsub/phöto 1.png\r\n".encode())
    assert read_input_list(tmp_path / "list.txt") == [tmp_path / "a.png", tmp_path / "sub" / "phöto 1.png"]


def test_a_list_that_is_not_utf8_is_refused_in_one_line(tmp_path):
    (tmp_path / "list.txt").write_bytes("caf\xe9.png\n".encode("latin-1"))  # a legacy 'ANSI' save
    with pytest.raises(ValueError, match=r"list\.txt: the input list is not UTF-8 text$"):
        read_input_list(tmp_path / "list.txt")


def test_a_list_that_is_a_pipe_or_a_device_is_named_as_such(tmp_path):
    """``--input-list <(ls *.png)`` (a pipe, /dev/fd/63) and ``--input-list /dev/null`` said "no such input list
    file" of a path that is there (the generate review, session 59); a list's relative paths are read from its
    folder, which a pipe has not."""
    import os

    pipe = tmp_path / "list.fifo"
    os.mkfifo(pipe)
    with pytest.raises(ValueError, match=r"list\.fifo: is a named pipe, not a regular file$"):
        read_input_list(pipe)
    with pytest.raises(ValueError, match=r"^/dev/null: is a device, not a regular file$"):
        read_input_list(Path("/dev/null"))
    with pytest.raises(FileNotFoundError, match=r"missing\.txt: no such input list file$"):
        read_input_list(tmp_path / "missing.txt")
