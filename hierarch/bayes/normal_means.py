"""The PyMC graph of the known-standard-error hierarchy (non-centred) and its default
priors."""

from __future__ import annotations

import numpy as np
import pymc as pm

from hierarch.core.priors import Prior

__all__ = ["build_normal_means_pymc", "default_priors"]


def default_priors(y: np.ndarray, s: np.ndarray) -> dict[str, Prior]:
    """``mu ~ Normal(mean(y), 2.5 * scale)`` and ``tau ~ HalfNormal(scale)`` with
    ``scale = sqrt(var(y) + mean(s^2))``, the spread of the estimates on the data's scale."""
    scale = float(np.sqrt(np.var(y, ddof=1) + np.mean(s**2)))
    return {
        "mu": Prior("Normal", mu=float(np.mean(y)), sigma=2.5 * scale),
        "tau": Prior("HalfNormal", sigma=scale),
    }


def build_normal_means_pymc(y: np.ndarray, s: np.ndarray, labels: list, priors: dict[str, Prior]):
    """``theta_j = mu + tau z_j``, ``z_j ~ N(0, 1)``, ``y_j ~ N(theta_j, s_j)``."""
    with pm.Model(coords={"group": labels}) as model:
        se_ = pm.Data("se", s, dims="group")
        mu = priors["mu"].create("mu")
        tau = priors["tau"].create("tau")
        zz = pm.Normal("z", 0, 1, dims="group")
        theta = pm.Deterministic("theta", mu + tau * zz, dims="group")
        pm.Normal("y", theta, se_, observed=y, dims="group")
    return model
