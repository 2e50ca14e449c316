"""``binomial_model``: the immr guide's front end for grouped counts (pooled, unpooled,
multilevel; maximum likelihood or Bayesian)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats
from statsmodels.stats.proportion import proportion_confint

from hierarch.bayes.binomial import DEFAULT_PRIORS, build_binomial_pymc
from hierarch.bayes.sampling import SamplerSettings, model_key, sample
from hierarch.core import validate as v
from hierarch.core.priors import resolve_priors
from hierarch.fits.base import record_call, register_refit
from hierarch.fits.binomial import (
    BinomialBayesFit,
    MultilevelBinomial,
    MultilevelBinomialBayesFit,
    PooledBinomial,
    UnpooledBinomial,
)
from hierarch.freq.binomial import wilson_table
from hierarch.freq.spec_fit import fit_spec
from hierarch.frontends.mixed import Model

__all__ = ["binomial_model"]


def _z(conf_level: float) -> float:
    return float(stats.norm.ppf(0.5 + conf_level / 2.0))


def _group_table(codes: np.ndarray, levels: list, m: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    J = len(levels)
    return pd.DataFrame(
        {
            "group": levels,
            "successes": np.bincount(codes, weights=m, minlength=J).astype(np.int64),
            "trials": np.bincount(codes, weights=n, minlength=J).astype(np.int64),
        }
    )


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


def multilevel_formula(successes: str, trials: str, group: str) -> str:
    """The formula model of the binomial hierarchy: ``m | trials(n) ~ 1 + (1 | g)``."""
    formula = f"{successes} | trials({trials}) ~ 1 + (1 | {group})"
    return v.formula_names(formula, successes, trials, group)


def _multilevel(successes, trials, group, data, priors=None) -> Model:
    """The spec of the binomial hierarchy (the same as ``hierarch.model`` builds), with
    immr's prior names (``mu``, ``tau``) as the formula model's (``Intercept``, ``sd``)."""
    formula = multilevel_formula(successes, trials, group)
    fpriors = None
    if priors is not None:
        fpriors = {"Intercept": priors["mu"], f"sd_{group}": priors["tau"]}
    return Model(formula, data, family="binomial", priors=fpriors, parameterization="non-centred")


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
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    target_accept: float = 0.9,
    sampler: str = "auto",
    random_seed: int | None = None,
    progressbar: bool | None = None,
    na_action: str = "error",
):
    """Binomial model for grouped counts: pooled, unpooled or multilevel.

    Parameters
    ----------
    successes, trials : str
        Names of the columns holding the number of successes ``m`` and trials ``n``.
    group : str, optional
        Grouping column.  Without it all rows are pooled into one probability.
    data : pandas.DataFrame
        The data.  Bad values raise ``ValueError`` naming the column and rows; with
        ``na_action="drop"`` rows missing a value in the model's columns are dropped first,
        with a :class:`hierarch.DataWarning` saying how many and which.
    multilevel : bool
        With ``group``: partial pooling through a normal random intercept on the log-odds.
    conf_level : float
        Level of the confidence / credible / prediction intervals.
    method : {"ml", "bayes"}
        ``"ml"``: maximum likelihood (the frequentist twin: Wald, Wilson, or the Laplace /
        adaptive-quadrature GLMM).  ``"bayes"``: a PyMC model sampled with NUTS.
    n_agq : int
        Multilevel ML only: 1 for Laplace, more for adaptive Gauss-Hermite quadrature, 0 for
        glmer's ``nAGQ = 0`` (the fixed effect estimated inside PIRLS).
    priors : dict, optional
        Bayesian only: priors overriding :data:`DEFAULT_PRIORS` by parameter name, e.g.
        ``{"tau": hierarch.Prior("Exponential", lam=1)}``.
    na_action : {"error", "drop"}
        See ``data``.
    draws, tune, chains, target_accept, sampler, random_seed, progressbar
        Bayesian only: NUTS settings (see :class:`~hierarch.bayes.sampling.SamplerSettings`).

    Returns
    -------
    PooledBinomial, UnpooledBinomial, MultilevelBinomial, BinomialBayesFit or
    MultilevelBinomialBayesFit
        The multilevel fits are fits of the formula model
        ``successes | trials(trials) ~ 1 + (1 | group)`` (``hierarch.model`` builds the same
        spec), with immr's attributes and printout: every protocol table, ``predict``,
        ``save`` and ``compare`` are the formula model's.

    Examples
    --------
    >>> import hierarch
    >>> rats = hierarch.load_dataset("rats")
    >>> m4 = hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
    >>> round(m4.mu, 4), round(m4.tau(), 4)
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
    data, _ = v.drop_incomplete(data, cols, na_action, stacklevel=3)
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
            fit = _pooled(int(m.sum()), int(n.sum()), conf_level)
        elif kind == "unpooled":
            fit = UnpooledBinomial(groups, wilson_table(groups, conf_level), conf_level, group)
        else:
            spec = _multilevel(successes, trials, group, data)
            how = "laplace" if n_agq <= 1 else "agq"
            fit = MultilevelBinomial(spec, fit_spec(spec, how, n_agq), conf_level)
        return record_call(
            fit,
            "binomial_model",
            data,
            cols,
            successes=successes,
            trials=trials,
            group=group,
            multilevel=multilevel,
            conf_level=conf_level,
            n_agq=n_agq,
        )

    settings = SamplerSettings(draws, tune, chains, target_accept, sampler, random_seed)
    resolved = resolve_priors(DEFAULT_PRIORS[kind], priors, positive={"tau"})
    if kind == "multilevel":
        spec = _multilevel(successes, trials, group, data, resolved)
        idata, fspec = spec.sample_posterior(settings, conf_level, progressbar=progressbar)
        fspec.update(model="binomial_multilevel", kind=kind, successes=successes, group=group)
        fit = MultilevelBinomialBayesFit(idata, fspec)
        fit._model = spec
        fit.diagnostics(warn=True, stacklevel=4)
        return fit
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
    }
    fit = BinomialBayesFit(idata, spec)
    fit.diagnostics(warn=True, stacklevel=4)
    return fit


register_refit("binomial_model", lambda data, kw: binomial_model(data=data, method="ml", **kw))
