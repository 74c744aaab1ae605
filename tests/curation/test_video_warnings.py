"""collected_warnings is per thread: the web app reads a clip's cameras (which collects its warnings) in one
handler thread while another runs its own ``warnings.catch_warnings`` (an upload's check)."""

from __future__ import annotations

import threading
import warnings

from genxd import validation as v
from genxd.curation.video_warnings import collected_warnings


def test_a_block_in_one_thread_neither_takes_nor_silences_other_threads_warnings(recwarn):
    """Interleaved as two handlers can be: A enters its block, B enters a catch_warnings, A leaves, B leaves.
    With catch_warnings inside collected_warnings, B's exit put A's recording hook back: B's warning went into A's
    notes and every later warning of the process was swallowed."""
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    notes: list[str] = []

    def a() -> None:
        with collected_warnings() as got:
            v.warn("A's clip is HDR video")
            a_in.set()
            b_in.wait(10)
        notes.extend(got)
        a_out.set()

    def b() -> None:
        a_in.wait(10)
        with warnings.catch_warnings():
            v.warn("B's upload has several frames")
            b_in.set()
            a_out.wait(10)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert a_out.is_set() and not any(t.is_alive() for t in threads)
    v.warn("a later warning")
    assert notes == ["A's clip is HDR video"]
    assert [str(w.message) for w in recwarn] == ["B's upload has several frames", "a later warning"]


def test_nested_blocks_and_other_warnings(recwarn):
    """The innermost block collects (each message once); warnings of other kinds pass as they are."""
    with collected_warnings() as outer:
        v.warn("one")
        with collected_warnings() as inner:
            v.warn("two")
            v.warn("two")
            warnings.warn("not genxd's", RuntimeWarning)
        v.warn("one")
    assert outer == ["one"] and inner == ["two"]
    assert [(w.category, str(w.message)) for w in recwarn] == [(RuntimeWarning, "not genxd's")]
