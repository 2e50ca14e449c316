"""The PyMC graphs of the pooled and unpooled binomial models, and the default priors of the
binomial hierarchy (the multilevel model is the formula model ``m | trials(n) ~ 1 + (1 | g)``,
built by :func:`hierarch.bayes.graphs.build`, with ``mu`` its intercept and ``tau`` its group
SD)."""

from __future__ import annotations

import numpy as np
import pymc as pm

from hierarch.core.priors import Prior, resolve_priors

__all__ = ["DEFAULT_PRIORS", "build_binomial_pymc"]

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
    kind : {"pooled", "unpooled"}
    successes, trials : ndarray
        Counts per group (already aggregated); for ``"pooled"`` a single total each.
    groups : list, optional
        Group labels, used as the ``group`` coordinate.
    priors : dict, optional
        Priors by parameter name; defaults are :data:`DEFAULT_PRIORS`.

    Returns
    -------
    pymc.Model

    Examples
    --------
    >>> import numpy as np
    >>> m = build_binomial_pymc("unpooled", np.array([1, 4]), np.array([10, 12]), ["a", "b"])
    >>> sorted(v for v in m.named_vars if not v.startswith("prior_"))
    ['logit_theta', 'theta', 'trials', 'y', 'y_obs']
    """
    if kind not in ("pooled", "unpooled"):
        raise ValueError(
            f"kind must be 'pooled' or 'unpooled', got {kind!r} (the multilevel model is the "
            "formula model 'm | trials(n) ~ 1 + (1 | g)')"
        )
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
        eta = priors["logit_theta"].create("logit_theta", dims="group")
        theta = pm.Deterministic("theta", pm.math.invlogit(eta), dims="group")
        y = pm.Data("y_obs", np.asarray(successes, dtype=np.int64), dims="group")
        pm.Binomial("y", n=trials_, p=theta, observed=y, dims="group")
    return model
