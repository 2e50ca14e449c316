"""The grid posterior of the random-intercept model (the explorer's Bayesian view)."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

import hierarch
from hierarch import simulate
from hierarch.bayes.grid import random_intercept_grid


def test_grid_priors_are_hierarchs_defaults():
    df = simulate.explorer_data(seed=4)
    priors = hierarch.model("y ~ 1 + (1 | group)", df).default_priors()
    s_y = float(np.std(df["y"], ddof=1))
    assert priors["Intercept"].params == pytest.approx({"mu": df["y"].mean(), "sigma": 2.5 * s_y})
    assert priors["sigma"].dist == "HalfNormal" and priors["sigma"].params["sigma"] == s_y
    assert priors["sd_group"].dist == "HalfNormal"
    assert priors["sd_group"].params["sigma"] == pytest.approx([s_y])


def test_grid_resolution_is_enough():
    # doubling and tripling the grid moves the posterior means by < 1e-3 relative (here tau's
    # posterior SD is 0.6: 1e-3 of its mean is ~1/10 of a 4000-draw Monte Carlo SE)
    df = simulate.explorer_data(J=5, sigma_u=0.5, seed=9)
    a = random_intercept_grid(df["y"], df["group"])
    b = random_intercept_grid(df["y"], df["group"], coarse=200, fine=450)
    assert a.tau_mean == pytest.approx(b.tau_mean, rel=1e-3)
    np.testing.assert_allclose(a.groups["mean"], b.groups["mean"], rtol=1e-3, atol=1e-5)
    assert np.sum(a.tau_density) * (a.tau[1] - a.tau[0]) == pytest.approx(1.0)


def test_grid_limits():
    # tau pinned near zero by a tiny prior scale: every group is pulled to the common mean;
    # a huge tau prior with large groups: the estimates are the groups' own means
    df = simulate.explorer_data(J=6, n_mean=40, sigma_u=3.0, balance=1.0, seed=2)
    pinned = random_intercept_grid(df["y"], df["group"], prior_scales={"tau": 1e-4})
    assert np.ptp(pinned.groups["mean"]) < 1e-3
    free = random_intercept_grid(df["y"], df["group"])
    assert np.all(free.groups["alpha"] > 0.9)
    assert np.all(np.abs(free.groups["mean"] - free.groups["ybar"]) < 0.25)


@pytest.mark.statistical
def test_grid_equals_nuts(seed):
    # few clusters, small tau: where the posterior differs most from the REML plug-in.  NUTS
    # (4 x 1000 draws of hierarch's fit, default priors) and the grid agree within 4 Monte
    # Carlo SEs on the means of tau, sigma and every group mean (4 rather than 3: 7 quantities
    # at once); target_accept 0.99 because tau near zero makes a funnel
    df = simulate.explorer_data(J=5, sigma_u=0.5, seed=11)
    grid = random_intercept_grid(df["y"], df["group"])
    fit = hierarch.model("y ~ 1 + (1 | group)", df).fit(
        method="bayes", random_seed=seed, progressbar=False, target_accept=0.99
    )
    post = fit.idata.posterior
    tau = post["sd_group"].isel(group_effect=0)
    theta = post["beta"].isel(coef=0) + post["b_group"].isel(group_effect=0)
    checks = [("tau", tau, grid.tau_mean), ("sigma", post["sigma"], grid.sigma_mean)]
    checks += [
        (f"group {j + 1}", theta.isel(group=j), grid.groups["mean"].iloc[j]) for j in range(5)
    ]
    for name, draws, exact in checks:
        mcse = float(az.mcse(draws.to_dataset(name="x"))["x"])
        assert abs(float(draws.mean()) - exact) < 4 * mcse, (name, float(draws.mean()), exact, mcse)
