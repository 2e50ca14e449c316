"""Simulators for shrinkage scenarios (data with known truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

__all__ = ["binomial_groups"]


def binomial_groups(
    n_groups: int = 30,
    trials: int | tuple[int, int] = (10, 60),
    mu: float = -1.5,
    tau: float = 0.7,
    seed: int | None = None,
) -> pd.DataFrame:
    """Grouped binomial counts from the multilevel model with known mu and tau.

    ``logit(theta_j) ~ N(mu, tau^2)``, ``m_j ~ Binomial(n_j, theta_j)``.

    Parameters
    ----------
    n_groups : int
        Number of groups J.
    trials : int or (low, high)
        Trials per group: a constant, or drawn uniformly from ``low..high`` (unequal sizes).
    mu, tau : float
        Population mean and SD of the group log-odds.
    seed : int, optional
        Seed of the random generator.

    Returns
    -------
    pandas.DataFrame
        Columns ``group``, ``m``, ``n`` and the true ``theta``; ``attrs["truth"]`` holds
        ``{"mu": mu, "tau": tau}``.

    Examples
    --------
    >>> from hierarch import simulate
    >>> df = simulate.binomial_groups(n_groups=5, trials=20, seed=1)
    >>> df.shape, df.attrs["truth"]
    ((5, 4), {'mu': -1.5, 'tau': 0.7})
    """
    if n_groups < 2:
        raise ValueError(f"n_groups must be at least 2, got {n_groups}")
    if tau < 0:
        raise ValueError(f"tau must be non-negative, got {tau}")
    rng = np.random.default_rng(seed)
    if isinstance(trials, tuple):
        lo, hi = trials
        n = rng.integers(lo, hi + 1, size=n_groups)
    else:
        n = np.full(n_groups, int(trials))
    theta = special.expit(rng.normal(mu, tau, size=n_groups))
    m = rng.binomial(n, theta)
    df = pd.DataFrame({"group": np.arange(1, n_groups + 1), "m": m, "n": n, "theta": theta})
    df.attrs["truth"] = {"mu": mu, "tau": tau}
    return df
