"""The zero-inflated and hurdle Poisson / negative binomial mixed models' Laplace twin
against glmmTMB (``ziformula = ~1``; ``truncated_poisson`` / ``truncated_nbinom2`` for the
hurdle models) on a simulated data set with structural zeros.  Reference values:
tests/reference/families.json, made by make_families_reference.R (R is not needed here)."""

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
    "zip": "zero_inflated_poisson",
    "zinb": "zero_inflated_negative_binomial",
    "hurdle_poisson": "hurdle_poisson",
    "hurdle_nb": "hurdle_negative_binomial",
}


def _sig(a, b, digits):
    """Agreement to ``digits`` significant digits: relative error below 0.5 * 10^(1-digits)."""
    a, b = np.atleast_1d(np.asarray(a, float)), np.atleast_1d(np.asarray(b, float))
    return np.all(np.abs(a - b) <= 0.5 * 10.0 ** (1 - digits) * np.abs(b))


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(REF_DIR / "families_sim_zi.csv", dtype={"g": str})


@pytest.fixture(scope="module", params=list(CASES))
def case(request, data):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the reference fits converged: so must these
        fit = hierarch.model("y ~ x + (1 | g)", data, family=CASES[request.param]).fit(
            method="laplace"
        )
    return REF[request.param], fit


def test_estimates_match_glmmtmb(case):
    # 4 significant digits on the fixed effects, their SEs, the group SD, the zero
    # probability and the NB size (the bar; glmmTMB's optimiser stops at gradients
    # up to 8e-4, so the last digits differ: seen up to 6e-5 relative); the SEs of logit(zi)
    # and log(k) (glmmTMB's sdreport) to 3 digits (a finite-difference Hessian here)
    ref, fit = case
    fe = fit.fixed_effects()
    assert _sig(fe["estimate"], list(ref["fixef"].values()), 4)
    assert _sig(fe["se"], list(ref["se_fixef"].values()), 4)
    assert _sig(fit.group_sds()["estimate"], ref["varcorr"]["g"]["sd"]["(Intercept)"], 4)
    disp = fit.dispersion().set_index("parameter")
    assert _sig(disp.loc["zi", "estimate"], ref["zi_prob"]["(Intercept)"], 4)
    assert _sig(disp.loc["zi", "se_scale"], ref["zi_se"]["(Intercept)"], 3)
    assert disp.loc["zi", "scale"] == "logit"
    if "k" in disp.index:
        internal = ref["internal_parameters"]
        se_log_k = internal["se"][internal["names"].index("betad")]
        assert _sig(disp.loc["k", "estimate"], ref["sigma"], 4)
        assert _sig(disp.loc["k", "se_scale"], se_log_k, 3)
    assert fit.loglik == pytest.approx(ref["logLik"], abs=1e-5)
    assert fit.n_params == ref["df"]


def test_modes_and_response_means_match_glmmtmb(case):
    # conditional modes to 1e-3 of the largest; the response means E[y] of the first rows
    # (zero probability and truncation included, group effects at their modes) to 1e-4
    ref, fit = case
    re = fit.ranef()["g"]
    modes = ref["ranef"]["g"]
    want = np.asarray(modes["modes"]["(Intercept)"])
    got = re.loc[modes["levels"], "Intercept"].to_numpy()
    np.testing.assert_allclose(got, want, atol=1e-3 * np.max(np.abs(want)))
    fitted = hierarch.report.mixed.fitted_values(fit).to_numpy()[:5]
    np.testing.assert_allclose(fitted, ref["predict_first5"]["response"], rtol=1e-4)


def test_bad_inputs_get_clear_errors(data):
    bad = data.copy()
    bad.loc[[3, 7], "y"] = -1
    with pytest.raises(ValueError, match="non-negative counts; rows 3, 7"):
        hierarch.model("y ~ x + (1 | g)", bad, family="zero_inflated_poisson")
    positive = data.assign(y=data["y"] + 1)
    with pytest.raises(ValueError, match="has no zeros"):
        hierarch.model("y ~ x + (1 | g)", positive, family="hurdle_poisson")
    with pytest.raises(ValueError, match="all zeros"):
        hierarch.model("y ~ x + (1 | g)", data.assign(y=0), family="hurdle_negative_binomial")
    with pytest.raises(ValueError, match="probability and needs a prior on"):
        hierarch.model(
            "y ~ x + (1 | g)",
            data,
            family="zero_inflated_poisson",
            priors={"zi": {"dist": "HalfNormal", "sigma": 1.0}},
        )
    with pytest.raises(ValueError, match="link 'identity' is not valid"):
        hierarch.model("y ~ x + (1 | g)", data, family="hurdle_poisson", link="identity")
