"""Intervals, simulation and prediction of maximum-likelihood fits against lme4 1.1.31
(tests/reference/lmertest.json, make_lmertest_reference.R).

Tolerances:
- profile intervals: 3 significant digits (relative 1e-3; they agree to ~2e-4, penicillin's
  crossed profile to 2.4e-4), and 5e-4 absolute near zero (correlations);
- Wald intervals: relative 1e-4 (they are beta +/- z se);
- simulation: hierarch cannot reproduce R's random numbers, so the exact moments lme4's fit
  implies (stored by the script) are compared with ours to 1e-4 relative, and our
  simulated per-row means and variances with those exact moments within Monte Carlo error
  (|z| < 4.5 over every row; 2000 simulations, seed 101);
- predictions: the mean of hierarch's 4000 plug-in draws against lme4's point prediction,
  within 4 Monte Carlo standard errors;
- bootstrap intervals (200 refits, seed 7) against profile intervals on sleepstudy's fixed
  effects and residual SD (well identified): within 0.6 standard errors of each estimate,
  about 3 Monte Carlo standard errors of a 2.5 % percentile of 200 draws (0.2 SE).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "freq"))
from test_inference import REF, reference_data, reference_fit  # noqa: E402

import hierarch  # noqa: E402

PROFILED = ["sleepstudy", "pigs", "penicillin", "pastes", "unbalanced_slopes", "seed004_nocorr"]


def our_name(parm: str, fit) -> str:
    """lme4's confint row names as hierarch's confint() labels."""
    fix = {"(Intercept)": "Intercept"}
    m = re.fullmatch(r"sd_(.+)\|(.+)", parm)
    if m:
        group = {"cask:batch": "batch:cask"}.get(m.group(2), m.group(2))
        return f"sd[{group}: {fix.get(m.group(1), m.group(1))}]"
    m = re.fullmatch(r"cor_(.+)\.(.+)\|(.+)", parm)
    if m:
        return f"cor[{m.group(3)}: {fix.get(m.group(2), m.group(2))}, {m.group(1)}]"
    if parm == "sigma":
        return "sigma"
    if parm in fix:
        return fix[parm]
    names = fit.model.parsed.x_names
    hit = [n for n in names if re.sub(r"^C\((\w+)\)", r"\1", n).strip("]").replace("[", "") == parm]
    return hit[0] if hit else parm


@pytest.fixture(scope="module")
def fits():
    return {k: reference_fit(k) for k in PROFILED}


@pytest.fixture(scope="module")
def cbpp_fit():
    cbpp = reference_data("cbpp.csv")
    return hierarch.model(
        "incidence | trials(size) ~ C(period) + (1 | herd)",
        cbpp,
        family="binomial",
    ).fit(method="laplace")


def check_intervals(ours: pd.DataFrame, ref: list, fit, rtol=1e-3, atol=5e-4):
    for r in ref:
        row = ours.loc[our_name(r["parm"], fit)]
        for end in ("lower", "upper"):
            if r[end] is None:
                assert np.isnan(row[end])
            else:
                assert row[end] == pytest.approx(r[end], rel=rtol, abs=atol), (r, row)


@pytest.mark.parametrize("key", PROFILED)
def test_profile_intervals_match_lme4(fits, key):
    fit = fits[key]
    check_intervals(fit.confint(), REF["lmm"][key]["confint_profile"], fit)


def test_cbpp_profile_intervals_match_glmer(cbpp_fit):
    """glmer's profile at its default tolerances: 3 significant digits."""
    check_intervals(cbpp_fit.confint(), REF["glmm_cbpp"]["confint_profile"], cbpp_fit, rtol=1e-3)


@pytest.mark.parametrize("key", ["sleepstudy", "pigs", "unbalanced_slopes"])
def test_wald_intervals_match_lme4(fits, key):
    fit = fits[key]
    check_intervals(fit.confint("wald"), REF["lmm"][key]["confint_wald"], fit, rtol=1e-4)


def test_group_sds_and_tau_carry_the_profile_interval(fits):
    fit = fits["pigs"]
    sds = fit.group_sds().set_index("effect")
    ci = fit.confint()
    assert sds.loc["Intercept", "lower"] == pytest.approx(ci.loc["sd[id: Intercept]", "lower"])
    tau = fit.tau()
    assert (tau.lower, tau.upper) == pytest.approx(tuple(sds.loc["Intercept", ["lower", "upper"]]))
    assert tau.interval == "profile" and "profile interval" in str(tau)
    prof = tau.profile
    assert prof["likelihood"].max() == pytest.approx(1.0)
    assert np.all((prof["likelihood"] > 0) & (prof["likelihood"] <= 1))


def test_bootstrap_intervals_agree_with_profile_on_a_well_identified_case(fits):
    fit = fits["sleepstudy"]
    boot = fit.confint("boot", n_boot=200, random_seed=7, progressbar=False)
    prof = fit.confint()
    again = fit.confint("boot", n_boot=10, random_seed=7, progressbar=False)
    first = fit.confint("boot", n_boot=10, random_seed=7, progressbar=False)
    pd.testing.assert_frame_equal(first, again)  # seeded: the same refits
    se = {"Intercept": fit.lmm.se[0], "Days": fit.lmm.se[1], "sigma": 25.59 / np.sqrt(2 * 160)}
    for name, s in se.items():
        for end in ("lower", "upper"):
            assert abs(boot.loc[name, end] - prof.loc[name, end]) < 0.6 * s, (name, end)
    assert boot.attrs["n_boot"] == 200 and boot.attrs["n_failed"] == 0


def test_confint_arguments_are_checked(fits):
    with pytest.raises(ValueError, match="method must be"):
        fits["pigs"].confint("bayes")
    with pytest.raises(ValueError, match="level must be"):
        fits["pigs"].confint(level=95)


def test_simulate_matches_lme4s_moments(fits):
    fit, ref = fits["sleepstudy"], REF["lmm"]["sleepstudy"]["simulate_moments"]
    lm = fit.lmm
    pf = fit.model.parsed
    mean = pf.X @ lm.beta
    var = np.full(pf.n, lm.sigma**2)
    for b, C in zip(pf.blocks, lm.cov, strict=True):
        var += np.einsum("na,ab,nb->n", b.Z, C, b.Z)
    np.testing.assert_allclose(mean, ref["exact_mean"], rtol=1e-4)
    np.testing.assert_allclose(var, ref["exact_var"], rtol=1e-3)
    sims = fit.simulate(2000, seed=101).to_numpy()
    z_mean = (sims.mean(1) - mean) / np.sqrt(var / 2000)
    z_var = (sims.var(1, ddof=1) / var - 1) / np.sqrt(2 / 1999)
    assert np.max(np.abs(z_mean)) < 4.5 and np.max(np.abs(z_var)) < 4.5
    # lme4's own simulated moments are an independent Monte Carlo estimate of the same
    z_r = (np.array(ref["mean"]) - mean) / np.sqrt(var / 2000)
    assert np.max(np.abs(z_r)) < 4.5
    np.testing.assert_array_equal(fit.simulate(2, seed=3), fit.simulate(2, seed=3))


def test_cbpp_simulation_matches_glmers_exact_moments(cbpp_fit):
    ref = REF["glmm_cbpp"]["simulate_moments"]
    sims = cbpp_fit.simulate(2000, seed=101).to_numpy()
    mean, var = np.array(ref["exact_mean"]), np.array(ref["exact_var"])
    z = (sims.mean(1) - mean) / np.sqrt(var / 2000)
    # lme4's estimates sit ~1e-3 from the optimum (README): a 1 % allowance on the mean
    assert np.max(np.abs(z) - 0.01 * mean / np.sqrt(var / 2000)) < 4.5
    assert np.all(sims >= 0) and np.all(sims <= cbpp_fit.model.trials[:, None])


@pytest.mark.parametrize("key", ["sleepstudy", "pigs", "unbalanced_slopes"])
def test_predict_matches_lme4(fits, key):
    fit, ref = fits[key], REF["lmm"][key]["predict"]
    case = REF["lmm"][key]
    data = reference_data(case["data"])
    for kind, col in (("conditional", "conditional"), ("fixed", "population")):
        got = fit.predict(data, kind=kind)
        se = (got["upper"] - got["lower"]) / 3.92
        err = np.abs(got["mean"] - np.array(ref[col])) / (se / np.sqrt(4000))
        assert np.max(err) < 4, (kind, np.max(err))
    new = pd.DataFrame(ref["newdata"])
    for col in new:
        if col in data and data[col].dtype == object:
            new[col] = new[col].astype(str)
    known = new.iloc[:2]
    got = fit.predict(known, kind="conditional")
    se = (got["upper"] - got["lower"]) / 3.92
    assert np.all(np.abs(got["mean"] - ref["newdata_conditional"][:2]) < 4 * se / np.sqrt(4000))
    # lme4's allow.new.levels sets a new group's effect to 0: the fixed part
    got = fit.predict(new.iloc[2:], kind="fixed")
    se = (got["upper"] - got["lower"]) / 3.92
    assert abs(got["mean"].iloc[0] - ref["newdata_conditional"][2]) < 4 * se.iloc[0] / 63


def test_cbpp_predict_on_link_and_response_scales(cbpp_fit):
    ref = REF["glmm_cbpp"]["predict"]
    data = reference_data("cbpp.csv")
    got = cbpp_fit.predict(data, kind="conditional", scale="link")
    se = (got["upper"] - got["lower"]) / 3.92
    # lme4's estimates sit ~1e-3 from the optimum: 4 MC SEs plus 2e-3
    assert np.all(np.abs(got["mean"] - ref["link"]) < 4 * se / np.sqrt(4000) + 2e-3)
    fixed = cbpp_fit.predict(data, kind="fixed", scale="link")
    assert np.all(np.abs(fixed["mean"] - ref["link_population"]) < 5e-3)
    resp = cbpp_fit.predict(data, kind="fixed")
    assert np.all((resp["lower"] > 0) & (resp["upper"] < 1))
    pop = cbpp_fit.predict(data.iloc[:4], kind="population")
    # integrating over the herds pulls the population-averaged probability towards 1/2
    assert np.all(np.abs(pop["mean"] - 0.5) < np.abs(resp["mean"].iloc[:4] - 0.5))
