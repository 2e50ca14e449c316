"""The Student-t mixed model's Laplace twin against glmmTMB's ``t_family`` (sigma and df
estimated) on sleepstudy and on a simulated random-intercept model with t(4) errors.
Reference values: tests/reference/families.json, made by make_families_reference.R
(glmmTMB 1.1.x, TMB's Laplace with the exact Hessian; R is not needed to run this)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierarch

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
REF = json.loads((REF_DIR / "families.json").read_text())

CASES = {
    "sleep_t": ("Reaction ~ Days + (Days | Subject)", "families_sleepstudy.csv", "Subject"),
    "sim_t": ("y ~ x + (1 | g)", "families_sim_t.csv", "g"),
}


def _sig(a, b, digits):
    """Agreement to ``digits`` significant digits: relative error below 0.5 * 10^(1-digits)."""
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return np.abs(a - b) <= 0.5 * 10.0 ** (1 - digits) * np.abs(b)


@pytest.fixture(scope="module", params=list(CASES))
def case(request):
    formula, csv, factor = CASES[request.param]
    data = pd.read_csv(REF_DIR / csv, dtype={factor: str})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reference fits converged: so must these
        fit = hierarch.model(formula, data, family="student_t").fit(method="laplace")
    return REF[request.param], fit, factor


def test_estimates_match_glmmtmb(case):
    # 4 significant digits on every estimate, standard error and SD (the bar; seen
    # 1e-6 .. 2e-5 relative: the likelihood is flat in the last digits of the fixed effects)
    ref, fit, factor = case
    fe = fit.fixed_effects()
    assert all(_sig(fe["estimate"], list(ref["fixef"].values()), 4))
    assert all(_sig(fe["se"], list(ref["se_fixef"].values()), 4))
    disp = fit.dispersion().set_index("parameter")
    assert _sig(disp.loc["sigma", "estimate"], ref["sigma"], 4).all()
    assert _sig(disp.loc["df", "estimate"], ref["df_t"], 4).all()
    # glmmTMB's standard errors of log(sigma) and log(df) (sdreport): 3 digits, as they come
    # from a finite-difference Hessian here
    assert _sig(disp["se_scale"], [ref["se_log_sigma"], ref["se_log_df_t"]], 3).all()
    sds = fit.group_sds()
    assert all(_sig(sds["estimate"], list(ref["varcorr"][factor]["sd"].values()), 4))
    cor = ref["varcorr"][factor]["correlation"]
    if len(cor) > 1:
        assert fit.correlations()["estimate"].iloc[0] == pytest.approx(cor[0][1], abs=1e-4)
    # the Laplace log-likelihood with every constant: 1e-6 absolute
    assert fit.loglik == pytest.approx(ref["logLik"], abs=1e-6)
    assert fit.n_params == ref["df"]
    assert fit.aic == pytest.approx(ref["AIC"], abs=1e-5)


def test_conditional_modes_match_glmmtmb(case):
    # conditional modes to 1e-3 of the largest mode (the estimates agree to ~1e-5)
    ref, fit, factor = case
    modes = ref["ranef"][factor]["modes"]
    re = fit.ranef()[next(iter(fit.ranef()))]
    re.index = re.index.astype(str)
    for col, want in modes.items():
        got = re.loc[ref["ranef"][factor]["levels"], col.strip("()")].to_numpy()
        scale = np.max(np.abs(want))
        np.testing.assert_allclose(got, want, atol=1e-3 * scale)


def test_intercept_only_glm_is_the_t_location_not_the_mean():
    # a separate fit's intercept (shrinkage's no-pooling column) is the MLE of the t
    # location with sigma and df held, not the sample mean (which the outlier drags): SciPy's
    # bounded search on the t log-density, 1e-6
    from scipy import optimize, stats

    from hierarch.freq.laplace import glm_fit

    y = np.array([1.0, 1.4, 0.7, 1.1, 0.9, 12.0])
    beta, ok = glm_fit(
        y, np.ones((6, 1)), family="student_t", link="identity", dispersion=(0.5, 3.0)
    )
    best = optimize.minimize_scalar(
        lambda m: -stats.t.logpdf(y, 3.0, loc=m, scale=0.5).sum(),
        bounds=(0, 5),
        method="bounded",
        options={"xatol": 1e-10},
    )
    assert ok and beta[0] == pytest.approx(best.x, abs=1e-6)
    assert abs(beta[0] - y.mean()) > 1.0
