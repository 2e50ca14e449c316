"""The between-group SD tau, the fit protocol's ``tau()``: a posterior summary (draws and
prior included) for Bayesian fits, the estimate for maximum-likelihood fits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.core.priors import Prior

__all__ = ["TauSummary", "tau_comparison", "tau_from_draws", "tau_from_estimate"]

_NAN = float("nan")


@dataclass
class TauSummary:
    """The between-group SD tau of one grouping factor.

    ``estimate`` is the ML estimate or the posterior mean (``mean`` is the same number).
    Bayesian fits add the posterior ``sd``, ``median``, the highest-density interval
    (``hdi_lower``, ``hdi_upper`` at ``hdi_prob``), the ``draws`` and the ``prior`` with its
    density on a grid covering the draws (``prior_density``), so a plot can set posterior
    against prior.  ML fits leave these empty (``lower`` and ``upper`` are reserved for
    profile or bootstrap intervals).  ``float(summary)`` and ``round(summary, k)`` give the
    estimate.
    """

    estimate: float
    method: str
    scale: str = "log-odds"
    group: str = ""
    sd: float = _NAN
    median: float = _NAN
    hdi_lower: float = _NAN
    hdi_upper: float = _NAN
    hdi_prob: float = _NAN
    lower: float = _NAN
    upper: float = _NAN
    draws: np.ndarray | None = None
    prior: str = ""
    prior_density: pd.DataFrame | None = None
    #: ML fits: how ``lower``/``upper`` were made ("profile"), their level, and the profile
    #: likelihood ``tau``, ``zeta`` (signed root deviance) and ``likelihood`` (relative,
    #: ``exp(-zeta^2 / 2)``) on a grid, for plots against the posterior
    interval: str = ""
    conf_level: float = _NAN
    profile: pd.DataFrame | None = None

    @property
    def mean(self) -> float:
        """The point estimate (posterior mean for Bayesian fits)."""
        return self.estimate

    @property
    def table(self) -> pd.DataFrame:
        """The summary as a one-row DataFrame."""
        row = {"estimate": self.estimate, "method": self.method}
        if self.interval:
            row |= {"lower": self.lower, "upper": self.upper, "interval": self.interval}
        if self.draws is not None:
            row |= {
                "sd": self.sd,
                "median": self.median,
                "hdi_lower": self.hdi_lower,
                "hdi_upper": self.hdi_upper,
                "hdi_prob": self.hdi_prob,
                "prior": self.prior,
            }
        return pd.DataFrame([row], index=["tau"])

    def __float__(self) -> float:
        return float(self.estimate)

    def __round__(self, ndigits: int | None = None) -> float:
        return round(float(self.estimate), ndigits)

    def __format__(self, spec: str) -> str:
        return format(float(self.estimate), spec) if spec else str(self)

    def __str__(self) -> str:
        where = f"between-group SD{f' of {self.group}' if self.group else ''}, {self.scale}"
        if self.draws is None:
            ci = (
                f", {100 * self.conf_level:g}% {self.interval} interval "
                f"[{self.lower:.4f}, {self.upper:.4f}]"
                if self.interval
                else ""
            )
            return f"tau ({where}): {self.estimate:.4f} ({self.method} estimate){ci}"
        return (
            f"tau ({where}): mean {self.estimate:.4f}, sd {self.sd:.4f}, "
            f"median {self.median:.4f}, {100 * self.hdi_prob:g}% HDI "
            f"[{self.hdi_lower:.4f}, {self.hdi_upper:.4f}]; prior {self.prior}"
        )

    __repr__ = __str__


def tau_from_draws(
    draws: np.ndarray, prior: Prior, hdi_prob: float, *, scale: str, group: str = ""
) -> TauSummary:
    """Posterior summary of tau from its draws and its prior."""
    draws = np.asarray(draws, dtype=float).ravel()
    import arviz as az  # on first use: importing hierarch does not load ArviZ

    lo, hi = az.hdi(draws, hdi_prob=hdi_prob)
    grid = np.linspace(0.0, max(float(np.quantile(draws, 0.999)) * 1.3, 1e-3), 400)
    return TauSummary(
        estimate=float(draws.mean()),
        method="bayes",
        scale=scale,
        group=group,
        sd=float(draws.std(ddof=1)),
        median=float(np.median(draws)),
        hdi_lower=float(lo),
        hdi_upper=float(hi),
        hdi_prob=float(hdi_prob),
        draws=draws,
        prior=str(prior),
        prior_density=pd.DataFrame({"tau": grid, "density": prior.density(grid)}),
    )


def tau_from_estimate(
    value: float,
    method: str,
    *,
    scale: str,
    group: str = "",
    interval: tuple[float, float] | None = None,
    conf_level: float = _NAN,
    profile: pd.DataFrame | None = None,
) -> TauSummary:
    """tau of a maximum-likelihood fit: the estimate (never negative, never NaN), with its
    profile interval and profile likelihood when given."""
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"a between-group SD must be finite and >= 0, got {value}")
    extra = {}
    if interval is not None:
        extra = {
            "lower": float(interval[0]),
            "upper": float(interval[1]),
            "interval": "profile",
            "conf_level": float(conf_level),
            "profile": profile,
        }
    return TauSummary(estimate=value, method=method, scale=scale, group=group, **extra)


def tau_comparison(ml: TauSummary, bayes: TauSummary, n_grid: int = 400) -> pd.DataFrame:
    """The posterior of tau, its prior and the ML profile likelihood on one grid, for
    :func:`hierarch.plots.plot_tau_comparison`.

    The profile likelihood ``exp(-zeta^2 / 2)`` (``zeta`` the signed root of the deviance
    difference, interpolated linearly between the profiled points, where it is close to
    linear) is normalised to unit area on the grid, so it can be drawn on the density scale
    beside the posterior (a kernel density of the draws) and the prior.  The profile is of
    the ML deviance (as lme4's), so for a REML fit its peak is the ML estimate, a little
    below the REML estimate that ``attrs["ml_estimate"]`` holds.

    Returns
    -------
    pandas.DataFrame
        Columns ``tau``, ``posterior``, ``prior``, ``profile_likelihood``; ``attrs`` hold the
        ML estimate and interval and the posterior median and HDI.
    """
    if bayes.draws is None or ml.draws is not None:
        raise ValueError("tau_comparison(ml, bayes): the ML fit's tau first, then the Bayesian")
    if ml.profile is None:
        raise ValueError(
            "this ML tau has no profile likelihood (the known-SE hierarchy, or no profile)"
        )
    hi = max(float(np.quantile(bayes.draws, 0.995)), float(ml.upper) * 1.2, 1e-3)
    grid = np.linspace(0.0, hi, n_grid)
    kde = stats.gaussian_kde(bayes.draws)
    # reflect at zero: tau >= 0, and a plain kernel density loses mass below it
    post = kde(grid) + kde(-grid)
    pdens = bayes.prior_density
    prior = np.interp(grid, pdens["tau"], pdens["density"], right=np.nan)
    prof = ml.profile.sort_values("tau")
    zeta = np.interp(grid, prof["tau"], prof["zeta"], left=np.nan, right=np.nan)
    # beyond the profiled range: extrapolate linearly from the last two points
    for side in (0, -1):
        idx = [0, 1] if side == 0 else [-2, -1]
        t, z = prof["tau"].to_numpy()[idx], prof["zeta"].to_numpy()[idx]
        slope = (z[1] - z[0]) / (t[1] - t[0]) if t[1] != t[0] else 0.0
        mask = np.isnan(zeta) & ((grid < t[0]) if side == 0 else (grid > t[1]))
        zeta[mask] = z[1 if side else 0] + slope * (grid[mask] - t[1 if side else 0])
    lik = np.exp(-0.5 * zeta**2)
    lik /= float(np.sum((lik[1:] + lik[:-1]) * np.diff(grid)) / 2)  # trapezoid rule
    out = pd.DataFrame({"tau": grid, "posterior": post, "prior": prior, "profile_likelihood": lik})
    out.attrs = {
        "ml_estimate": ml.estimate,
        "ml_lower": ml.lower,
        "ml_upper": ml.upper,
        "conf_level": ml.conf_level,
        "ml_method": ml.method,
        "posterior_median": bayes.median,
        "hdi_lower": bayes.hdi_lower,
        "hdi_upper": bayes.hdi_upper,
        "hdi_prob": bayes.hdi_prob,
        "prior_label": bayes.prior,
        "scale": ml.scale,
        "group": ml.group,
    }
    return out
