"""``import genxd`` keeps bitsandbytes' import off the network (genxd.utils.offline_imports): on CPUs with AVX-512
BF16 bitsandbytes asks the Hub for a 4-bit CPU kernel when it is imported, which diffusers does whenever it imports
its model classes; genxd makes the Hub offline for that import only.

Each case runs in a fresh interpreter (the first import of bitsandbytes is the one that counts), without
``HF_HUB_OFFLINE`` or ``TRANSFORMERS_OFFLINE`` (CI sets both, and huggingface_hub reads either; a user's machine
usually sets neither)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from genxd.utils.offline_imports import ALLOW_ENV

from ..helpers import env_with_path


def _run(code: str, tmp_path: Path, extra_path: Path | None = None, **env_changes: str) -> str:
    env = env_with_path(*([extra_path] if extra_path is not None else []))
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", ALLOW_ENV):
        env.pop(name, None)
    env.update(env_changes)
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _fake_bitsandbytes(root: Path) -> Path:
    """A stand-in package that records what the Hub flag was while its code ran (as the real one's
    ``get_kernel`` reads it), and carries a data file (its loader must still serve resources)."""
    package = root / "bitsandbytes"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "from huggingface_hub import constants\nOFFLINE_DURING_IMPORT = constants.HF_HUB_OFFLINE\n")
    (package / "data.txt").write_text("kept\n")
    return root


def test_the_hub_is_offline_while_bitsandbytes_is_imported_and_only_then(tmp_path):
    out = _run("""
        import genxd, importlib.resources
        import bitsandbytes
        from huggingface_hub import constants
        print(bitsandbytes.OFFLINE_DURING_IMPORT, constants.HF_HUB_OFFLINE,
              type(bitsandbytes.__spec__.loader).__name__, type(bitsandbytes.__loader__).__name__,
              importlib.resources.files("bitsandbytes").joinpath("data.txt").read_text().strip())
    """, tmp_path, _fake_bitsandbytes(tmp_path / "site"))
    assert out.split() == ["True", "False", "SourceFileLoader", "SourceFileLoader", "kept"]


def test_the_opt_in_lets_bitsandbytes_reach_the_hub_as_without_genxd(tmp_path):
    out = _run("import genxd, bitsandbytes; print(bitsandbytes.OFFLINE_DURING_IMPORT)", tmp_path,
               _fake_bitsandbytes(tmp_path / "site"), **{ALLOW_ENV: "1"})
    assert out.split() == ["False"]


def test_a_bitsandbytes_imported_before_genxd_is_left_alone(tmp_path):
    out = _run("""
        import bitsandbytes, sys, genxd
        from genxd.utils.offline_imports import keep_bitsandbytes_offline
        print(bitsandbytes.OFFLINE_DURING_IMPORT, keep_bitsandbytes_offline())
    """, tmp_path, _fake_bitsandbytes(tmp_path / "site"))
    assert out.split() == ["False", "False"]


def _has_avx512_bf16() -> bool:
    try:
        return "avx512_bf16" in Path("/proc/cpuinfo").read_text()
    except OSError:
        return False


@pytest.mark.skipif(importlib.util.find_spec("bitsandbytes") is None or importlib.util.find_spec("kernels") is None,
                    reason="needs bitsandbytes (the train extra) and kernels (transformers 5, the models extra)")
@pytest.mark.skipif(not _has_avx512_bf16(), reason="bitsandbytes asks the Hub only on CPUs with AVX-512 BF16")
def test_importing_the_model_classes_asks_no_host_for_anything(tmp_path):
    """The real libraries: before genxd stepped in, ``import genxd.models`` looked up huggingface.co (bitsandbytes
    0.50.2, kernels 0.19.1: twice, then a Hub API call) and printed nothing about it."""
    out = _run("""
        import socket
        hosts = []
        lookup = socket.getaddrinfo
        def recording(host, *args, **kwargs):
            hosts.append(host)
            return lookup(host, *args, **kwargs)
        socket.getaddrinfo = recording
        import genxd.models
        import bitsandbytes  # imported by diffusers above; here to be sure the test saw it
        print("hosts:", hosts)
    """, tmp_path)
    assert out.strip().splitlines()[-1] == "hosts: []"
