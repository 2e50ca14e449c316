"""Simulators for shrinkage scenarios (data with known truth)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import special

from hierarch.bayes.grid import random_intercept_grid
from hierarch.core.portable_random import PortableRandom
from hierarch.freq.diagnose import FitWarning
from hierarch.frontends.mixed import model

__all__ = [
    "SLOPE_SCENARIOS",
    "binomial_groups",
    "explorer_data",
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


#: the settings of the shrinkage demonstration (seed 001), as keyword arguments of
#: :func:`random_slopes`
SLOPE_SCENARIOS: dict[str, dict] = {
    "default": {},
    "sd_int = sd_slope = 1": {"sd_int": 1.0, "sd_slope": 1.0},
    "sd_int = 0.25, sd_slope = 1": {"sd_int": 0.25, "sd_slope": 1.0},
    "obs_per_cluster = 3": {"obs_per_cluster": 3},
    "obs_per_cluster = 100": {"obs_per_cluster": 100},
    "unbalanced": {"balanced": 0.5, "sd_int": 0.5, "sd_slope": 0.5, "sigma": 0.25},
}


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


def explorer_data(
    J: int = 16,
    n_mean: float = 8,
    sigma_u: float = 1.5,
    sigma_e: float = 2.0,
    balance: float = 0.25,
    seed: int = 1,
    mu: float = 0.0,
) -> pd.DataFrame:
    """The shrinkage explorer's data: random intercepts from a generator the page shares.

    The same model as :func:`random_intercepts`, drawn with
    :class:`~hierarch.core.portable_random.PortableRandom` so that the web page of
    :func:`hierarch.explore` simulates the same data set from the same seed.  Group sizes:
    ``n_j = max(1, floor(n_mean (balance + (1 - balance) w_j) + 1/2))`` with ``w_j`` standard
    exponential draws divided by their mean, so ``balance = 1`` gives equal groups and
    ``balance = 0`` sizes as unequal as an exponential spread (singletons included).

    Draw order (the page follows it): J exponentials for the sizes, J normals for ``u_j``,
    then the observations group by group.

    Returns
    -------
    pandas.DataFrame
        Columns ``y``, ``group`` (1..J), ``true_mean``; ``attrs["truth"]``.

    Examples
    --------
    >>> from hierarch import simulate
    >>> df = simulate.explorer_data(J=4, n_mean=3, balance=1.0, seed=7)
    >>> df.groupby("group").size().tolist()
    [3, 3, 3, 3]
    """
    if int(J) != J or J < 2:
        raise ValueError(f"J must be a whole number of at least 2 groups, got {J}")
    if not n_mean >= 1:
        raise ValueError(f"n_mean must be at least 1 observation per group, got {n_mean}")
    if not 0.0 <= balance <= 1.0:
        raise ValueError(f"balance must be between 0 (unequal groups) and 1 (equal), got {balance}")
    for name, value in (("sigma_u", sigma_u), ("sigma_e", sigma_e)):
        if not value >= 0:
            raise ValueError(f"{name} must be a non-negative standard deviation, got {value}")
    rng = PortableRandom(seed)
    J = int(J)
    expo = [rng.exponential() for _ in range(J)]
    scale = J / sum(expo)
    sizes = [
        max(1, int(np.floor(n_mean * (balance + (1 - balance) * e * scale) + 0.5))) for e in expo
    ]
    u = [sigma_u * rng.normal() for _ in range(J)]
    y = [mu + u[j] + sigma_e * rng.normal() for j in range(J) for _ in range(sizes[j])]
    group = np.repeat(np.arange(1, J + 1), sizes)
    truth = mu + np.asarray(u)[group - 1]
    df = pd.DataFrame({"y": np.asarray(y), "group": group, "true_mean": truth})
    df.attrs["truth"] = {"mu": mu, "sigma_u": sigma_u, "sigma_e": sigma_e}
    return df


def pooling_estimates(
    data: pd.DataFrame, y: str = "y", group: str = "group", *, bayes: bool = False
) -> pd.DataFrame:
    """Complete, no and partial pooling estimates of every group mean (REML for partial).

    Partial pooling is the BLUP ``mu_hat + alpha_j (ybar_j - mu_hat)`` with the pooling weight
    ``alpha_j = tau^2 / (tau^2 + sigma^2 / n_j)`` from the REML fit of ``y ~ 1 + (1 | group)``.
    With ``bayes=True`` also the Bayesian estimate: the posterior mean of each group mean under
    hierarch's default priors, which averages the BLUP over the posterior of ``tau`` and
    ``sigma`` instead of plugging in their estimates (exact on a grid:
    :func:`hierarch.bayes.grid.random_intercept_grid`).

    Returns
    -------
    pandas.DataFrame
        Indexed by group: ``n``, ``complete``, ``no_pooling``, ``partial``, ``alpha`` and, with
        ``bayes``, ``bayes`` and ``bayes_alpha`` (posterior mean of the pooling weight).

    Examples
    --------
    >>> from hierarch import simulate
    >>> est = simulate.pooling_estimates(simulate.explorer_data(seed=2), bayes=True)
    >>> list(est.columns)
    ['n', 'complete', 'no_pooling', 'partial', 'alpha', 'bayes', 'bayes_alpha']
    """

    fit = model(f"{y} ~ 1 + ({1} | {group})", data).fit(method="reml")
    g = data.groupby(group)[y]
    n, ybar = g.size(), g.mean()
    tau2 = float(fit.lmm.cov[0][0, 0])
    sigma2 = fit.lmm.sigma**2
    mu = float(fit.lmm.beta[0])
    alpha = tau2 / (tau2 + sigma2 / n)
    partial = mu + fit.lmm.ranef[0][:, 0]
    out = pd.DataFrame(
        {
            "n": n,
            "complete": data[y].mean(),
            "no_pooling": ybar,
            "partial": partial,
            "alpha": alpha,
        },
        index=ybar.index,
    )
    if bayes:
        post = random_intercept_grid(data[y], data[group]).groups
        out["bayes"] = post["mean"].to_numpy()
        out["bayes_alpha"] = post["alpha"].to_numpy()
    return out


def pooling_mse(
    n_sims: int = 50, seed: int = 0, *, simulator=None, bayes: bool = False, **scenario
) -> pd.DataFrame:
    """Mean squared error of complete, no and partial pooling against the true group means.

    Simulates ``n_sims`` data sets with ``simulator`` (default :func:`random_intercepts`;
    :func:`explorer_data` gives the shrinkage explorer's data sets) with the ``scenario``
    keyword arguments and seeds ``seed .. seed + n_sims - 1``, estimates every group mean three
    ways (four with ``bayes``: :func:`pooling_estimates`) and averages the squared errors over
    groups and data sets.

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
    simulator = random_intercepts if simulator is None else simulator
    methods = ("complete", "no_pooling", "partial") + (("bayes",) if bayes else ())
    per_set = []
    for i in range(n_sims):
        df = simulator(seed=seed + i, **scenario)
        with warnings.catch_warnings():
            # a boundary fit (tau estimated at 0) is one of the outcomes being averaged, not
            # news about the user's data
            warnings.simplefilter("ignore", FitWarning)
            est = pooling_estimates(df, bayes=bayes)
        truth = df.groupby("group")["true_mean"].first()
        per_set.append({m: float(np.mean((est[m] - truth) ** 2)) for m in methods})
    sets = pd.DataFrame(per_set)
    out = pd.DataFrame({"mse": sets.mean(), "mse_se": sets.std(ddof=1) / np.sqrt(n_sims)})
    out.index.name = "method"
    return out.sort_values("mse")
