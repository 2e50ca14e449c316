"""Exact marginalization of Gaussian group effects gives the same posterior as the plain model.

Tolerance (as the issue states): means and SDs of every hyperparameter, and of the group
effects, agree within 3 combined Monte Carlo standard errors (``az.mcse``, mean and sd).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pandas as pd
import pytest

import hierarch


def _mcse(x, stat):
    """Monte Carlo SE of the mean, or of the SD by the delta method on the mean of squared
    deviations (ArviZ 0.23's ``mcse(method="sd")`` fails with NumPy 2.4)."""
    if stat == "mean":
        return float(np.ravel(az.mcse(x, method="mean"))[0])
    sd = x.std()
    return float(np.ravel(az.mcse((x - x.mean()) ** 2, method="mean"))[0]) / (2 * sd)


def _elements(fit, var):
    """(chain, draw) arrays of every element of ``var``."""
    v = fit.idata.posterior[var].values
    return v.reshape(v.shape[0], v.shape[1], -1).transpose(2, 0, 1)


def _agree(a, b, var, frac_ok=1.0):
    ok = []
    for xa, xb in zip(_elements(a, var), _elements(b, var), strict=True):
        for stat, f in (("mean", np.mean), ("sd", np.std)):
            ea, eb = _mcse(xa, stat), _mcse(xb, stat)
            ok.append(abs(f(xa) - f(xb)) <= 3 * np.sqrt(ea**2 + eb**2))
    assert np.mean(ok) >= frac_ok, (var, np.mean(ok))


@pytest.fixture(scope="module")
def pigs_plain(pigs_model, seed):
    import warnings

    with warnings.catch_warnings():  # the plain model's ESS is what marginalizing improves
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        return pigs_model.fit(
            method="bayes", random_seed=seed + 1, progressbar=False, marginalize=False
        )


def test_default_pigs_fit_is_marginalized(pigs_bayes):
    assert pigs_bayes.spec["marginalized"] is True
    assert pigs_bayes.idata.posterior["b_id"].dims == ("chain", "draw", "id", "id_effect")


@pytest.mark.statistical
def test_marginalized_matches_plain_on_pigs(pigs_bayes, pigs_plain):
    assert pigs_plain.spec["marginalized"] is False
    for var in ("beta", "sigma", "sd_id"):
        _agree(pigs_bayes, pigs_plain, var)
    # the correlation: its off-diagonal element only (the diagonal is constant)
    off = {"id_effect": 0, "id_effect_bis": 1}
    ca = pigs_bayes.idata.posterior["corr_id"].isel(off).values
    cb = pigs_plain.idata.posterior["corr_id"].isel(off).values
    for stat, f in (("mean", np.mean), ("sd", np.std)):
        e = np.hypot(_mcse(ca, stat), _mcse(cb, stat))
        assert abs(f(ca) - f(cb)) <= 3 * e
    # group effects: 96 of them, so allow the ~1% that 3 MCSE misses by chance
    _agree(pigs_bayes, pigs_plain, "b_id", frac_ok=0.97)


@pytest.mark.statistical
def test_marginalized_matches_plain_on_a_random_intercept_model(seed):
    df = hierarch.simulate.random_intercepts(J=30, n_mean=6, sigma_u=1.0, sigma_e=1.5, seed=5)
    m = hierarch.model("y ~ 1 + (1 | group)", df)
    a = m.fit(random_seed=seed, progressbar=False)
    b = m.fit(random_seed=seed + 1, progressbar=False, marginalize=False)
    assert a.spec["marginalized"] and not b.spec["marginalized"]
    for var in ("beta", "sigma", "sd_group"):
        _agree(a, b, var)
    _agree(a, b, "b_group", frac_ok=0.95)


def _penicillin():
    m = hierarch.model(
        "diameter ~ 1 + (1 | plate) + (1 | sample)", hierarch.load_dataset("penicillin")
    )
    assert m.can_marginalize and m.n_group_effects == 30
    return m


@pytest.fixture(scope="module")
def penicillin_marginal(seed):
    fit = _penicillin().fit(random_seed=seed, progressbar=False)
    assert fit.spec["marginalized"] and fit.diagnostics().ok
    return fit


@pytest.mark.statistical
@pytest.mark.slow
def test_marginalized_matches_plain_on_crossed_effects(seed, penicillin_marginal):
    """Acceptance (issue 5): penicillin, plate x sample crossed.  The plain model mixes slowly
    along the intercept ridge (ESS ~250 per 4000 draws), so it gets 4 x 2000 draws after 2000
    tuning steps; the MCSEs account for its lower ESS.  Slow tier (two minutes); the fast
    tier compares the dense and the sparse marginal fits below."""
    import warnings

    m = _penicillin()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        b = m.fit(random_seed=seed + 1, progressbar=False, marginalize=False, draws=2000, tune=2000)
    assert not b.spec["marginalized"]
    a = penicillin_marginal
    for var in ("beta", "sigma", "sd_plate", "sd_sample"):
        _agree(a, b, var)
    _agree(a, b, "b_plate", frac_ok=0.95)
    _agree(a, b, "b_sample", frac_ok=5 / 6)


@pytest.mark.statistical
def test_sparse_marginal_matches_dense_marginal_on_crossed_effects(seed, penicillin_marginal):
    """The same marginal model through the sparse (CHOLMOD) Op (issue 13) gives the dense
    marginal fit's posterior within 3 combined MCSE (the dense fit matches the plain model in
    the slow test above)."""
    m = _penicillin()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hierarch.Model, "MAX_MARGINAL_Q", 0)
        assert m._sparse_marginal
        c = m.fit(random_seed=seed + 2, progressbar=False, chains=2, draws=500, tune=400)
    assert c.spec["marginalized"] and c.diagnostics().ok
    a = penicillin_marginal
    for var in ("beta", "sigma", "sd_plate", "sd_sample"):
        _agree(c, a, var)
    _agree(c, a, "b_plate", frac_ok=0.95)
    _agree(c, a, "b_sample", frac_ok=5 / 6)


def test_multi_factor_marginal_density_equals_the_dense_gaussian():
    """Two factors, one with correlated effects: the Woodbury marginal log-likelihood equals
    the multivariate normal density with the dense n x n covariance (to 1e-10 relative: the
    values reach 1e5 at these points, and PyTensor may sum in another order in another
    process, which moves the last digits)."""
    from scipy import stats

    df = hierarch.load_dataset("sleepstudy")
    df = df.assign(site=(df["Subject"].astype(int) % 3).astype(str))
    m = hierarch.model("Reaction ~ Days + (Days | Subject) + (1 | site)", df)
    assert m.can_marginalize and not m._single_factor
    pmm = m.build_marginal()
    assert not any(v.name.startswith(("z_", "c_", "b_")) for v in pmm.free_RVs)
    out = pmm.compile_fn(
        [pmm["beta"], pmm["sigma"], pmm["sd_Subject"], pmm["corr_Subject"], pmm["sd_site"]]
        + pmm.potentials,
        inputs=pmm.value_vars,
        on_unused_input="ignore",
        mode="FAST_COMPILE",  # the graph's own arithmetic, without C compilation
    )
    point = pmm.initial_point()
    point = {k: v + 0.1 for k, v in point.items()}  # away from the symmetric start
    beta, sigma, sd_s, corr_s, sd_site, loglik = out(point)
    pf = m.parsed
    cov_s = np.outer(sd_s, sd_s) * corr_s
    subj, site = pf.blocks[0], pf.blocks[1]
    V = sigma**2 * np.eye(pf.n)
    same_s = subj.codes[:, None] == subj.codes[None, :]
    V += same_s * (subj.Z @ cov_s @ subj.Z.T)
    V += (site.codes[:, None] == site.codes[None, :]) * sd_site[0] ** 2
    want = stats.multivariate_normal(pf.X @ beta, V).logpdf(pf.y)
    assert float(loglik) == pytest.approx(want, rel=1e-10)


@pytest.mark.parametrize("as_data", [False, True])
@pytest.mark.parametrize(
    "formula", ["y ~ x + (1 | g)", "y ~ x + (x | g)", "y ~ x + w + (x + w | g)"]
)
def test_single_factor_marginal_density_equals_the_dense_gaussian(formula, as_data, monkeypatch):
    """One grouping factor with 1, 2 and 3 effects per group (closed forms and the batched
    Cholesky), statistics as constants and as data: the marginal log-likelihood equals the
    multivariate normal density with the dense n x n covariance (to 1e-10 relative, as above;
    unbalanced groups, one with a single row)."""
    from scipy import stats

    rng = np.random.default_rng(11)
    g = np.concatenate([np.repeat(np.arange(7), rng.integers(2, 6, 7)), [7]])
    df = pd.DataFrame(
        {
            "g": g,
            "x": rng.normal(size=len(g)),
            "w": rng.normal(size=len(g)),
            "y": rng.normal(size=len(g)),
        }
    )
    if as_data:
        monkeypatch.setattr(hierarch.Model, "STATS_AS_DATA", 0)
    m = hierarch.model(formula, df)
    pmm = m.build_marginal()
    assert any(d.name.startswith("stat_") for d in pmm.data_vars) == as_data
    b = m.parsed.blocks[0]
    names = ["beta", "sigma", "sd_g"] + (["corr_g"] if b.k > 1 else [])
    out = pmm.compile_fn(
        [pmm[v] for v in names] + pmm.potentials,
        inputs=pmm.value_vars,
        on_unused_input="ignore",
        mode="FAST_COMPILE",  # the graph's own arithmetic, without C compilation
    )
    point = {
        k: v + 0.1 * (1 + np.arange(np.size(v))).reshape(np.shape(v))
        for k, v in pmm.initial_point().items()
    }
    vals = out(point)
    beta, sigma, sd = vals[0], vals[1], vals[2]
    corr = vals[3] if b.k > 1 else np.ones((1, 1))
    cov = np.outer(sd, sd) * corr
    same = b.codes[:, None] == b.codes[None, :]
    V = sigma**2 * np.eye(m.parsed.n) + same * (b.Z @ cov @ b.Z.T)
    want = stats.multivariate_normal(m.parsed.X @ beta, V).logpdf(m.parsed.y)
    assert float(vals[-1]) == pytest.approx(want, rel=1e-10)


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # a short run
@pytest.mark.parametrize("kernels", ["1", "0"])
def test_large_crossed_models_are_marginalized_through_the_sparse_op(seed, monkeypatch, kernels):
    """Above MAX_MARGINAL_Q group effects the sparse (CHOLMOD) Op integrates them out, or for
    random intercepts the crossed kernel (fixed effects integrated out too, then drawn); the
    fit is not cached by structure (the Op holds the data's statistics)."""
    monkeypatch.setattr(hierarch.Model, "MAX_MARGINAL_Q", 20)
    monkeypatch.setenv("HIERARCH_KERNELS", kernels)
    m = hierarch.model(
        "diameter ~ 1 + (1 | plate) + (1 | sample)", hierarch.load_dataset("penicillin")
    )
    assert m.can_marginalize and m._sparse_marginal
    fit = m.fit(random_seed=seed, progressbar=False, draws=100, tune=100, chains=2)
    assert fit.spec["marginalized"] is True and not fit.spec["notes"]
    assert fit.spec["log_density"] == ("hierarch kernel" if kernels == "1" else "PyMC graph")
    assert fit.idata.posterior["b_plate"].shape[2:] == (24, 1)
    assert fit.idata.posterior["beta"].shape == (2, 100, 1)


@pytest.mark.parametrize("K", [1, 2])
def test_closed_form_conditional_draws_match_the_matrix_formula(rng, K):
    """b = L (A^-1 L'Z'r + sigma C'^-1 e): mean L A^-1 L'Z'r and covariance
    sigma^2 L A^-1 L' (to 1e-10), against batched matrix algebra."""
    from hierarch.bayes.conditional import _conditional_draw_small

    s, J = 3, 4
    L = np.tril(rng.normal(size=(s, K, K)))
    L[:, np.arange(K), np.arange(K)] = np.abs(L[:, np.arange(K), np.arange(K)]) + 0.5
    sigma = rng.uniform(0.5, 2.0, s)
    Zj = rng.normal(size=(J, 6, K))
    ZtZ = np.einsum("jna,jnb->jab", Zj, Zj)
    Ztr = rng.normal(size=(s, J, K))
    A = np.swapaxes(L, 1, 2)[:, None] @ ZtZ[None] @ L[:, None] + (sigma**2)[
        :, None, None, None
    ] * np.eye(K)
    Ainv = np.linalg.inv(A)
    mean = np.einsum("sab,sjbc,sdc,sjd->sja", L, Ainv, L, Ztr)
    got = _conditional_draw_small(L, sigma, ZtZ, Ztr, np.zeros((s, J, K)))
    np.testing.assert_allclose(got, mean, atol=1e-10)
    # the map e -> draw - mean is sigma L C'^-1: its square is the covariance
    cols = np.stack(
        [
            _conditional_draw_small(L, sigma, ZtZ, Ztr, np.broadcast_to(np.eye(K)[i], (s, J, K)))
            - mean
            for i in range(K)
        ],
        axis=-1,
    )
    cov = (sigma**2)[:, None, None, None] * (L[:, None] @ Ainv @ np.swapaxes(L, 1, 2)[:, None])
    np.testing.assert_allclose(cols @ np.swapaxes(cols, -1, -2), cov, atol=1e-10)


@pytest.mark.parametrize("formula", ["y ~ x + (1 | g)", "y ~ x + (1 | g) + (1 | h)"])
def test_weighted_marginal_density_equals_the_dense_gaussian(formula):
    """Prior weights (row i's residual variance sigma^2 / w_i) in the marginal model, one
    factor and several: the graph's log-likelihood equals the dense multivariate normal
    minus sum(log w) / 2 (the scaled-rows model's constant) to 1e-10 relative.  (The
    statistics were once taken of the unscaled rows: the weights were ignored.)"""
    from scipy import stats

    rng = np.random.default_rng(11)
    n = 60
    g, h, x = rng.integers(0, 6, n), rng.integers(0, 4, n), rng.normal(size=n)
    w = rng.uniform(0.5, 2.0, n)
    y = 1 + x + rng.normal(0, 1, 6)[g] + rng.normal(0, 1, n) / np.sqrt(w)
    df = pd.DataFrame({"g": g.astype(str), "h": h.astype(str), "x": x, "y": y, "w": w})
    m = hierarch.model(formula, df, weights="w")
    pmm = m.build_marginal()
    names = ["beta", "sigma"] + [f"sd_{b}" for b in m.block_names]
    fn = pmm.compile_fn(
        [pmm[v] for v in names] + pmm.potentials,
        inputs=pmm.value_vars,
        on_unused_input="ignore",
        mode="FAST_COMPILE",
    )
    point = {k: v + 0.1 for k, v in pmm.initial_point().items()}
    beta, sigma, *sds, value = fn(point)
    V = sigma**2 * np.diag(1 / w)
    for b, sd in zip(m.parsed.blocks, sds, strict=True):
        V += (b.codes[:, None] == b.codes[None, :]) * sd[0] ** 2
    want = stats.multivariate_normal(m.parsed.X @ beta, V).logpdf(m.parsed.y)
    assert float(value) == pytest.approx(want - 0.5 * np.sum(np.log(w)), rel=1e-10)
