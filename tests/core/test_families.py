"""The logit-scale binomial and Bernoulli likelihoods (hierarch.core.families._logit_binomial) are
the binomial and Bernoulli log pmfs, and predictive draws come from those distributions."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from hierarch.core.families import FAMILIES


@pytest.mark.parametrize("family", ["binomial", "bernoulli"])
def test_logit_likelihood_is_the_log_pmf(family, rng):
    n = rng.integers(1, 40, 25) if family == "binomial" else np.ones(25, dtype=int)
    y = rng.binomial(n, 0.3)
    with pm.Model(coords={"obs": range(25)}) as m:
        eta = pm.Normal("eta", 0, 2, dims="obs")
        yd = pm.Data("y_obs", y, dims="obs")
        nd = pm.Data("trials", n, dims="obs") if family == "binomial" else None
        FAMILIES[family].likelihood(pm, "logit", eta, yd, nd, {}, dims="obs")
    logp = m.compile_logp(vars=[m["y"]], sum=True)
    for e in (rng.normal(0, 1, 25), rng.normal(0, 4, 25), np.full(25, -30.0)):
        expected = stats.binom.logpmf(y, n, 1 / (1 + np.exp(-e))).sum()
        # tolerance: float rounding of lgamma sums and softplus (exact formula, not approximate)
        np.testing.assert_allclose(logp({"eta": e}), expected, rtol=1e-10)
    draws = pm.draw(m["y"], draws=200, random_seed=1)
    assert draws.shape == (200, 25)
    assert np.all((draws >= 0) & (draws <= n))
