"""``genxd generate --input-list``: a list file saved by a Windows editor (CRLF line ends, a UTF-8 byte order mark)."""

from __future__ import annotations

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
