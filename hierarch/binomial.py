"""Binomial hierarchies (grouped counts): pooled, unpooled and multilevel, frequentist and
Bayesian, following the immr guide's ``binomial_model()``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

from hierarch import _validate as v
from hierarch.freq.glmm import ScalarGLMMFit, fit_scalar_glmm
from hierarch.priors import Prior, resolve_priors
from hierarch.results import BayesFit
from hierarch.sampling import SamplerSettings, sample

__all__ = [
    "DEFAULT_PRIORS",
    "BinomialBayesFit",
    "MultilevelBinomial",
    "PooledBinomial",
    "UnpooledBinomial",
    "binomial_model",
    "build_binomial_pymc",
]

#: Default priors, on the log-odds scale.  ``mu``: Normal(0, 2.5), the weakly informative
#: intercept prior of rstanarm (95% of its mass puts the grand mean between 0.007 and 0.993).
#: ``tau``: HalfNormal(1): between-group SDs of the log-odds beyond ~2 (odds ratios of 50
#: between a typical and a 1-SD-high group, squared) are a priori unlikely.  ``logit_theta``
#: (unpooled model only): Normal(0, 2.5) independently for every group.
DEFAULT_PRIORS: dict[str, dict[str, Prior]] = {
    "pooled": {"mu": Prior("Normal", mu=0.0, sigma=2.5)},
    "unpooled": {"logit_theta": Prior("Normal", mu=0.0, sigma=2.5)},
    "multilevel": {
        "mu": Prior("Normal", mu=0.0, sigma=2.5),
        "tau": Prior("HalfNormal", sigma=1.0),
    },
}


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 + conf_level / 2.0))


def _fmt_estimates(df: pd.DataFrame, max_rows: int = 10) -> str:
    shown = df.head(max_rows).to_string(
        index=False, formatters={c: "{:.4f}".format for c in ("estimate", "lower", "upper")}
    )
    more = len(df) - max_rows
    return shown + (f"\n# ... {more} more rows" if more > 0 else "")


def _group_table(codes: np.ndarray, levels: list, m: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    J = len(levels)
    return pd.DataFrame(
        {
            "group": levels,
            "successes": np.bincount(codes, weights=m, minlength=J).astype(np.int64),
            "trials": np.bincount(codes, weights=n, minlength=J).astype(np.int64),
        }
    )


def wilson_table(groups: pd.DataFrame, conf_level: float) -> pd.DataFrame:
    """Per-group m/n with Wilson score intervals clipped to [0, 1] (the unpooled estimates)."""
    m, n = groups["successes"].to_numpy(), groups["trials"].to_numpy()
    lo, hi = proportion_confint(m, n, alpha=1 - conf_level, method="wilson")
    return pd.DataFrame(
        {
            "group": groups["group"].to_numpy(),
            "estimate": m / n,
            "lower": np.clip(lo, 0.0, 1.0),
            "upper": np.clip(hi, 0.0, 1.0),
        }
    )


# --------------------------------------------------------------------------------------------
# Frequentist results
# --------------------------------------------------------------------------------------------
@dataclass
class PooledBinomial:
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
class UnpooledBinomial:
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
class MultilevelBinomial:
    """Binomial GLMM with a normal random intercept, fitted by maximum likelihood.

    Attributes
    ----------
    estimate, conf_int
        Grand mean ``invlogit(mu)`` and its interval ``invlogit(mu +/- z se(mu))``.
    prediction_int
        Interval for a new group's probability, ``invlogit(mu +/- z tau)``.
    mu, se_mu, tau
        Grand mean and its standard error, and the between-group SD (log-odds scale).
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
    tau: float
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
        from hierarch.report import shrinkage

        return shrinkage(self)

    def population(self, grid: np.ndarray | None = None) -> pd.DataFrame:
        """Estimated population density of the group probabilities (plug-in mu, tau)."""
        from hierarch.report import population

        return population(self, grid=grid)

    def new_group(self, trials: int | None = None) -> pd.DataFrame:
        """Prediction interval of a new group's probability (and count, given trials)."""
        from hierarch.report import new_group

        return new_group(self, trials=trials)

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
            f"  Tau             :  {self.tau:.4f}  (random-effects SD, log-odds)",
            f"  Log-likelihood  :  {self.loglik:.4f}  ({self.approximation})",
        ]
        lines += [f"  Note: {note}" for note in self.glmm.notes]
        lines += ["", "Group estimates (partial pooling):", _fmt_estimates(self.estimates)]
        return "\n".join(lines)

    __repr__ = __str__


def _pooled(m_tot: int, n_tot: int, conf_level: float) -> PooledBinomial:
    z = _z(conf_level)
    p = m_tot / n_tot
    if 0 < m_tot < n_tot:
        eta = np.log(p / (1 - p))
        se = np.sqrt(1.0 / m_tot + 1.0 / (n_tot - m_tot))
        ci = (float(special.expit(eta - z * se)), float(special.expit(eta + z * se)))
        how = "wald-logit"
    else:
        lo, hi = proportion_confint(m_tot, n_tot, alpha=1 - conf_level, method="wilson")
        ci = (float(max(lo, 0.0)), float(min(hi, 1.0)))
        how = "wilson"
    return PooledBinomial(int(m_tot), int(n_tot), float(p), ci, conf_level, how)


def _multilevel_ml(m, n, codes, groups, conf_level, n_agq, group_column) -> MultilevelBinomial:
    glmm = fit_scalar_glmm(
        m, np.ones((len(m), 1)), codes, weights=n, family="binomial", n_agq=n_agq
    )
    z = _z(conf_level)
    mu, se_mu, tau = float(glmm.beta[0]), float(glmm.se[0]), float(glmm.tau)
    b = mu + glmm.ranef
    half = z * np.sqrt(glmm.condvar + se_mu**2)
    estimates = pd.DataFrame(
        {
            "group": groups["group"].to_numpy(),
            "estimate": special.expit(b),
            "lower": special.expit(b - half),
            "upper": special.expit(b + half),
        }
    )
    return MultilevelBinomial(
        groups=groups,
        estimate=float(special.expit(mu)),
        conf_int=(float(special.expit(mu - z * se_mu)), float(special.expit(mu + z * se_mu))),
        prediction_int=(float(special.expit(mu - z * tau)), float(special.expit(mu + z * tau))),
        mu=mu,
        se_mu=se_mu,
        tau=tau,
        estimates=estimates,
        conf_level=conf_level,
        glmm=glmm,
        group_column=group_column,
    )


# --------------------------------------------------------------------------------------------
# Bayesian model
# --------------------------------------------------------------------------------------------
def build_binomial_pymc(
    kind: str,
    successes: np.ndarray,
    trials: np.ndarray,
    groups: list | None = None,
    priors: dict[str, Prior] | None = None,
):
    """Build (do not sample) the PyMC model of a binomial hierarchy.

    Parameters
    ----------
    kind : {"pooled", "unpooled", "multilevel"}
    successes, trials : ndarray
        Counts per group (already aggregated); for ``"pooled"`` a single total each.
    groups : list, optional
        Group labels, used as the ``group`` coordinate.
    priors : dict, optional
        Priors by parameter name; defaults are :data:`DEFAULT_PRIORS`.

    Returns
    -------
    pymc.Model
        Multilevel: ``logit(theta_j) = mu + tau * z_j`` with ``z_j ~ N(0, 1)`` (non-centred).

    Examples
    --------
    >>> import numpy as np
    >>> m = build_binomial_pymc("multilevel", np.array([1, 4]), np.array([10, 12]), ["a", "b"])
    >>> sorted(v for v in m.named_vars if not v.startswith("prior_"))
    ['logit_theta', 'mu', 'tau', 'theta', 'trials', 'y', 'y_obs', 'z']
    """
    import pymc as pm

    priors = resolve_priors(DEFAULT_PRIORS[kind], priors)
    if kind == "pooled":
        with pm.Model() as model:
            trials_ = pm.Data("trials", np.asarray(trials, dtype=np.int64))
            mu = priors["mu"].create("mu")
            theta = pm.Deterministic("theta", pm.math.invlogit(mu))
            y = pm.Data("y_obs", np.asarray(successes, dtype=np.int64))
            pm.Binomial("y", n=trials_, p=theta, observed=y)
        return model
    coords = {"group": list(groups)}
    with pm.Model(coords=coords) as model:
        trials_ = pm.Data("trials", np.asarray(trials, dtype=np.int64), dims="group")
        if kind == "unpooled":
            eta = priors["logit_theta"].create("logit_theta", dims="group")
        else:
            mu = priors["mu"].create("mu")
            tau = priors["tau"].create("tau")
            z = pm.Normal("z", 0.0, 1.0, dims="group")
            eta = pm.Deterministic("logit_theta", mu + tau * z, dims="group")
        theta = pm.Deterministic("theta", pm.math.invlogit(eta), dims="group")
        y = pm.Data("y_obs", np.asarray(successes, dtype=np.int64), dims="group")
        pm.Binomial("y", n=trials_, p=theta, observed=y, dims="group")
    return model


class BinomialBayesFit(BayesFit):
    """Bayesian binomial hierarchy: wraps the InferenceData and the spec.

    Point estimates are posterior means; intervals are central (equal-tailed) posterior
    intervals at ``conf_level``.
    """

    model_name = "binomial"
    check_vars = ("mu", "tau", "z", "logit_theta")
    method = "bayes"

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
        from hierarch.report import shrinkage

        return shrinkage(self)

    def tau(self, hdi_prob: float | None = None):
        """Posterior summary of tau (see :func:`hierarch.report.tau_summary`)."""
        from hierarch.report import tau_summary

        return tau_summary(self, hdi_prob=hdi_prob)

    def new_group(self, trials: int | None = None, random_seed: int | None = None):
        """Posterior predictive of a new group (see :func:`hierarch.report.new_group`)."""
        from hierarch.report import new_group

        return new_group(self, trials=trials, random_seed=random_seed)

    def population(self, grid: np.ndarray | None = None) -> pd.DataFrame:
        """Population density of group probabilities (see :func:`hierarch.report.population`)."""
        from hierarch.report import population

        return population(self, grid=grid)

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


# --------------------------------------------------------------------------------------------
# Front end
# --------------------------------------------------------------------------------------------
def binomial_model(
    successes: str,
    trials: str,
    group: str | None = None,
    data: pd.DataFrame | None = None,
    multilevel: bool = False,
    conf_level: float = 0.95,
    *,
    method: str = "ml",
    n_agq: int = 1,
    priors: dict[str, Any] | None = None,
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 4,
    target_accept: float = 0.9,
    sampler: str = "auto",
    random_seed: int | None = None,
    progressbar: bool | None = None,
):
    """Binomial model for grouped counts: pooled, unpooled or multilevel.

    Parameters
    ----------
    successes, trials : str
        Names of the columns holding the number of successes ``m`` and trials ``n``.
    group : str, optional
        Grouping column.  Without it all rows are pooled into one probability.
    data : pandas.DataFrame
        The data.  Rows are never dropped: bad values raise ``ValueError``.
    multilevel : bool
        With ``group``: partial pooling through a normal random intercept on the log-odds.
    conf_level : float
        Level of the confidence / credible / prediction intervals.
    method : {"ml", "bayes"}
        ``"ml"``: maximum likelihood (the frequentist twin: Wald, Wilson, or the Laplace /
        adaptive-quadrature GLMM).  ``"bayes"``: a PyMC model sampled with NUTS.
    n_agq : int
        Multilevel ML only: 1 for Laplace, more for adaptive Gauss-Hermite quadrature.
    priors : dict, optional
        Bayesian only: priors overriding :data:`DEFAULT_PRIORS` by parameter name, e.g.
        ``{"tau": hierarch.Prior("Exponential", lam=1)}``.
    draws, tune, chains, target_accept, sampler, random_seed, progressbar
        Bayesian only: NUTS settings (see :class:`~hierarch.sampling.SamplerSettings`).

    Returns
    -------
    PooledBinomial, UnpooledBinomial, MultilevelBinomial or BinomialBayesFit

    Examples
    --------
    >>> import hierarch
    >>> rats = hierarch.load_dataset("rats")
    >>> m4 = hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
    >>> round(m4.mu, 4), round(m4.tau, 4)
    (-1.9369, 0.6646)
    >>> [round(x, 4) for x in m4.prediction_int]
    [0.0377, 0.3465]
    """
    data = v.require_dataframe(data)
    conf_level = v.conf_level(conf_level)
    if method not in ("ml", "bayes"):
        raise ValueError(f"method must be 'ml' or 'bayes', got {method!r}")
    cols = [successes, trials] + ([group] if group is not None else [])
    v.require_columns(data, cols, {successes: "successes", trials: "trials", group: "group"})
    if multilevel and group is None:
        raise ValueError("multilevel=True needs a grouping column: pass group='...'")
    m, n = v.binomial_counts(data, successes, trials)

    if group is None:
        kind = "pooled"
        groups = pd.DataFrame({"group": ["all"], "successes": [m.sum()], "trials": [n.sum()]})
        codes = np.zeros(len(m), dtype=np.int64)
    else:
        kind = "multilevel" if multilevel else "unpooled"
        codes, levels = v.grouping(data, group, min_levels=2 if multilevel else 1)
        groups = _group_table(codes, levels, m, n)

    if method == "ml":
        if kind == "pooled":
            return _pooled(int(m.sum()), int(n.sum()), conf_level)
        if kind == "unpooled":
            return UnpooledBinomial(groups, wilson_table(groups, conf_level), conf_level, group)
        return _multilevel_ml(m, n, codes, groups, conf_level, n_agq, group)

    settings = SamplerSettings(draws, tune, chains, target_accept, sampler, random_seed)
    resolved = resolve_priors(DEFAULT_PRIORS[kind], priors)
    if kind == "pooled":
        model = build_binomial_pymc(kind, int(m.sum()), int(n.sum()), priors=resolved)
    else:
        model = build_binomial_pymc(
            kind,
            groups["successes"].to_numpy(),
            groups["trials"].to_numpy(),
            groups=groups["group"].tolist(),
            priors=resolved,
        )
    from hierarch.sampling import model_key

    key = model_key(
        model,
        (
            "binomial",
            kind,
            tuple((k, repr(sorted(p.to_dict().items()))) for k, p in resolved.items()),
        ),
    )
    idata, backend = sample(model, settings, progressbar=progressbar, cache_key=key)
    spec = {
        "model": "binomial",
        "kind": kind,
        "successes": successes,
        "trials": trials,
        "group": group,
        "conf_level": conf_level,
        "priors": {k: p.to_dict() for k, p in resolved.items()},
        "sampler": settings.to_dict(),
        "backend": backend,
        "parameterization": "non-centred" if kind == "multilevel" else None,
    }
    fit = BinomialBayesFit(idata, spec)
    fit.diagnostics(warn=True, stacklevel=4)
    return fit
