"""Fixtures of the CLI tests: which clips a `genxd synth` run rendered."""

from __future__ import annotations

import pytest

import genxd.data.synthetic as synthetic


@pytest.fixture
def made(monkeypatch) -> list[int]:
    """The seeds of the clips rendered from now on (``make_clip`` is called as before)."""
    seeds: list[int] = []
    real = synthetic.make_clip

    def make_clip(seed, *args, **kwargs):
        seeds.append(seed)
        return real(seed, *args, **kwargs)

    monkeypatch.setattr(synthetic, "make_clip", make_clip)
    return seeds
