"""``genxd.utils.paths.require_file``: what is at a path that should be a regular file, named; and the readers
that use it given a named pipe (which read as "no such file", or "Not a directory" in ``curate``)."""

from __future__ import annotations

import os
import socket
import sys

import pytest

from genxd.utils.paths import listed_image, require_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="named pipes and sockets as files are POSIX")


def test_require_file_names_what_is_there_instead(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    os.symlink(tmp_path / "file.txt", tmp_path / "link.txt")
    assert require_file(tmp_path / "file.txt") == tmp_path / "file.txt"
    assert require_file(str(tmp_path / "link.txt")) == tmp_path / "link.txt"  # a link to a file is a file
    with pytest.raises(FileNotFoundError, match=r"nope\.json: no such camera file$"):
        require_file(tmp_path / "nope.json", "no such camera file")
    os.symlink(tmp_path / "gone", tmp_path / "dangling")
    with pytest.raises(FileNotFoundError, match=r"dangling: no such file$"):
        require_file(tmp_path / "dangling")
    with pytest.raises(FileNotFoundError, match=r"file\.txt/x\.png: no such file$"):  # a file used as a folder
        require_file(tmp_path / "file.txt" / "x.png")
    os.symlink(tmp_path / "loop", tmp_path / "loop")
    with pytest.raises(ValueError, match=r"loop: cannot be read \(Too many levels of symbolic links\)$"):
        require_file(tmp_path / "loop")
    with pytest.raises(ValueError, match=r"not a valid path \(it holds a NUL character\)$"):
        require_file("a\x00b.png")
    with pytest.raises(IsADirectoryError, match=r": is a folder, not a file$"):
        require_file(tmp_path)
    os.mkfifo(tmp_path / "pipe.png")
    with pytest.raises(ValueError, match=r"pipe\.png: is a named pipe, not a regular file$"):
        require_file(tmp_path / "pipe.png")
    with pytest.raises(ValueError, match=r"null: is a device, not a regular file$"):
        require_file("/dev/null")
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "s.sock"))
        with pytest.raises(ValueError, match=r"s\.sock: is a socket, not a regular file$"):
            require_file(tmp_path / "s.sock")


def test_readers_name_a_named_pipe_instead_of_calling_it_missing(tmp_path):
    """Each of these said "no such file" for a named pipe (``curate``: "[Errno 20] Not a directory"); none may
    open it (opening a pipe waits for a writer for ever)."""
    from genxd.curation.frames import discover_videos
    from genxd.reconstruction.views import load_image
    from genxd.utils.image_paths import collect_images
    from genxd.utils.images import read_rgb
    from genxd.utils.json_files import read_json

    for name in ("in.png", "cam.json", "clip.mp4"):
        os.mkfifo(tmp_path / name)
    for read, name in ((collect_images, "in.png"), (read_rgb, "in.png"), (load_image, "in.png"), (read_json, "cam.json"),
                       (discover_videos, "clip.mp4")):
        with pytest.raises(ValueError, match=rf"{name.replace('.', '[.]')}: is a named pipe, not a regular file$"):
            read(tmp_path / name)


def test_listed_image_tries_the_suffixes_inside_the_folder_only(tmp_path):
    listing = tmp_path / "transforms.json"
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "r_0.JPEG").write_bytes(b"x")
    (tmp_path / "train" / "r_1.png").write_bytes(b"x")
    assert listed_image(tmp_path, "./train/r_0", listing) == tmp_path / "train" / "r_0.JPEG"
    assert listed_image(tmp_path, "train/r_1.png", listing) == tmp_path / "train" / "r_1.png"
    assert listed_image(tmp_path, "train/../train/r_1", listing) == tmp_path / "train" / "r_1.png"
    with pytest.raises(FileNotFoundError, match=r"r_2: image listed in transforms\.json not found$"):
        listed_image(tmp_path, "train/r_2", listing)
    with pytest.raises(ValueError, match=r"transforms\.json: file path '\.\./r_1' points outside"):
        listed_image(tmp_path / "train", "../r_1", listing)


@pytest.mark.parametrize("suffix", [".tif", ".webp", ".TIFF", ".bmp"])
def test_listed_image_without_a_suffix_finds_every_input_image_suffix(tmp_path, suffix):
    """``./train/r_0`` found ``r_0.png`` / ``.jpg`` / ``.jpeg`` only, while camvid and ``genxd generate`` take
    .tif, .webp and the rest of IMAGE_SUFFIXES: 'image listed in transforms.json not found'."""
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / f"r_0{suffix}").write_bytes(b"x")
    assert listed_image(tmp_path, "./train/r_0", tmp_path / "transforms.json") == tmp_path / "train" / f"r_0{suffix}"


def test_a_folder_s_hidden_files_are_no_inputs(tmp_path):
    """macOS leaves ``._photo.png`` (AppleDouble metadata) beside a copied ``photo.png``: taken from a folder it was an
    input that failed to decode (``genxd generate FOLDER``), or in an IDR scan's image/ a view shifting every camera.
    A hidden file named on its own is still taken (the user asked for it)."""
    from PIL import Image

    from genxd.utils.image_paths import collect_images

    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    (tmp_path / "._photo.png").write_bytes(b"\x00\x05\x16\x07" + bytes(60))  # AppleDouble magic, no image
    assert collect_images([tmp_path]) == [tmp_path / "photo.png"]
    assert collect_images([tmp_path / "._photo.png"]) == [tmp_path / "._photo.png"]


def test_link_loop_names_the_links_of_a_loop_only(tmp_path):
    import os

    from genxd.utils.paths import link_loop

    os.symlink("self", tmp_path / "self")
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    os.symlink("nowhere", tmp_path / "dangling")
    (tmp_path / "folder").mkdir()
    os.symlink("folder", tmp_path / "to_folder")
    assert link_loop(tmp_path / "self") == "self -> self"
    assert link_loop(tmp_path / "a") == "a -> b -> a"
    for other in ("dangling", "folder", "to_folder", "missing"):
        assert link_loop(tmp_path / other) is None
    for i in range(12):  # a chain longer than the hops shown, into a loop
        os.symlink(f"c{i + 1}", tmp_path / f"c{i}")
    os.symlink("c12", tmp_path / "c12")
    assert link_loop(tmp_path / "c0", hops=3) == "c0 -> c1 -> c2 -> c3 -> ..."
