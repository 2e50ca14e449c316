"""Leave-one-group-out cross-validation and LOO model comparison (issue 15, item 3).

Tolerances:
- the Gaussian per-group marginal log-likelihood (Woodbury, vectorized over draws) equals
  SciPy's multivariate normal density with the dense covariance to 1e-9 relative (both are
  double precision; the values are about -20);
- leave-one-group-out against brute-force refits without the group: within 3 combined Monte
  Carlo standard errors (delta method on ``log mean p``; the PSIS one from the smoothed
  weights, both inflated by ``draws / ESS`` of the likelihood values).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import arviz as az
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierarch
from hierarch.report import crossval
from hierarch.report.mixed import _draws

KW = dict(draws=500, tune=500, chains=2, progressbar=False)


def _dense_group_logpdf(fit, factor: str, j: int, s: int) -> float:
    """``log p(y_j | phi_s)`` by SciPy with the dense covariance of group ``j`` of
    ``factor``: the other factors' effects at their draws."""
    pf = fit.model.parsed
    d = _draws(fit)
    idx = [i for i, b in enumerate(pf.blocks) if b.factor == factor]
    rows = pf.blocks[idx[0]].codes == j
    mean = pf.X[rows] @ d.beta[s] + pf.offset_or_zero[rows]
    V = d.sigma[s] ** 2 * np.eye(rows.sum())
    for i, b in enumerate(pf.blocks):
        if i in idx:
            C = d.chol[i][s] @ d.chol[i][s].T
            V = V + b.Z[rows] @ C @ b.Z[rows].T
        else:
            mean = mean + (d.ranef[i][s][b.codes[rows]] * b.Z[rows]).sum(-1)
    return float(stats.multivariate_normal(mean, V).logpdf(pf.y[rows]))


def test_gaussian_group_marginal_equals_the_dense_density(pigs_bayes):
    ll, labels, how = crossval.group_loglik(pigs_bayes)
    assert how == "integrated" and ll.shape[-1] == len(labels) == 48
    flat = ll.reshape(-1, 48)
    for s in (0, 1234, flat.shape[0] - 1):
        for j in (0, 17, 47):
            ref = _dense_group_logpdf(pigs_bayes, "id", j, s)
            assert flat[s, j] == pytest.approx(ref, rel=1e-9)


@pytest.fixture(scope="module")
def crossed_fit(seed):
    """Two factors, one with two blocks ((1 | g) + (0 + x | g)) and one crossed with it."""
    rng = np.random.default_rng(3)
    n = 120
    g = rng.integers(0, 10, n)
    h = rng.integers(0, 6, n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 0.8, 10)[g] + 0.3 * rng.normal(size=10)[g] * x
    y = y + rng.normal(0, 0.5, 6)[h] + rng.normal(0, 1, n)
    df = pd.DataFrame({"y": y, "x": x, "g": g.astype(str), "h": h.astype(str)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        return hierarch.model("y ~ x + (1 | g) + (0 + x | g) + (1 | h)", df).fit(
            random_seed=seed, marginalize=False, **KW
        )


def test_group_marginal_with_several_blocks_and_crossed_factors(crossed_fit):
    for factor in ("g", "h"):
        ll, labels, _ = crossval.group_loglik(crossed_fit, factor)
        flat = ll.reshape(-1, len(labels))
        for s in (0, 321, 999):
            for j in (0, len(labels) - 1):
                ref = _dense_group_logpdf(crossed_fit, factor, j, s)
                assert flat[s, j] == pytest.approx(ref, rel=1e-9)
    with warnings.catch_warnings():  # 6 groups of 20 rows: each one moves sd_h (k > 0.7)
        warnings.simplefilter("ignore", hierarch.ParetoKWarning)
        cv = crossed_fit.logo("h")
    assert cv.factor == "h" and cv.loo_i.sizes["group"] == 6
    assert np.isfinite(float(cv.elpd_loo))


def _brute_force(refit, y_rows: np.ndarray, Z_rows: np.ndarray, X_rows: np.ndarray):
    """``log mean_s p(y_j | phi_s)`` over a refit's draws and its Monte Carlo SE (delta
    method, the ESS of the likelihood values)."""
    post = refit.idata.posterior
    beta = post["beta"].values.reshape(-1, X_rows.shape[1])
    sigma = post["sigma"].values.ravel()
    tau = post["sd_g"].values.reshape(-1)
    mean = beta @ X_rows.T
    ll = np.array(
        [
            stats.multivariate_normal(
                mean[s], sigma[s] ** 2 * np.eye(len(y_rows)) + tau[s] ** 2 * Z_rows @ Z_rows.T
            ).logpdf(y_rows)
            for s in range(len(sigma))
        ]
    )
    p = np.exp(ll - ll.max())
    ess = float(az.ess(p.reshape(post.sizes["chain"], -1)))
    return np.log(p.mean()) + ll.max(), p.std() / p.mean() / np.sqrt(ess)


def _psis_mcse(fit, ll_j: np.ndarray) -> float:
    """Monte Carlo SE of one group's PSIS estimate: the smoothed, normalized weights' variance
    of the ratio estimate, inflated by draws / ESS of the likelihood values."""
    lw, _ = az.psislw(-ll_j.ravel())
    w = np.exp(lw)
    p = np.exp(ll_j.ravel() - ll_j.max())
    est = (w * p).sum()
    ess = float(az.ess(p.reshape(ll_j.shape)))
    return float(np.sqrt((w**2 * (p / est - 1) ** 2).sum() * ll_j.size / ess))


@pytest.mark.statistical
def test_logo_equals_brute_force_refits_on_a_random_intercept_model(seed):
    rng = np.random.default_rng(11)
    J, n = 8, 6
    g = np.repeat(np.arange(J), n)
    x = rng.normal(size=J * n)
    y = 2 + 0.7 * x + rng.normal(0, 1.0, J)[g] + rng.normal(0, 0.8, J * n)
    df = pd.DataFrame({"y": y, "x": x, "g": [f"g{k}" for k in g]})
    m = hierarch.model("y ~ x + (1 | g)", df)
    fit = m.fit(random_seed=seed, **KW)
    cv = fit.logo()
    assert cv.method == "integrated"
    assert float(cv.pareto_k.max()) < crossval.K_THRESHOLD
    ll, labels, _ = crossval.group_loglik(fit)
    total, total_brute, var = 0.0, 0.0, 0.0
    for j in (0, 7):
        rows = g == j
        m_j = hierarch.model("y ~ x + (1 | g)", df[~rows], priors=fit.model.priors)
        refit = m_j.fit(random_seed=seed + j, **KW)
        X_rows = np.column_stack([np.ones(rows.sum()), x[rows]])
        brute, se_b = _brute_force(refit, y[rows], np.ones((rows.sum(), 1)), X_rows)
        est = float(cv.loo_i.sel(group=labels[j]))
        se_p = _psis_mcse(fit, ll[..., j])
        assert abs(est - brute) <= 3 * np.hypot(se_b, se_p), (j, est, brute, se_b, se_p)
        total, total_brute, var = total + est, total_brute + brute, var + se_b**2 + se_p**2
    assert abs(total - total_brute) <= 3 * np.sqrt(var)


def test_glmm_group_likelihood_integrates_the_effect_by_quadrature(seed):
    """A scalar group effect of a binomial model is integrated out by adaptive Gauss-Hermite
    quadrature: equal to SciPy's adaptive quadrature to 1e-8 relative (seen 2e-11), and the
    integrated weights leave every herd's Pareto k below 0.7."""
    from scipy import integrate
    from scipy.special import expit

    cbpp = hierarch.load_dataset("cbpp")
    m = hierarch.model("incidence | trials(size) ~ period + (1 | herd)", cbpp, family="binomial")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        fit = m.fit(random_seed=seed, **KW)
    ll, labels, how = crossval.group_loglik(fit)
    assert how == "integrated" and len(labels) == 15
    d, pf = _draws(fit), m.parsed
    flat = ll.reshape(-1, 15)
    for s in (0, 500, 999):
        for j in (0, 6, 14):
            rows = pf.blocks[0].codes == j
            eta0, sd = pf.X[rows] @ d.beta[s], d.chol[0][s][0, 0]
            y, n = pf.y[rows], m.trials[rows]

            def f(z, eta0=eta0, sd=sd, y=y, n=n):
                p = expit(eta0 + sd * z)
                return np.exp(stats.binom.logpmf(y, n, p).sum()) * stats.norm.pdf(z)

            ref = np.log(integrate.quad(f, -12, 12, epsabs=0, epsrel=1e-12, limit=200)[0])
            assert flat[s, j] == pytest.approx(ref, rel=1e-8)
    cv = fit.logo()
    assert cv.method == "integrated" and float(cv.pareto_k.max()) < crossval.K_THRESHOLD


def test_non_gaussian_logo_with_several_effects_uses_the_drawn_effects(seed):
    """Two effects per group of a Poisson model: the group's likelihood given its drawn
    effects (the sum of its rows'), flagged by a warning naming the groups when k is high."""
    rng = np.random.default_rng(8)
    g = np.repeat(np.arange(8), 10)
    x = rng.normal(size=80)
    eta = 0.5 + 0.3 * x + rng.normal(0, 0.5, 8)[g] + rng.normal(0, 0.3, 8)[g] * x
    df = pd.DataFrame({"y": rng.poisson(np.exp(eta)), "x": x, "g": g})
    m = hierarch.model("y ~ x + (x | g)", df, family="poisson")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        fit = m.fit(random_seed=seed, **KW)
    ll, labels, how = crossval.group_loglik(fit)
    assert how == "conditional" and len(labels) == 8
    rows = crossval.pointwise_loglik(fit)
    codes = m.parsed.blocks[0].codes
    for j in (0, 7):
        np.testing.assert_allclose(ll[..., j], rows[..., codes == j].sum(-1), rtol=1e-12)
    with pytest.MonkeyPatch.context() as mp:  # every group flagged: the message names them
        mp.setattr(crossval, "K_THRESHOLD", -np.inf)
        with pytest.warns(hierarch.ParetoKWarning, match=r"8 of 8 groups \(0, 1, 2,"):
            fit.logo()


def test_loo_compare_ranks_the_models_and_checks_its_input(pigs_bayes, pigs_reml, seed):
    pigs = hierarch.load_dataset("pigs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        a = hierarch.model("weight ~ week + (1 | id)", pigs).fit(random_seed=seed, **KW)
    table = hierarch.loo_compare({"intercepts": a, "slopes": pigs_bayes}, by="id")
    # random slopes predict a new pig's growth far better (elpd difference ~150, se ~25)
    assert list(table.index) == ["slopes", "intercepts"]
    assert table.loc["intercepts", "elpd_diff"] > 3 * table.loc["intercepts", "dse"]
    assert table.attrs["by"] == "id"
    with pytest.warns(hierarch.ParetoKWarning, match="rows"):  # row-wise LOO of pigs
        rows = hierarch.loo_compare([a, pigs_bayes])
    assert set(rows.index) == {"weight ~ week + (1 | id)", "weight ~ week + (week | id)"}
    with pytest.raises(ValueError, match="at least two fits"):
        hierarch.loo_compare({"a": a})
    with pytest.raises(ValueError, match="'ml' is a reml fit"):
        hierarch.loo_compare({"bayes": a, "ml": pigs_reml})
    with pytest.raises(ValueError, match="no random effects by 'week'"):
        hierarch.loo_compare({"a": a, "b": pigs_bayes}, by="week")
    other = pigs.assign(weight=pigs["weight"] + 1.0)
    b = hierarch.model("weight ~ week + (1 | id)", other).fit(method="reml")
    with pytest.raises(ValueError, match="not fitted to the same response"):
        hierarch.loo_compare({"a": a, "b": b})
    with pytest.raises(ValueError, match="needs a Bayesian fit"):
        crossval.logo(pigs_reml)


def _brute_force_pig(refit, y: np.ndarray, week: np.ndarray) -> tuple[float, float]:
    """``log mean_s p(y_j | phi_s)`` over a pigs refit's draws (the pig's two correlated
    effects integrated out: dense 9 x 9 normal density per draw) and its MCSE."""
    post = refit.idata.posterior
    beta = post["beta"].values.reshape(-1, 2)
    sigma = post["sigma"].values.ravel()
    sd = post["sd_id"].values.reshape(-1, 2)
    rho = post["corr_id"].values.reshape(-1, 2, 2)[:, 0, 1]
    Z = np.column_stack([np.ones_like(week), week])
    C = np.empty((len(sigma), 2, 2))
    C[:, 0, 0], C[:, 1, 1] = sd[:, 0] ** 2, sd[:, 1] ** 2
    C[:, 0, 1] = C[:, 1, 0] = rho * sd[:, 0] * sd[:, 1]
    ll = np.array(
        [
            stats.multivariate_normal(
                beta[s] @ Z.T, Z @ C[s] @ Z.T + sigma[s] ** 2 * np.eye(len(y))
            ).logpdf(y)
            for s in range(len(sigma))
        ]
    )
    p = np.exp(ll - ll.max())
    ess = float(az.ess(p.reshape(post.sizes["chain"], -1)))
    return float(np.log(p.mean()) + ll.max()), float(p.std() / p.mean() / np.sqrt(ess))


@pytest.mark.slow
@pytest.mark.statistical
def test_logo_on_pigs_equals_refitting_without_each_pig(pigs_bayes, seed):
    """Acceptance (issue 15): leave-one-group-out on pigs against 48 refits, each without one
    pig, at the default sampler settings. Each pig's estimate within 3 combined MCSE (46 of 48
    at least: 48 comparisons), the sum within 3 combined MCSE."""
    pigs = hierarch.load_dataset("pigs")
    cv = pigs_bayes.logo()
    ll, labels, _ = crossval.group_loglik(pigs_bayes)
    ok, diff, var = [], 0.0, 0.0
    for j, pig in enumerate(labels):
        rows = (pigs["id"] == pig).to_numpy()
        # the full model's priors (the defaults are scaled to the data: rescaled to 47 pigs,
        # it would be another model); one compiled sampler for every refit
        m = hierarch.model(
            "weight ~ week + (week | id)", pigs[~rows], priors=pigs_bayes.model.priors
        )
        m.STATS_AS_DATA = 0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
            refit = m.fit(random_seed=seed + j + 1, progressbar=False)
        brute, se_b = _brute_force_pig(
            refit, pigs.loc[rows, "weight"].to_numpy(float), pigs.loc[rows, "week"].to_numpy(float)
        )
        se_p = _psis_mcse(pigs_bayes, ll[..., j])
        est = float(cv.loo_i.values[j])
        ok.append(abs(est - brute) <= 3 * np.hypot(se_b, se_p))
        diff, var = diff + est - brute, var + se_b**2 + se_p**2
    assert sum(ok) >= 46, sum(ok)
    assert abs(diff) <= 3 * np.sqrt(var)


def _group_integral(fam, link, eta0, sd, y, phi):
    """log of the integral of a group's likelihood over its N(0, sd^2) effect (SciPy)."""
    from scipy import integrate

    def f(z):
        return np.exp(fam.loglik(y, None, eta0 + sd * z, phi).sum()) * stats.norm.pdf(z)

    return np.log(integrate.quad(f, -12, 12, epsabs=0, epsrel=1e-12, limit=200)[0])


@pytest.mark.parametrize(
    "family,formula,csv,factor",
    [
        ("cumulative", "rating ~ temp + contact + (1 | judge)", "families_wine.csv", "judge"),
        pytest.param(
            "student_t", "y ~ x + (1 | g)", "families_sim_t.csv", "g", marks=pytest.mark.slow
        ),
        pytest.param(
            "zero_inflated_negative_binomial",
            "y ~ x + (1 | g)",
            "families_sim_zi.csv",
            "g",
            marks=pytest.mark.slow,
        ),
    ],
)
def test_new_families_group_likelihood_by_quadrature(family, formula, csv, factor, seed):
    """The ordinal, Student-t (not log-concave: Fisher-scoring steps to the mode) and
    zero-inflated families' group likelihoods, a scalar effect integrated out by adaptive
    Gauss-Hermite quadrature, equal SciPy's adaptive quadrature to 1e-7 relative."""
    from hierarch.core.families import LAPLACE_FAMILIES
    from hierarch.report.mixed import _extra

    ref_dir = Path(__file__).resolve().parents[1] / "reference"
    data = pd.read_csv(ref_dir / csv, dtype={factor: str})
    m = hierarch.model(formula, data, family=family)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        fit = m.fit(random_seed=seed, **KW)
    ll, labels, how = crossval.group_loglik(fit)
    assert how == "integrated" and np.all(np.isfinite(ll))
    flat = ll.reshape(-1, len(labels))
    d, pf = _draws(fit), m.parsed
    fam = LAPLACE_FAMILIES[family](m.link)
    S = flat.shape[0]
    for s in (0, S // 2, S - 1):
        extra = _extra(fit, np.array([s]))
        phi = (
            tuple(float(e[0, 0]) for e in extra) if isinstance(extra, tuple) else float(extra[0, 0])
        )
        for j in (0, len(labels) - 1):
            rows = pf.blocks[0].codes == j
            eta0, sd = pf.X[rows] @ d.beta[s], d.chol[0][s][0, 0]
            ref = _group_integral(fam, m.link, eta0, sd, pf.y[rows], phi)
            assert flat[s, j] == pytest.approx(ref, rel=1e-7), (s, j)
