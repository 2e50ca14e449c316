"""The generator the explorer page shares with Python: its draws have the stated laws."""

from __future__ import annotations

import numpy as np
from scipy import stats

from hierarch.core.portable_random import PortableRandom


def test_same_seed_same_stream_and_range():
    a, b = PortableRandom(42), PortableRandom(42)
    xs = [a.uniform() for _ in range(1000)]
    assert xs == [b.uniform() for _ in range(1000)]
    assert min(xs) > 0 and max(xs) < 1
    # seeds are taken modulo 2**32, as JavaScript's `>>> 0`
    assert PortableRandom(2**32 + 5).next_uint32() == PortableRandom(5).next_uint32()


def test_draws_follow_their_distributions():
    # Kolmogorov-Smirnov at level 1e-3 on 20,000 draws: a broken transform (a wrong branch of
    # Box-Muller, an off-by-one scale) gives p-values far below that
    rng = PortableRandom(7)
    for draw, law in (
        (rng.uniform, stats.uniform),
        (rng.normal, stats.norm),
        (rng.exponential, stats.expon),
    ):
        sample = np.array([draw() for _ in range(20_000)])
        assert stats.kstest(sample, law.cdf).pvalue > 1e-3
