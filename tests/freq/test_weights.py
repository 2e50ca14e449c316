"""Prior weights (``weights=``) of Gaussian mixed models against lme4's ``weights``: a row's
residual variance is ``sigma^2 / w`` (tests/reference/weights.json, made by
make_weights_reference.R on sleepstudy with two weight columns; R is not needed here)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierarch

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
REF = json.loads((REF_DIR / "weights.json").read_text())
CASES = {
    "reml_w": ("Reaction ~ Days + (Days | Subject)", "w", "reml"),
    "ml_w": ("Reaction ~ Days + (Days | Subject)", "w", "ml"),
    "reml_w2": ("Reaction ~ Days + (1 | Subject)", "w2", "reml"),
}


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REF_DIR / "weights_sleepstudy.csv")


@pytest.mark.parametrize("key", list(CASES))
def test_weighted_lmm_matches_lme4(key, data):
    # estimates, SEs and sigma to 1e-5 relative, theta to 1e-4 (1e-5 absolute for the
    # near-zero correlation term; seen 5e-6: lme4's optimiser stops there); the REML
    # criterion / deviance, which includes -sum(log w) as lme4's, to 1e-6;
    # conditional modes to 1e-4 of the largest; the first rows' fitted values to 1e-5
    # relative, their response and Pearson residuals (sqrt(w) (y - fitted)) to 5e-3 absolute
    # (the same 1e-5 of a fitted value of about 250)
    formula, w, method = CASES[key]
    ref = REF[key]
    fit = hierarch.model(formula, data, weights=w).fit(method=method)
    lm = fit.lmm
    np.testing.assert_allclose(lm.beta, list(ref["fixef"].values()), rtol=1e-5)
    np.testing.assert_allclose(lm.se, list(ref["se"].values()), rtol=1e-5)
    np.testing.assert_allclose(lm.theta, list(ref["theta"].values()), rtol=1e-4, atol=1e-5)
    assert lm.sigma == pytest.approx(ref["sigma"], rel=1e-5)
    crit = ref["REMLcrit"] if method == "reml" else -2 * ref["logLik"]
    assert lm.criterion == pytest.approx(crit, abs=1e-6)
    assert lm.loglik == pytest.approx(ref["logLik"], abs=1e-6)
    modes = ref["ranef"]["Subject"]
    re = fit.ranef()["Subject"]
    re.index = re.index.astype(str)
    for col, want in modes["modes"].items():
        got = re.loc[[str(v) for v in modes["levels"]], col.strip("()")].to_numpy()
        np.testing.assert_allclose(got, want, atol=1e-4 * np.max(np.abs(want)))
    np.testing.assert_allclose(fit.fitted().to_numpy()[:5], ref["fitted_1_5"], rtol=1e-5)
    np.testing.assert_allclose(
        fit.residuals("response").to_numpy()[:5], ref["resid_response_1_5"], atol=5e-3
    )
    # lme4's Pearson residuals of an lmer fit are sqrt(w) (y - fitted); hierarch's are
    # lme4's scaled ones, divided by sigma
    pearson = fit.residuals("pearson").to_numpy()[:5] * lm.sigma
    np.testing.assert_allclose(pearson, ref["resid_pearson_1_5"], atol=5e-3)


def test_weights_are_checked_in_one_place(data):
    bad = data.assign(w=data["w"].where(data.index != 4, -1.0))
    with pytest.raises(ValueError, match="positive, finite numbers, not so in row 4"):
        hierarch.model("Reaction ~ Days + (1 | Subject)", bad, weights="w")
    with pytest.raises(ValueError, match="not a column"):
        hierarch.model("Reaction ~ Days + (1 | Subject)", data, weights="nope")
    with pytest.raises(ValueError, match="is for Gaussian models; this one is 'poisson'"):
        hierarch.model("Days ~ 1 + (1 | Subject)", data, family="poisson", weights="w")
    with pytest.raises(ValueError, match="na_action='drop'"):
        hierarch.model(
            "Reaction ~ Days + (1 | Subject)",
            data.assign(w=data["w"].where(data.index != 2)),
            weights="w",
        )


def test_weighted_bayesian_fit_and_its_reports(data):
    # NUTS on the weighted model (its group effects integrated out): posterior means within
    # 2 posterior SDs of the REML estimates (weakly informative priors, 180 rows); LOO and
    # the Pearson residuals use each row's SD sigma / sqrt(w)
    model = hierarch.model("Reaction ~ Days + (1 | Subject)", data, weights="w2")
    reml = model.fit(method="reml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        fit = model.fit(draws=400, tune=400, chains=2, random_seed=3, progressbar=False)
    fe = fit.fixed_effects()
    assert np.all(np.abs(fe["estimate"] - reml.lmm.beta) < 2 * fe["sd"])
    sigma = fit.sigma().loc["sigma"]
    assert abs(sigma["estimate"] - reml.lmm.sigma) < 2 * sigma["sd"]
    loo = fit.loo()
    assert loo.n_data_points == len(data)
    r = fit.residuals("pearson")
    assert np.isfinite(r).all() and abs(float(np.std(r)) - 1.0) < 0.15
    with pytest.raises(ValueError, match="leave-one-group-out with prior weights"):
        fit.logo()
