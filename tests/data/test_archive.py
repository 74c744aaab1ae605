"""genxd.data.archive.SafeZip: whole-archive budgets (size, ratio, member count) and corrupt members."""

from __future__ import annotations

import contextlib
import random
import re
import struct
import zipfile
import zlib
from pathlib import Path

import pytest

from genxd.data.archive import ArchiveLimits, SafeZip
from genxd.data.datasets import CamVidDataset


def _zip_of_copies(path: Path, names: list[str], data: bytes) -> Path:
    """A deflated zip whose members all hold ``data``, written by hand: the data is compressed once, so
    a 600 MiB archive takes milliseconds to make (``zipfile`` would deflate every copy)."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = comp.compress(data) + comp.flush()
    crc = zlib.crc32(data)
    local, central = bytearray(), bytearray()
    for name in names:
        raw = name.encode()
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(packed), len(data),
                               len(raw), 0, 0, 0, 0, 0, len(local)) + raw
        local += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(packed), len(data), len(raw), 0)
        local += raw + packed
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(names), len(names), len(central), len(local), 0)
    path.write_bytes(bytes(local + central + end))
    return path


def test_many_small_members_that_add_up_to_a_bomb_are_refused(tmp_path):
    """The case of issue 18: 600 members just under 1 MiB of zeros each (each below the per-member ratio
    check's 1 MiB floor) make a <1 MB archive that unpacked to 629 MB; the whole-archive budget refuses it
    when it is opened, before anything is read or extracted."""
    names = [f"video0/0/points{i:03d}.bin" for i in range(600)]
    bomb = _zip_of_copies(tmp_path / "batch_1.zip", names, b"\0" * ((1 << 20) - 1))
    assert bomb.stat().st_size < 1_000_000
    with zipfile.ZipFile(bomb) as zf:  # a valid zip
        assert sum(i.file_size for i in zf.infolist()) == 600 * ((1 << 20) - 1)
    with pytest.raises(ValueError, match=r"batch_1\.zip: refused unsafe archive: 600 members add up to 629145000 "
                                         r"bytes uncompressed .*ratio"):
        SafeZip(bomb)
    with pytest.raises(ValueError, match="refused unsafe archive"):
        CamVidDataset(bomb, num_frames=4, height=32, extract_dir=tmp_path / "x")
    assert not (tmp_path / "x").exists()
    # a caller who trusts the archive can raise the budget
    assert len(SafeZip(bomb, ArchiveLimits(max_total_ratio=1e6)).names()) == 600


def test_well_compressible_small_archives_and_real_frames_pass(tmp_path):
    """Below the whole-archive floor (64 MiB unpacked) text-like members are fine however well they pack."""
    small = _zip_of_copies(tmp_path / "ok.zip", [f"v/0/cameras{i}.txt" for i in range(50)], b"0 " * 50_000)
    assert len(SafeZip(small).names()) == 50


def test_member_count_budget(tmp_path):
    many = _zip_of_copies(tmp_path / "many.zip", [f"v/images/{i:05d}.jpg" for i in range(101)], b"x")
    assert len(SafeZip(many).names()) == 101
    with pytest.raises(ValueError, match=r"many\.zip: refused unsafe archive: 101 members \(limit 100\)"):
        SafeZip(many, ArchiveLimits(max_members=100))


def test_limits_are_checked():
    for bad in (dict(max_members=0), dict(max_total_ratio=1.0), dict(total_ratio_min_bytes=-1)):
        with pytest.raises(ValueError):
            ArchiveLimits(**bad)


@pytest.mark.parametrize("method", [zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
def test_corrupt_member_is_a_value_error_naming_archive_and_member(tmp_path, method):
    """A member whose bytes were damaged after zipping (CRC mismatch, or a broken deflate stream) raised
    ``zipfile.BadZipFile`` / ``zlib.error`` without the archive's name; it is the documented ValueError."""
    path = tmp_path / "batch_2.zip"
    payload = bytes(range(256)) * 64
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        zf.writestr("video0/meta.json", b"{}")
        zf.writestr("video0/images/00000.jpg", payload)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"video0/images/00000.jpg") + len("video0/images/00000.jpg") + 40  # inside the member's data
    raw[at] ^= 0xFF
    path.write_bytes(bytes(raw))
    archive = SafeZip(path)  # the central directory is intact: opening works
    assert archive.read("video0/meta.json") == b"{}"
    with pytest.raises(ValueError, match=r"batch_2\.zip: member 'video0/images/00000\.jpg' is corrupt"):
        archive.read("video0/images/00000.jpg")
    with pytest.raises(ValueError, match=r"batch_2\.zip: member 'video0/images/00000\.jpg' is corrupt"):
        archive.extract(["video0/images/00000.jpg"], tmp_path / "out")
    assert not any((tmp_path / "out").rglob("00000.jpg"))


@pytest.mark.parametrize("name", ["", "./"])
def test_a_member_without_a_name_is_refused(tmp_path, name):
    # was: zipfile's IndexError ('string index out of range' in ZipInfo.is_dir) from SafeZip, found by the
    # reconfusion-scene fuzzer once scene files were checked as archives
    path = _zip_of_copies(tmp_path / "a.zip", ["ok.txt", name], b"data")
    with pytest.raises(ValueError, match="refused unsafe archive: member .* has an empty name"):
        SafeZip(path)


def _quoted_overlap_zip(path: Path, count: int, kernel: bytes) -> Path:
    """Fifield's quoted-overlap zip bomb, by hand: member ``i``'s deflate stream quotes member ``i + 1``'s local
    header in a stored block and goes on into member ``i + 1``'s data, so every member inflates ``kernel`` (and the
    headers after its own) from bytes the members share: a valid zip whose compressed sizes add up to far more than
    the file."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed, data = comp.compress(kernel) + comp.flush(), kernel
    names = [f"video0/0/points{i:03d}.bin".encode() for i in range(count)]
    headers, sizes = [b""] * count, [(0, 0, 0)] * count
    for i in reversed(range(count)):
        if i < count - 1:  # a stored block (not final) holding the next member's local header
            quoted = headers[i + 1]
            packed = b"\x00" + struct.pack("<HH", len(quoted), len(quoted) ^ 0xFFFF) + quoted + packed
            data = quoted + data
        sizes[i] = (zlib.crc32(data), len(packed), len(data))
        headers[i] = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, *sizes[i], len(names[i]), 0) + names[i]
    body = headers[0] + packed
    offsets = [0]
    for header in headers[:-1]:
        offsets.append(offsets[-1] + len(header) + 5)  # the next header, after this one and its stored block's head
    central = b"".join(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, *sizes[i],
                                   len(names[i]), 0, 0, 0, 0, 0, offsets[i]) + names[i] for i in range(count))
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, count, count, len(central), len(body), 0)
    path.write_bytes(body + central + end)
    return path


def test_members_that_overlap_are_refused(tmp_path):
    """A quoted-overlap zip bomb passed the whole-archive ratio check, which divides by the members' compressed
    sizes: overlapping members count their shared bytes once each, so 40 KB read back as 21 MB (534:1 under a 20:1
    limit; at CamVid scale, a few MB declaring 240 GB). Members' compressed data adding up to more than the file is
    now refused when it is opened."""
    pick = random.Random(0).choice
    kernel = bytes(pick(b"ab") for _ in range(1 << 16))  # deflates about 6:1, under every ratio limit
    bomb = _quoted_overlap_zip(tmp_path / "batch_1.zip", 300, kernel)
    with zipfile.ZipFile(bomb) as zf:  # a valid zip: every member reads with the right CRC
        broken = zf.testzip()
        if broken is not None:  # Pythons with CPython's own overlap check (gh-109858; 3.12.3 has it, 3.11.7 not)
            with pytest.raises(zipfile.BadZipFile, match="[Oo]verlap"):  # refuse to read the members themselves
                zf.read(broken)
        assert sum(info.file_size for info in zf.infolist()) > 300 * bomb.stat().st_size
    limits = ArchiveLimits(total_ratio_min_bytes=0)
    with pytest.raises(ValueError, match=r"batch_1\.zip: refused unsafe archive: its members' compressed data add "
                                         r"up to \d+ bytes, more than the archive's \d+: members overlap"):
        SafeZip(bomb, limits)
    with pytest.raises(ValueError, match="members overlap"):
        SafeZip(bomb)  # whatever the budget


@pytest.mark.parametrize("first, second", [("video0/0/cameras.bin", "video0/0/cameras.bin"),
                                           ("video0/0/cameras.bin", "video0//0/./cameras.bin"),
                                           ("video0/0/cameras.bin", "video0\\0\\cameras.bin")])
def test_two_members_of_one_path_are_refused(tmp_path, first, second):
    """Two members that are one file (the same name, or names that normalise to it) were read as the last of them,
    in silence: what a tool listing the archive shows first (an unzip that asks, a check of the archive) was not
    what training read. Now the archive is refused naming both."""
    path = _zip_of_copies(tmp_path / "batch_1.zip", [first, "video0/images/00000.jpg"], b"first")
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning, match="Duplicate name") if first == second \
            else contextlib.nullcontext():
        zf.writestr(second, b"second")
    with zipfile.ZipFile(path) as zf:
        assert len(zf.infolist()) == 3
    with pytest.raises(ValueError, match=rf"batch_1\.zip: refused unsafe archive: members {re.escape(repr(first))} "
                                         rf"and {re.escape(repr(second))} are one file, 'video0/0/cameras\.bin'"):
        SafeZip(path)


@pytest.mark.parametrize("names", [["video0/0", "video0/0/cameras.bin"], ["video0/0/cameras.bin", "video0/0"]])
def test_a_member_that_is_the_folder_of_another_is_refused(tmp_path, names):
    """A file member that is also another member's folder (``0`` beside ``0/cameras.bin``) cannot be unpacked: it
    was opened, then extracting both raised a bare ``FileExistsError`` / ``NotADirectoryError`` half-way, one file
    written. Now the archive is refused when opened, naming both."""
    path = _zip_of_copies(tmp_path / "batch_1.zip", names, b"data")
    file, inside = sorted(names, key=len)
    with pytest.raises(ValueError, match=rf"batch_1\.zip: refused unsafe archive: member '{file}' is a file and the "
                                         rf"folder of member '{inside}'"):
        SafeZip(path).extract(names, tmp_path / "out")


def test_extract_does_not_overwrite_an_existing_file_unless_asked(tmp_path):
    """``SafeZip.extract`` replaced a file already at a member's path in silence (a user's own ``0/cameras.bin``);
    now it is a FileExistsError naming it, before anything is written, and ``overwrite=True`` replaces it."""
    path = _zip_of_copies(tmp_path / "batch_1.zip", ["video0/0/cameras.bin", "video0/0/images.bin"], b"archived")
    out = tmp_path / "out"
    (out / "0").mkdir(parents=True)
    (out / "0" / "images.bin").write_bytes(b"mine")
    archive = SafeZip(path)
    with pytest.raises(FileExistsError, match=rf"{re.escape(str(out / '0' / 'images.bin'))} already exists \(member "
                                              r"'video0/0/images\.bin'; pass overwrite=True to replace it\)"):
        archive.extract(archive.names(), out, strip_prefix="video0/")
    assert (out / "0" / "images.bin").read_bytes() == b"mine" and not (out / "0" / "cameras.bin").exists()
    archive.extract(archive.names(), out, strip_prefix="video0/", overwrite=True)
    assert [(out / "0" / n).read_bytes() for n in ("cameras.bin", "images.bin")] == [b"archived"] * 2


def test_a_failed_extract_leaves_nothing_behind(tmp_path):
    """A corrupt member stopped ``SafeZip.extract`` after the members before it were written, so the folder held a
    part of the model (``cameras.bin`` without ``images.bin``) that a later reader could take for all of it. Now the
    members are written under temporary names and renamed once all are read: a failure leaves no file, and no
    folder the call made."""
    path = tmp_path / "batch_1.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("video0/0/cameras.bin", b"cameras")
        zf.writestr("video0/0/images.bin", bytes(range(256)) * 16)
    raw = bytearray(path.read_bytes())
    raw[raw.index(bytes(range(256))) + 100] ^= 0xFF  # images.bin's data: a CRC mismatch
    path.write_bytes(bytes(raw))
    archive, out = SafeZip(path), tmp_path / "out"
    with pytest.raises(ValueError, match=r"batch_1\.zip: member 'video0/0/images\.bin' is corrupt"):
        archive.extract(archive.names(), out)
    assert not out.exists()
    (out / "video0").mkdir(parents=True)  # a folder that was there before stays
    with pytest.raises(ValueError, match="is corrupt"):
        archive.extract(archive.names(), out)
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] == ["video0"]


def _stored_zip(path: Path, names: list[str]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name in names:
            zf.writestr(name, name.encode())
    return path


@pytest.mark.parametrize("names, words", [
    (["video0/0/cameras.bin", "0/cameras.bin"],
     r"members 'video0/0/cameras\.bin' and '0/cameras\.bin' would both be written to .+/out/0/cameras\.bin "
     r"\(strip_prefix 'video0/'\)"),
    (["video0/0", "0/x"], r"member 'video0/0' would be written to .+/out/0, the folder of member '0/x'"),
], ids=["two members to one path", "a member to the folder of another"])
def test_members_that_strip_prefix_maps_to_one_path_are_refused_before_writing(tmp_path, names, words):
    """Two members one path once ``strip_prefix`` is taken off (``video0/0/x`` and ``0/x``), or one the folder of
    another: ``extract`` failed half-way ('No such file or directory: .../0/.cameras.bin.part -> .../0/cameras.bin',
    'Is a directory'), one of them written and ``.part`` files left. Now a ValueError before anything is written."""
    archive, out = SafeZip(_stored_zip(tmp_path / "batch_1.zip", names)), tmp_path / "out"
    with pytest.raises(ValueError, match=rf"batch_1\.zip: {words}"):
        archive.extract(archive.names(), out, strip_prefix="video0/")
    assert not out.exists()


def test_a_member_listed_twice_is_extracted_once(tmp_path):
    """``extract(["v/a", "v/a"], ...)`` wrote it, then failed renaming its second copy ('No such file or directory')."""
    archive, out = SafeZip(_stored_zip(tmp_path / "batch_1.zip", ["v/a"])), tmp_path / "out"
    archive.extract(["v/a", "v/a"], out, strip_prefix="v/")
    assert [p.relative_to(out).as_posix() for p in out.rglob("*")] == ["a"] and (out / "a").read_bytes() == b"v/a"


def test_a_file_where_a_member_needs_a_folder_is_named_before_writing(tmp_path):
    archive, out = SafeZip(_stored_zip(tmp_path / "batch_1.zip", ["v/a", "v/0/x"])), tmp_path / "out"
    out.mkdir()
    (out / "0").write_bytes(b"mine")
    with pytest.raises(FileExistsError, match=r"/out/0 is a file, where member 'v/0/x' needs a folder"):
        archive.extract(archive.names(), out, strip_prefix="v/")
    assert sorted(p.name for p in out.iterdir()) == ["0"]


def test_a_member_name_that_is_not_utf8_names_the_archive(tmp_path):
    """A member flagged as UTF-8 whose name is not (``b"\\xff.jpg"``) raised zipfile's bare UnicodeDecodeError
    ("'utf-8' codec can't decode byte 0xff ..."), naming neither the archive nor what is wrong with it."""
    path = _zip_of_copies(tmp_path / "batch_1.zip", ["video0/images/X.jpg"], b"data")
    raw = bytearray(path.read_bytes())
    for at in (7, raw.index(b"PK\x01\x02") + 9):  # the high byte of the local and central headers' flags
        raw[at] |= 0x08  # bit 11: UTF-8 names
    path.write_bytes(bytes(raw).replace(b"X.jpg", b"\xff.jpg"))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: not a readable zip archive \(a member name is "
                                         r"not valid UTF-8: .*\)$"):
        SafeZip(path)


def test_a_zip_of_a_version_zipfile_cannot_read_names_the_archive(tmp_path):
    """A central directory asking for a zip version Python's zipfile does not read (above 6.3: a newer tool's
    archive, or a damaged one) raised a bare NotImplementedError ("zip file version 13.8"), a traceback from the
    training data; now the documented ValueError naming the archive."""
    path = _zip_of_copies(tmp_path / "batch_1.zip", ["video0/images/00000.jpg"], b"data")
    raw = bytearray(path.read_bytes())
    struct.pack_into("<H", raw, raw.index(b"PK\x01\x02") + 6, 138)  # version needed to extract: 13.8
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match=rf"^{re.escape(str(path))}: not a readable zip archive \(zip file version "
                                         r"13\.8\)$"):
        SafeZip(path)


@pytest.mark.parametrize("value, words", [
    ({"max_member": 1 << 20}, r"archive_limits: unknown limit 'max_member' \(did you mean 'max_members'.*\); "
                              r"accepted: max_total_bytes, max_member_bytes, "),
    ({"max_members": "5"}, r"archive_limits\.max_members must be a number, got '5'"),
    ({"max_members": True}, r"archive_limits\.max_members must be a number, got True"),
    (5, r"archive_limits must be a mapping of limits \(max_total_bytes, .*\), got 5"),
])
def test_archive_limits_of_a_config_are_checked(tmp_path, value, words):
    """``archive_limits`` of a ``data.datasets`` entry went to ``ArchiveLimits(**value)`` unchecked: a misspelt limit
    was "TypeError: ArchiveLimits.__init__() got an unexpected keyword argument", a quoted number "'<' not supported
    between instances of 'str' and 'int'" (tracebacks), and a number alone an AttributeError when the first archive
    was opened. Now a ValueError naming the option."""
    archive = _zip_of_copies(tmp_path / "batch_1.zip", ["video0/images/00000.jpg"], b"data")
    with pytest.raises(ValueError, match=f"^{words}"):
        CamVidDataset(archive, num_frames=1, height=16, archive_limits=value)


@pytest.mark.parametrize("name, refused", [("1:2.txt", False), ("ab:c", False), ("C:/evil", True), ("c:evil", True),
                                           ("D:\\evil", True)])
def test_only_a_letter_and_colon_is_a_drive(name, refused):
    """A member named 1:2.txt (a valid name on Linux and macOS) was refused as "an absolute path": any character
    before a colon counted as a drive letter."""
    from genxd.data.archive import check_member_name

    if refused:
        with pytest.raises(ValueError, match="absolute path"):
            check_member_name(name)
    else:
        assert check_member_name(name) == name


def test_a_strip_prefix_that_is_a_members_whole_name_names_the_archive_and_the_member(tmp_path):
    """``extract(["v/a"], out, strip_prefix="v/a")`` left the member no name: the error was "member '' has an empty
    name", naming neither the archive nor the member. Now both, and the prefix; nothing is written."""
    archive, out = SafeZip(_stored_zip(tmp_path / "batch_1.zip", ["v/b", "v/a"])), tmp_path / "out"
    with pytest.raises(ValueError, match=r"batch_1\.zip: member 'v/a' has no name once strip_prefix 'v/a' is taken "
                                         r"off \(the prefix is its whole name\)"):
        archive.extract(archive.names(), out, strip_prefix="v/a")
    assert not out.exists()
