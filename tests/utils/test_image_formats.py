"""Phone and camera photo formats (``genxd.utils.image_formats``): AVIF is read, HEIC is read through pillow-heif where
it is installed, and where it is not the error says what to install, not Pillow's "cannot identify image file"; a
stereo camera's ``.MPO`` is an input image."""

from __future__ import annotations

import sys

import numpy as np
import PIL.features
import PIL.Image
import pytest
from typer.testing import CliRunner

from genxd.cli import app
from genxd.utils import image_formats
from genxd.utils.images import collect_images, read_rgb
from tests.helpers import MP_LEFT, MP_RIGHT, mpo_photo

# The start of an iPhone HEIC file: an ftyp box (major brand heic, compatible mif1 / heic), then its boxes
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00\x00\x01\x00meta" + bytes(252)


@pytest.fixture
def no_pillow_heif(monkeypatch):
    """pillow-heif not installed (whether or not it is here)."""
    monkeypatch.setitem(sys.modules, "pillow_heif", None)
    image_formats.register_heif_plugin.cache_clear()
    yield
    image_formats.register_heif_plugin.cache_clear()


@pytest.mark.parametrize("name", ["IMG_0001.HEIC", "photo.heif", "exported.jpg"])
def test_a_heic_photo_without_pillow_heif_says_what_to_install(tmp_path, no_pillow_heif, name):
    # Before: a .heic file was "not an image file (expected .png, ...)"; one named .jpg "cannot identify image file"
    path = tmp_path / name
    path.write_bytes(HEIC_HEAD)
    assert collect_images([tmp_path]) == [path]
    with pytest.raises(ValueError) as info:
        read_rgb(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "HEIC" in text and "pip install pillow-heif" in text
    assert "cannot identify" not in text and "\n" not in text


def test_the_cli_refuses_a_heic_photo_in_one_line(tmp_path, no_pillow_heif, reference_small):
    path = tmp_path / "IMG_0001.heic"
    path.write_bytes(HEIC_HEAD)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["generate", str(path), "--model", str(reference_small), "--out", str(out),
                                   "--frames", "6", "--resolution", "64", "--steps", "1", "--quiet"])
    assert res.exit_code == 2, res.output
    said = [line for line in res.output.strip().splitlines() if line.startswith("genxd: failed: ")]
    assert len(said) == 1 and "pip install pillow-heif" in said[0] and "Traceback" not in res.output


@pytest.mark.skipif(not PIL.features.check("avif"), reason="this Pillow has no AVIF codec")
def test_an_avif_photo_is_read(tmp_path):
    # Before: "not an image file (expected .png, .jpg, ...)", though Pillow decodes it
    path = tmp_path / "photo.avif"
    colour = (200, 60, 30)
    PIL.Image.new("RGB", (32, 24), colour).save(path, quality=95)
    assert collect_images([tmp_path]) == [path]
    pixels = np.asarray(read_rgb(path)).astype(int)
    assert pixels.shape == (24, 32, 3) and np.abs(pixels - colour).max() <= 6


@pytest.mark.parametrize("head, kind", [
    (HEIC_HEAD, "HEIC"),
    (b"\x00\x00\x00\x20ftypavif\x00\x00\x00\x00avifmif1miafMA1B", "AVIF"),
    (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", "AVIF"),  # an AVIF under the generic HEIF brand
    (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", None),  # an MP4 video
    (b"\x89PNG\r\n\x1a\n", None),
    (b"", None),
])
def test_the_container_is_told_by_its_brands(head, kind):
    assert image_formats.container_kind(head) == kind


def test_a_stereo_cameras_mpo_file_goes_through_generate_with_the_note(tmp_path, reference_small):
    # Before: "DSCF0001.MPO: not an image file (expected .png, .jpg, ...)", though genxd reads MPO content
    from genxd.curation.frames import discover_videos

    left, right = (PIL.Image.new("RGB", (64, 48), c) for c in ((200, 30, 30), (30, 30, 200)))
    photos = tmp_path / "photos"
    photos.mkdir()
    path = mpo_photo(photos / "DSCF0001.MPO", left, attributes=(MP_LEFT, MP_RIGHT), others=[right])
    assert collect_images([photos]) == [path]
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["generate", str(path), "--model", str(reference_small), "--out", str(out),
                                   "--frames", "2", "--resolution", "64", "--steps", "1"])
    assert res.exit_code == 0, res.output
    assert f"genxd: warning: {path}: read the left view of a stereo pair; the right view is not used" in res.stderr
    assert res.stdout.strip().endswith("DSCF0001") and (out / "DSCF0001" / "meta.json").is_file()
    assert [s.kind for s in discover_videos(photos)] == ["frames"]  # a curate frame folder of such files, too
