"""Fits of the known-standard-error hierarchy (meta-analysis, "eight schools"):

.. math:: y_j \\sim N(\\theta_j, s_j^2), \\qquad \\theta_j \\sim N(\\mu, \\tau^2)

with the ``s_j`` known.  Frequentist: ML or REML for ``(mu, tau)`` on the marginal
likelihood ``y_j ~ N(mu, tau^2 + s_j^2)``, with the empirical-Bayes group estimates
``mu + B_j (y_j - mu)``, ``B_j = tau^2 / (tau^2 + s_j^2)``.  Bayesian: a non-centred PyMC
model sampled with NUTS.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.core.priors import Prior
from hierarch.fits.base import BayesFit, MLFitSave, ScalarHierarchyReports
from hierarch.report import normal_means as report
from hierarch.report.tau import TauSummary, tau_from_draws, tau_from_estimate

__all__ = ["NormalMeansBayesFit", "NormalMeansML"]


_NO_ICC = (
    "the ICC needs one within-group variance; with known standard errors every group has its "
    "own (s_j^2), so no single ICC exists: the pooling weights B_j = tau^2 / (tau^2 + s_j^2) "
    "in .estimates say how much each group is pooled"
)


_NO_SIGMA = (
    "the known-SE hierarchy estimates no residual SD: each group's standard error s_j is given "
    "(see .estimates)"
)


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


@dataclass
class NormalMeansML(MLFitSave, ScalarHierarchyReports):
    """ML/REML fit of the known-SE hierarchy.

    Attributes
    ----------
    mu, se_mu, tau_estimate
        Population mean, its standard error, and the between-group SD (``tau()`` reports
        it, the fit protocol).
    estimates
        Per group: ``group``, ``y``, ``se``, ``pooling_weight`` (``B_j``), ``estimate``
        (shrunken), ``lower``, ``upper`` (``estimate +/- z sqrt(B_j s_j^2 + (1-B_j)^2 se_mu^2)``).
    """

    method: str
    groups: pd.DataFrame
    mu: float
    se_mu: float
    tau_estimate: float
    loglik: float
    estimates: pd.DataFrame
    conf_level: float
    group_column: str = ""

    @property
    def prediction_int(self) -> tuple[float, float]:
        """Interval for a new group's true effect, ``mu +/- z sqrt(tau^2 + se_mu^2)``."""
        h = _z(self.conf_level) * np.sqrt(self.tau_estimate**2 + self.se_mu**2)
        return self.mu - h, self.mu + h

    _no_icc = _NO_ICC
    _no_sigma = _NO_SIGMA

    def _check_values(self) -> dict[str, float]:
        return {"loglik": float(self.loglik), "mu": float(self.mu)}

    def _effects(self):
        t = self.estimates
        b = (t["estimate"] - self.mu).to_numpy()
        return list(t["group"]), b, np.sqrt(t["pooling_weight"] * t["se"] ** 2).to_numpy()

    def shrinkage(self) -> pd.DataFrame:
        """No / partial / complete pooling per group (:mod:`hierarch.report.normal_means`)."""
        return report.shrinkage(self)

    def new_group(self, prob: float | None = None) -> pd.DataFrame:
        """A new group's true effect (:func:`hierarch.report.normal_means.new_group`)."""
        return report.new_group(self, prob=prob)

    def tau(self) -> TauSummary:
        """The between-group SD (``float(fit.tau())`` is the estimate)."""
        return tau_from_estimate(
            self.tau_estimate, self.method, scale="data", group=self.group_column
        )

    def __str__(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        lo, hi = self.prediction_int
        z = _z(self.conf_level)
        lines = [
            f"Normal hierarchy with known standard errors ({self.method.upper()})",
            "",
            f"  Mu              :  {self.mu:.4f}  [{self.mu - z * self.se_mu:.4f}, "
            f"{self.mu + z * self.se_mu:.4f}]  ({pct} CI)",
            f"  Tau             :  {self.tau_estimate:.4f}  (between-group SD)",
            f"  Prediction int  :  [{lo:.4f}, {hi:.4f}]  ({pct} PI for a new group)",
            f"  Log-likelihood  :  {self.loglik:.4f}",
        ]
        if self.tau_estimate == 0.0:
            lines += [
                "  Note: boundary (singular) fit: tau is estimated at zero; the estimates vary",
                "  no more than their standard errors explain, so the groups are pooled fully",
            ]
        lines += [
            "",
            "Group estimates (partial pooling):",
            self.estimates.round(4).to_string(index=False),
        ]
        return "\n".join(lines)

    __repr__ = __str__


class NormalMeansBayesFit(ScalarHierarchyReports, BayesFit):
    """Bayesian known-SE hierarchy: InferenceData plus spec."""

    model_name = "normal_means"
    check_vars = ("mu", "tau", "z")

    def draws(self, name: str) -> np.ndarray:
        return (
            self.idata.posterior[name]
            .stack(sample=("chain", "draw"))
            .transpose("sample", ...)
            .values
        )

    @property
    def estimates(self) -> pd.DataFrame:
        th = self.draws("theta")
        a = (1 - self.conf_level) / 2
        lo, hi = np.quantile(th, [a, 1 - a], axis=0)
        y = self.idata.observed_data["y"].values
        s = self.idata.constant_data["se"].values
        return pd.DataFrame(
            {
                "group": self.idata.posterior["group"].values,
                "y": y,
                "se": s,
                "estimate": th.mean(0),
                "lower": lo,
                "upper": hi,
            }
        )

    @property
    def mu(self) -> float:
        return float(self.draws("mu").mean())

    _no_icc = _NO_ICC
    _no_sigma = _NO_SIGMA

    def _hyper(self) -> dict:
        return {"mu": self.draws("mu"), "tau": self.draws("tau"), "group": self.spec["group"]}

    def _effects(self):
        b = self.draws("theta") - self.draws("mu")[:, None]
        return list(self.idata.posterior["group"].values), b.mean(0), b.std(0, ddof=1)

    def shrinkage(self) -> pd.DataFrame:
        """No / partial / complete pooling per group (:mod:`hierarch.report.normal_means`)."""
        return report.shrinkage(self)

    def new_group(self, random_seed: int | None = None, prob: float | None = None) -> pd.DataFrame:
        """A new group's true effect (:func:`hierarch.report.normal_means.new_group`)."""
        return report.new_group(self, random_seed=random_seed, prob=prob)

    def tau(self, hdi_prob: float | None = None) -> TauSummary:
        """Posterior summary of the between-group SD (draws and prior included)."""
        prior = Prior.from_value(self.spec["priors"]["tau"])
        prob = float(hdi_prob or self.conf_level)
        return tau_from_draws(
            self.draws("tau"), prior, prob, scale="data", group=self.spec["group"]
        )

    def __str__(self) -> str:
        a = (1 - self.conf_level) / 2
        lines = ["Normal hierarchy with known standard errors (Bayesian, posterior means)", ""]
        for name in ("mu", "tau"):
            x = self.draws(name)
            lo, hi = np.quantile(x, [a, 1 - a])
            lines.append(f"  {name:<4s}:  {x.mean():.4f}  [{lo:.4f}, {hi:.4f}]")
        lines += [
            "",
            str(self.diagnostics()),
            "",
            "Group estimates (partial pooling):",
            self.estimates.round(4).to_string(index=False),
        ]
        return "\n".join(lines)

    __repr__ = __str__
