"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari and Gelman 2018).

Draw the parameters from the prior and a data set from them, fit the model to that data set,
and note where the true value falls among the posterior draws (its rank). Repeated, the ranks
of a correct sampler on a correct model are uniform; a histogram that sags in the middle
means posteriors too narrow, a slope means a biased one.
"""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from hierarch.bayes.diagnostics import ConvergenceWarning
from hierarch.bayes.sampling import SamplerSettings
from hierarch.frontends.mixed import Model
from hierarch.report.sbc import rank_uniformity

__all__ = ["SBCResult", "sbc"]


@dataclass
class SBCResult:
    """The ranks of an SBC run and their uniformity tests.

    Attributes
    ----------
    ranks : DataFrame
        One row per simulated data set, one column per scalar parameter (``beta[week]``,
        ``sigma``, ``sd_id[week]`` ...): the number of the ``L`` thinned posterior draws
        below the true value, 0 to ``L``.
    L : int
        Thinned draws per fit (ranks take ``L + 1`` values).
    truth : DataFrame
        The prior draws behind each data set.
    diagnostics : DataFrame
        Per fit: ``divergences``, ``max_rhat``, ``min_ess_bulk``.
    """

    ranks: pd.DataFrame
    L: int
    truth: pd.DataFrame
    diagnostics: pd.DataFrame

    def uniformity(self, bins: int = 10) -> pd.DataFrame:
        """Chi-square test of uniform ranks per parameter (see
        :func:`hierarch.report.sbc.rank_uniformity`)."""
        return rank_uniformity(self.ranks, self.L, bins)


def _scalars(ds, model: Model, var_names: list[str]) -> pd.DataFrame:
    """Every scalar of the named variables, one column each, one row per draw."""
    cols = {}
    pf = model.parsed
    for var in var_names:
        v = ds[var].values
        v = v.reshape(-1, *v.shape[2:])  # (draws, ...)
        if var == "beta":
            for c, name in enumerate(pf.x_names):
                cols[f"beta[{name}]"] = v[:, c]
        elif var.startswith("sd_"):
            b = pf.blocks[model.block_names.index(var[3:])]
            for c, name in enumerate(b.columns):
                cols[f"{var}[{name}]"] = v[:, c]
        else:
            cols[var] = v
    return pd.DataFrame(cols)


def sbc(
    model: Model,
    n: int = 100,
    *,
    draws: int = 500,
    tune: int = 500,
    chains: int = 2,
    thin_to: int = 99,
    random_seed: int = 0,
    progressbar: bool = False,
) -> SBCResult:
    """Simulation-based calibration of a formula model with its priors.

    Parameters
    ----------
    model : Model
        ``hierarch.model(...)`` (its design, grouping and priors are kept; the priors are fixed
        at the model's own, so data-scaled defaults do not follow each simulated data set).
    n : int
        Number of simulated data sets (each fitted once).
    draws, tune, chains : int
        Sampler settings of each fit.
    thin_to : int
        The posterior draws are thinned evenly to this many (``L``) before ranking, so
        autocorrelation does not distort the ranks.
    random_seed : int
        Seed of the prior draws and of the fits: reproducible.

    Returns
    -------
    SBCResult
        ``ranks``, ``uniformity()`` and ``plots.plot_sbc_ranks(result.ranks, result.L)``.

    Examples
    --------
    >>> import hierarch
    >>> df = hierarch.simulate.random_intercepts(J=8, n_mean=5, seed=1)
    >>> res = hierarch.sbc(hierarch.model("y ~ 1 + (1 | group)", df), n=4,
    ...                    draws=100, tune=100)  # doctest: +SKIP
    >>> list(res.ranks.columns)  # doctest: +SKIP
    ['beta[Intercept]', 'sigma', 'sd_group[Intercept]']
    """
    import pymc as pm

    from hierarch.bayes.graphs import build

    if not isinstance(model, Model):
        raise TypeError(f"sbc() takes a hierarch.model(...), got {type(model).__name__}")
    settings = SamplerSettings(draws, tune, chains, random_seed=random_seed)
    n = SamplerSettings(draws=n).draws  # a positive whole number, checked in one place
    L = SamplerSettings(draws=thin_to).draws
    if L > settings.draws * settings.chains:
        raise ValueError(
            f"thin_to ({L}) cannot exceed the posterior draws per fit "
            f"({settings.draws} x {settings.chains} chains)"
        )
    base = Model(
        model.formula,
        model.data,
        family=model.family,
        link=model.link,
        priors=model.priors,
        parameterization=model.parameterization,
        aggregate=False,  # one simulated response per row
    )
    graph = build(base, base.parameterization)
    var_names = ["beta", *(["sigma"] if "sigma" in graph.named_vars else [])]
    var_names += [f"sd_{b}" for b in base.block_names]
    log = logging.getLogger("pymc")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        prior = pm.sample_prior_predictive(
            draws=n, model=graph, random_seed=random_seed, var_names=[*var_names, "y"]
        )
    finally:
        log.setLevel(level)
    truth = _scalars(prior.prior, base, var_names)
    ys = prior.prior_predictive["y"].values.reshape(n, -1)
    response = base.parsed.response
    ranks, diags = [], []
    iterator = range(n)
    if progressbar:
        from rich.progress import track

        iterator = track(iterator, description="SBC fits", transient=True)
    for i in iterator:
        data = base.data.copy()
        data[response] = ys[i]
        m = Model(
            base.formula,
            data,
            family=base.family,
            link=base.link,
            priors=base.priors,
            parameterization=base.parameterization,
            aggregate=False,
        )
        # sufficient statistics as data, not constants: every data set reuses one compiled
        # sampler (the same priors and design, only the response changes)
        m.STATS_AS_DATA = 0
        with warnings.catch_warnings():  # calibration is judged by the ranks
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit = m.fit(
                method="bayes",
                draws=settings.draws,
                tune=settings.tune,
                chains=settings.chains,
                random_seed=random_seed + i + 1,
                progressbar=False,
            )
        post = _scalars(fit.idata.posterior, base, var_names)
        keep = np.linspace(0, len(post) - 1, L).round().astype(int)
        thinned = post.to_numpy()[keep]
        ranks.append((thinned < truth.to_numpy()[i][None]).sum(axis=0))
        d = fit.diagnostics()
        diags.append(
            {
                "divergences": int(d.divergences),
                "max_rhat": float(d.table["r_hat_max"].max()),
                "min_ess_bulk": float(d.table["ess_bulk_min"].min()),
            }
        )
    return SBCResult(
        ranks=pd.DataFrame(ranks, columns=truth.columns),
        L=L,
        truth=truth,
        diagnostics=pd.DataFrame(diags),
    )
