"""Fits of the known-standard-error hierarchy (meta-analysis, "eight schools"):

.. math:: y_j \\sim N(\\theta_j, s_j^2), \\qquad \\theta_j \\sim N(\\mu, \\tau^2)

with the ``s_j`` known: the formula model ``y | se(s) ~ 1 + (1 | g)``.  Frequentist: ML or
REML for ``(mu, tau)`` on the marginal likelihood ``y_j ~ N(mu, tau^2 + s_j^2)``
(:func:`hierarch.freq.normal_means.fit_known_se`), with the empirical-Bayes group estimates
``mu + B_j (y_j - mu)``, ``B_j = tau^2 / (tau^2 + s_j^2)``.  Bayesian: the formula model's
PyMC graph with the standard errors as data, sampled with NUTS.  Both fits are the formula
model's (:class:`MixedMLFit`, :class:`MixedBayesFit`) with the meta-analyst's view of them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.fits.mixed import MixedBayesFit, MixedMLFit
from hierarch.report import normal_means as report

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


class _NormalMeansView:
    """What the ML and the Bayesian known-SE fits share: the per-row table of estimates and
    standard errors, the reports of :mod:`hierarch.report.normal_means`, no ICC and no
    residual SD."""

    hierarchy = "normal_means"

    @property
    def group_column(self) -> str:
        return self.model.parsed.blocks[0].factor

    @property
    def groups(self) -> pd.DataFrame:
        """``group``, ``y`` and ``se`` per row (one row per group from ``normal_means``)."""
        pf = self.model.parsed
        b = pf.blocks[0]
        return pd.DataFrame(
            {
                "group": np.asarray(b.levels, dtype=object)[b.codes],
                "y": pf.y,
                "se": self.model.known_se,
            }
        )

    def sigma(self):
        """No residual SD: the standard errors are given."""
        raise ValueError(_NO_SIGMA)

    def icc(self):
        """Not defined: every group has its own within-group variance."""
        raise ValueError(_NO_ICC)

    def shrinkage(self, factor: str | None = None, scale: str = "link") -> pd.DataFrame:
        """No / partial / complete pooling per group (:mod:`hierarch.report.normal_means`)."""
        return report.shrinkage(self)

    def _unsupported(self, *args, **kwargs):
        raise ValueError(
            "ppc(), loo() and coefficients() are not available for the known-SE hierarchy "
            "yet (they need a residual SD); see estimates, shrinkage(), new_group(), predict()"
        )

    ppc = loo = coefficients = _unsupported


class NormalMeansML(_NormalMeansView, MixedMLFit):
    """ML/REML fit of the known-SE hierarchy (a :class:`MixedMLFit` of
    ``y | se(s) ~ 1 + (1 | g)``).

    Attributes
    ----------
    mu, se_mu, tau_estimate
        Population mean, its standard error, and the between-group SD (``tau()`` reports
        it, the fit protocol).
    estimates
        Per group: ``group``, ``y``, ``se``, ``pooling_weight`` (``B_j``), ``estimate``
        (shrunken), ``lower``, ``upper`` (``estimate +/- z sqrt(B_j s_j^2 + (1-B_j)^2 se_mu^2)``).
    """

    @property
    def mu(self) -> float:
        return float(self.lmm.beta[0])

    @property
    def se_mu(self) -> float:
        return float(self.lmm.se[0])

    @property
    def tau_estimate(self) -> float:
        return self.lmm.tau

    @property
    def loglik(self) -> float:
        return float(self.lmm.loglik)

    @property
    def estimates(self) -> pd.DataFrame:
        codes = self.model.parsed.blocks[0].codes
        b = self.lmm.ranef[0][codes, 0]
        cv = self.lmm.condvar[0][codes, 0, 0]
        tau2 = self.tau_estimate**2
        B = np.where(tau2 > 0, 1 - cv / np.where(tau2 > 0, tau2, 1.0), 0.0)  # tau^2 W / (1 + ..)
        est = self.mu + b
        sd = np.sqrt(cv + (1 - B) ** 2 * self.se_mu**2)
        z = _z(self.conf_level)
        return self.groups.assign(
            pooling_weight=B, estimate=est, lower=est - z * sd, upper=est + z * sd
        )

    @property
    def prediction_int(self) -> tuple[float, float]:
        """Interval for a new group's true effect, ``mu +/- z sqrt(tau^2 + se_mu^2)``."""
        h = _z(self.conf_level) * np.sqrt(self.tau_estimate**2 + self.se_mu**2)
        return self.mu - h, self.mu + h

    def _check_values(self) -> dict[str, float]:
        return {"loglik": self.loglik, "mu": self.mu}

    def new_group(self, prob: float | None = None) -> pd.DataFrame:
        """A new group's true effect (:func:`hierarch.report.normal_means.new_group`)."""
        return report.new_group(self, prob=prob)

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


class NormalMeansBayesFit(_NormalMeansView, MixedBayesFit):
    """Bayesian known-SE hierarchy (a :class:`MixedBayesFit` of ``y | se(s) ~ 1 + (1 | g)``):
    :meth:`draws` gives ``mu``, ``tau``, ``z`` and ``theta`` (per group) by name."""

    model_name = "normal_means"

    def __init__(self, idata, spec) -> None:
        if "formula" not in spec:
            raise ValueError(
                "this file holds a known-SE fit saved by an earlier hierarch (before the "
                "hierarchy became the formula model 'y | se(s) ~ 1 + (1 | g)'): fit it again "
                "and save it"
            )
        super().__init__(idata, spec)

    @property
    def _bname(self) -> str:
        return self.spec["blocks"][0]["name"]

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws (chains and draws flattened into the first axis) of ``mu``,
        ``tau``, ``z``, ``theta`` or any posterior variable."""
        post = self.idata.posterior
        names = {"mu": "beta", "tau": f"sd_{self._bname}", "z": f"z_{self._bname}"}
        if name in names:
            x = post[names[name]].values[..., 0]
            return x.reshape(-1, *x.shape[2:])
        if name == "theta":
            b = post[f"b_{self._bname}"].values[..., 0]
            return b.reshape(-1, b.shape[-1]) + self.draws("mu")[:, None]
        da = post[name]
        return da.stack(__sample__=("chain", "draw")).transpose("__sample__", ...).values

    @property
    def estimates(self) -> pd.DataFrame:
        th = self.draws("theta")[:, self.model.parsed.blocks[0].codes]
        a = (1 - self.conf_level) / 2
        lo, hi = np.quantile(th, [a, 1 - a], axis=0)
        return self.groups.assign(estimate=th.mean(0), lower=lo, upper=hi)

    @property
    def mu(self) -> float:
        return float(self.draws("mu").mean())

    def new_group(self, random_seed: int | None = None, prob: float | None = None) -> pd.DataFrame:
        """A new group's true effect (:func:`hierarch.report.normal_means.new_group`)."""
        return report.new_group(self, random_seed=random_seed, prob=prob)

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
