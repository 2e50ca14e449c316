"""Simulators for shrinkage scenarios (data with known truth)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from hierarch.frontends.mixed import model

__all__ = [
    "binomial_groups",
    "pooling_estimates",
    "pooling_mse",
    "random_intercepts",
    "random_slopes",
]


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


def random_slopes(
    obs_per_cluster: int = 10,
    n_cluster: int = 100,
    intercept: float = 1.0,
    beta: float = 0.5,
    sigma: float = 1.0,
    sd_int: float = 0.5,
    sd_slope: float = 0.25,
    cor: float = 0.0,
    balanced: float = 1.0,
    seed: int | None = 888,
) -> pd.DataFrame:
    """Random intercepts and slopes, as the shrinkage demo's ``create_data()``.

    ``x ~ N(0, 1)``; per cluster ``(u0, u1) ~ N(0, [[sd_int^2, cor], [cor, sd_slope^2]])``
    (``cor`` is the covariance entry, exactly as in the original function);
    ``y = (intercept + u0) + (beta + u1) x + N(0, sigma^2)``.  ``balanced`` is the fraction
    of rows kept (sampled without replacement), so values below 1 give unbalanced clusters.

    Returns
    -------
    pandas.DataFrame
        Columns ``y``, ``x``, ``cluster``; ``attrs["truth"]`` holds the parameters and
        ``attrs["effects"]`` the true per-cluster intercepts and slopes.

    Examples
    --------
    >>> from hierarch import simulate
    >>> df = simulate.random_slopes()
    >>> df.shape
    (1000, 3)
    """
    if not 0 < balanced <= 1:
        raise ValueError(
            f"balanced should be a proportion of rows to keep in (0, 1], got {balanced}"
        )
    rng = np.random.default_rng(seed)
    cluster = np.repeat(np.arange(1, n_cluster + 1), obs_per_cluster)
    N = n_cluster * obs_per_cluster
    x = rng.standard_normal(N)
    cov = np.array([[sd_int**2, cor], [cor, sd_slope**2]])
    re = rng.multivariate_normal(np.zeros(2), cov, size=n_cluster, method="eigh")
    y = (intercept + re[cluster - 1, 0]) + (beta + re[cluster - 1, 1]) * x
    y = y + rng.normal(0.0, sigma, N)
    df = pd.DataFrame({"y": y, "x": x, "cluster": cluster})
    if balanced < 1:
        keep = np.sort(rng.choice(N, size=int(round(balanced * N)), replace=False))
        df = df.iloc[keep].reset_index(drop=True)
    df.attrs["truth"] = {
        "intercept": intercept,
        "beta": beta,
        "sigma": sigma,
        "sd_int": sd_int,
        "sd_slope": sd_slope,
        "cor": cor,
    }
    df.attrs["effects"] = pd.DataFrame(
        {"intercept": intercept + re[:, 0], "slope": beta + re[:, 1]},
        index=pd.Index(np.arange(1, n_cluster + 1), name="cluster"),
    )
    return df


def random_intercepts(
    J: int = 16,
    n_mean: float = 8,
    sigma_u: float = 1.5,
    sigma_e: float = 2.0,
    mu: float = 0.0,
    unequal: bool = True,
    seed: int | None = None,
) -> pd.DataFrame:
    """Grouped data with random intercepts, as the BLUP-shrinkage widget's scenarios.

    ``u_j ~ N(0, sigma_u^2)``, ``y_ij = mu + u_j + N(0, sigma_e^2)``.  With ``unequal``
    (the default) group sizes are ``max(2, Poisson(n_mean))``, otherwise all ``n_mean``.

    Returns
    -------
    pandas.DataFrame
        Columns ``y``, ``group``, ``true_mean`` (``mu + u_j``); ``attrs["truth"]``.

    Examples
    --------
    >>> from hierarch import simulate
    >>> df = simulate.random_intercepts(seed=1)
    >>> df["group"].nunique()
    16
    """
    if J < 2:
        raise ValueError(f"J must be at least 2 groups, got {J}")
    rng = np.random.default_rng(seed)
    sizes = (
        np.maximum(2, rng.poisson(n_mean, size=J)) if unequal else np.full(J, int(round(n_mean)))
    )
    u = rng.normal(0.0, sigma_u, size=J)
    group = np.repeat(np.arange(1, J + 1), sizes)
    y = mu + u[group - 1] + rng.normal(0.0, sigma_e, size=group.size)
    df = pd.DataFrame({"y": y, "group": group, "true_mean": mu + u[group - 1]})
    df.attrs["truth"] = {"mu": mu, "sigma_u": sigma_u, "sigma_e": sigma_e}
    return df


def pooling_estimates(data: pd.DataFrame, y: str = "y", group: str = "group") -> pd.DataFrame:
    """Complete, no and partial pooling estimates of every group mean (REML for partial).

    Partial pooling is the BLUP ``mu_hat + alpha_j (ybar_j - mu_hat)`` with the pooling weight
    ``alpha_j = tau^2 / (tau^2 + sigma^2 / n_j)`` from the REML fit of ``y ~ 1 + (1 | group)``.

    Returns
    -------
    pandas.DataFrame
        Indexed by group: ``n``, ``complete``, ``no_pooling``, ``partial``, ``alpha``.
    """

    fit = model(f"{y} ~ 1 + ({1} | {group})", data).fit(method="reml")
    g = data.groupby(group)[y]
    n, ybar = g.size(), g.mean()
    tau2 = float(fit.lmm.cov[0][0, 0])
    sigma2 = fit.lmm.sigma**2
    mu = float(fit.lmm.beta[0])
    alpha = tau2 / (tau2 + sigma2 / n)
    partial = mu + fit.lmm.ranef[0][:, 0]
    return pd.DataFrame(
        {
            "n": n,
            "complete": data[y].mean(),
            "no_pooling": ybar,
            "partial": partial,
            "alpha": alpha,
        },
        index=ybar.index,
    )


def pooling_mse(n_sims: int = 50, seed: int = 0, **scenario) -> pd.DataFrame:
    """Mean squared error of complete, no and partial pooling against the true group means.

    Simulates ``n_sims`` data sets with :func:`random_intercepts` (``scenario`` keyword
    arguments, seeds ``seed .. seed + n_sims - 1``), estimates every group mean three ways
    (:func:`pooling_estimates`) and averages the squared errors over groups and data sets.

    Returns
    -------
    pandas.DataFrame
        One row per method (``complete``, ``no_pooling``, ``partial``) with ``mse`` and its
        Monte Carlo standard error ``mse_se`` (over data sets), sorted by ``mse``.

    Examples
    --------
    >>> from hierarch import simulate
    >>> table = simulate.pooling_mse(n_sims=5)
    >>> list(table.columns)
    ['mse', 'mse_se']
    """
    per_set = []
    for i in range(n_sims):
        df = random_intercepts(seed=seed + i, **scenario)
        est = pooling_estimates(df)
        truth = df.groupby("group")["true_mean"].first()
        per_set.append(
            {
                m: float(np.mean((est[m] - truth) ** 2))
                for m in ("complete", "no_pooling", "partial")
            }
        )
    sets = pd.DataFrame(per_set)
    out = pd.DataFrame({"mse": sets.mean(), "mse_se": sets.std(ddof=1) / np.sqrt(n_sims)})
    out.index.name = "method"
    return out.sort_values("mse")
