"""``normal_means``: the front end of the known-standard-error hierarchy (meta-analysis,
"eight schools")."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.bayes.sampling import SamplerSettings
from hierarch.core import validate as v
from hierarch.core.priors import resolve_priors
from hierarch.fits.base import record_call, register_refit
from hierarch.fits.normal_means import NormalMeansBayesFit, NormalMeansML
from hierarch.freq.spec_fit import fit_spec
from hierarch.frontends.mixed import Model

__all__ = ["normal_means"]


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


def normal_means(
    estimate: str,
    se: str,
    group: str,
    data: pd.DataFrame,
    *,
    method: str = "reml",
    conf_level: float = 0.95,
    priors: dict[str, Any] | None = None,
    draws: int | None = None,
    tune: int | None = None,
    chains: int | None = None,
    target_accept: float = 0.95,
    sampler: str = "auto",
    random_seed: int | None = None,
    progressbar: bool | None = None,
    na_action: str = "error",
):
    """Hierarchy of group estimates with known standard errors (the eight-schools shape).

    Parameters
    ----------
    estimate, se, group : str
        Columns: each group's estimate, its standard error, and the group label (one row
        per group).
    data : pandas.DataFrame
    method : {"reml", "ml", "bayes"}
    conf_level : float
    priors : dict, optional
        Bayesian: overrides for ``mu`` and ``tau`` (defaults scaled to the data:
        ``mu ~ Normal(mean(y), 2.5 scale)``, ``tau ~ HalfNormal(scale)``,
        ``scale = sqrt(var(y) + mean(s^2))``).

    Returns
    -------
    NormalMeansML or NormalMeansBayesFit
        Fits of the formula model ``estimate | se(se) ~ 1 + (1 | group)`` (``hierarch.model``
        builds the same spec), with the meta-analyst's attributes and printout.
    draws, tune, chains, target_accept, sampler, random_seed, progressbar
        NUTS settings (Bayesian only; ``target_accept`` defaults to 0.95 since few groups
        make a funnel likely).
    na_action : {"error", "drop"}
        Rows missing the estimate, SE or group: a clear error (default), or dropped with a
        :class:`hierarch.DataWarning` saying how many and which.

    Examples
    --------
    >>> import pandas as pd, hierarch
    >>> schools = pd.DataFrame({"school": list("ABCDEFGH"),
    ...                         "effect": [28, 8, -3, 7, -1, 1, 18, 12],
    ...                         "se": [15, 10, 16, 11, 9, 11, 10, 18]})
    >>> fit = hierarch.normal_means("effect", "se", "school", schools, method="ml")
    >>> round(fit.tau(), 3), round(fit.mu, 2)
    (0.0, 7.69)
    """
    data = v.require_dataframe(data)
    conf_level = v.conf_level(conf_level)
    v.require_columns(data, [estimate, se, group], {estimate: "estimate", se: "se", group: "group"})
    data, _ = v.drop_incomplete(data, [estimate, se, group], na_action, stacklevel=3)
    for col in (estimate, se):
        v.no_missing(data, col)
        x = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
        bad = ~np.isfinite(x)
        if bad.any():
            raise ValueError(
                f"column {col!r} has non-numeric or infinite values in rows {list(data.index[bad])}"
            )
    s = data[se].to_numpy(dtype=float)
    if np.any(s <= 0):
        raise ValueError(
            f"column {se!r} (standard errors) must be positive; rows {list(data.index[s <= 0])}"
        )
    v.no_missing(data, group)
    if data[group].duplicated().any():
        dup = data.index[data[group].duplicated(keep=False).to_numpy()].tolist()
        raise ValueError(f"column {group!r} must have one row per group; repeated in rows {dup}")
    if len(data) < 2:
        raise ValueError("normal_means needs at least 2 groups")
    if method not in ("ml", "reml", "bayes"):
        raise ValueError(f"method must be 'reml', 'ml' or 'bayes', got {method!r}")
    formula = v.formula_names(f"{estimate} | se({se}) ~ 1 + (1 | {group})", estimate, se, group)
    spec = Model(formula, data, parameterization="non-centred")
    if method in ("ml", "reml"):
        fit = NormalMeansML(spec, fit_spec(spec, method), conf_level)
        return record_call(
            fit,
            "normal_means",
            data,
            [estimate, se, group],
            estimate=estimate,
            se=se,
            group=group,
            method=method,
            conf_level=conf_level,
        )
    settings = SamplerSettings(draws, tune, chains, target_accept, sampler, random_seed)
    bname = spec.block_names[0]
    defaults = {"mu": spec.priors["Intercept"], "tau": spec.priors[f"sd_{bname}"]}
    if priors:  # immr's names (mu, tau) as the formula model's (Intercept, sd)
        pri = resolve_priors(defaults, priors, positive={"tau"})
        spec = Model(
            formula,
            data,
            priors={"Intercept": pri["mu"], f"sd_{bname}": pri["tau"]},
            parameterization="non-centred",
        )
    idata, fspec = spec.sample_posterior(settings, conf_level, progressbar=progressbar)
    fspec.update(model="normal_means", estimate=estimate, se=se, group=group)
    fit = NormalMeansBayesFit(idata, fspec)
    fit._model = spec
    fit.diagnostics(warn=True, stacklevel=4)
    return fit


register_refit("normal_means", lambda data, kw: normal_means(data=data, **kw))
