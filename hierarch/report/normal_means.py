"""Reporting for the known-standard-error hierarchy (``normal_means``): the shrinkage table
and a new group's effect, for ML/REML and Bayesian fits alike."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["new_group", "shrinkage"]


def _is_bayes(fit) -> bool:
    return getattr(fit, "method", None) == "bayes"


def shrinkage(fit) -> pd.DataFrame:
    """Per group: its own estimate (no pooling), the partially pooled estimate and complete
    pooling, in the columns of every hierarchy's shrinkage table.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``se`` (the known standard error), ``unpooled`` (``y_j``, with the
        interval ``y_j +/- z s_j``), ``partial`` (with its interval), ``complete`` (the
        precision-weighted mean of the ``y_j``), ``grand_mean`` (``mu``; posterior mean for
        Bayesian fits), ``alpha`` (the pooling weight ``tau^2 / (tau^2 + s_j^2)``, averaged
        over the posterior for Bayesian fits) and ``fraction_moved``, the fraction of the
        distance from ``y_j`` to the grand mean that the estimate moved (NaN where ``y_j`` is
        the grand mean).
    """
    est = fit.estimates
    y, s = est["y"].to_numpy(float), est["se"].to_numpy(float)
    z = float(stats.norm.ppf(0.5 + fit.conf_level / 2))
    if _is_bayes(fit):
        tau2 = fit.draws("tau")[:, None] ** 2
        alpha = (tau2 / (tau2 + s**2)).mean(axis=0)
        grand = float(fit.draws("mu").mean())
    else:
        tau2 = fit.tau_estimate**2
        alpha = tau2 / (tau2 + s**2)
        grand = fit.mu
    w = 1 / s**2
    dist = y - grand
    partial = est["estimate"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(np.abs(dist) > 1e-12, (y - partial) / dist, np.nan)
    return pd.DataFrame(
        {
            "group": est["group"].to_numpy(),
            "se": s,
            "unpooled": y,
            "unpooled_lower": y - z * s,
            "unpooled_upper": y + z * s,
            "partial": partial,
            "partial_lower": est["lower"].to_numpy(float),
            "partial_upper": est["upper"].to_numpy(float),
            "complete": float(np.sum(w * y) / np.sum(w)),
            "grand_mean": grand,
            "alpha": alpha,
            "fraction_moved": frac,
        }
    )


def new_group(fit, random_seed: int | None = None, prob: float | None = None) -> pd.DataFrame:
    """The true effect of a new group: ML/REML ``mu +/- z sqrt(tau^2 + se(mu)^2)``;
    Bayesian posterior predictive draws ``mu_s + tau_s e``, ``e ~ N(0, 1)`` (five per draw,
    seeded by ``random_seed``, default the fit's own seed).

    Returns
    -------
    pandas.DataFrame
        Index ``effect``, columns ``mean``, ``median``, ``lower``, ``upper`` (central
        interval at ``prob``, default the fit's ``conf_level``).
    """
    level = float(prob or fit.conf_level)
    a = (1 - level) / 2
    if _is_bayes(fit):
        mu, tau = fit.draws("mu"), fit.draws("tau")
        seed = random_seed if random_seed is not None else fit.spec["sampler"]["random_seed"]
        e = np.random.default_rng(seed).standard_normal((len(mu), 5))
        x = (mu[:, None] + tau[:, None] * e).ravel()
        row = [x.mean(), np.median(x), *np.quantile(x, [a, 1 - a])]
    else:
        half = stats.norm.ppf(1 - a) * np.sqrt(fit.tau_estimate**2 + fit.se_mu**2)
        row = [fit.mu, fit.mu, fit.mu - half, fit.mu + half]
    out = pd.DataFrame([row], index=["effect"], columns=["mean", "median", "lower", "upper"])
    out.attrs["prob"] = level
    return out
