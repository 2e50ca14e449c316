"""The exact posterior of the random-intercept model on a grid over (tau, sigma).

For ``y_ij = mu + u_j + e_ij`` with ``u_j ~ N(0, tau^2)``, ``e_ij ~ N(0, sigma^2)`` and a
normal prior on ``mu``, both ``u`` and ``mu`` integrate out in closed form: the posterior of
``(tau, sigma)`` is known up to a constant from the group sizes ``n_j``, the group means
``ybar_j`` and the within-group sum of squares, and given ``(tau, sigma)`` every group mean's
posterior mean is the BLUP ``m + alpha_j (ybar_j - m)`` with ``alpha_j = tau^2 / (tau^2 +
sigma^2 / n_j)`` and ``m`` the posterior mean of ``mu``.  Averaging over a two-dimensional grid
is then exact to the grid's resolution, and needs no sampler: the shrinkage explorer does the
same computation in the browser (``explorer.html``, ``function gridPosterior``), and a test
checks that the two agree and that both agree with NUTS.

The priors are hierarch's defaults for ``y ~ 1 + (1 | g)``
(:meth:`hierarch.core.spec.ModelSpec.default_priors`): ``mu ~ Normal(mean(y), 2.5 s_y)``,
``tau ~ HalfNormal(s_y)``, ``sigma ~ HalfNormal(s_y)``, with ``s_y`` the SD of the response.

The grid: a coarse pass of ``coarse x coarse`` cell midpoints over ``(0, 5 s_y]^2`` finds the
cells whose log density is within 25 of the largest; a fine pass of ``fine x fine`` midpoints
covers those cells and one more on each side.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["GridPosterior", "random_intercept_grid"]

#: how far below the largest log density a coarse cell may be and still be refined
_LOG_DROP = 25.0
#: the coarse grid spans (0, _SPAN * s_y] in tau and in sigma (the HalfNormal(s_y) priors
#: put 1e-6 of their mass beyond 4.9 s_y)
_SPAN = 5.0


@dataclass(frozen=True)
class GridPosterior:
    """Posterior summaries of the random-intercept model from a grid.

    Attributes
    ----------
    groups : pandas.DataFrame
        Indexed by group: ``n``, ``ybar``, ``alpha`` (posterior mean of the pooling weight) and
        ``mean`` (posterior mean of the group mean ``mu + u_j``).
    tau : numpy.ndarray
        The fine grid's tau values (equally spaced midpoints).
    tau_density : numpy.ndarray
        The marginal posterior density of tau at ``tau`` (integrates to 1 over the grid).
    tau_mean, tau_sd, sigma_mean, mu_mean : float
        Posterior means (and the SD of tau).
    """

    groups: pd.DataFrame
    tau: np.ndarray
    tau_density: np.ndarray
    tau_mean: float
    tau_sd: float
    sigma_mean: float
    mu_mean: float


def _log_density(tau, sigma, n, ybar, ssw, n_obs, prior):
    """Log posterior of (tau, sigma) up to a constant, on broadcast grids ``tau``, ``sigma``."""
    m0, s0, s_tau, s_sigma = prior
    t2 = tau[..., None] ** 2
    s2 = sigma[..., None] ** 2
    v = t2 + s2 / n  # variance of each group mean given (mu, tau, sigma)
    prec = 1.0 / s0**2 + np.sum(1.0 / v, axis=-1)
    m = (m0 / s0**2 + np.sum(ybar / v, axis=-1)) / prec
    quad = np.sum((ybar - m[..., None]) ** 2 / v, axis=-1) + (m - m0) ** 2 / s0**2
    lp = (
        -0.5 * tau**2 / s_tau**2
        - 0.5 * sigma**2 / s_sigma**2
        - (n_obs - n.size) * np.log(sigma)
        - 0.5 * ssw / sigma**2
        - 0.5 * np.sum(np.log(v), axis=-1)
        - 0.5 * np.log(prec)
        - 0.5 * quad
    )
    return lp, m, t2 / v


def _midpoints(lo: float, hi: float, k: int) -> np.ndarray:
    return lo + (np.arange(k) + 0.5) * ((hi - lo) / k)


def random_intercept_grid(
    y, group, *, coarse: int = 100, fine: int = 150, prior_scales: dict | None = None
) -> GridPosterior:
    """Posterior of ``y ~ 1 + (1 | group)`` under hierarch's default priors, on a grid.

    Parameters
    ----------
    y : array_like
        The response.
    group : array_like
        The group of each observation.
    coarse, fine : int
        Points per axis of the coarse and the fine grid.
    prior_scales : dict, optional
        ``{"mu": (mean, sd), "tau": sd, "sigma": sd}`` to replace the defaults.

    Returns
    -------
    GridPosterior

    Examples
    --------
    >>> from hierarch import simulate
    >>> from hierarch.bayes.grid import random_intercept_grid
    >>> df = simulate.explorer_data(seed=3)
    >>> post = random_intercept_grid(df["y"], df["group"])
    >>> bool(0 < post.tau_mean < 5), list(post.groups.columns)
    (True, ['n', 'ybar', 'alpha', 'mean'])
    """
    y = np.asarray(y, dtype=float)
    frame = pd.DataFrame({"y": y, "g": np.asarray(group)})
    g = frame.groupby("g", sort=True)["y"]
    n = g.size().to_numpy(dtype=float)
    ybar = g.mean().to_numpy()
    ssw = float(np.sum((y - g.transform("mean").to_numpy()) ** 2))
    s_y = float(np.std(y, ddof=1)) or 1.0
    scales = {"mu": (float(np.mean(y)), 2.5 * s_y), "tau": s_y, "sigma": s_y}
    scales.update(prior_scales or {})
    prior = (scales["mu"][0], scales["mu"][1], scales["tau"], scales["sigma"])

    h_tau, h_sigma = _SPAN * prior[2] / coarse, _SPAN * prior[3] / coarse
    tc = _midpoints(0.0, coarse * h_tau, coarse)
    sc = _midpoints(0.0, coarse * h_sigma, coarse)
    lp, _, _ = _log_density(tc[:, None], sc[None, :], n, ybar, ssw, y.size, prior)
    keep_t, keep_s = np.nonzero(lp >= lp.max() - _LOG_DROP)
    t_lo = max(0, keep_t.min() - 1) * h_tau
    t_hi = min(coarse, keep_t.max() + 2) * h_tau
    s_lo = max(0, keep_s.min() - 1) * h_sigma
    s_hi = min(coarse, keep_s.max() + 2) * h_sigma

    tf = _midpoints(t_lo, t_hi, fine)
    sf = _midpoints(s_lo, s_hi, fine)
    lp, m, alpha = _log_density(tf[:, None], sf[None, :], n, ybar, ssw, y.size, prior)
    w = np.exp(lp - lp.max())
    w /= w.sum()
    alpha_mean = np.einsum("ts,tsj->j", w, alpha)
    group_mean = np.einsum("ts,tsj->j", w, m[..., None] + alpha * (ybar - m[..., None]))
    tau_marg = w.sum(axis=1)
    tau_mean = float(tau_marg @ tf)
    groups = pd.DataFrame(
        {"n": n.astype(int), "ybar": ybar, "alpha": alpha_mean, "mean": group_mean},
        index=g.mean().index,
    )
    groups.index.name = None
    return GridPosterior(
        groups=groups,
        tau=tf,
        tau_density=tau_marg / (tf[1] - tf[0]),
        tau_mean=tau_mean,
        tau_sd=float(np.sqrt(max(tau_marg @ tf**2 - tau_mean**2, 0.0))),
        sigma_mean=float(w.sum(axis=0) @ sf),
        mu_mean=float(np.sum(w * m)),
    )
