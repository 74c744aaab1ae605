"""Fixtures shared by the reconstruction tests."""

from __future__ import annotations

import pytest


@pytest.fixture()
def no_training(monkeypatch):
    """Training fails the test: every error where it is used must come before it."""

    def refuse(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr("genxd.reconstruction.pipeline.train_gaussians", refuse)
