"""plan_temporal's layout cache (f31d072): a window's layout depends on the frames known when it is asked for, so
the cache is emptied each time a window adds frames. Without that, a layout computed before a window was added (by
the search for the next start) was reused after it: ``plan_temporal(6, [0, 4], 4, 1)`` then made frame 5 in
``(0, 3, 4, 5)``, holding input 0 for frames 1-3 that the second window had made already, instead of ``(2, 3, 4,
5)`` (found by review: the property tests of test_long_path_temporal.py all pass on such plans). The plans are compared
with those of the same search with a cache that keeps nothing."""

from __future__ import annotations

import itertools
import random

from genxd.pipelines import long_path_temporal


class _KeepsNothing(dict):
    """A layout cache that stores nothing: every layout is computed for the frames known when it is asked for."""

    asked = 0

    def __setitem__(self, key, value) -> None:
        type(self).asked += 1


def _outcome(num_frames, inputs, window, overlap, keep):
    try:
        plan = long_path_temporal.plan_temporal(num_frames, list(inputs), window, overlap, keep_inputs=keep)
    except ValueError as e:
        return "refused", str(e)
    return [(w.frames, w.context, w.stage, w.kind) for w in plan.windows]


def _compare(monkeypatch, cases) -> int:
    """The cached plans of ``cases`` equal the uncached ones (refusals included); returns how many were planned."""
    cached = [_outcome(*case) for case in cases]
    asked = _KeepsNothing.asked
    with monkeypatch.context() as m:
        m.setattr(long_path_temporal, "_new_layout_cache", _KeepsNothing)
        uncached = [_outcome(*case) for case in cases]
    assert _KeepsNothing.asked > asked  # plan_temporal took its layouts from the cache swapped in
    for case, got, want in zip(cases, cached, uncached):
        assert got == want, case
    return sum(not isinstance(p, tuple) for p in cached)


def test_a_layout_asked_for_before_a_window_added_frames_is_not_reused_after(monkeypatch):
    # the found case, and one with keep_inputs (a stale layout there held input 1 for frames made already)
    cases = [(6, (0, 4), 4, 1, False), (8, (1, 5, 7), 5, 1, True)]
    assert _compare(monkeypatch, cases) == 2
    assert _outcome(*cases[0])[2][0] == (2, 3, 4, 5)


def test_cached_plans_equal_the_uncached_search_over_small_paths_and_random_ones(monkeypatch):
    """Every place of 2-3 inputs on 6-10 frames, windows 3-7, overlaps 1-2, with and without keep_inputs (where
    stale layouts show: 142 of these 9,200 plans differed without the cache's clearing; random paths rarely do, 3
    of 3,000), and 100 random paths of 4-40 frames, windows 2-10, overlaps 1-4 and 1-5 inputs (seeded)."""
    cases = [(n, ins, w, o, keep) for n, w, o, keep in itertools.product(range(6, 11), range(3, 8), (1, 2),
                                                                          (False, True))
             for count in (2, 3) for ins in itertools.combinations(range(n), count) if o < w]
    rng = random.Random(45)
    for _ in range(100):
        n, w = rng.randint(4, 40), rng.randint(2, 10)
        ins = tuple(sorted(rng.sample(range(min(n, w + 2)), min(n, w + 2, rng.randint(1, 5)))))
        cases.append((n, ins, w, rng.randint(1, 4), rng.random() < 0.5))
    assert _compare(monkeypatch, cases) > len(cases) // 2  # most are planned, not refused
