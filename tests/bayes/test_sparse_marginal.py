"""The sparse marginal log-density (CHOLMOD Op) for crossed and nested Gaussian models.

Tolerances: the density equals the dense multivariate normal to 1e-10 relative (the values
are ~1e2-1e3; the two differ in the order of the arithmetic); the gradient equals central
finite differences (step 1e-6) to 1e-5 of the gradient's largest entry (the differences'
own error is ~1e-7 here); conditional draws of the group effects have the exact conditional
mean and covariance within 4 Monte Carlo standard errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierarch
from hierarch.bayes.sparse_marginal import sparse_core


def _crossed(rng, n_a=12, n_b=9, n=150):
    a, b = rng.integers(0, n_a, n), rng.integers(0, n_b, n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 0.7, n_a)[a] + rng.normal(0, 0.4, n_b)[b] * x
    y += rng.normal(0, 0.5, n)
    return pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "x": x, "y": y})


FORMULAS = ["y ~ x + (1 | a) + (1 | b)", "y ~ x + (x | a) + (1 | b)", "y ~ x + (1 | a) + (x | b)"]


def _dense_logp(m, core, beta, lam, sigma):
    pf = m.parsed
    Zs = []
    for b in pf.blocks:
        Zb = np.zeros((pf.n, b.n_levels * b.k))
        for c in range(b.k):
            Zb[np.arange(pf.n), b.codes * b.k + c] = b.Z[:, c]
        Zs.append(Zb)
    Z = np.hstack(Zs)
    Lam = np.zeros((core.q, core.q))
    Lam[core.rows, core.cols] = lam
    V = sigma**2 * np.eye(pf.n) + Z @ Lam @ Lam.T @ Z.T
    return stats.multivariate_normal(pf.X @ beta, V).logpdf(pf.y)


def _point(rng, core, m):
    lam = rng.uniform(0.3, 1.5, len(core.rows))
    lam[core.rows != core.cols] = rng.normal(0, 0.3, np.sum(core.rows != core.cols))
    return rng.normal(size=m.parsed.X.shape[1]), lam, 0.6


@pytest.mark.parametrize("formula", FORMULAS)
def test_density_and_gradient(rng, formula):
    m = hierarch.model(formula, _crossed(rng))
    core, _ = sparse_core(m)
    for _ in range(2):
        beta, lam, sigma = _point(rng, core, m)
        value, gb, gl, gs = core.logp(beta, lam, sigma)
        assert value == pytest.approx(_dense_logp(m, core, beta, lam, sigma), rel=1e-10)
        x0 = np.concatenate([beta, lam, [sigma]])
        p = len(beta)

        def f(x, p=p):
            return core.logp(x[:p], x[p:-1], x[-1], grad=False)

        h = 1e-6
        fd = np.array([(f(x0 + h * e) - f(x0 - h * e)) / (2 * h) for e in np.eye(len(x0))])
        g = np.concatenate([gb, gl, [gs]])
        assert np.max(np.abs(g - fd)) <= 1e-5 * np.max(np.abs(g))


def test_the_op_in_the_graph_equals_the_dense_marginal_model(rng, monkeypatch):
    """The same model built both ways (dense graph for up to MAX_MARGINAL_Q effects, the Op
    above): log-density and gradient at the same point (1e-10 and 1e-7 relative)."""
    from pytensor.graph.basic import ancestors

    m = hierarch.model(FORMULAS[1], _crossed(rng))
    dense = m.build_marginal()
    monkeypatch.setattr(hierarch.Model, "MAX_MARGINAL_Q", 0)
    assert m._sparse_marginal
    sparse = m.build_marginal()
    ops = {type(v.owner.op).__name__ for v in ancestors(sparse.potentials) if v.owner}
    assert "SparseMarginalLoglik" in ops and "Cholesky" not in ops
    point = {k: v + 0.2 for k, v in dense.initial_point().items()}
    fast = {"mode": "FAST_COMPILE"}  # Python implementations: no C compilation on a new machine
    lp_d, lp_s = dense.compile_logp(**fast)(point), sparse.compile_logp(**fast)(point)
    assert float(lp_s) == pytest.approx(float(lp_d), rel=1e-10)
    g_d, g_s = dense.compile_dlogp(**fast)(point), sparse.compile_dlogp(**fast)(point)
    np.testing.assert_allclose(g_s, g_d, rtol=1e-7, atol=1e-9 * np.max(np.abs(g_d)))


def test_conditional_draws_have_the_exact_moments(rng, monkeypatch):
    import xarray as xr

    from hierarch.bayes.conditional import add_group_effects

    monkeypatch.setattr(hierarch.Model, "MAX_MARGINAL_Q", 0)
    m = hierarch.model(FORMULAS[0], _crossed(rng, n_a=5, n_b=4, n=60))
    core, _ = sparse_core(m)
    S = 4000
    beta, sigma, sa, sb = np.array([1.0, 0.5]), 0.5, 0.8, 0.6
    post = xr.Dataset(
        {
            "beta": (("chain", "draw", "coef"), np.broadcast_to(beta, (1, S, 2))),
            "sigma": (("chain", "draw"), np.full((1, S), sigma)),
            "sd_a": (("chain", "draw", "ea"), np.full((1, S, 1), sa)),
            "sd_b": (("chain", "draw", "eb"), np.full((1, S, 1), sb)),
        }
    )

    class Idata:
        posterior = post

    idata = Idata()
    add_group_effects(m, idata, seed=3)
    draws = np.concatenate(
        [idata.posterior["b_a"].values[0, :, :, 0], idata.posterior["b_b"].values[0, :, :, 0]],
        axis=1,
    )
    lam = np.r_[np.full(5, sa), np.full(4, sb)]
    Lam, f = core.factor(lam, sigma**2)
    mean = Lam @ f.solve(Lam.T @ (core.Zty - core.ZtX @ beta))
    cov = sigma**2 * (Lam @ f.solve(Lam.toarray().T))
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(draws.mean(0) - mean) <= 4 * sd / np.sqrt(S))
    # variances: the SE of a sample variance is ~ var * sqrt(2 / S)
    assert np.all(np.abs(draws.var(0) - sd**2) <= 4 * sd**2 * np.sqrt(2 / S))


@pytest.mark.slow
def test_marginalized_matches_plain_on_a_large_crossed_design(seed):
    """Acceptance (issue 13): 340 x 110 crossed levels (450 group effects, above the dense
    limit), 2,500 rows: the sparse marginal fit against the plain model, every hyperparameter
    within 3 Monte Carlo standard errors (mean and SD), 95 % of the group effects."""
    import warnings

    from .test_marginal import _agree

    rng = np.random.default_rng(seed)
    n, na, nb = 2500, 340, 110
    a, b = rng.integers(0, na, n), rng.integers(0, nb, n)
    x = rng.normal(size=n)
    y = 2 + 0.3 * x + rng.normal(0, 0.6, na)[a] + rng.normal(0, 0.3, nb)[b] + rng.normal(0, 1, n)
    df = pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "x": x, "y": y})
    m = hierarch.model("y ~ x + (1 | a) + (1 | b)", df)
    assert m._sparse_marginal
    s = m.fit(random_seed=seed, progressbar=False)
    assert s.spec["marginalized"] and s.diagnostics().ok
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        p = m.fit(random_seed=seed + 1, progressbar=False, marginalize=False)
    for var in ("beta", "sigma", "sd_a", "sd_b"):
        _agree(s, p, var)
    _agree(s, p, "b_a", frac_ok=0.95)
    _agree(s, p, "b_b", frac_ok=0.95)
