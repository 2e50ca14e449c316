"""The general Laplace twin (hierarch.freq.laplace) against glmer / glmer.nb / glmmTMB.

Reference values: tests/reference/lme4_glmm.json, made by make_glmm_reference.R (R is not
needed to run these tests).  Acceptance: fixed effects to 4 significant digits, random-effect
SDs to 3, log-likelihood to 0.01.  "d significant digits" means
``|ours - ref| <= 0.5 * 10**(floor(log10|ref|) - d + 1)``, i.e. the two round alike up to
one unit in the d-th digit's half.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierarch

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
REF = json.loads((REF_DIR / "lme4_glmm.json").read_text())


def _ticks():
    t = hierarch.load_dataset("grouseticks")
    return t.assign(YEAR=t["YEAR"].astype(str))


def _csv(name):
    return pd.read_csv(REF_DIR / name)


# key: (formula, data, family, link, reference entry to compare with)
CASES = {
    "grouseticks_poisson": (
        "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | INDEX) + (1 | LOCATION)",
        _ticks,
        "poisson",
        None,
    ),
    "poisson_slopes": (
        "y ~ x + offset(log(t)) + (x | g)",
        lambda: _csv("glmm_sim_poisson.csv"),
        "poisson",
        None,
    ),
    "negbin_grouse": (
        "TICKS ~ YEAR + cHEIGHT + (1 | LOCATION)",
        _ticks,
        "negative_binomial",
        None,
    ),
    "bernoulli_slopes": (
        "y ~ x1 + x2 + (x1 | g)",
        lambda: _csv("glmm_sim_bernoulli.csv"),
        "bernoulli",
        None,
    ),
    "bernoulli_probit_crossed": (
        "y ~ x + (1 | a) + (1 | b)",
        lambda: _csv("glmm_sim_probit_crossed.csv"),
        "bernoulli",
        "probit",
    ),
    "cbpp_laplace_cloglog": (
        "incidence | trials(size) ~ C(period) + (1 | herd)",
        lambda: hierarch.load_dataset("cbpp"),
        "binomial",
        "cloglog",
    ),
    "gamma_tmb": ("y ~ x + (1 | g)", lambda: _csv("glmm_sim_gamma.csv"), "gamma", "log"),
    "beta_tmb": ("y ~ x + (1 | g)", lambda: _csv("glmm_sim_beta.csv"), "beta", "logit"),
}


def _agree(ours, ref, digits):
    ours, ref = np.atleast_1d(ours), np.atleast_1d(ref)
    unit = np.array([10.0 ** (math.floor(math.log10(abs(r))) - digits + 1) for r in ref])
    return np.abs(ours - ref) <= 0.5 * unit


@pytest.fixture(scope="module")
def fits():
    out = {}
    for key, (formula, data, family, link) in CASES.items():
        out[key] = hierarch.model(formula, data(), family=family, link=link).fit(method="laplace")
    return out


def _ref(key):
    """The lme4 fit refitted with ``tolPwrss = 1e-14`` (its default 1e-7 stops the inner
    PIRLS early: log-likelihood up to 3e-4 low, estimates off in the 4th-5th digit; see
    tests/reference/README.md), and the default-settings fit."""
    r = REF[key]
    return r.get("tight_pwrss", r), r


@pytest.mark.parametrize("key", list(CASES))
def test_matches_reference(fits, key):
    fit = fits[key]
    ref, default = _ref(key)
    fe = fit.fixed_effects()
    assert _agree(fe["estimate"].to_numpy(), list(ref["fixef"].values()), 4).all(), (
        fe["estimate"].to_numpy(),
        ref["fixef"],
    )
    vc = fit.varcorr()
    ours_sd = {(r.group, r.var1): r.sdcor for r in vc[vc["var2"].isna()].itertuples()}
    for v in ref["varcorr"]:
        if v["var2"] is None:
            name = "Intercept" if v["var1"] == "(Intercept)" else v["var1"]
            assert _agree(ours_sd[(v["group"], name)], v["sdcor"], 3).all(), (v, ours_sd)
    assert fit.loglik == pytest.approx(ref["logLik"], abs=0.01)
    # lme4 at its default settings: log-likelihood to 0.01 and never a better optimum
    assert fit.loglik == pytest.approx(default["logLik"], abs=0.01)
    assert fit.loglik >= default["logLik"] - 1e-6
    assert fit.aic == pytest.approx(-2 * fit.loglik + 2 * ref["df"])
    # standard errors: same definition as the reference (Hessian-based), 3 digits
    assert _agree(fe["se"].to_numpy(), list(ref["se_fixef"].values()), 3).all(), (
        fe["se"].to_numpy(),
        ref["se_fixef"],
    )


@pytest.mark.parametrize("key", ["poisson_slopes", "bernoulli_slopes"])
def test_correlations_match(fits, key):
    ref, _ = _ref(key)
    cor = fits[key].correlations()["estimate"].to_numpy()
    want = [v["sdcor"] for v in ref["varcorr"] if v["var2"] is not None]
    np.testing.assert_allclose(cor, want, atol=5e-4)


@pytest.mark.parametrize("key", ["grouseticks_poisson", "bernoulli_slopes", "negbin_grouse"])
def test_conditional_modes_and_variances(fits, key):
    """Conditional modes to 1e-3 and conditional variances to 1% of the reference's."""
    ref, _ = _ref(key)
    fit = fits[key]
    ranef = fit.ranef()
    for factor, r in ref["ranef"].items():
        name = next(
            n
            for n, b in zip(fit.model.block_names, fit.model.parsed.blocks, strict=True)
            if b.factor == factor
        )
        ours = ranef[name].copy()
        ours.index = ours.index.astype(str)
        ours = ours.loc[r["levels"]]
        for col in r["columns"]:
            c = "Intercept" if col == "(Intercept)" else col
            np.testing.assert_allclose(ours[c], r["modes"][col], atol=1e-3)
            np.testing.assert_allclose(ours[f"se_{c}"] ** 2, r["condvar"][col], rtol=1e-2)


def test_dispersion_parameters(fits):
    nb = fits["negbin_grouse"].dispersion()
    assert nb["parameter"].iloc[0] == "k"
    # glmer.nb optimises log(theta) with tol 5e-5: 3 significant digits
    assert _agree(nb["estimate"].iloc[0], REF["negbin_grouse"]["nb_theta"], 3).all()
    shape = fits["gamma_tmb"].dispersion()["estimate"].iloc[0]
    assert _agree(shape, 1 / REF["gamma_tmb"]["sigma"] ** 2, 4).all()
    phi = fits["beta_tmb"].dispersion()["estimate"].iloc[0]
    assert _agree(phi, REF["beta_tmb"]["sigma"], 4).all()


def test_observation_level_effect_is_labelled_overdispersion(fits):
    sds = fits["grouseticks_poisson"].group_sds().set_index("group")
    assert sds.loc["INDEX", "kind"] == "overdispersion"
    assert (sds.drop("INDEX")["kind"] == "group").all()
    assert "(overdispersion)" in str(fits["grouseticks_poisson"])
