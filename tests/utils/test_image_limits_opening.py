"""open_image opens a file through ``PIL.Image.open`` itself: Pillow's errors, its limit checks while opening and
decoding, and its closing of the file on a failure all hold.

Found by review of a version that re-implemented Pillow's open loop (over ``PIL.Image.OPEN``) to avoid Pillow's
warning: an empty file gave a raw ``struct.error`` (past the depth reader's "cannot read"), an ICO whose embedded
PNG is over the limit was decoded before it was refused (Pillow checks that size inside the ICO opener, under the
warning), and a file an opener failed on after opening it was left open."""

from __future__ import annotations

import gc
import io
import struct
import warnings
from pathlib import Path

import PIL.Image
import PIL.ImageFile
import pytest

from genxd.reconstruction.depth_maps import load_depth_map
from genxd.utils.image_limits import ImageTooLargeError, open_image
from genxd.utils.images import read_rgb


@pytest.mark.parametrize("data", [b"", b"\x00", b"\x89P", b"GIF"], ids=["0 bytes", "1 byte", "2 bytes", "3 bytes"])
def test_a_file_too_short_for_any_header_is_not_an_image_in_the_readers_words(tmp_path, data):
    path = tmp_path / "empty.png"
    path.write_bytes(data)
    with pytest.raises(PIL.UnidentifiedImageError):
        with open_image(path):
            pass
    with pytest.raises(ValueError, match=r"empty.png: cannot read image \(UnidentifiedImageError: cannot identify"):
        read_rgb(path)
    with pytest.raises(ValueError, match=r"empty.png: cannot read depth map \(UnidentifiedImageError: cannot"):
        load_depth_map(path, 0.001, (4, 4))


def _ico_holding_a_png(side: int) -> bytes:
    """An ICO whose directory says 16x16 while its embedded PNG is ``side`` x ``side``."""
    png = io.BytesIO()
    PIL.Image.new("RGBA", (side, side), (1, 2, 3, 255)).save(png, "PNG")
    data = png.getvalue()
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", 16, 16, 0, 0, 1, 32, len(data), 22) + data


def test_an_ico_whose_embedded_png_is_over_the_limit_is_refused_before_it_is_decoded(tmp_path, monkeypatch):
    """Pillow checks the embedded PNG's size inside the ICO opener (a warning between the limit and twice it):
    with that warning an error, the PNG is never decoded and no raw warning is shown."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 15_000)  # 150 x 150 = 22,500 pixels: over it, under twice
    path = tmp_path / "icon.ico"
    path.write_bytes(_ico_holding_a_png(150))
    decoded: list[tuple[int, int]] = []
    real_load = PIL.ImageFile.ImageFile.load

    def noting_load(self):  # noqa: ANN001, ANN202 - Pillow's own
        decoded.append(self.size)
        return real_load(self)

    monkeypatch.setattr(PIL.ImageFile.ImageFile, "load", noting_load)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with pytest.raises(ImageTooLargeError, match="icon.ico: image too large"):
            with open_image(path) as im:
                im.load()
    assert (150, 150) not in decoded, decoded
    assert not [w for w in shown if issubclass(w.category, PIL.Image.DecompressionBombWarning)]


def _mpo_with_a_short_index(path: Path) -> None:
    """A JPEG with an MP index that says 3 pictures and lists one: Pillow's MPO opener fails after opening."""
    jpg = io.BytesIO()
    PIL.Image.new("RGB", (32, 32), "red").save(jpg, "JPEG")
    data = jpg.getvalue()
    ifd = struct.pack("<2sHI", b"II", 42, 8) + struct.pack("<H", 2)
    ifd += struct.pack("<HHII", 0xB001, 4, 1, 3)
    ifd += struct.pack("<HHII", 0xB002, 7, 16, 8 + 2 + 24 + 4)
    ifd += struct.pack("<I", 0) + b"\0" * 16
    segment = b"MPF\0" + ifd
    path.write_bytes(data[:2] + b"\xff\xe2" + struct.pack(">H", len(segment) + 2) + segment + data[2:])


def test_a_file_an_opener_fails_on_is_closed(tmp_path):
    path = tmp_path / "bad mpo.jpg"
    _mpo_with_a_short_index(path)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        try:
            with open_image(path):
                pass
        except Exception:  # noqa: BLE001 - whichever error Pillow gives: the file must be closed either way
            pass
        gc.collect()
    assert not [str(w.message) for w in shown if issubclass(w.category, ResourceWarning)]
