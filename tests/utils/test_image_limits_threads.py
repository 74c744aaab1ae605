"""The image size limit holds per call in a threaded server (the web app's handler threads).

open_image and the demo's upload check turn PIL's DecompressionBombWarning into an error (or silence it) with
``warnings.catch_warnings``, which swaps the process's warning filters: two handler threads' blocks, exited in
the other order than entered, undid one thread's filter while it opened an image, and left the other's filter on
for the whole process. The blocks now hold ``WARNING_FILTERS_LOCK``: a second thread's block waits for the first
to end. The limit is lowered so that a 40x40 image (1,600 pixels) lies in PIL's warning band."""

from __future__ import annotations

import threading
import warnings
from pathlib import Path

import PIL.Image
import pytest

from genxd.demo.session import Limits, validate_uploads
from genxd.utils.image_limits import ImageTooLargeError, open_image

#: how long A stays in its block, giving B the time to get into its own (which it must not while A is in it)
HOLD_S = 0.5


def _refused_by_open_image(path: Path, tmp: Path) -> None:
    with open_image(path):
        pass


def _refused_by_the_upload_check(path: Path, tmp: Path) -> None:
    validate_uploads([path], tmp / "dest", Limits(max_pixels=1000, jpeg_decode_side=8))


@pytest.mark.parametrize("refuse", [_refused_by_open_image, _refused_by_the_upload_check],
                         ids=["open_image", "demo upload check"])
def test_a_second_thread_waits_for_the_first_ones_block_and_both_refusals_hold(tmp_path, monkeypatch, refuse):
    """A is in open_image's block; B starts reading a too-large image meanwhile. B's PIL.Image.open (inside its
    block) comes only after A has left its block, B's image is refused, and no filter is left behind. Without the
    lock B got into its block while A was in its own; A's exit then put back the filters from before A's block,
    so B's image was read with PIL's warning, not refused, and B's exit left A's 'error' filter on for good."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)  # PIL warns above 1,000 pixels, refuses above 2,000
    ok, big = tmp_path / "ok.png", tmp_path / "big.png"
    PIL.Image.new("RGB", (20, 20)).save(ok)
    PIL.Image.new("RGB", (40, 40)).save(big)
    a_in, b_started, b_at_open, a_out = (threading.Event() for _ in range(4))
    order: list[str] = []
    real_open = PIL.Image.open

    def open_noting_b(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - PIL.Image.open's own
        if threading.current_thread().name == "B":
            order.append("B opens")
            b_at_open.set()
            a_out.wait(10)  # without the lock: A leaves its block while B is in its own
        return real_open(*args, **kwargs)

    monkeypatch.setattr(PIL.Image, "open", open_noting_b)
    filters_before = list(warnings.filters)
    results: dict[str, object] = {}

    def a() -> None:
        with open_image(ok) as im:
            results["A"] = im.size
            a_in.set()
            b_started.wait(10)
            b_at_open.wait(HOLD_S)  # with the lock B cannot get there before A leaves: it times out
            order.append("A leaves")
        a_out.set()

    def b() -> None:
        a_in.wait(10)
        b_started.set()
        try:
            refuse(big, tmp_path)
            results["B"] = "taken"
        except ValueError as exc:  # ImageTooLargeError is one
            results["B"] = exc

    # daemons: a deadlock fails the test (join's timeout), not the whole run
    threads = [threading.Thread(target=a, name="A", daemon=True), threading.Thread(target=b, name="B", daemon=True)]
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        filters_inside = list(warnings.filters)
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        filters_after = list(warnings.filters)
    assert not [t.name for t in threads if t.is_alive()], "a thread did not finish (deadlock?)"
    assert results["A"] == (20, 20)
    assert order[:2] == ["A leaves", "B opens"], f"B got into its block while A was in its own: {order}"
    assert isinstance(results["B"], ValueError), results["B"]  # refused, not read with a warning
    assert "big.png" in str(results["B"]) and ("too large" in str(results["B"]) or "megapixels" in str(results["B"]))
    assert filters_after == filters_inside  # no filter of genxd's left behind
    assert list(warnings.filters) == filters_before
    assert not [w for w in shown if issubclass(w.category, PIL.Image.DecompressionBombWarning)]


def test_a_block_may_open_another_image_in_the_same_thread(tmp_path, monkeypatch):
    """The lock is re-entrant: an image read inside open_image's block (one thread) does not wait for itself, and
    the inner block's refusal holds."""
    monkeypatch.setattr(PIL.Image, "MAX_IMAGE_PIXELS", 1000)
    ok, big = tmp_path / "ok.png", tmp_path / "big.png"
    PIL.Image.new("RGB", (20, 20)).save(ok)
    PIL.Image.new("RGB", (40, 40)).save(big)
    done: list[BaseException] = []

    def nested() -> None:
        try:
            with open_image(ok):
                with pytest.raises(ImageTooLargeError, match="big.png: image too large"):
                    with open_image(big):
                        pass
        except BaseException as exc:  # noqa: BLE001 - handed to the test's thread
            done.append(exc)
        else:
            done.append(StopIteration())

    t = threading.Thread(target=nested, daemon=True)  # a daemon: a deadlock fails the test, not the run
    t.start()
    t.join(10)
    assert not t.is_alive(), "open_image inside open_image's block waited for itself"
    assert isinstance(done[0], StopIteration), done[0]


def test_a_drafted_jpeg_in_the_warning_band_is_read_without_a_warning(tmp_path, monkeypatch):
    """A JPEG over the warning limit, opened drafted (its decoded size within the limit): no stray PIL warning."""
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
