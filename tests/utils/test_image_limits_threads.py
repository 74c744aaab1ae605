"""The image size limit holds per call in a threaded server (the web app's handler threads).

open_image and the demo's upload check turned PIL's DecompressionBombWarning into an error (or silenced it) with
``warnings.catch_warnings``, which swaps the process's warning filters: two handler threads' blocks, exited in
the other order than entered, undid one thread's filter while it opened an image, and left the other's filter on
for the whole process. The limit is lowered so that a 40x40 image (1,600 pixels) lies in PIL's warning band."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import PIL.Image
import pytest

from genxd.demo.session import Limits, validate_uploads
from genxd.utils.image_limits import ImageTooLargeError, open_image


def _refused_by_open_image(path: Path, tmp: Path) -> None:
    with open_image(path):
        pass


def _refused_by_the_upload_check(path: Path, tmp: Path) -> None:
    validate_uploads([path], tmp / "dest", Limits(max_pixels=1000, jpeg_decode_side=8))


@pytest.mark.parametrize("refuse", [_refused_by_open_image, _refused_by_the_upload_check],
                         ids=["open_image", "demo upload check"])
def test_interleaved_threads_each_refuse_and_leave_the_warning_filters_as_they_were(tmp_path, monkeypatch, refuse):
    """A reads an image in open_image's block; B starts reading a too-large image; A leaves its block while B is
    at PIL.Image.open; B finishes. Before, A's exit put back the filters from before A's block, so B's image
    (under the 'error' filter no longer) was opened with a warning and not refused, and B's exit left A's 'error'
    filter on for the whole process."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)  # PIL warns above 1,000 pixels, refuses above 2,000
    ok, big = tmp_path / "ok.png", tmp_path / "big.png"
    PIL.Image.new("RGB", (20, 20)).save(ok)
    PIL.Image.new("RGB", (40, 40)).save(big)
    a_in, b_at_open, a_out = threading.Event(), threading.Event(), threading.Event()
    real_open = PIL.Image.open

    def open_pausing_in_b(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - PIL.Image.open's own
        if threading.current_thread().name == "B":
            b_at_open.set()
            a_out.wait(10)
        return real_open(*args, **kwargs)

    monkeypatch.setattr(PIL.Image, "open", open_pausing_in_b)
    filters_before = list(warnings.filters)
    results: dict[str, object] = {}

    def a() -> None:
        with open_image(ok) as im:
            results["A"] = im.size
            a_in.set()
            b_at_open.wait(10)  # set by B at PIL.Image.open, or when B is done (no PIL.Image.open on its way)
        a_out.set()

    def b() -> None:
        a_in.wait(10)
        try:
            refuse(big, tmp_path)
            results["B"] = "taken"
        except ValueError as exc:  # ImageTooLargeError is one
            results["B"] = exc
        finally:
            b_at_open.set()

    threads = [threading.Thread(target=a, name="A"), threading.Thread(target=b, name="B")]
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        filters_after = list(warnings.filters)
    assert not any(t.is_alive() for t in threads)
    assert results["A"] == (20, 20)
    assert isinstance(results["B"], ValueError), results["B"]  # refused, not read with a warning
    assert "big.png" in str(results["B"]) and ("too large" in str(results["B"]) or "megapixels" in str(results["B"]))
    assert filters_after[1:] == filters_before  # only this test's 'always' left: no filter of genxd's left behind
    assert not [w for w in shown if issubclass(w.category, PIL.Image.DecompressionBombWarning)]


def test_a_drafted_jpeg_in_the_warning_band_is_read_without_a_warning(tmp_path, monkeypatch):
    """A JPEG over the warning limit, opened drafted (its decoded size within the limit): no stray PIL warning,
    with no filter of genxd's in place (the process's default filters show it)."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 2000)  # 64 x 48 = 3,072 pixels: over it, under twice it
    path = tmp_path / "big.jpg"
    PIL.Image.new("RGB", (64, 48), (200, 10, 10)).save(path)
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        with open_image(path, at_least=8) as im:
            assert im.size[0] * im.size[1] <= 2000
            im.load()
        with pytest.raises(ImageTooLargeError, match="big.jpg: image too large"):
            with open_image(path):
                pass
    assert not [w for w in shown if issubclass(w.category, PIL.Image.DecompressionBombWarning)]
