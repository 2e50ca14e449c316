"""Known-SE hierarchy (eight schools): ML/REML checked against a brute-force likelihood."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierarch

SCHOOLS = pd.DataFrame(
    {
        "school": list("ABCDEFGH"),
        "effect": [28, 8, -3, 7, -1, 1, 18, 12],
        "se": [15, 10, 16, 11, 9, 11, 10, 18],
    }
)


def _brute(y, s, reml):
    """Profile log-likelihood on a fine grid of tau (independent of the optimiser)."""
    best = (-np.inf, None)
    for tau in np.linspace(0, 3 * np.ptp(y), 30001):
        w = 1 / (tau**2 + s**2)
        mu = np.sum(w * y) / np.sum(w)
        ll = -0.5 * np.sum(np.log(2 * np.pi / w) + w * (y - mu) ** 2)
        if reml:
            ll += -0.5 * np.log(np.sum(w)) + 0.5 * np.log(2 * np.pi)
        best = max(best, (ll, tau))
    return best


def test_eight_schools_ml_is_complete_pooling():
    fit = hierarch.normal_means("effect", "se", "school", SCHOOLS, method="ml")
    assert float(fit.tau()) == 0.0
    # precision-weighted mean and its SE (the classic 7.7 +/- 4.1)
    w = 1 / SCHOOLS["se"] ** 2
    assert fit.mu == pytest.approx(np.sum(w * SCHOOLS["effect"]) / w.sum())
    assert fit.se_mu == pytest.approx(np.sqrt(1 / w.sum()))
    assert round(fit.mu, 2) == 7.69 and round(fit.se_mu, 2) == 4.07
    assert "boundary (singular) fit" in str(fit)


@pytest.mark.parametrize("method", ["ml", "reml"])
def test_estimates_match_brute_force(method, rng):
    J = 12
    s = rng.uniform(0.5, 2.0, J)
    y = rng.normal(3.0, 1.5, J) + rng.normal(0, s)
    df = pd.DataFrame({"g": range(J), "y": y, "s": s})
    fit = hierarch.normal_means("y", "s", "g", df, method=method)
    ll, tau = _brute(y, s, method == "reml")
    assert fit.loglik == pytest.approx(ll, abs=1e-4)
    assert float(fit.tau()) == pytest.approx(tau, abs=2e-3)  # grid step 0.0005 * range
    B = fit.tau_estimate**2 / (fit.tau_estimate**2 + s**2)
    np.testing.assert_allclose(fit.estimates["pooling_weight"], B)
    np.testing.assert_allclose(fit.estimates["estimate"], fit.mu + B * (y - fit.mu))


def test_bayes_eight_schools(seed):
    fit = hierarch.normal_means(
        "effect", "se", "school", SCHOOLS, method="bayes", random_seed=seed, progressbar=False
    )
    assert fit.diagnostics().divergences == 0
    assert 4 < fit.mu < 11 and 1 < float(fit.tau()) < 10
    est = fit.estimates
    # every school is shrunk toward mu, A (28) the most in absolute terms
    assert (np.abs(est["estimate"] - fit.mu) < np.abs(est["y"] - fit.mu) + 1e-9).all()
    assert est["estimate"].iloc[0] < 15


@pytest.mark.parametrize(
    "change,message",
    [
        (("se", 2, 0), r"column 'se' \(standard errors\) must be positive; rows \[2\]"),
        (("effect", 1, np.nan), r"column 'effect' has missing values \(NaN\) in row 1"),
        (("school", 3, "A"), r"column 'school' must have one row per group; repeated in rows"),
    ],
)
def test_bad_input(change, message):
    df = SCHOOLS.copy().astype({"se": float, "effect": float})
    col, row, value = change
    df.loc[row, col] = value
    with pytest.raises(ValueError, match=message):
        hierarch.normal_means("effect", "se", "school", df)
