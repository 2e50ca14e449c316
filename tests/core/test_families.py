"""The logit-scale binomial and Bernoulli likelihoods (hierarch.core.families._logit_binomial) are
the binomial and Bernoulli log pmfs, and predictive draws come from those distributions."""

from __future__ import annotations

import numpy as np
import pymc as pm
import pytest
from scipy import stats

from hierarch.core.families import FAMILIES
from hierarch.core.priors import Prior


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


@pytest.mark.parametrize("link", ["1/mu^2", "log", "identity"])
def test_inverse_gaussian_pieces(link, rng):
    # the Laplace pieces against SciPy's density and finite differences; the PyMC likelihood
    # (pm.Wald) against the same density.  Tolerances: 1e-10 for closed forms, 1e-5 for
    # central differences with step 1e-5
    from hierarch.core.families import LAPLACE_FAMILIES, link_np

    fam = FAMILIES["inverse_gaussian"]
    mu = rng.uniform(0.5, 3.0, 30)
    lam = 2.5
    eta = link_np(link, mu)
    y = fam.rvs(rng, link, eta, extra=lam)
    ones = np.ones_like(y)
    pieces = LAPLACE_FAMILIES["inverse_gaussian"](link)
    expected = stats.invgauss.logpdf(y, mu / lam, scale=lam)
    np.testing.assert_allclose(pieces.loglik(y, ones, eta, lam), expected, rtol=1e-10)
    np.testing.assert_allclose(fam.logpdf(y, link, eta, extra=lam), expected, rtol=1e-10)
    h = 1e-5 * np.maximum(np.abs(eta), 1.0)
    up = pieces.loglik(y, ones, eta + h, lam)
    down = pieces.loglik(y, ones, eta - h, lam)
    score, observed = pieces.score_info(y, ones, eta, lam, observed=True)
    np.testing.assert_allclose(score, (up - down) / (2 * h), rtol=1e-5, atol=1e-8)
    second = (up - 2 * pieces.loglik(y, ones, eta, lam) + down) / h**2
    np.testing.assert_allclose(observed, -second, rtol=1e-4, atol=1e-5)
    mean, var = fam.moments(link, eta, extra=lam)
    np.testing.assert_allclose(var, mu**3 / lam, rtol=1e-12)
    with pm.Model() as m:
        priors = {"lam": Prior("HalfNormal", sigma=5.0)}
        fam.likelihood(pm, link, pm.Data("eta", eta), y, None, priors, dims=None)
    logp = m.compile_logp(vars=[m["y"]], sum=True)
    np.testing.assert_allclose(logp({"lam_log__": np.log(lam)}), expected.sum(), rtol=1e-10)


def test_inverse_gaussian_draws(rng):
    # 40,000 draws: mean and variance within 5 standard errors of mu and mu^3 / lam
    fam = FAMILIES["inverse_gaussian"]
    y = fam.rvs(rng, "log", np.full(40_000, np.log(2.0)), extra=3.0)
    assert abs(y.mean() - 2.0) < 5 * np.sqrt(8 / 3 / 40_000)
    assert abs(y.var() / (8 / 3) - 1) < 0.05


def test_student_t_pieces(rng):
    # the Laplace pieces against SciPy's density and finite differences (score and observed
    # information, negative for rows far out in the tails); the expected information against
    # a Monte Carlo mean of the squared score; the PyMC likelihood against the same density.
    # Tolerances: 1e-10 for closed forms, 1e-5 / 1e-4 for central differences with step 1e-5
    # times max(|eta|, 1), 5 standard errors of the Monte Carlo mean
    from hierarch.core.families import LAPLACE_FAMILIES

    fam = FAMILIES["student_t"]
    mu = rng.normal(3.0, 2.0, 40)
    sigma, nu = 1.7, 3.5
    y = fam.rvs(rng, "identity", mu, extra=(sigma, nu))
    y[:3] = mu[:3] + np.array([15.0, -20.0, 9.0])  # outliers: negative observed information
    ones = np.ones_like(y)
    pieces = LAPLACE_FAMILIES["student_t"]("identity")
    phi = (sigma, nu)
    expected = stats.t.logpdf(y, nu, mu, sigma)
    np.testing.assert_allclose(pieces.loglik(y, ones, mu, phi), expected, rtol=1e-10)
    np.testing.assert_allclose(fam.logpdf(y, "identity", mu, extra=phi), expected, rtol=1e-10)
    h = 1e-5 * np.maximum(np.abs(mu), 1.0)
    up, down = pieces.loglik(y, ones, mu + h, phi), pieces.loglik(y, ones, mu - h, phi)
    score, observed = pieces.score_info(y, ones, mu, phi, observed=True)
    np.testing.assert_allclose(score, (up - down) / (2 * h), rtol=1e-5, atol=1e-8)
    second = (up - 2 * pieces.loglik(y, ones, mu, phi) + down) / h**2
    np.testing.assert_allclose(observed, -second, rtol=1e-4, atol=1e-5)
    assert np.all(observed[:3] < 0)
    big = fam.rvs(rng, "identity", np.zeros(200_000), extra=phi)
    s2 = pieces.score_info(big, np.ones_like(big), np.zeros_like(big), phi)[0] ** 2
    _, info = pieces.score_info(big[:1], np.ones(1), np.zeros(1), phi)
    assert abs(s2.mean() - info[0]) < 5 * s2.std() / np.sqrt(len(s2))
    mean, var = fam.moments("identity", mu, extra=phi)
    np.testing.assert_allclose(var, sigma**2 * nu / (nu - 2), rtol=1e-12)
    assert np.all(np.isinf(fam.moments("identity", mu, extra=(sigma, 1.5))[1]))
    with pm.Model() as m:
        priors = {"sigma": Prior("HalfNormal", sigma=5.0), "nu": Prior("Gamma", alpha=2, beta=0.1)}
        fam.likelihood(pm, "identity", pm.Data("eta", mu), y, None, priors, dims=None)
    logp = m.compile_logp(vars=[m["y"]], sum=True)
    point = {"sigma_log__": np.log(sigma), "nu_log__": np.log(nu)}
    np.testing.assert_allclose(logp(point), expected.sum(), rtol=1e-10)


def test_student_t_draws(rng):
    # 40,000 draws with df = 5: the median within 5 standard errors (1 / (2 f(0) sqrt(n)),
    # f the density), the variance sigma^2 df / (df - 2) within 10 % (its sampling error is
    # large: df = 5 leaves the fourth moment barely finite)
    fam = FAMILIES["student_t"]
    n = 40_000
    y = fam.rvs(rng, "identity", np.full(n, 2.0), extra=(0.5, 5.0))
    se_median = 1 / (2 * stats.t.pdf(0, 5, scale=0.5) * np.sqrt(n))
    assert abs(np.median(y) - 2.0) < 5 * se_median
    assert abs(y.var() / (0.25 * 5 / 3) - 1) < 0.1


ZERO_MODELS = [
    ("zero_inflated_poisson", 0.3),
    ("zero_inflated_negative_binomial", (2.0, 0.3)),
    ("hurdle_poisson", 0.4),
    ("hurdle_negative_binomial", (1.5, 0.4)),
]


@pytest.mark.parametrize("family,phi", ZERO_MODELS)
def test_zero_model_pieces(family, phi, rng):
    # the pmf sums to 1 and equals PyMC's (zero-inflated / hurdle distributions with
    # psi = 1 - zi); the score and observed information equal central differences (step
    # 1e-5, tolerances 1e-5 / 1e-4); the expected information equals the exact mean of the
    # squared score over the pmf (1e-10); the moments equal the pmf's (1e-8)
    from hierarch.core.families import LAPLACE_FAMILIES

    fam = FAMILIES[family]
    pieces = LAPLACE_FAMILIES[family]("log")
    grid = np.arange(0, 400, dtype=float)
    for eta in (-1.5, 0.3, 2.0):
        e = np.full_like(grid, eta)
        lp = pieces.loglik(grid, None, e, phi)
        assert np.exp(lp).sum() == pytest.approx(1.0, abs=1e-10)
        h = 1e-5
        up, down = pieces.loglik(grid, None, e + h, phi), pieces.loglik(grid, None, e - h, phi)
        score, observed = pieces.score_info(grid, None, e, phi, observed=True)
        keep = np.exp(lp) > 1e-12  # where the pmf is not negligible
        np.testing.assert_allclose(score[keep], ((up - down) / (2 * h))[keep], rtol=1e-5, atol=1e-8)
        second = (up - 2 * lp + down) / h**2
        np.testing.assert_allclose(observed[keep], -second[keep], rtol=1e-4, atol=1e-4)
        _, expected = pieces.score_info(grid[:1], None, e[:1], phi)
        assert expected[0] == pytest.approx(np.sum(np.exp(lp) * score**2), rel=1e-10)
        mean, var = fam.moments("log", np.array([eta]), extra=phi)
        m = np.sum(np.exp(lp) * grid)
        assert mean[0] == pytest.approx(m, rel=1e-8)
        assert var[0] == pytest.approx(np.sum(np.exp(lp) * (grid - m) ** 2), rel=1e-8)
    # PyMC's likelihood is the same pmf
    names = fam.extra
    values = phi if isinstance(phi, tuple) else (phi,)
    priors = {
        n: Prior("Beta", alpha=1.0, beta=1.0) if n in ("zi", "hu") else Prior("Exponential", lam=1)
        for n in names
    }
    y = np.array([0, 0, 1, 3, 7, 12, 0, 2])
    eta = rng.normal(0.5, 0.7, len(y))
    with pm.Model() as m:
        fam.likelihood(pm, "log", pm.Data("eta", eta), y, None, priors, dims=None)
    logp = m.compile_logp(vars=[m["y"]], sum=True)
    point = {}
    for n, v in zip(names, values, strict=True):
        point[f"{n}_logodds__" if n in ("zi", "hu") else f"{n}_log__"] = (
            np.log(v / (1 - v)) if n in ("zi", "hu") else np.log(v)
        )
    expected = pieces.loglik(y.astype(float), None, eta, phi).sum()
    np.testing.assert_allclose(logp(point), expected, rtol=1e-8)


@pytest.mark.parametrize("family,phi", ZERO_MODELS)
def test_zero_model_draws(family, phi, rng):
    # 40,000 draws: the share of zeros and the mean within 5 standard errors of the pmf's
    from hierarch.core.families import LAPLACE_FAMILIES

    fam = FAMILIES[family]
    n = 40_000
    y = fam.rvs(rng, "log", np.full(n, 0.8), extra=phi)
    p0 = np.exp(LAPLACE_FAMILIES[family]("log").loglik(np.zeros(1), None, np.full(1, 0.8), phi))
    assert abs(np.mean(y == 0) - p0[0]) < 5 * np.sqrt(p0[0] * (1 - p0[0]) / n)
    mean, var = fam.moments("log", np.array([0.8]), extra=phi)
    assert abs(y.mean() - mean[0]) < 5 * np.sqrt(var[0] / n)
