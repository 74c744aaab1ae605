"""The training data stream (:class:`genxd.training.data.StreamSampler`): which stream positions each process's
micro-batches take, by hand from the layout in :mod:`genxd.training.data`'s docstring."""

from __future__ import annotations

import itertools

from genxd.training.data import StreamSampler


def test_processes_and_accumulation_split_each_step_without_overlap():
    """Batch 2, 2 processes, 3 accumulation steps: global batch 12; step ``s`` takes positions ``12 s .. 12 s + 11``,
    micro-batch ``m`` of process ``r`` the 2 starting at ``12 s + 4 m + 2 r``."""
    samplers = [StreamSampler(100, 2, num_processes=2, process_index=r, gradient_accumulation_steps=3) for r in (0, 1)]
    assert samplers[0].global_batch == 12
    assert samplers[1].positions(1, 2) == [12 + 8 + 2, 12 + 8 + 3]
    for step in (0, 1, 5):
        taken = sorted(p for s in samplers for m in range(3) for p in s.positions(step, m))
        assert taken == list(range(12 * step, 12 * step + 12))


def test_a_resumed_stream_goes_on_where_the_run_stopped():
    """A sampler started at step 2 yields what one started at 0 yields after its first two steps (2 x 6 keys)."""
    kw = dict(dataset_length=7, batch_size=3, seed=4, gradient_accumulation_steps=2)
    whole = list(itertools.islice(iter(StreamSampler(**kw)), 24))
    resumed = list(itertools.islice(iter(StreamSampler(**kw, start_step=2)), 12))
    assert resumed == whole[12:]
    assert [k for k, _ in whole] == list(range(24))


def test_each_epoch_is_a_new_permutation_of_the_dataset():
    """Every epoch (``n`` consecutive positions) holds each item once, and epochs are shuffled differently."""
    s = StreamSampler(10, 1, seed=3)
    epochs = [[s.index_at(e * 10 + i) for i in range(10)] for e in range(4)]
    assert all(sorted(e) == list(range(10)) for e in epochs)
    assert len({tuple(e) for e in epochs}) == 4
    assert [StreamSampler(10, 1, shuffle=False).index_at(k) for k in (3, 13)] == [3, 3]
