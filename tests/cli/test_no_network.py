"""``genxd generate`` looks up no host and connects nowhere (docs/robustness.md, "Nothing reaches the network at
run time"), through ``benchmarks/audit_network.py``'s hook: every lookup and connection of the process is recorded,
loopback aside, with ``HF_HUB_OFFLINE`` and ``TRANSFORMERS_OFFLINE`` unset as on a user's machine (CI sets both). Before 2026-12-04, with the ``train`` and
``models`` extras installed (CI's environment) on a CPU with AVX-512 BF16, bitsandbytes' import looked up
huggingface.co twice and called the Hub's API."""

from __future__ import annotations

import sys

from ..helpers import ROOT, load_script


def test_the_hook_records_a_lookup(tmp_path):
    """The recorder itself: a lookup of a name that cannot resolve is recorded (the test below cannot pass by a
    hook that records nothing)."""
    audit = load_script("benchmarks/audit_network.py")
    code = "import socket\ntry:\n    socket.getaddrinfo('genxd-audit.invalid', 80)\nexcept OSError:\n    pass\n"
    result = audit.run_audited("probe", [sys.executable, "-c", code], tmp_path, timeout=60)
    assert result["returncode"] == 0, result["stderr_tail"]
    assert [(r["kind"], r["target"]) for r in result["records"]] == [("lookup", "'genxd-audit.invalid'")]


def test_generate_reaches_no_host(tmp_path, monkeypatch):
    """The whole command (imports, the bundled model's loading, a sampling loop, decoding, writing) with one
    denoising step: the later steps run the same code again. One thread, as each worker of the suite's ``-n 2``
    has (two threads each on two cores spent most of their time waiting for each other)."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    audit = load_script("benchmarks/audit_network.py")
    image = ROOT / "examples" / "scene_a.png"
    command = audit.genxd_command("generate", str(image), "-o", "out", "-q", "--steps", "1")
    result = audit.run_audited("generate", command, tmp_path)
    assert result["returncode"] == 0, result["stderr_tail"]
    assert result["records"] == [], [(r["kind"], r["target"], r["stack"][-4:]) for r in result["records"]]


def test_the_hook_records_connect_ex_sendto_and_gethostbyname(tmp_path):
    """A connection by ``connect_ex``, a UDP datagram and a ``gethostbyname`` lookup are recorded too (the hook
    wrapped only ``getaddrinfo`` and ``socket.connect`` before, so a library reaching out by these passed the audit).
    192.0.2.1 is TEST-NET-1 (RFC 5737): nothing answers; the sockets are non-blocking."""
    audit = load_script("benchmarks/audit_network.py")
    code = ("import socket\n"
            "s = socket.socket(); s.setblocking(False); s.connect_ex(('192.0.2.1', 9)); s.close()\n"
            "u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setblocking(False)\n"
            "try:\n    u.sendto(b'x', ('192.0.2.1', 9))\nexcept OSError:\n    pass\nu.close()\n"
            "try:\n    socket.gethostbyname('genxd-audit.invalid')\nexcept OSError:\n    pass\n"
            "s = socket.socket(); s.setblocking(False); s.connect_ex(('127.0.0.1', 9)); s.close()\n")  # loopback: kept out
    result = audit.run_audited("probe", [sys.executable, "-c", code], tmp_path, timeout=60)
    assert result["returncode"] == 0, result["stderr_tail"]
    assert [(r["kind"], r["target"]) for r in result["records"]] == [
        ("connect", "('192.0.2.1', 9)"), ("send", "('192.0.2.1', 9)"), ("lookup", "'genxd-audit.invalid'")]
