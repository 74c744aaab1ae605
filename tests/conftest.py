"""Shared fixtures: paths to the reference fixtures copied from shared/fixtures (see tests/fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE_SMALL = FIXTURES / "reference_small"

torch.set_num_threads(max(1, min(2, torch.get_num_threads())))


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs CUDA")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def reference_small() -> Path:
    return REFERENCE_SMALL


@pytest.fixture(scope="session")
def reference_cases() -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(REFERENCE_SMALL / "cases.safetensors"))
