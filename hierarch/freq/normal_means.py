"""ML and REML for the known-standard-error hierarchy ``y_j ~ N(mu, tau^2 + s_j^2)``."""

from __future__ import annotations

import numpy as np
from scipy import optimize

__all__ = ["fit_known_se"]


def fit_known_se(y, s, reml: bool):
    """``(tau, mu, se(mu), loglik)`` maximising the (restricted) likelihood; tau on [0, .)."""

    def profile(tau):
        w = 1 / (tau**2 + s**2)
        mu = np.sum(w * y) / np.sum(w)
        ll = -0.5 * np.sum(np.log(2 * np.pi / w) + w * (y - mu) ** 2)
        if reml:
            ll += -0.5 * np.log(np.sum(w)) + 0.5 * np.log(2 * np.pi)
        return ll, mu, w

    upper = 10 * (np.ptp(y) + np.max(s))
    res = optimize.minimize_scalar(
        lambda t: -profile(t)[0], bounds=(0.0, upper), method="bounded", options={"xatol": 1e-10}
    )
    tau = float(res.x)
    if -profile(0.0)[0] <= res.fun + 1e-9:  # the boundary is (numerically) as good
        tau = 0.0
    ll, mu, w = profile(tau)
    return tau, float(mu), float(np.sqrt(1 / np.sum(w))), float(ll)
