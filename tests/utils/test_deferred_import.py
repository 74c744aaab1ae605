"""Deferred imports (``genxd.utils.deferred_import``): the module's code runs at its first use, once, with its
names and errors as a plain import gives them; the CLI's ``generate`` imports leave ``scipy.stats`` and
``bitsandbytes`` unloaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest

from genxd.utils.deferred_import import defer_import, is_deferred


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A throwaway package ``genxd_defer_pkg`` with modules written by the test; removed from sys.modules after."""
    root = tmp_path / "genxd_defer_pkg"
    root.mkdir()
    (root / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield root
    for name in [n for n in sys.modules if n.startswith("genxd_defer_pkg")]:
        del sys.modules[name]


def test_code_runs_once_at_first_use(package):
    (package / "counter.py").write_text("")
    (package / "heavy.py").write_text(textwrap.dedent("""
        import time
        from . import counter
        counter.runs = getattr(counter, "runs", 0) + 1
        time.sleep(0.2)  # a slow import: the second thread must wait, not see a half-made module
        VALUE = 42
    """))
    assert defer_import("genxd_defer_pkg.heavy")
    import genxd_defer_pkg
    import genxd_defer_pkg.heavy as heavy

    assert genxd_defer_pkg.heavy is heavy and is_deferred(heavy)
    assert heavy.__file__.endswith("heavy.py") and heavy.__spec__.name == "genxd_defer_pkg.heavy"
    assert is_deferred(heavy)  # the import system's attributes do not load it
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(heavy.VALUE)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == [42] * 4
    assert not is_deferred(heavy)
    assert sys.modules["genxd_defer_pkg.counter"].runs == 1
    with pytest.raises(AttributeError):
        heavy.NOT_THERE


def test_already_imported_or_missing_is_left_alone(package):
    assert not defer_import("json")  # imported by now
    assert not defer_import("genxd_defer_pkg.no_such_module")
    assert not defer_import("genxd_no_such_package.sub")
    assert "genxd_defer_pkg.no_such_module" not in sys.modules


def test_a_failing_module_raises_at_first_use_and_can_be_retried(package):
    (package / "broken.py").write_text("raise ImportError('broken on purpose')\n")
    assert defer_import("genxd_defer_pkg.broken")
    import genxd_defer_pkg.broken as broken

    with pytest.raises(ImportError, match="broken on purpose"):
        broken.anything
    assert "genxd_defer_pkg.broken" not in sys.modules  # as after a failed import
    (package / "broken.py").write_text("FIXED = True\n")
    import importlib

    importlib.invalidate_caches()
    assert importlib.import_module("genxd_defer_pkg.broken").FIXED


def test_generate_imports_leave_scipy_stats_unloaded_and_it_still_works():
    """In a fresh process, as ``genxd generate`` imports: torch, diffusers (its Euler scheduler module imports
    scipy.stats) and genxd's model code; torch's operator registration reads every module's ``__file__``."""
    code = textwrap.dedent("""
        import sys
        from genxd.cli.common import DEFERRED_IMPORTS, import_libraries
        from genxd.utils.deferred_import import is_deferred
        import_libraries("genxd.api", "genxd.pipelines.distributed", defer=DEFERRED_IMPORTS)
        import torch._dynamo  # noqa: F401  (imported by diffusers: registers operators)
        if "sklearn.metrics" not in sys.modules:
            # in some environments diffusers' imports reach scikit-learn's metrics, which use scipy.stats when
            # imported (seen in the device's environment): then it loads there, as a plain import does
            assert is_deferred(sys.modules["scipy.stats"]), "scipy.stats was loaded by the imports"
        import importlib.util
        if importlib.util.find_spec("bitsandbytes") is not None:  # the train extra: diffusers' quantizers import it
            assert is_deferred(sys.modules["bitsandbytes"]), "bitsandbytes was loaded by the imports"
            import bitsandbytes
            assert bitsandbytes.optim.AdamW8bit and not is_deferred(sys.modules["bitsandbytes"])  # loads at first use
        from diffusers import EulerDiscreteScheduler
        s = EulerDiscreteScheduler(use_beta_sigmas=True)  # the option that needs scipy.stats
        s.set_timesteps(4)
        assert not is_deferred(sys.modules["scipy.stats"])
        print(" ".join(f"{v:.6g}" for v in s.sigmas.tolist()))
    """)
    deferred = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert deferred.returncode == 0, deferred.stderr
    # the reference, the plain import's noise levels, in this process: the fresh interpreter is the point of the
    # deferred run above only (a second one for the reference cost 3-4 s of CPU importing torch and diffusers)
    from diffusers import EulerDiscreteScheduler

    plain = EulerDiscreteScheduler(use_beta_sigmas=True)
    plain.set_timesteps(4)
    assert deferred.stdout.split() == [f"{v:.6g}" for v in plain.sigmas.tolist()]
