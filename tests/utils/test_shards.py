"""Job-array shards (``--shard K/N``): every input in exactly one task, and the spec's errors."""

from __future__ import annotations

import pytest

from genxd import validation as v
from genxd.utils.shards import shard_indices, summary_name


@pytest.mark.parametrize("total", [0, 1, 7, 10])
@pytest.mark.parametrize("n", [1, 3, 4, 12])
def test_the_shards_of_n_tasks_cover_every_input_once(total, n):
    parts = [shard_indices(total, (k, n)) for k in range(n)]
    assert sorted(i for part in parts for i in part) == list(range(total))
    for k, part in enumerate(parts):
        assert all(i % n == k for i in part) and part == sorted(part)
    assert shard_indices(total, None) == list(range(total))


@pytest.mark.parametrize("value, expected", [("0/4", (0, 4)), ("3/4", (3, 4)), (" 1 / 2 ", (1, 2)), ((2, 5), (2, 5)),
                                             ([0, 1], (0, 1)), (None, None)])
def test_shard_spec_reads_k_of_n(value, expected):
    assert v.SHARD.check(value, "--shard") == expected


@pytest.mark.parametrize("value, words", [("4/4", "the last of 4 tasks is 3/4"), ("0/0", "must be >= 1"),
                                          ("1/0", "must be >= 1"), ("-1/4", "K/N"), ("a/4", "K/N"), ("1.5/4", "K/N"),
                                          ("1", "K/N"), ("1/2/3", "K/N"), ((1, 2.0), "K/N"), ((True, 2), "K/N"),
                                          ((1, 2, 3), "K/N"), (3, "K/N")])
def test_shard_spec_refuses_bad_forms(value, words):
    with pytest.raises(v.InvalidValue, match="--shard must be K/N") as info:
        v.SHARD.check(value, "--shard")
    assert words in str(info.value)


def test_each_task_has_its_own_default_summary():
    assert summary_name(None) == "summary.json"
    assert summary_name((1, 4)) == "summary.shard-1-of-4.json"


def test_a_summary_name_without_a_suffix_gets_the_shard_at_its_end():
    """``--summary report --shard 1/4`` would be ``.shard-1-of-4report``."""
    assert summary_name((1, 4), "report") == "report.shard-1-of-4"
    assert summary_name((1, 4), "s.json") == "s.shard-1-of-4.json"
