"""The command line's start and exit: heavy imports with the cyclic garbage collector paused and their objects
frozen afterwards (``genxd.cli.common.import_libraries``), and a frozen heap at exit (``genxd.cli.main``)."""

from __future__ import annotations

import gc
import signal
import sys

import pytest

from genxd.cli import common


@pytest.fixture
def gc_state():
    enabled = gc.isenabled()
    yield
    gc.unfreeze()
    (gc.enable if enabled else gc.disable)()


def test_import_libraries_pauses_the_collector_and_freezes(gc_state, monkeypatch):
    seen = []
    real = common.importlib.import_module

    def spy(name):
        seen.append((name, gc.isenabled()))
        return real(name)

    monkeypatch.setattr(common.importlib, "import_module", spy)
    gc.enable()
    gc.unfreeze()
    common.import_libraries("json", "genxd.validation")
    assert seen == [("json", False), ("genxd.validation", False)]  # paused while importing
    assert gc.isenabled() and gc.get_freeze_count() > 0  # on again, what existed is frozen


def test_import_libraries_restores_the_collector_on_failure(gc_state):
    gc.enable()
    with pytest.raises(ModuleNotFoundError):
        common.import_libraries("genxd_no_such_module")
    assert gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    common.import_libraries("json")
    assert not gc.isenabled()


@pytest.fixture
def sigterm_kept():
    """``genxd.cli.main`` takes SIGTERM over (``stop_cleanly_on_sigterm``): put back afterwards, so that the tests this
    pytest worker runs later do not inherit genxd's handler."""
    before = signal.getsignal(signal.SIGTERM)
    yield
    signal.signal(signal.SIGTERM, before)


def test_main_freezes_the_heap_on_exit(gc_state, sigterm_kept, monkeypatch):
    import genxd.cli as cli

    gc.unfreeze()
    monkeypatch.setattr(sys, "argv", ["genxd", "--help"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 0 and gc.get_freeze_count() > 0
