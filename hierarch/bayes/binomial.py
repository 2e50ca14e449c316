"""The PyMC graph of the binomial hierarchy (pooled, unpooled, multilevel) and its default
priors."""

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
