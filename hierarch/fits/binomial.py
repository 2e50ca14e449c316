"""Fits of the binomial hierarchy (immr's ``binomial_model``): pooled, unpooled and
multilevel by maximum likelihood, and the Bayesian fit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from hierarch.core.priors import Prior
from hierarch.fits.base import BayesFit, MLFitSave
from hierarch.fits.mixed import GLMMMLFit, MixedBayesFit
from hierarch.report import binomial as report

__all__ = [
    "BinomialBayesFit",
    "MultilevelBinomial",
    "MultilevelBinomialBayesFit",
    "PooledBinomial",
    "UnpooledBinomial",
]


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


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


class _MultilevelBinomialView:
    """The immr view of the binomial hierarchy ``m | trials(n) ~ 1 + (1 | g)``, shared by the
    ML and the Bayesian fit: the group table, the grand mean, the group estimates and the
    immr printout.  The fits themselves are the formula model's (:class:`GLMMMLFit`,
    :class:`MixedBayesFit`): every protocol table comes from there."""

    kind = "multilevel"

    @property
    def group_column(self) -> str:
        return self.model.parsed.blocks[0].factor

    @property
    def groups(self) -> pd.DataFrame:
        """Observed counts per group (in the order of the group effects)."""
        b = self.model.parsed.blocks[0]
        return _group_table(b.codes, b.levels, self.model.parsed.y, self.model.trials)

    def shrinkage(self, factor: str | None = None, scale: str = "response") -> pd.DataFrame:
        """Per-group unpooled vs partially pooled vs complete pooling: on the probability
        scale (``"response"``, the default: :func:`hierarch.report.binomial.shrinkage`) or
        the log-odds scale (``"link"``: :func:`hierarch.report.mixed.shrinkage`)."""
        if scale == "response":
            return report.shrinkage(self)
        return super().shrinkage(factor, scale)

    def population(self, grid: np.ndarray | None = None) -> pd.DataFrame:
        """Population density of the group probabilities (see
        :func:`hierarch.report.binomial.population`)."""
        return report.population(self, grid=grid)

    def _str_lines(self, pct: str) -> list[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def __str__(self) -> str:
        return "\n".join(self._str_lines(f"{100 * self.conf_level:g}%"))

    __repr__ = __str__


def _group_table(codes: np.ndarray, levels: list, m: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    J = len(levels)
    return pd.DataFrame(
        {
            "group": list(levels),
            "successes": np.bincount(codes, weights=m, minlength=J).astype(np.int64),
            "trials": np.bincount(codes, weights=n, minlength=J).astype(np.int64),
        }
    )


class MultilevelBinomial(_MultilevelBinomialView, GLMMMLFit):
    """Binomial GLMM with a normal random intercept, fitted by maximum likelihood: the
    Laplace / AGQ fit of ``m | trials(n) ~ 1 + (1 | g)`` (a :class:`GLMMMLFit`) with immr's
    view of it.

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
        The underlying :class:`~hierarch.freq.laplace.GLMMFit` (conditional modes and
        variances, log-likelihood, AIC).
    """

    @property
    def mu(self) -> float:
        return float(self.glmm.beta[0])

    @property
    def se_mu(self) -> float:
        return float(self.glmm.se[0])

    @property
    def tau_estimate(self) -> float:
        return float(np.sqrt(self.glmm.cov[0][0, 0]))

    @property
    def effects(self) -> np.ndarray:
        """The conditional modes ``b_j`` (log-odds)."""
        return self.glmm.ranef[0][:, 0]

    @property
    def estimate(self) -> float:
        return float(special.expit(self.mu))

    def _half(self, s: float) -> tuple[float, float]:
        z = _z(self.conf_level)
        return float(special.expit(self.mu - z * s)), float(special.expit(self.mu + z * s))

    @property
    def conf_int(self) -> tuple[float, float]:
        return self._half(self.se_mu)

    @property
    def prediction_int(self) -> tuple[float, float]:
        return self._half(self.tau_estimate)

    @property
    def estimates(self) -> pd.DataFrame:
        b = self.mu + self.effects
        half = _z(self.conf_level) * np.sqrt(self.glmm.condvar[0][:, 0, 0] + self.se_mu**2)
        return pd.DataFrame(
            {
                "group": self.groups["group"].to_numpy(),
                "estimate": special.expit(b),
                "lower": special.expit(b - half),
                "upper": special.expit(b + half),
            }
        )

    @property
    def approximation(self) -> str:
        n = self.glmm.n_agq
        if n == 0:
            return "Laplace, fixed effects estimated in PIRLS (nAGQ = 0)"
        return "Laplace" if n == 1 else f"adaptive Gauss-Hermite quadrature, {n} points"

    def _check_values(self) -> dict[str, float]:
        return {"loglik": float(self.loglik), "tau": self.tau_estimate}

    def new_group(self, trials: int | None = None) -> pd.DataFrame:
        """Prediction interval of a new group's probability (and count, given trials)."""
        return report.new_group(self, trials=trials)

    def _str_lines(self, pct: str) -> list[str]:
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
        return lines


class MultilevelBinomialBayesFit(_MultilevelBinomialView, MixedBayesFit):
    """The Bayesian binomial hierarchy: the NUTS fit of ``m | trials(n) ~ 1 + (1 | g)``
    (a :class:`MixedBayesFit`, non-centred) with immr's view of it.

    Point estimates are posterior means; intervals are central (equal-tailed) posterior
    intervals at ``conf_level``.  :meth:`draws` gives the hierarchy's quantities by their
    immr names: ``mu`` (the intercept), ``tau`` (the group SD), ``z``, ``logit_theta`` and
    ``theta`` (per group).
    """

    model_name = "binomial_multilevel"

    @property
    def _bname(self) -> str:
        return self.spec["blocks"][0]["name"]

    def draws(self, name: str) -> np.ndarray:
        """Posterior draws of ``name`` (``mu``, ``tau``, ``z``, ``logit_theta``, ``theta``, or
        any posterior variable) with chains and draws flattened into the first axis."""
        post = self.idata.posterior
        names = {"mu": "beta", "tau": f"sd_{self._bname}", "z": f"z_{self._bname}"}
        if name in names:  # the first coefficient / effect: the intercept
            x = post[names[name]].values[..., 0]
            return x.reshape(-1, *x.shape[2:])
        if name in ("logit_theta", "theta"):
            b = post[f"b_{self._bname}"].values[..., 0]
            eta = b.reshape(-1, b.shape[-1]) + self.draws("mu")[:, None]
            return eta if name == "logit_theta" else special.expit(eta)
        da = post[name]
        return da.stack(__sample__=("chain", "draw")).transpose("__sample__", ...).values

    def _interval(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = (1.0 - self.conf_level) / 2.0
        lo, hi = np.quantile(x, [a, 1.0 - a], axis=0)
        return lo, hi

    @property
    def mu(self) -> float:
        """Posterior mean of the grand mean on the log-odds scale."""
        return float(self.draws("mu").mean())

    @property
    def estimate(self) -> float:
        """Posterior mean of the grand mean ``invlogit(mu)``."""
        return float(special.expit(self.draws("mu")).mean())

    @property
    def conf_int(self) -> tuple[float, float]:
        """Central credible interval of :attr:`estimate`."""
        lo, hi = self._interval(special.expit(self.draws("mu")))
        return float(lo), float(hi)

    @property
    def estimates(self) -> pd.DataFrame:
        """Per-group posterior mean of theta with central credible intervals."""
        th = self.draws("theta")
        lo, hi = self._interval(th)
        return pd.DataFrame(
            {
                "group": self.groups["group"].to_numpy(),
                "estimate": th.mean(0),
                "lower": lo,
                "upper": hi,
            }
        )

    @property
    def prediction_int(self) -> tuple[float, float]:
        """Posterior predictive interval of a new group's probability."""
        t = self.new_group()
        return float(t.loc["probability", "lower"]), float(t.loc["probability", "upper"])

    def new_group(self, trials: int | None = None, random_seed: int | None = None):
        """Posterior predictive of a new group (see :func:`hierarch.report.new_group`)."""
        return report.new_group(self, trials=trials, random_seed=random_seed)

    @property
    def binomial_priors(self) -> dict[str, Prior]:
        """The priors by their immr names (``mu``, ``tau``)."""
        pri = self.spec["priors"]
        return {
            "mu": Prior.from_value(pri["Intercept"]),
            "tau": Prior.from_value(pri[f"sd_{self._bname}"]),
        }

    def _str_lines(self, pct: str) -> list[str]:
        s = self.spec["sampler"]
        lo, hi = self.conf_int
        plo, phi = self.prediction_int
        t = self.tau()
        priors = ", ".join(f"{k} ~ {p}" for k, p in self.binomial_priors.items())
        return [
            f"Binomial model (multilevel, Bayesian: {s['chains']} chains x {s['draws']} draws, "
            f"{self.spec.get('backend', '?')})",
            "",
            f"  Grand mean      :  {self.estimate:.4f}  [{lo:.4f}, {hi:.4f}]  ({pct} CrI)",
            f"  Prediction int  :  [{plo:.4f}, {phi:.4f}]  ({pct} PI for new group)",
            f"  Mu              :  {self.mu:.4f}  (grand mean, log-odds, posterior mean)",
            f"  Tau             :  {t.mean:.4f}  (random-effects SD, posterior mean; "
            f"median {t.median:.4f}, {100 * t.hdi_prob:g}% HDI [{t.hdi_lower:.4f}, "
            f"{t.hdi_upper:.4f}])",
            f"  Priors          :  {priors}",
            "",
            str(self.diagnostics()),
            "",
            "Group estimates (partial pooling):",
            _fmt_estimates(self.estimates),
        ]


# --------------------------------------------------------------------------------------------
# Bayesian model
# --------------------------------------------------------------------------------------------
class BinomialBayesFit(BayesFit):
    """Bayesian pooled or unpooled binomial model: wraps the InferenceData and the spec
    (the multilevel model is a formula model: :class:`MultilevelBinomialBayesFit`).

    Point estimates are posterior means; intervals are central (equal-tailed) posterior
    intervals at ``conf_level``.
    """

    model_name = "binomial"
    check_vars = ("mu", "logit_theta")

    def __init__(self, idata, spec) -> None:
        if spec.get("kind") == "multilevel":
            raise ValueError(
                "this file holds a multilevel binomial fit saved by an earlier hierarch "
                "(before the multilevel model became the formula model "
                "'m | trials(n) ~ 1 + (1 | g)'): fit it again and save it"
            )
        super().__init__(idata, spec)

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
        return da.stack(__sample__=("chain", "draw")).transpose("__sample__", ...).values

    def _interval(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = (1.0 - self.conf_level) / 2.0
        lo, hi = np.quantile(x, [a, 1.0 - a], axis=0)
        return lo, hi

    @property
    def estimate(self) -> float:
        """Posterior mean of the pooled probability."""
        if self.kind != "pooled":
            raise AttributeError("an unpooled model has no single estimate; see .estimates")
        return float(self.draws("theta").mean())

    @property
    def conf_int(self) -> tuple[float, float]:
        """Central credible interval of :attr:`estimate`."""
        if self.kind != "pooled":
            raise AttributeError("an unpooled model has no single interval; see .estimates")
        lo, hi = self._interval(self.draws("theta"))
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
        priors = ", ".join(f"{k} ~ {Prior.from_value(p)}" for k, p in self.spec["priors"].items())
        lines += [f"  Priors          :  {priors}", "", str(self.diagnostics())]
        if self.kind == "unpooled":
            lines += ["", "Group estimates (no pooling):", _fmt_estimates(self.estimates)]
        return "\n".join(lines)

    __repr__ = __str__
