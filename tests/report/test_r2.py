"""R-squared (issue 15, item 3): Nakagawa and Schielzeth's marginal and conditional R2 of ML
fits against ``performance::r2_nakagawa`` (tests/reference/make_r2_reference.R -> r2.json,
formulas in tests/reference/R2_FORMULAS.md), and the Bayesian R2.

Tolerance against R: 3 significant digits (relative 1e-3), as the issue states. Seen: 1e-5 on
the Gaussian cases (hierarch's and lme4's optima differ in the 5th-6th digit), 5e-4 on the
GLMMs: cbpp's fixed effects differ from glmer's in the 4th digit, and for grouseticks the
Poisson null model's intercept does (0.5147 here, 0.5189 in glmer; hierarch's optimum has the
higher Laplace log-likelihood, -1037.939 against -1037.948, and glmer's own value at its
optimum is 0.008 below hierarch's at the same parameters: its penalized IRLS stops short).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch.report.mixed import _draws

REF = json.loads((Path(__file__).parents[1] / "reference" / "r2.json").read_text())["cases"]

CASES = {
    "sleepstudy_slopes_reml": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", {}, "reml"),
    "sleepstudy_slopes_ml": ("Reaction ~ Days + (Days | Subject)", "sleepstudy", {}, "ml"),
    "sleepstudy_intercept_reml": ("Reaction ~ Days + (1 | Subject)", "sleepstudy", {}, "reml"),
    "pigs_slopes_reml": ("weight ~ week + (week | id)", "pigs", {}, "reml"),
    "penicillin_crossed_reml": (
        "diameter ~ 1 + (1 | plate) + (1 | sample)",
        "penicillin",
        {},
        "reml",
    ),
    "cbpp_binomial": (
        "incidence | trials(size) ~ C(period) + (1 | herd)",
        "cbpp",
        {"family": "binomial"},
        "laplace",
    ),
    "grouseticks_poisson": (
        "TICKS ~ C(YEAR) + HEIGHT_s + (1 | BROOD)",
        "grouseticks",
        {"family": "poisson"},
        "laplace",
    ),
}


def _data(name: str) -> pd.DataFrame:
    df = hierarch.load_dataset(name)
    if name == "grouseticks":  # R's scale(HEIGHT): sd with n - 1
        df = df.assign(HEIGHT_s=(df["HEIGHT"] - df["HEIGHT"].mean()) / df["HEIGHT"].std())
    return df


@pytest.mark.parametrize("case", list(CASES))
def test_nakagawa_r2_equals_performance(case):
    formula, data, kw, method = CASES[case]
    fit = hierarch.model(formula, _data(data), **kw).fit(method=method)
    table = fit.r2()
    ref, var = REF[case]["r2_nakagawa"], REF[case]["get_variance"]
    assert list(table.index) == ["marginal", "conditional"]
    assert table.loc["marginal", "estimate"] == pytest.approx(ref["marginal"], rel=1e-3, abs=1e-12)
    assert table.loc["conditional", "estimate"] == pytest.approx(ref["conditional"], rel=1e-3)
    for ours, theirs in (
        ("var_fixed", "var.fixed"),
        ("var_random", "var.random"),
        ("var_residual", "var.residual"),
    ):
        # grouseticks' log(1 + 1/mu) carries the null model's 4e-3 difference in its intercept
        rel = 5e-3 if (case, ours) == ("grouseticks_poisson", "var_residual") else 1e-3
        assert table[ours].iloc[0] == pytest.approx(var[theirs], rel=rel, abs=1e-12), ours


def test_nakagawa_r2_refuses_families_without_a_reference():
    df = _data("grouseticks")
    fit = hierarch.model("TICKS ~ HEIGHT_s + (1 | BROOD)", df, family="negative_binomial").fit(
        method="laplace"
    )
    with pytest.raises(ValueError, match="negative_binomial with the log link"):
        fit.r2()


@pytest.mark.statistical
def test_bayes_r2_per_draw_and_beside_the_ml_r2(pigs_bayes, pigs_reml):
    """Each draw's R2 is ``var(mu) / (var(mu) + var(y - mu))`` of that draw's fitted means
    (recomputed here from the posterior draws by hand); and the posterior median of the
    conditional R2 lies near Nakagawa's (not the same quantity: within 0.01 on pigs, whose
    R2 is 0.994 with a posterior SD of about 0.0006)."""
    table = pigs_bayes.r2()
    draws = table.attrs["draws"]
    post = pigs_bayes.idata.posterior
    d = _draws(pigs_bayes)
    pf = pigs_bayes.model.parsed
    y = pf.y
    for s in (0, 1999, 3999):
        b = post["b_id"].stack(s_=("chain", "draw")).isel(s_=s).values  # (id, effect)
        mu = pf.X @ d.beta[s] + (b[pf.blocks[0].codes] * pf.blocks[0].Z).sum(-1)
        expect = np.var(mu, ddof=1) / (np.var(mu, ddof=1) + np.var(y - mu, ddof=1))
        assert draws["conditional"][s] == pytest.approx(expect, rel=1e-10)
        mu0 = pf.X @ d.beta[s]
        expect0 = np.var(mu0, ddof=1) / (np.var(mu0, ddof=1) + np.var(y - mu0, ddof=1))
        assert draws["marginal"][s] == pytest.approx(expect0, rel=1e-10)
    assert (table["lower"] <= table["estimate"]).all()
    assert (table["estimate"] <= table["upper"]).all()
    ml = pigs_reml.r2()
    assert abs(table.loc["conditional", "estimate"] - ml.loc["conditional", "estimate"]) < 0.01
    assert abs(table.loc["marginal", "estimate"] - ml.loc["marginal", "estimate"]) < 0.02
