"""Every reader of image files applies one size limit, with one message (:mod:`genxd.utils.image_limits`).

Between PIL's warning and error limits (89 - 179 Mpx by default) PIL only warns. ``generate`` and
``reconstruct`` refused such files, but ``curate`` decoded a folder's frames in full with PIL's raw warning
(noticed in session 27), and the three readers that refused worded it in three places. The limit is lowered
here so that a 40x40 image (1,600 pixels) lies in the warning band and a 50x50 one (2,500) above the error
limit."""

from __future__ import annotations

import warnings

import numpy as np
import PIL.Image
import pytest

from genxd.curation import read_frames
from genxd.curation.frames import VideoReadError
from genxd.reconstruction.depth_maps import load_depth_map
from genxd.reconstruction.views import load_image
from genxd.utils.image_limits import ImageTooLargeError, open_image
from genxd.utils.images import read_rgb

READERS = {  # (path, side of the square image) -> what the reader gives
    "generate (read_rgb)": lambda p, side: read_rgb(p),
    "reconstruct image": lambda p, side: load_image(p),
    "reconstruct depth": lambda p, side: load_depth_map(p, 1.0, (side, side)),
    "curate frame folder": lambda p, side: read_frames(p.parent),
}


@pytest.fixture
def low_limit(monkeypatch):
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)  # PIL warns above 1,000 pixels, refuses above 2,000


@pytest.mark.parametrize("side", [40, 50], ids=["warning band", "over the error limit"])
@pytest.mark.parametrize("reader", list(READERS))
def test_every_reader_refuses_the_same_images_in_the_same_words(tmp_path, low_limit, reader, side):
    path = tmp_path / "in" / "big.png"
    path.parent.mkdir()
    PIL.Image.new("L" if "depth" in reader else "RGB", (side, side)).save(path)
    expected = "image too large: over PIL's decompression-bomb limit of 1,000 pixels (downscale it first)"
    error = VideoReadError if "curate" in reader else ValueError
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw PIL warning on the way
        with pytest.raises(error) as caught:
            READERS[reader](path, side)
    name = "cannot read frame big.png" if "curate" in reader else str(path)
    assert str(caught.value) == f"{name}: {expected}"


@pytest.mark.parametrize("reader", list(READERS))
def test_images_under_the_limit_are_read_by_every_reader(tmp_path, low_limit, reader):
    path = tmp_path / "in" / "small.png"
    path.parent.mkdir()
    PIL.Image.fromarray(np.full((30, 30, 3 if "depth" not in reader else 1), 7, np.uint8).squeeze()).save(path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        READERS[reader](path, 30)


def test_open_image_passes_other_errors_through_unchanged(tmp_path):
    """Each caller words its own "cannot read"; only the size limit is the helper's."""
    path = tmp_path / "junk.png"
    path.write_bytes(b"not an image")
    with pytest.raises(PIL.UnidentifiedImageError):
        with open_image(path):
            pass
    assert not issubclass(PIL.UnidentifiedImageError, ImageTooLargeError)


def test_a_jpeg_over_the_limit_is_read_at_the_reduced_size_it_is_decoded_at(tmp_path, monkeypatch):
    """A 108-megapixel phone photo (over PIL's 89.5-megapixel warning limit) was refused ('downscale it first')
    although genxd decodes a JPEG at 1/2..1/8 scale (draft) and never holds it in full: the limit now counts the
    size it is decoded at. A PNG of that size, and a JPEG read in full, are still refused."""
    import numpy as np
    import PIL.Image

    from genxd.utils.images import read_rgb

    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1_000_000)  # 1600x1000 stands for 12000x9000
    pixels = np.zeros((1000, 1600, 3), np.uint8)
    pixels[..., 0] = np.arange(1600) % 256
    PIL.Image.fromarray(pixels).save(tmp_path / "big.jpg", quality=90)
    PIL.Image.fromarray(pixels).save(tmp_path / "big.png")
    im = read_rgb(tmp_path / "big.jpg", at_least=256)
    assert im.size == (800, 500)  # decoded at 1/2 (1/4 would make a side shorter than 256): 0.4 of the limit
    assert np.asarray(im)[0, 100, 0] in range(190, 211)  # column 100 of the half: column 200 of the file (200)
    with pytest.raises(ImageTooLargeError, match="big.jpg: image too large"):
        read_rgb(tmp_path / "big.jpg", at_least=900)  # decoded in full: over the limit
    with pytest.raises(ImageTooLargeError, match="big.jpg: image too large"):
        read_rgb(tmp_path / "big.jpg")
    with pytest.raises(ImageTooLargeError, match="big.png: image too large"):
        read_rgb(tmp_path / "big.png", at_least=256)  # no reduced decoding for a PNG


def test_open_image_drafts_a_jpeg_under_the_limit_too(tmp_path):
    """``at_least`` drafts a JPEG whether or not its full size is over the limit (read_rgb relies on it: it drafts
    no more itself); a PNG is opened as it is."""
    import numpy as np
    import PIL.Image

    from genxd.utils.image_limits import open_image
    from genxd.utils.images import read_rgb

    pixels = (np.random.default_rng(0).random((400, 320, 3)) * 255).astype(np.uint8)
    PIL.Image.fromarray(pixels).save(tmp_path / "small.jpg")
    PIL.Image.fromarray(pixels).save(tmp_path / "small.png")
    with open_image(tmp_path / "small.jpg", at_least=100) as im:
        assert im.size == (160, 200)  # 1/2: 1/4 would make a side under 100
    assert read_rgb(tmp_path / "small.jpg", at_least=100).size == (160, 200)
    with open_image(tmp_path / "small.png", at_least=100) as im:
        assert im.size == (320, 400)


def test_the_names_moved_to_image_limits_stay_importable_from_images():
    """DCT_SCALED_FORMATS (genxd.utils.images' since MPO photos were drafted) moved to image_limits and its
    re-export was dropped: ``from genxd.utils.images import DCT_SCALED_FORMATS`` raised ImportError."""
    from genxd.utils import image_limits, images

    assert images.DCT_SCALED_FORMATS is image_limits.DCT_SCALED_FORMATS and "MPO" in images.DCT_SCALED_FORMATS
    assert images.draft_at_least is image_limits.draft_at_least


def test_open_image_closes_the_file_when_drafting_fails(tmp_path, monkeypatch):
    """open_image drafted a JPEG after PIL.Image.open but outside ``with im``: an error there left the file open.
    (Pillow's draft reads nothing, so the failure is simulated.)"""
    from genxd.utils import image_limits

    path = tmp_path / "a.jpg"
    PIL.Image.new("RGB", (64, 48), (200, 10, 10)).save(path)
    opened: list[PIL.Image.Image] = []

    def failing_draft(im: PIL.Image.Image, side: int) -> None:
        opened.append(im)
        raise OSError("draft failed")

    monkeypatch.setattr(image_limits, "draft_at_least", failing_draft)
    with pytest.raises(OSError, match="draft failed"):
        with open_image(path, at_least=16):
            pass
    assert len(opened) == 1 and opened[0].fp is None  # closed


def test_open_image_over_the_limit_closes_the_file_when_drafting_fails(tmp_path, monkeypatch):
    """The same for a JPEG over the pixel limit, opened again to be drafted (``_open_drafted``): an error while
    drafting left that file open (found by review; simulated, as above)."""
    from genxd.utils import image_limits

    path = tmp_path / "big.jpg"
    PIL.Image.new("RGB", (64, 48), (200, 10, 10)).save(path)
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 2000)  # 64 x 48 = 3,072 pixels: over it, under twice it
    opened: list[PIL.Image.Image] = []

    def failing_draft(im: PIL.Image.Image, side: int) -> None:
        opened.append(im)
        raise OSError("draft failed")

    monkeypatch.setattr(image_limits, "draft_at_least", failing_draft)
    with pytest.raises((OSError, ValueError)):
        with open_image(path, at_least=8):
            pass
    assert opened and all(im.fp is None for im in opened)  # closed


def test_read_rgb_of_a_drafted_jpeg_carries_no_extent_of_the_files_orientation(tmp_path):
    """read_rgb's image kept Pillow's info, the drafted extent among it, in the file's orientation (width and
    height swapped after an EXIF rotation): the extent is given by read_rgb_extent only (found by review)."""
    from genxd.utils.image_limits import drafted_extent
    from genxd.utils.images import read_rgb, read_rgb_extent

    path = tmp_path / "t6.jpg"
    exif = PIL.Image.Exif()
    exif[0x0112] = 6
    PIL.Image.new("RGB", (1133, 403), (90, 120, 200)).save(path, quality=95, exif=exif)
    im = read_rgb(path, at_least=30)
    assert drafted_extent(im) is None
    rgb, box = read_rgb_extent(path, at_least=30)
    assert box is not None and rgb.size == im.size and box[2] <= rgb.size[0] and box[3] <= rgb.size[1]
