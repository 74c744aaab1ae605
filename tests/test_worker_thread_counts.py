"""tests/conftest.py puts torch's and OpenCV's thread counts back after each test: a test that set them (or a script's
``main()`` it ran in-process, as ``benchmarks/bench_cpu_variants.py --threads 2`` did) changed them for every later
test of its xdist worker, which then ran two threads beside the other worker's on CI's two cores (test files of
the same worker took several times their CPU). The two tests run in this order (one file: one worker, in order)."""

from __future__ import annotations

import cv2
import torch

AT_IMPORT = torch.get_num_threads(), cv2.getNumThreads()


def test_a_test_that_changes_the_thread_counts():
    torch.set_num_threads(AT_IMPORT[0] + 1)
    cv2.setNumThreads(AT_IMPORT[1] + 1)
    assert (torch.get_num_threads(), cv2.getNumThreads()) != AT_IMPORT


def test_the_next_test_starts_with_the_workers_counts():
    assert (torch.get_num_threads(), cv2.getNumThreads()) == AT_IMPORT
