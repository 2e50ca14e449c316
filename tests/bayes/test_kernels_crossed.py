"""The crossed Gaussian kernel (:class:`hierarch.bayes.kernels.CrossedKernel`): several
grouping factors of random intercepts, every group effect and the fixed effects integrated
out, NUTS on the log SDs and log sigma only.

Tolerances: the log-density equals the dense multivariate normal of ``y`` (covariance
``sigma^2 I + Z D Z' + X S0 X'``, ``S0`` the fixed effects' prior covariance) plus the same
prior terms to 1e-10 relative (values ~1e3; the two differ only in the order of the
arithmetic); the gradient equals central finite differences (step 1e-6) to 1e-6 of its
largest entry (the differences' own error is ~1e-8 here); joint draws of fixed and group
effects have the exact conditional mean and variance within 4.5 Monte Carlo standard errors
(613 of each: a false alarm on ~0.4 % of seeds);
a fit gives the dense marginal model's posterior within 3 combined MCSE."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import hierarch
from hierarch.bayes._kernel_common import sd_prior


def _data(rng, n=700, na=400, nb=150, nc=130):
    """Three crossed factors, so that the Schur complement (2 fixed effects + ~280 levels)
    spans three of the kernel's 128-column chunks."""
    a, b, c = rng.integers(0, na, n), rng.integers(0, nb, n), rng.integers(0, nc, n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 0.7, na)[a] + rng.normal(0, 0.4, nb)[b]
    y += rng.normal(0, 0.3, nc)[c] + rng.normal(0, 0.5, n)
    return pd.DataFrame(
        {"a": a.astype(str), "b": b.astype(str), "c": c.astype(str), "x": x, "y": y}
    )


FORMULA = "y ~ x + (1 | a) + (1 | b) + (1 | c)"
PRIORS = {
    "sd_b": {"dist": "HalfStudentT", "nu": 4, "sigma": 0.8},
    "sd_c": {"dist": "Exponential", "lam": 2.0},
    "sigma": {"dist": "HalfCauchy", "beta": 1.5},
}


@pytest.fixture(scope="module")
def crossed():
    rng = np.random.default_rng(20261202)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(hierarch.Model, "MAX_MARGINAL_Q", 0)  # the sparse path at any size
        m = hierarch.model(FORMULA, _data(rng), priors=PRIORS)
        assert m._sparse_marginal
        pm_model = m.build_marginal()
    k = pm_model._hierarch_kernel
    assert k is not None and k.e == 0 and len(k.Wty) > 2 * 128  # three chunks
    return m, k


def _dense_design(m, k):
    pf = m.parsed
    Z = np.hstack([np.eye(b.n_levels)[b.codes] for b in pf.blocks])
    return pf.X, Z, pf.y


def _dense_logp(m, k, x):
    """log N(y | X m0, s I + Z D Z' + X S0 X') + the SD and sigma priors (kernel's scale)."""
    X, Z, y = _dense_design(m, k)
    tau, sig = np.exp(x[:-1]), np.exp(x[-1])
    D = np.concatenate([np.full(J, t**2) for J, t in zip(k.J, tau, strict=True)])
    S0 = np.diag(1 / k.pprec[: k.p])
    V = sig**2 * np.eye(len(y)) + (Z * D) @ Z.T + X @ S0 @ X.T
    value = stats.multivariate_normal(X @ k.pmean[: k.p], V).logpdf(y)
    for j, t in enumerate(tau):
        value += sd_prior(k.sd_kind[j], k.sd_a[j], k.sd_b[j], t)[0] + x[j]
    return value + sd_prior(*k.sigma_prior, sig)[0] + x[-1]


def test_density_and_gradient_equal_the_dense_gaussian(crossed):
    m, k = crossed
    rng = np.random.default_rng(1)
    for _ in range(2):
        x0 = np.r_[rng.normal(-0.7, 0.4, 3), np.log(0.5) + rng.normal(0, 0.2)]
        value, grad = k.logp(x0)
        assert value == pytest.approx(_dense_logp(m, k, x0), rel=1e-10)
        h = 1e-6
        fd = np.array([(k.logp(x0 + h * e)[0] - k.logp(x0 - h * e)[0]) / (2 * h)
                       for e in np.eye(len(x0))])  # fmt: skip
        assert np.max(np.abs(grad - fd)) <= 1e-6 * np.max(np.abs(grad))


def test_joint_draws_have_the_exact_conditional_moments(crossed):
    """(beta, b) | SDs, sigma, y ~ N(H^-1 h, H^-1) with H = W'W / s + P, h = W'y / s + P m."""
    m, k = crossed
    X, Z, y = _dense_design(m, k)
    sds, sig = np.array([0.6, 0.35, 0.25]), 0.5
    S = 4000
    beta, b = k.draws(np.tile(sds, (S, 1)), np.full(S, sig), np.random.default_rng(2))
    W = np.hstack([X, Z])
    P = np.concatenate(
        [k.pprec[: k.p]] + [np.full(J, 1 / t**2) for J, t in zip(k.J, sds, strict=True)]
    )
    m0 = np.concatenate([k.pmean[: k.p], np.zeros(int(k.J.sum()))])
    H = W.T @ W / sig**2 + np.diag(P)
    cov = np.linalg.inv(H)
    mean = cov @ (W.T @ y / sig**2 + P * m0)
    u = np.hstack([beta, b])
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(u.mean(0) - mean) <= 4.5 * sd / np.sqrt(S))
    # variances: the SE of a sample variance is ~ var * sqrt(2 / S)
    assert np.all(np.abs(u.var(0) - sd**2) <= 4.5 * sd**2 * np.sqrt(2 / S))


def test_models_outside_the_class_keep_the_sparse_op(monkeypatch):
    rng = np.random.default_rng(3)
    df = _data(rng, n=200, na=30, nb=10, nc=5)
    monkeypatch.setattr(hierarch.Model, "MAX_MARGINAL_Q", 0)
    slopes = hierarch.model("y ~ x + (x | a) + (1 | b)", df).build_marginal()
    assert slopes._hierarch_kernel is None
    t_prior = hierarch.model(FORMULA, df, priors={"x": {"dist": "StudentT", "nu": 3,
                                                        "mu": 0, "sigma": 1}})  # fmt: skip
    assert t_prior.build_marginal()._hierarch_kernel is None
    monkeypatch.setenv("HIERARCH_KERNELS", "0")
    assert hierarch.model(FORMULA, df).build_marginal()._hierarch_kernel is None


@pytest.mark.statistical
@pytest.mark.slow  # the dense graph's compilation: ~100 s (penicillin covers the fast tier)
def test_fit_equals_the_dense_marginal_fit(monkeypatch):
    """Two crossed factors (30 x 12 levels, 400 rows): the kernel's fit (fixed effects drawn
    afterwards) against the dense marginal graph's (fixed effects sampled), every parameter
    and the group effects within 3 combined MCSE (mean and SD)."""
    from .test_marginal import _agree

    rng = np.random.default_rng(4)
    n, na, nb = 400, 30, 12
    a, b = rng.integers(0, na, n), rng.integers(0, nb, n)
    x = rng.normal(size=n)
    y = 1 + 0.5 * x + rng.normal(0, 0.7, na)[a] + rng.normal(0, 0.4, nb)[b]
    df = pd.DataFrame({"a": a.astype(str), "b": b.astype(str), "x": x,
                       "y": y + rng.normal(0, 0.5, n)})  # fmt: skip
    m = hierarch.model("y ~ x + (1 | a) + (1 | b)", df)
    dense = m.fit(random_seed=5, progressbar=False, chains=2, draws=1000, tune=500)
    assert dense.spec["log_density"] == "PyMC graph"
    monkeypatch.setattr(hierarch.Model, "MAX_MARGINAL_Q", 0)
    fit = m.fit(random_seed=6, progressbar=False, chains=2, draws=1000, tune=500)
    assert fit.spec["log_density"] == "hierarch kernel" and fit.diagnostics().ok
    assert fit.idata.posterior["beta"].dims[:2] == ("chain", "draw")
    for var in ("beta", "sigma", "sd_a", "sd_b"):
        _agree(fit, dense, var)
    _agree(fit, dense, "b_a", frac_ok=0.95)
    _agree(fit, dense, "b_b", frac_ok=11 / 12)


def test_the_c_entry_points_use_the_laplace_coordinates(crossed):
    """nutpie samples x with theta = mode + C x (C C' the inverse negative Hessian): the C
    entry point's value is the density at theta (1e-12), its gradient C' times the theta
    gradient (to 1e-5 of its largest element: the entry point takes the traces of the
    gradient in single precision, see the next test); at x = 0 the gradient vanishes (the
    mode, to 1e-3 of a unit-scale gradient) and the Hessian in x is -I (central differences,
    1e-3)."""
    import ctypes

    from hierarch.bayes import _kernel_crossed

    m, k = crossed
    k.precondition()
    table = k.table()
    n = k.n_dim
    dp = ctypes.POINTER(ctypes.c_double)

    def c_logp(x):
        x = np.ascontiguousarray(x, dtype=float)
        out, lp = np.empty(n), np.empty(1)
        rc = _kernel_crossed.crossed_logp_c.ctypes(
            n, x.ctypes.data_as(dp), out.ctypes.data_as(dp), lp.ctypes.data_as(dp),
            table.ctypes.data,
        )  # fmt: skip
        assert rc == 0
        return lp[0], out

    x = np.random.default_rng(5).normal(size=n)
    value, grad = c_logp(x)
    ref, gref = k.logp(k.shift + k.C @ x)
    assert value == pytest.approx(ref, rel=1e-12)
    gx = k.C.T @ gref
    np.testing.assert_allclose(grad, gx, rtol=0, atol=1e-5 * max(1.0, np.max(np.abs(gx))))
    assert np.max(np.abs(c_logp(np.zeros(n))[1])) <= 1e-3
    h = 1e-2  # the single-precision traces' rounding (~1e-7) over 2h stays far below 1e-3
    hess = np.array([(c_logp(h * e)[1] - c_logp(-h * e)[1]) / (2 * h) for e in np.eye(n)])
    np.testing.assert_allclose(hess, -np.eye(n), atol=1e-3)
    sds = np.empty(n)
    rc = _kernel_crossed.crossed_expand_c.ctypes(
        n, n, x.ctypes.data_as(dp), sds.ctypes.data_as(dp), table.ctypes.data
    )
    assert rc == 0
    np.testing.assert_allclose(sds, np.exp(k.shift + k.C @ x), rtol=1e-12)


def test_the_samplers_single_precision_traces_change_only_the_gradients_last_digits(crossed):
    """The sampler's gradient takes the traces of H^-1 from a single-precision inverse of the
    (double-precision) factor: the value is the same number, the gradient equal to the
    double-precision one to 1e-5 of its largest element (float32 rounding of a factor with a
    condition number in the hundreds; measured at InstEval size: ~1e-7), at points far from
    the mode as well as near it."""
    m, k = crossed
    rng = np.random.default_rng(11)
    for _ in range(4):
        x0 = np.r_[rng.normal(-0.7, 1.0, 3), np.log(0.5) + rng.normal(0, 0.5)]
        value, grad = k.logp(x0)
        fvalue, fgrad = k.logp(x0, fast=True)
        assert fvalue == value
        assert np.max(np.abs(fgrad - grad)) <= 1e-5 * max(1.0, np.max(np.abs(grad)))
