"""The known-SE twin (``y | se(s) ~ 1 + (1 | g)``) against the dense multivariate normal
likelihood, with several rows per group (the Sherman-Morrison closed forms are per group)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize, stats

import hierarch
from hierarch.core.formula import FormulaError, parse_formula
from hierarch.freq.normal_means import fit_known_se


def _data(rng, J=9):
    sizes = rng.integers(1, 4, J)  # 1 to 3 rows per group
    g = np.repeat(np.arange(J), sizes)
    s = rng.uniform(0.5, 2.0, len(g))
    y = 2.0 + rng.normal(0, 1.2, J)[g] + rng.normal(0, s)
    return pd.DataFrame({"y": y, "s": s, "g": [f"g{k}" for k in g]})


def _dense_loglik(tau, df, reml):
    """``log N(y; 1 mu_hat, V)`` with the dense ``V = diag(s^2) + tau^2 Z Z'``."""
    codes = pd.factorize(df["g"], sort=True)[0]
    Z = np.eye(codes.max() + 1)[codes]
    V = np.diag(df["s"] ** 2) + tau**2 * Z @ Z.T
    Vi = np.linalg.inv(V)
    one = np.ones(len(df))
    mu = one @ Vi @ df["y"] / (one @ Vi @ one)
    ll = stats.multivariate_normal(mean=mu * one, cov=V).logpdf(df["y"])
    if reml:
        ll += -0.5 * np.log(one @ Vi @ one) + 0.5 * np.log(2 * np.pi)
    return ll, mu, Vi, Z


@pytest.mark.parametrize("reml", [True, False])
def test_known_se_twin_matches_the_dense_likelihood(rng, reml):
    """Log-likelihood at the optimum to 1e-8 (same formula, other algebra); tau to 1e-4
    against an independent optimiser of the dense likelihood (both stop at ~1e-6 in tau
    relative; the likelihood is flat near its maximum); BLUPs ``tau^2 Z'V^-1 r`` to 1e-6."""
    df = _data(rng)
    fit = fit_known_se(parse_formula("y ~ 1 + (1 | g)", df), df["s"].to_numpy(), reml=reml)
    ll, mu, Vi, Z = _dense_loglik(fit.tau, df, reml)
    assert fit.loglik == pytest.approx(ll, abs=1e-8)
    assert float(fit.beta[0]) == pytest.approx(mu, rel=1e-10)
    best = optimize.minimize_scalar(
        lambda t: -_dense_loglik(t, df, reml)[0],
        bounds=(0, 10),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert fit.tau == pytest.approx(best.x, abs=1e-4)
    r = df["y"].to_numpy() - mu
    np.testing.assert_allclose(fit.ranef[0][:, 0], fit.tau**2 * Z.T @ Vi @ r, atol=1e-6)
    assert fit.se[0] == pytest.approx(np.sqrt(1 / np.sum(Vi)), rel=1e-8)


def test_the_se_term_is_checked_where_the_spec_is_made(rng):
    df = _data(rng)
    with pytest.raises(ValueError, match=r"column 's' \(standard errors\) must be positive"):
        hierarch.model("y | se(s) ~ 1 + (1 | g)", df.assign(s=df["s"].where(df.index != 2, -1)))
    with pytest.raises(FormulaError, match="'t' is not a column"):
        hierarch.model("y | se(t) ~ 1 + (1 | g)", df)
    with pytest.raises(FormulaError, match="not of family 'poisson'"):
        hierarch.model("y | se(s) ~ 1 + (1 | g)", df, family="poisson")
    with pytest.raises(FormulaError, match="one random intercept and no covariates"):
        hierarch.model("y | se(s) ~ s + (1 | g)", df)
    with pytest.raises(ValueError, match="fitted by 'reml' or 'ml'"):
        hierarch.model("y | se(s) ~ 1 + (1 | g)", df).fit(method="laplace")


def test_normal_means_is_the_formula_model(rng):
    """normal_means builds the spec of y | se(s) ~ 1 + (1 | g): the same tables (NumPy and
    SciPy only, no compilation: equal within one process), and no residual SD."""
    J = 10
    s = rng.uniform(0.5, 2.0, J)
    df = pd.DataFrame({"g": [f"s{j}" for j in range(J)], "y": rng.normal(1, 1.5, J), "s": s})
    a = hierarch.normal_means("y", "s", "g", df, method="reml")
    b = hierarch.model("y | se(s) ~ 1 + (1 | g)", df).fit(method="reml")
    assert type(a) is type(b)
    for table in ("fixed_effects", "group_sds", "shrinkage"):
        pd.testing.assert_frame_equal(getattr(a, table)(), getattr(b, table)())
    assert "sigma" not in a.model.priors
    with pytest.raises(ValueError, match="no residual SD"):
        a.sigma()
    assert hierarch.compare(a, b).shape[0] == 2  # intercept and tau, REML twice
    # predict(): each group's true effect, mu + b_j; 4000 draws: the mean to ~1/60 of an SD
    p = a.predict(df.head(3))
    est = a.estimates.head(3)
    np.testing.assert_allclose(
        p["mean"], est["estimate"], atol=0.1 * (est["upper"] - est["lower"]).max()
    )
    with pytest.raises(ValueError, match="not available for the known-SE hierarchy"):
        a.ppc()
