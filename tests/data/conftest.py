"""Fixtures for the data tests: one torch thread for the files that render or decode many small tensors."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="module")
def single_thread():
    """One torch thread for the module (``pytestmark = pytest.mark.usefixtures("single_thread")``): many small ops,
    no oversubscription on shared CI cores; the thread count is restored after."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
