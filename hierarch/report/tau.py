"""The between-group SD tau, the fit protocol's ``tau()``: a posterior summary (draws and
prior included) for Bayesian fits, the estimate for maximum-likelihood fits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import arviz as az
import numpy as np
import pandas as pd

from hierarch.core.priors import Prior

__all__ = ["TauSummary", "tau_from_draws", "tau_from_estimate"]

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
