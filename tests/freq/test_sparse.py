"""The sparse (CHOLMOD) algebra against the dense one on every reference case.

REML/ML: at the same theta (lme4's estimate and two points beside it) the deviance, fixed
effects, their covariance, sigma, conditional modes and conditional covariances agree to 1e-8
relative (seen: ~1e-12; the factorisations order the arithmetic differently), and the fitted
criteria to 1e-8 (the sparse fit against the dense one for several factors, against the
per-group blocks for one).  Laplace: the log-likelihood that the CHOLMOD factor gives equals
the one from a dense log-determinant of the same matrix at the conditional modes, to 1e-10
relative."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

import hierarch
from hierarch.core.formula import parse_formula
from hierarch.freq.lmm import _LMM, conditional, fit_lmm

HERE = Path(__file__).parents[1] / "reference"
LMERTEST = json.loads((HERE / "lmertest.json").read_text())["lmm"]
CASES = {
    "pigs": ("pigs", "weight ~ week + (week | id)"),
    "alcohol": ("alcohol", "alcohol ~ 1 + (1 | country)"),
    "sleepstudy": ("sleepstudy", "Reaction ~ Days + (Days | Subject)"),
    "sleepstudy_uncorr": ("sleepstudy", "Reaction ~ Days + (1 | Subject) + (0 + Days | Subject)"),
    "penicillin": ("penicillin", "diameter ~ 1 + (1 | plate) + (1 | sample)"),
    "pastes": ("pastes", "strength ~ 1 + (1 | batch/cask)"),
    "pigs_factor": ("pigs", "weight ~ C(week > 4) * week + (1 | id)"),
    "seed004_slopes": ("seed004_slopes", "Y ~ X + (X | Group)"),
    "seed004_nocorr": ("seed004_slopes", "Y ~ X + (0 + X | Group)"),
    "unbalanced_slopes": (HERE / "lmertest_sim_unbalanced.csv", "y ~ x + f + (x | g)"),
}


def _data(src):
    if isinstance(src, Path):
        df = pd.read_csv(src)
        df["g"] = df["g"].astype(str)
        return df
    return hierarch.load_dataset(src)


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    src, formula = CASES[request.param]
    return request.param, parse_formula(formula, _data(src))


def _algebras(pf):
    return ["dense", "sparse"] + (["blocks"] if len(pf.blocks) == 1 else [])


def _close(a, b, what):
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = max(np.max(np.abs(b)), 1e-300)
    assert np.max(np.abs(a - b)) <= 1e-8 * scale, what


@pytest.mark.parametrize("reml", [True, False])
def test_sparse_and_dense_agree_at_the_same_theta(case, reml):
    key, pf = case
    probs = {a: _LMM(pf, reml, a) for a in _algebras(pf)}
    theta0 = fit_lmm(pf, reml=reml).theta
    for theta in (theta0, theta0 * 1.3 + 0.05, theta0 * 0.6):
        ref = conditional(probs["dense"], theta)
        for name, m in probs.items():
            _close(m.deviance(theta), probs["dense"].deviance(theta), f"{key} {name}: deviance")
            got = conditional(m, theta)
            _close(got["solve"]["beta"], ref["solve"]["beta"], f"{key} {name}: beta")
            _close(got["vcov"], ref["vcov"], f"{key} {name}: vcov(beta)")
            _close(got["sigma2"], ref["sigma2"], f"{key} {name}: sigma")
            for i in range(len(pf.blocks)):
                _close(got["ranef"][i], ref["ranef"][i], f"{key} {name}: modes {i}")
                _close(got["condvar"][i], ref["condvar"][i], f"{key} {name}: condVar {i}")


def test_fitted_criteria_agree(case):
    """The sparse fit against the per-group blocks (one factor) or the dense algebra."""
    key, pf = case
    other = "blocks" if len(pf.blocks) == 1 else "dense"
    crit = {a: fit_lmm(pf, algebra=a).criterion for a in ("sparse", other)}
    assert abs(crit["sparse"] - crit[other]) <= 1e-8 * abs(crit[other]), (key, crit)
    if key in LMERTEST:  # and none is worse than lme4's optimum
        assert crit["sparse"] <= LMERTEST[key]["REMLcrit"] + 1e-7


def test_laplace_log_determinant_matches_dense(monkeypatch):
    """CHOLMOD forced (small systems use LAPACK): the fit and the log-likelihood through it."""
    from hierarch.freq import laplace

    monkeypatch.setattr(laplace, "_DENSE_MAX", 0)
    df = pd.read_csv(HERE / "glmm_sim_probit_crossed.csv")
    fit = hierarch.model("y ~ x + (1 | a) + (1 | b)", df, family="bernoulli", link="probit").fit(
        method="laplace"
    )
    glmm = fit.glmm.problem
    assert glmm._chol  # the fit went through CHOLMOD
    th = np.array([0.7, 0.4])
    b = np.array([0.1, 0.5])
    ll = glmm.loglik(th, b, None)
    x, obj, eta, ZL, _ = glmm.pirls(th, b, None)
    _, W = glmm.fam.score_info(glmm.y, glmm.n, eta, None, observed=glmm.observed)
    H = (ZL.T @ sparse.diags(W) @ ZL).toarray() + np.eye(glmm.q)
    dense = obj - 0.5 * np.linalg.slogdet(H)[1]
    assert abs(ll - dense) <= 1e-10 * abs(dense)


@pytest.mark.parametrize("max_pairs", [None, 0], ids=["bincount", "scipy-products"])
@pytest.mark.parametrize("dense_max", [300, 0], ids=["lapack", "cholmod"])
@pytest.mark.parametrize("free", [False, True], ids=["u", "u-and-beta"])
def test_pirls_system_formed_by_bincount_equals_the_sparse_product(
    monkeypatch, dense_max, free, max_pairs
):
    """A PIRLS step forms ``A'WA + P`` from the pairs of nonzeros per row (one bincount);
    its log-determinant and a solve equal those of SciPy's product (1e-10 relative: two
    summation orders).  Crossed grouse-tick effects with an observation-level effect."""
    from hierarch.freq import laplace

    monkeypatch.setattr(laplace, "_DENSE_MAX", dense_max)
    if max_pairs is not None:  # designs too large for the pairs: SciPy's products
        monkeypatch.setattr(laplace._Problem, "_MAX_PAIRS", max_pairs)
    df = hierarch.load_dataset("grouseticks")
    m = hierarch.model(
        "TICKS ~ cHEIGHT + (1 | BROOD) + (1 | LOCATION) + (1 | INDEX)", df, family="poisson"
    )
    if dense_max:  # without the observation-level effect: 181 unknowns, the LAPACK path
        m = hierarch.model("TICKS ~ cHEIGHT + (1 | BROOD) + (1 | LOCATION)", df, family="poisson")
    pf = m.parsed
    blocks = [(b.Z, b.codes, b.n_levels) for b in pf.blocks]
    prob = laplace._Problem(
        laplace.LAPLACE_FAMILIES["poisson"]("log"),
        pf.y,
        np.ones(pf.n),
        pf.X,
        blocks,
        np.zeros(pf.n),
        1,
    )
    ZL = prob.ZL(np.array([0.8, 0.5, 0.3][: len(blocks)]))
    A = prob._design(ZL, free)
    W = np.random.default_rng(3).uniform(0.1, 5.0, pf.n)
    pen = np.concatenate([np.ones(prob.q), np.zeros(A.shape[1] - prob.q)])
    H = (A.T @ sparse.diags(W) @ A).toarray() + np.diag(pen)
    f = prob._factor(A, W, free)
    assert (prob._pairs(A, free) is None) == (max_pairs == 0)
    assert type(f).__name__ == ("DenseFactor" if dense_max else "CholmodFactor")
    want = np.linalg.slogdet(H)[1]
    assert abs(f.logdet() - want) <= 1e-10 * abs(want)
    rhs = np.arange(A.shape[1], dtype=float)
    np.testing.assert_allclose(f.solve(rhs), np.linalg.solve(H, rhs), rtol=1e-8)
