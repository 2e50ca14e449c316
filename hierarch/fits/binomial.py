"""Fits of the binomial hierarchy (immr's ``binomial_model``): pooled, unpooled and
multilevel by maximum likelihood, and the Bayesian fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from hierarch.core.priors import Prior
from hierarch.fits.base import BayesFit, MLFitSave, ScalarHierarchyReports
from hierarch.freq.glmm import ScalarGLMMFit
from hierarch.report import binomial as report

__all__ = ["BinomialBayesFit", "MultilevelBinomial", "PooledBinomial", "UnpooledBinomial"]


def _fmt_estimates(df: pd.DataFrame, max_rows: int = 10) -> str:
    shown = df.head(max_rows).to_string(
        index=False, formatters={c: "{:.4f}".format for c in ("estimate", "lower", "upper")}
    )
    more = len(df) - max_rows
    return shown + (f"\n# ... {more} more rows" if more > 0 else "")


# --------------------------------------------------------------------------------------------
# Frequentist results
# --------------------------------------------------------------------------------------------
@dataclass
class PooledBinomial(MLFitSave):
    """One shared probability: estimate with a Wald interval on the log-odds scale.

    When all or none of the trials are successes the log-odds are infinite and the Wald
    interval does not exist; the Wilson score interval is used instead (``interval_method``).
    """

    successes: int
    trials: int
    estimate: float
    conf_int: tuple[float, float]
    conf_level: float
    interval_method: str
    kind: str = "pooled"
    method: str = "ml"

    def __str__(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        note = "" if self.interval_method == "wald-logit" else "  (Wilson score interval)"
        return (
            "Binomial model (pooled)\n\n"
            f"  Estimate  :  {self.estimate:.4f}\n"
            f"  {pct} CI    :  [{self.conf_int[0]:.4f}, {self.conf_int[1]:.4f}]{note}"
        )

    __repr__ = __str__


@dataclass
class UnpooledBinomial(MLFitSave):
    """A separate probability per group: m/n with Wilson score intervals clipped to [0, 1]."""

    groups: pd.DataFrame
    estimates: pd.DataFrame
    conf_level: float
    group_column: str
    kind: str = "unpooled"
    method: str = "ml"

    def __str__(self) -> str:
        return (
            f"Binomial model (unpooled, {len(self.estimates)} groups)\n\n"
            f"Group estimates (no pooling, {100 * self.conf_level:g}% Wilson CI):\n"
            + _fmt_estimates(self.estimates)
        )

    __repr__ = __str__


@dataclass
class MultilevelBinomial(MLFitSave, ScalarHierarchyReports):
    """Binomial GLMM with a normal random intercept, fitted by maximum likelihood.

    Attributes
    ----------
    estimate, conf_int
        Grand mean ``invlogit(mu)`` and its interval ``invlogit(mu +/- z se(mu))``.
    prediction_int
        Interval for a new group's probability, ``invlogit(mu +/- z tau)``.
    mu, se_mu, tau_estimate
        Grand mean and its standard error, and the between-group SD (log-odds scale);
        ``tau()`` reports it (the fit protocol).
    estimates
        Partially pooled group estimates ``invlogit(mu + b_j)`` with intervals
        ``invlogit(mu + b_j +/- z sqrt(condvar_j + se(mu)^2))``.
    glmm
        The underlying :class:`~hierarch.freq.glmm.ScalarGLMMFit` (conditional modes and
        variances, log-likelihood, AIC).
    """

    groups: pd.DataFrame
    estimate: float
    conf_int: tuple[float, float]
    prediction_int: tuple[float, float]
    mu: float
    se_mu: float
    tau_estimate: float
    estimates: pd.DataFrame
    conf_level: float
    glmm: ScalarGLMMFit
    group_column: str
    kind: str = "multilevel"
    method: str = "ml"

    @property
    def loglik(self) -> float:
        return self.glmm.loglik

    @property
    def approximation(self) -> str:
        n = self.glmm.n_agq
        return "Laplace" if n == 1 else f"adaptive Gauss-Hermite quadrature, {n} points"

    def shrinkage(self) -> pd.DataFrame:
        """Per-group unpooled vs partially pooled vs complete pooling (see :func:`shrinkage`)."""
        return report.shrinkage(self)

    _latent_variance = np.pi**2 / 3  # logistic: the ICC on the latent scale
    _no_sigma = "a binomial model has no residual SD: its variance follows from p"

    def _check_values(self) -> dict[str, float]:
        return {"loglik": float(self.loglik), "tau": float(self.tau_estimate)}

    def _effects(self):
        return list(self.groups["group"]), self.glmm.ranef, np.sqrt(self.glmm.condvar)

    def tau(self):
        """The between-group SD (log-odds), a :class:`~hierarch.report.tau.TauSummary`
        (``float(fit.tau())`` is the estimate)."""
        return report.tau_summary(self)

    def population(self, grid: np.ndarray | None = None) -> pd.DataFrame:
        """Estimated population density of the group probabilities (plug-in mu, tau)."""
        return report.population(self, grid=grid)

    def new_group(self, trials: int | None = None) -> pd.DataFrame:
        """Prediction interval of a new group's probability (and count, given trials)."""
        return report.new_group(self, trials=trials)

    def __str__(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        lines = [
            "Binomial model (multilevel)",
            "",
            f"  Grand mean      :  {self.estimate:.4f}  [{self.conf_int[0]:.4f}, "
            f"{self.conf_int[1]:.4f}]  ({pct} CI)",
            f"  Prediction int  :  [{self.prediction_int[0]:.4f}, {self.prediction_int[1]:.4f}]"
            f"  ({pct} PI for new group)",
            f"  Mu              :  {self.mu:.4f}  (grand mean, log-odds)",
            f"  Tau             :  {self.tau_estimate:.4f}  (random-effects SD, log-odds)",
            f"  Log-likelihood  :  {self.loglik:.4f}  ({self.approximation})",
        ]
        lines += [f"  Note: {note}" for note in self.glmm.notes]
        lines += ["", "Group estimates (partial pooling):", _fmt_estimates(self.estimates)]
        return "\n".join(lines)

    __repr__ = __str__


# --------------------------------------------------------------------------------------------
# Bayesian model
# --------------------------------------------------------------------------------------------
class BinomialBayesFit(ScalarHierarchyReports, BayesFit):
    """Bayesian binomial hierarchy: wraps the InferenceData and the spec.

    Point estimates are posterior means; intervals are central (equal-tailed) posterior
    intervals at ``conf_level``.
    """

    model_name = "binomial"
    check_vars = ("mu", "tau", "z", "logit_theta")

    @property
    def kind(self) -> str:
        return self.spec["kind"]

    @property
    def groups(self) -> pd.DataFrame:
        """Observed counts per group (from the InferenceData)."""
        y = self.idata.observed_data["y"]
        n = self.idata.constant_data["trials"]
        if self.kind == "pooled":
            return pd.DataFrame({"group": ["all"], "successes": [int(y)], "trials": [int(n)]})
        return pd.DataFrame(
            {
                "group": y["group"].values,
                "successes": y.values.astype(np.int64),
                "trials": n.values.astype(np.int64),
            }
        )

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of ``name`` with chains and draws flattened into the first axis."""
        da = self.idata.posterior[name]
        return da.stack(sample=("chain", "draw")).transpose("sample", ...).values

    def _interval(self, x: np.ndarray, prob: float | None = None) -> tuple[float, float]:
        a = (1.0 - (prob or self.conf_level)) / 2.0
        lo, hi = np.quantile(x, [a, 1.0 - a], axis=0)
        return lo, hi

    @property
    def mu(self) -> float:
        """Posterior mean of the grand mean on the log-odds scale."""
        return float(self.draws("mu").mean())

    @property
    def estimate(self) -> float:
        """Posterior mean of the pooled probability (pooled) or the grand mean invlogit(mu)."""
        if self.kind == "pooled":
            return float(self.draws("theta").mean())
        if self.kind == "multilevel":
            return float(special.expit(self.draws("mu")).mean())
        raise AttributeError("an unpooled model has no single estimate; see .estimates")

    @property
    def conf_int(self) -> tuple[float, float]:
        """Central credible interval of :attr:`estimate`."""
        if self.kind == "pooled":
            x = self.draws("theta")
        elif self.kind == "multilevel":
            x = special.expit(self.draws("mu"))
        else:
            raise AttributeError("an unpooled model has no single interval; see .estimates")
        lo, hi = self._interval(x)
        return float(lo), float(hi)

    @property
    def estimates(self) -> pd.DataFrame:
        """Per-group posterior mean of theta with central credible intervals."""
        if self.kind == "pooled":
            raise AttributeError("a pooled model has no group estimates")
        th = self.draws("theta")
        lo, hi = self._interval(th)
        return pd.DataFrame(
            {
                "group": self.idata.posterior["group"].values,
                "estimate": th.mean(axis=0),
                "lower": lo,
                "upper": hi,
            }
        )

    @property
    def prediction_int(self) -> tuple[float, float]:
        """Posterior predictive interval of a new group's probability."""
        t = self.new_group()
        return float(t.loc["probability", "lower"]), float(t.loc["probability", "upper"])

    # reporting (pure functions in hierarch.report)
    def shrinkage(self) -> pd.DataFrame:
        """Per-group unpooled vs partially pooled vs complete pooling (see :func:`shrinkage`)."""
        return report.shrinkage(self)

    _latent_variance = np.pi**2 / 3  # logistic: the ICC on the latent scale
    _no_sigma = "a binomial model has no residual SD: its variance follows from p"

    def _hyper(self) -> dict:
        if self.kind != "multilevel":
            raise ValueError(f"a {self.kind} binomial model has no hierarchy to report on")
        return {"mu": self.draws("mu"), "tau": self.draws("tau"), "group": self.spec["group"]}

    def _effects(self):
        self._hyper()
        b = self.draws("logit_theta") - self.draws("mu")[:, None]
        return list(self.idata.posterior["group"].values), b.mean(0), b.std(0, ddof=1)

    def tau(self, hdi_prob: float | None = None):
        """Posterior summary of tau (see :func:`hierarch.report.tau_summary`)."""
        return report.tau_summary(self, hdi_prob=hdi_prob)

    def new_group(self, trials: int | None = None, random_seed: int | None = None):
        """Posterior predictive of a new group (see :func:`hierarch.report.new_group`)."""
        return report.new_group(self, trials=trials, random_seed=random_seed)

    def population(self, grid: np.ndarray | None = None) -> pd.DataFrame:
        """Population density of group probabilities (see :func:`hierarch.report.population`)."""
        return report.population(self, grid=grid)

    def __str__(self) -> str:
        pct = f"{100 * self.conf_level:g}%"
        s = self.spec["sampler"]
        head = (
            f"Binomial model ({self.kind}, Bayesian: {s['chains']} chains x {s['draws']} draws, "
            f"{self.spec.get('backend', '?')})"
        )
        lines = [head, ""]
        if self.kind == "pooled":
            lo, hi = self.conf_int
            lines += [
                f"  Estimate  :  {self.estimate:.4f}  (posterior mean)",
                f"  {pct} CrI   :  [{lo:.4f}, {hi:.4f}]",
            ]
        elif self.kind == "multilevel":
            lo, hi = self.conf_int
            plo, phi = self.prediction_int
            t = self.tau()
            lines += [
                f"  Grand mean      :  {self.estimate:.4f}  [{lo:.4f}, {hi:.4f}]  ({pct} CrI)",
                f"  Prediction int  :  [{plo:.4f}, {phi:.4f}]  ({pct} PI for new group)",
                f"  Mu              :  {self.mu:.4f}  (grand mean, log-odds, posterior mean)",
                f"  Tau             :  {t.mean:.4f}  (random-effects SD, posterior mean; "
                f"median {t.median:.4f}, {100 * t.hdi_prob:g}% HDI [{t.hdi_lower:.4f}, "
                f"{t.hdi_upper:.4f}])",
            ]
        priors = ", ".join(f"{k} ~ {Prior.from_value(p)}" for k, p in self.spec["priors"].items())
        lines += [f"  Priors          :  {priors}", "", str(self.diagnostics())]
        if self.kind != "pooled":
            lines += [
                "",
                "Group estimates (partial pooling):"
                if self.kind == "multilevel"
                else "Group estimates (no pooling):",
                _fmt_estimates(self.estimates),
            ]
        return "\n".join(lines)

    __repr__ = __str__
