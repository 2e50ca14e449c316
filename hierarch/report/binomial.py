"""Reporting: pure functions from a fit to a DataFrame (or a small summary object).

They work on both the frequentist (``MultilevelBinomial``) and the Bayesian
(``BinomialBayesFit``) multilevel fits, so the two can be set side by side.  Plot functions
in :mod:`hierarch.plots` draw only what these return.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special, stats

from hierarch.freq.binomial import wilson_table
from hierarch.report.tau import TauSummary

__all__ = [
    "Comparison",
    "TauSummary",
    "compare",
    "new_group",
    "population",
    "shrinkage",
    "tau_summary",
]

_MAX_DENSITY_DRAWS = 1000


def _is_bayes(fit) -> bool:
    return getattr(fit, "method", None) == "bayes"


def _require_multilevel(fit, what: str) -> None:
    if getattr(fit, "kind", None) != "multilevel":
        raise ValueError(f"{what} needs a multilevel fit (binomial_model(..., multilevel=True))")


def _hyper_draws(fit) -> tuple[np.ndarray, np.ndarray]:
    """Draws of (mu, tau); a frequentist fit gives its point estimates as one 'draw'."""
    if _is_bayes(fit):
        return fit.draws("mu"), fit.draws("tau")
    return np.array([fit.mu]), np.array([fit.tau_estimate])


def shrinkage(fit) -> pd.DataFrame:
    """Per-group shrinkage table: no pooling vs partial pooling vs complete pooling.

    Parameters
    ----------
    fit : MultilevelBinomial or BinomialBayesFit
        A multilevel fit (frequentist or Bayesian).

    Returns
    -------
    pandas.DataFrame
        One row per group: ``group``, ``n`` (trials), ``successes``, ``observed`` (m/n),
        ``unpooled`` with its Wilson interval (``unpooled_lower``, ``unpooled_upper``),
        ``partial`` with its interval (``partial_lower``, ``partial_upper``: conditional-mode
        interval for ML, central posterior interval for Bayes), ``complete`` (the pooled
        proportion, sum m / sum n), ``grand_mean`` (invlogit(mu)), ``alpha``, the pooling
        weight (the weight of the group's own trials, ``tau^2 W_j / (1 + tau^2 W_j)`` with
        ``W_j = n_j p_j (1 - p_j)``), and ``fraction_moved``: the fraction of the distance
        from the group's own proportion to the grand mean that the estimate moved,
        ``(observed - partial) / (observed - grand_mean)`` (0 = no pooling, 1 = complete
        pooling; NaN when the observed proportion equals the grand mean).  For a Bayesian
        fit the partial estimate is a posterior mean on the probability scale, which is not a
        linear pull toward the grand mean: for a group whose own proportion is very close to
        the grand mean the fraction can fall slightly outside [0, 1].

    Examples
    --------
    >>> import hierarch
    >>> fit = hierarch.binomial_model("m", "n", "batch", hierarch.load_dataset("rats"),
    ...                               multilevel=True)
    >>> table = hierarch.shrinkage(fit)
    >>> bool(((table["fraction_moved"] > 0) & (table["fraction_moved"] < 1)).all())
    True
    """
    _require_multilevel(fit, "shrinkage()")
    groups = fit.groups
    unpooled = wilson_table(groups, fit.conf_level)
    partial = fit.estimates
    complete = groups["successes"].sum() / groups["trials"].sum()
    grand = fit.estimate
    observed = unpooled["estimate"].to_numpy()
    dist = observed - grand
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(
            np.abs(dist) > 1e-12, (observed - partial["estimate"].to_numpy()) / dist, np.nan
        )
    # the pooling weight alpha_j = tau^2 W_j / (1 + tau^2 W_j), W_j = n_j p_j (1 - p_j) the
    # logit-scale information of the group's trials at its estimate (ML: the conditional
    # mode; Bayes: averaged over up to 400 posterior draws), as for formula models
    mu, tau = _hyper_draws(fit)
    n = groups["trials"].to_numpy(float)
    if _is_bayes(fit):
        idx = np.linspace(0, len(mu) - 1, min(len(mu), 400)).round().astype(int)
        p, tau2 = fit.draws("theta")[idx], tau[idx, None] ** 2
    else:
        p, tau2 = special.expit(fit.mu + fit.effects)[None, :], tau[:, None] ** 2
    info = tau2 * n * p * (1 - p)
    alpha = (info / (1 + info)).mean(axis=0)
    return pd.DataFrame(
        {
            "group": groups["group"].to_numpy(),
            "n": groups["trials"].to_numpy(),
            "successes": groups["successes"].to_numpy(),
            "observed": observed,
            "unpooled": observed,
            "unpooled_lower": unpooled["lower"].to_numpy(),
            "unpooled_upper": unpooled["upper"].to_numpy(),
            "partial": partial["estimate"].to_numpy(),
            "partial_lower": partial["lower"].to_numpy(),
            "partial_upper": partial["upper"].to_numpy(),
            "complete": complete,
            "grand_mean": grand,
            "alpha": alpha,
            "fraction_moved": frac,
        }
    )


def tau_summary(fit, hdi_prob: float | None = None) -> TauSummary:
    """tau of a multilevel binomial fit (log-odds scale): the posterior summary (mean, sd,
    median, highest-density interval, draws and prior) of a Bayesian fit, the estimate of an
    ML fit.

    Parameters
    ----------
    fit : MultilevelBinomial or BinomialBayesFit
        A multilevel fit.
    hdi_prob : float, optional
        Bayesian: probability of the HDI; defaults to the fit's ``conf_level``.
    """
    _require_multilevel(fit, "tau()")
    return fit.tau(hdi_prob=hdi_prob) if _is_bayes(fit) else fit.tau()


def new_group(
    fit, trials: int | None = None, random_seed: int | None = None, prob: float | None = None
) -> pd.DataFrame:
    """Predictive distribution of a new group's probability (and count, given ``trials``).

    Bayesian fits: posterior predictive draws ``invlogit(mu_s + tau_s * e)``, ``e ~ N(0, 1)``,
    five per posterior draw, and ``Binomial(trials, theta_new)`` for the count; seeded by
    ``random_seed`` (default: the fit's own seed) so the result is reproducible.  Frequentist
    fits: the plug-in interval ``invlogit(mu +/- z tau)``, and for the count the binomial
    mixed over the plug-in population (numerical integration).

    Returns
    -------
    pandas.DataFrame
        Index ``probability`` (and ``count``), columns ``mean``, ``median``, ``lower``,
        ``upper`` (central interval at ``prob``, default the fit's ``conf_level``).
    """
    _require_multilevel(fit, "new_group()")
    level = float(prob or fit.conf_level)
    a = (1 - level) / 2
    if trials is not None and (int(trials) != trials or trials < 1):
        raise ValueError(f"trials must be a positive whole number, got {trials!r}")
    rows = {}
    if _is_bayes(fit):
        mu, tau = _hyper_draws(fit)
        seed = random_seed if random_seed is not None else fit.spec["sampler"]["random_seed"]
        rng = np.random.default_rng(seed)
        eps = rng.standard_normal((len(mu), 5))
        theta = special.expit(mu[:, None] + tau[:, None] * eps).ravel()
        rows["probability"] = [theta.mean(), np.median(theta), *np.quantile(theta, [a, 1 - a])]
        if trials is not None:
            y = rng.binomial(int(trials), theta)
            rows["count"] = [y.mean(), np.median(y), *np.quantile(y, [a, 1 - a])]
    else:
        z = stats.norm.ppf(1 - a)
        mean = _logitnormal_mean(fit.mu, fit.tau_estimate)
        rows["probability"] = [
            mean,
            special.expit(fit.mu),
            *special.expit([fit.mu - z * fit.tau_estimate, fit.mu + z * fit.tau_estimate]),
        ]
        if trials is not None:
            k = np.arange(int(trials) + 1)
            nodes, weights = np.polynomial.hermite_e.hermegauss(60)
            p = special.expit(fit.mu + fit.tau_estimate * nodes)
            pmf = (stats.binom.pmf(k[:, None], int(trials), p[None, :]) * weights).sum(1)
            pmf /= pmf.sum()
            cdf = np.cumsum(pmf)
            q = [int(k[np.searchsorted(cdf, x)]) for x in (0.5, a, 1 - a)]
            rows["count"] = [float((k * pmf).sum()), q[0], q[1], q[2]]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=["mean", "median", "lower", "upper"])
    out.attrs["prob"] = level
    out.attrs["trials"] = trials
    return out


def _logitnormal_mean(mu: float, tau: float) -> float:
    nodes, weights = np.polynomial.hermite_e.hermegauss(60)
    return float((special.expit(mu + tau * nodes) * weights).sum() / weights.sum())


def population(fit, grid: np.ndarray | None = None, prob: float | None = None) -> pd.DataFrame:
    """Implied population density of the group probabilities on the probability scale.

    The group log-odds are N(mu, tau^2); on the probability scale the density is
    ``phi((logit(p) - mu) / tau) / tau * 1 / (p (1 - p))`` (the Jacobian of the logit).
    Bayesian fits average this over posterior draws (the predictive density of a new group's
    probability) and add a pointwise central band; frequentist fits plug in mu and tau.

    Returns
    -------
    pandas.DataFrame
        Columns ``theta``, ``density`` (and ``lower``, ``upper`` for Bayesian fits).
    """
    _require_multilevel(fit, "population()")
    theta = np.linspace(0.001, 0.999, 1000) if grid is None else np.asarray(grid, dtype=float)
    if np.any((theta <= 0) | (theta >= 1)):
        raise ValueError("population grid values must lie strictly between 0 and 1")
    mu, tau = _hyper_draws(fit)
    if len(mu) > _MAX_DENSITY_DRAWS:  # evenly thinned: deterministic
        idx = np.linspace(0, len(mu) - 1, _MAX_DENSITY_DRAWS).round().astype(int)
        mu, tau = mu[idx], tau[idx]
    logit = np.log(theta / (1 - theta))
    jac = 1.0 / theta + 1.0 / (1.0 - theta)
    dens = stats.norm.pdf(logit[None, :], mu[:, None], tau[:, None]) * jac[None, :]
    out = pd.DataFrame({"theta": theta, "density": dens.mean(axis=0)})
    if _is_bayes(fit):
        a = (1 - float(prob or fit.conf_level)) / 2
        out["lower"], out["upper"] = np.quantile(dens, [a, 1 - a], axis=0)
    return out


@dataclass
class Comparison:
    """Frequentist vs Bayesian partial pooling: per group and for the hyperparameters."""

    groups: pd.DataFrame
    summary: pd.DataFrame

    def __str__(self) -> str:
        with pd.option_context("display.width", 120, "display.max_columns", 20):
            return (
                "Hyperparameters (frequentist: ML estimates; Bayesian: posterior means)\n"
                f"{self.summary.round(4).to_string()}\n\nGroups\n"
                f"{self.groups.round(4).head(10).to_string(index=False)}"
                + (f"\n# ... {len(self.groups) - 10} more rows" if len(self.groups) > 10 else "")
            )

    __repr__ = __str__


def compare(freq_fit, bayes_fit) -> Comparison:
    """Set a frequentist and a Bayesian multilevel fit of the same data side by side.

    Returns
    -------
    Comparison
        ``groups``: one row per group with the unpooled estimate, the frequentist and the
        Bayesian partially pooled estimates and intervals.  ``summary``: one row per approach
        with mu, tau (ML estimate / posterior mean), ``tau_median``, ``tau_lower`` and
        ``tau_upper`` (the profile interval / the HDI), the grand mean and the new-group
        interval.

    Examples
    --------
    >>> cmp = hierarch.compare(ml_fit, bayes_fit)  # doctest: +SKIP
    >>> cmp.summary.loc["bayesian", "tau"]  # doctest: +SKIP
    """
    for f, want in ((freq_fit, False), (bayes_fit, True)):
        _require_multilevel(f, "compare()")
        if _is_bayes(f) != want:
            raise ValueError(
                "compare(freq_fit, bayes_fit): pass the ML fit first, then the Bayesian fit"
            )
    fg, bg = freq_fit.groups, bayes_fit.groups
    if not (
        fg["group"].astype(str).tolist() == bg["group"].astype(str).tolist()
        and np.array_equal(fg["successes"], bg["successes"])
        and np.array_equal(fg["trials"], bg["trials"])
    ):
        raise ValueError("the two fits were not made on the same groups and counts")
    fe, be = freq_fit.estimates, bayes_fit.estimates
    groups = pd.DataFrame(
        {
            "group": fg["group"].to_numpy(),
            "n": fg["trials"].to_numpy(),
            "unpooled": (fg["successes"] / fg["trials"]).to_numpy(),
            "freq": fe["estimate"].to_numpy(),
            "freq_lower": fe["lower"].to_numpy(),
            "freq_upper": fe["upper"].to_numpy(),
            "bayes": be["estimate"].to_numpy(),
            "bayes_lower": be["lower"].to_numpy(),
            "bayes_upper": be["upper"].to_numpy(),
        }
    )
    bt = bayes_fit.tau()
    ft = freq_fit.tau()
    bpi = bayes_fit.prediction_int
    summary = pd.DataFrame(
        {
            "mu": [freq_fit.mu, bayes_fit.mu],
            "tau": [freq_fit.tau_estimate, bt.mean],
            "tau_median": [freq_fit.tau_estimate, bt.median],
            # ML: the profile interval of tau; Bayes: its highest-density interval
            "tau_lower": [ft.lower, bt.hdi_lower],
            "tau_upper": [ft.upper, bt.hdi_upper],
            "grand_mean": [freq_fit.estimate, bayes_fit.estimate],
            "new_group_lower": [freq_fit.prediction_int[0], bpi[0]],
            "new_group_upper": [freq_fit.prediction_int[1], bpi[1]],
        },
        index=pd.Index(["frequentist", "bayesian"], name="approach"),
    )
    return Comparison(groups=groups, summary=summary)
