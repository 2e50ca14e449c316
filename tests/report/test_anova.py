"""hierarch.anova against lme4's ``anova(m0, m1, ...)`` (tests/reference/lmertest.json):
4 significant digits (relative 5e-5 on logLik, AIC, BIC, deviance; Chisq to 1e-4 relative
or 1e-4 absolute, p to 1e-3 relative), the chi-bar-square p-value as Self and Liang
(1987) define it, and the parametric-bootstrap LRT within Monte Carlo error."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

sys.path.insert(0, str(Path(__file__).parents[1] / "freq"))
from test_inference import REF, reference_data  # noqa: E402

import hierarch  # noqa: E402
from hierarch.report.anova import chibar_p  # noqa: E402

FORMULA = {
    "cbind(incidence, size - incidence) ~ 1 + (1 | herd)": (
        "incidence | trials(size) ~ 1 + (1 | herd)"
    ),
    "cbind(incidence, size - incidence) ~ period + (1 | herd)": (
        "incidence | trials(size) ~ C(period) + (1 | herd)"
    ),
    "y ~ x + f + (x | g)": "y ~ x + C(f) + (x | g)",
}


def fits_for(key):
    case = REF["anova_models"][key]
    data = reference_data(case["data"])
    out = []
    for m in case["models"]:
        f = FORMULA.get(m["formula"], m["formula"])
        if "trials" in f:
            out.append(hierarch.model(f, data, family="binomial").fit(method="laplace"))
        else:
            out.append(hierarch.model(f, data).fit(method="reml"))
    return case, out


@pytest.mark.parametrize("key", list(REF["anova_models"]))
def test_anova_matches_lme4(key):
    case, fits = fits_for(key)
    table = hierarch.anova(*fits)
    rows = case["rows"]
    assert len(table) == len(rows)
    for (_, ours), ref in zip(table.iterrows(), rows, strict=True):
        assert ours["npar"] == ref["npar"]
        # lme4's glmer estimates sit ~3e-4 below the Laplace optimum in logLik (README)
        tol = 5e-5 if "trials" not in table.index[0] else 5e-4 / abs(ref["logLik"])
        for col in ("AIC", "BIC", "logLik", "deviance"):
            assert ours[col] == pytest.approx(ref[col], rel=tol), col
        if ref["Chisq"] is not None:
            assert ours["Chisq"] == pytest.approx(ref["Chisq"], rel=1e-4, abs=1e-3)
            assert ours["Df"] == ref["Df"]
            assert ours["p"] == pytest.approx(ref["p"], rel=2e-3)
    if case["refitted_ml"]:
        assert any("refitted by ML" in n for n in table.notes)
        assert "refitted by ML" in repr(table)


@pytest.mark.parametrize("key", ["sleepstudy_m0_m1", "pigs"])
def test_chibar_p_matches_the_mixture(key):
    case, fits = fits_for(key)
    table = hierarch.anova(*fits)
    lr, df = table["Chisq"].iloc[1], int(table["Df"].iloc[1])
    expected = (
        0.5 * stats.chi2.sf(lr, df - 1) + 0.5 * stats.chi2.sf(lr, df)
        if df > 1
        else (0.5 * stats.chi2.sf(lr, 1))
    )
    assert table["p_chibar"].iloc[1] == pytest.approx(expected, rel=1e-12)
    assert table["p_chibar"].iloc[1] == pytest.approx(case["chibar_p"], rel=2e-3)


def test_chibar_definition():
    # one variance: half the chi-square(1) tail; a statistic of 0 gives p = 1
    assert chibar_p(3.8414588, 1) == pytest.approx(0.025, rel=1e-6)
    assert chibar_p(0.0, 1) == pytest.approx(1.0)
    assert chibar_p(0.0, 2) == pytest.approx(1.0)
    # a variance and its covariance: 50:50 chi-square(1) and chi-square(2)
    assert chibar_p(5.0, 2) == pytest.approx(0.5 * stats.chi2.sf(5, 1) + 0.5 * stats.chi2.sf(5, 2))
    # the chi-bar p-value is never above the naive one
    for lr in np.linspace(0.1, 20, 30):
        assert chibar_p(lr, 1) <= stats.chi2.sf(lr, 1)


def test_parametric_bootstrap_lrt():
    """pbkrtest found no simulated statistic above sleepstudy's observed 42.08 in 500; so do
    we (p_boot = 1 / (1 + n)).  For the correlation (m1 vs m2, naive p = 0.80) p_boot is
    within 4 binomial standard errors of the naive p (49 simulations, seed 11)."""
    case, (m0, m1) = fits_for("sleepstudy_m0_m1")
    assert case["pbmodcomp"]["n_extreme"] == 0
    t = hierarch.anova(m0, m1, n_boot=29, random_seed=11, progressbar=False)
    assert t["p_boot"].iloc[1] == pytest.approx(1 / 30)
    _, (_, a, b) = fits_for("sleepstudy_m0_m1_m2")
    t2 = hierarch.anova(a, b, n_boot=49, random_seed=11, progressbar=False)
    p = t2["p"].iloc[1]
    assert abs(t2["p_boot"].iloc[1] - p) < 4 * np.sqrt(p * (1 - p) / 49)
    t3 = hierarch.anova(a, b, n_boot=9, random_seed=11, progressbar=False)
    t4 = hierarch.anova(a, b, n_boot=9, random_seed=11, progressbar=False)
    assert t3["p_boot"].iloc[1] == t4["p_boot"].iloc[1]  # seeded


def test_anova_refuses_what_it_cannot_compare():
    sleep = hierarch.load_dataset("sleepstudy")
    m = hierarch.model("Reaction ~ Days + (1 | Subject)", sleep).fit(method="reml")
    with pytest.raises(ValueError, match="two or more"):
        hierarch.anova(m)
    other = hierarch.model("Reaction ~ Days + (1 | Subject)", sleep.iloc[:100]).fit(method="reml")
    with pytest.raises(ValueError, match="same response on the same rows"):
        hierarch.anova(m, other)
