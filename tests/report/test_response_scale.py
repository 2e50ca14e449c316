"""Response-scale reports (shrinkage, coefficients, new group) of the families whose mean
response needs their extra parameters: zero-inflated and hurdle counts (``E[y]`` with the
zero probability) and ordinal responses (the expected category, from the thresholds).

Reference values: tests/reference/response_scale.json, made by
make_response_scale_reference.R (glmmTMB's ``predict(type = "response")`` per group and
``ordinal::clmm`` without covariates; R is not needed here).  The separate (unpooled) fits
and the new-group means are checked against independent SciPy computations."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, optimize

import hierarch
from hierarch.core.families import get_family
from hierarch.report import mixed as R

REF_DIR = Path(__file__).resolve().parents[1] / "reference"
REF = json.loads((REF_DIR / "response_scale.json").read_text())
ZERO_FAMILIES = [
    "zero_inflated_poisson",
    "zero_inflated_negative_binomial",
    "hurdle_poisson",
    "hurdle_negative_binomial",
]
SEED = 20261202


def _mean(family, eta, extra):
    return get_family(family).moments("log", np.asarray(eta, float), None, extra)[0]


@pytest.fixture(scope="module")
def zi_data():
    return pd.read_csv(REF_DIR / "families_sim_zi.csv")


@pytest.fixture(scope="module")
def wine():
    return pd.read_csv(REF_DIR / "families_wine.csv", dtype={"judge": str, "bottle": str})


@pytest.fixture(scope="module", params=ZERO_FAMILIES)
def zero_fit(request, zi_data):
    model = hierarch.model("y ~ 1 + (1 | g)", zi_data, family=request.param)
    return request.param, model.fit(method="laplace")


def test_zero_model_group_means_match_glmmtmb(zero_fit):
    # each group's E[y] at its conditional mode (glmmTMB's predict(type = "response")) to
    # 4 significant digits (the bar for the ML twin; seen 6e-6 relative)
    family, fit = zero_fit
    ref = REF[family]
    table = fit.coefficients(scale="response")
    assert table.attrs["scale"] == "response"
    assert table["group"].tolist() == ref["levels"]
    np.testing.assert_allclose(table["estimate"], ref["group_response"], rtol=1e-4)
    assert (table["lower"] < table["estimate"]).all() and (table["estimate"] < table["upper"]).all()
    assert (table["lower"] > 0).all()  # a mean count is positive


def test_zero_model_shrinkage_on_the_response_scale(zero_fit, zi_data):
    family, fit = zero_fit
    extra = fit.glmm.phi  # zi, or (size, zi)
    table = fit.shrinkage(scale="response")
    link = fit.shrinkage()
    # every response-scale column is the mean response at its link-scale value
    for col in ("unpooled", "complete", "partial_lower", "partial_upper"):
        np.testing.assert_allclose(table[col], _mean(family, link[col], extra), rtol=1e-12)
    np.testing.assert_allclose(
        table["partial"], fit.coefficients(scale="response")["estimate"], rtol=1e-12
    )
    assert table["grand_mean"].iloc[0] == pytest.approx(
        float(_mean(family, fit.ml.beta[0], extra)), rel=1e-12
    )
    # the separate fits: each group's own log mean with the zero probability (and size)
    # held at the mixed model's estimates, by SciPy's bounded scalar search (1e-5 on log mu)
    fam = get_family(family)
    for j, g in enumerate(table["group"][:5]):
        y = zi_data.loc[zi_data["g"] == g, "y"].to_numpy(float)

        def nll(eta, y=y):
            return -np.sum(fam.logpdf(y, "log", np.full(len(y), eta), None, extra))

        best = optimize.minimize_scalar(
            nll, bounds=(-5, 5), method="bounded", options={"xatol": 1e-10}
        )
        assert link["unpooled"].iloc[j] == pytest.approx(best.x, abs=1e-5)
    # partial pooling lies between the separate fit and complete pooling for most groups
    between = (table["partial"] - table["unpooled"]) * (table["partial"] - table["complete"])
    assert np.mean(between <= 0) > 0.7
    assert table["alpha"].between(0, 1).all()
    assert table.attrs["quantity"] == "mean count"


def test_zero_model_new_group_mean(zero_fit):
    # a new group's mean E[y]: its median is E[y] at the intercept, its mean the integral of
    # E[y] over N(intercept, tau^2) (SciPy's quad, 1e-8 relative: 60 Gauss-Hermite nodes)
    family, fit = zero_fit
    extra = fit.glmm.phi
    b0, tau = float(fit.ml.beta[0]), float(np.sqrt(fit.ml.cov[0][0, 0]))
    table = fit.new_group(scale="response")
    assert table.attrs["scale"] == "response"
    row = table.loc["Intercept"]
    exact = integrate.quad(
        lambda u: (
            float(_mean(family, b0 + tau * u, extra)) * np.exp(-(u**2) / 2) / np.sqrt(2 * np.pi)
        ),
        -12,
        12,
    )[0]
    assert row["mean"] == pytest.approx(exact, rel=1e-8)
    assert row["median"] == pytest.approx(float(_mean(family, b0, extra)), rel=1e-12)
    assert 0 < row["lower"] < row["median"] < row["upper"]


@pytest.fixture(scope="module")
def wine_null(wine):
    return hierarch.model("rating ~ 1 + (1 | judge)", wine, family="cumulative")


def test_ordinal_model_without_covariates_matches_clmm(wine_null):
    # no fixed effects at all (the thresholds take the intercept's place): thresholds and
    # the judge SD to 4 significant digits, logLik to 1e-6 against clmm run with nlminb to
    # a tight gradient (clmm's default ucminf run stops 1e-3 below its own maximum: stored
    # as default_optimizer_logLik); expected ratings per judge to 4 digits
    ref = REF["wine_null_clmm"]
    for method, key in (("laplace", None), ("agq", "agq10")):
        fit = wine_null.fit(method=method, n_agq=10 if key else 1)
        r = ref[key] if key else ref
        assert fit.fixed_effects().empty
        np.testing.assert_allclose(
            fit.dispersion()["estimate"], list(r["alpha"].values()), rtol=1e-4
        )
        assert fit.group_sds()["estimate"].iloc[0] == pytest.approx(r["judge_sd"], rel=1e-4)
        assert fit.glmm.loglik == pytest.approx(r["logLik"], abs=1e-6)
    fit = wine_null.fit(method="laplace")
    assert ref["default_optimizer_logLik"] < fit.glmm.loglik
    coefs = fit.coefficients()
    assert coefs["coef"].unique().tolist() == ["Intercept"]  # the random intercept, fixed 0
    np.testing.assert_allclose(coefs["estimate"], ref["modes"], rtol=1e-3, atol=1e-4)
    expected = fit.coefficients(scale="response")
    np.testing.assert_allclose(expected["estimate"], ref["expected_rating"], rtol=1e-4)
    assert expected["lower"].between(1, 5).all() and expected["upper"].between(1, 5).all()
    # lme4's coef(): the random-only column with fixed value 0
    np.testing.assert_allclose(fit.coef()["judge"]["Intercept"], coefs["estimate"], rtol=1e-12)


def test_ordinal_shrinkage(wine_null, wine):
    fit = wine_null.fit(method="laplace")
    cuts = fit.glmm.phi
    link = fit.shrinkage()
    assert link["grand_mean"].iloc[0] == 0.0  # the mixed model's shift is 0 by construction
    # each judge's separate shift with the thresholds held at the mixed model's: SciPy's
    # bounded search on the judge's ordinal log-likelihood (1e-5)
    fam = get_family("cumulative")
    for j, g in enumerate(link["group"]):
        y = wine.loc[wine["judge"] == g, "rating"].to_numpy(float)

        def nll(eta, y=y):
            return -np.sum(fam.logpdf(y, "logit", np.full(len(y), eta), None, cuts))

        best = optimize.minimize_scalar(
            nll, bounds=(-8, 8), method="bounded", options={"xatol": 1e-10}
        )
        assert link["unpooled"].iloc[j] == pytest.approx(best.x, abs=1e-5)
    # the complete-pooling shift with the thresholds held: near 0 (the conditional
    # thresholds are a little wider than the marginal ones)
    assert abs(link["complete"].iloc[0]) < 0.2
    resp = fit.shrinkage(scale="response")
    expected = get_family("cumulative").moments("logit", link["unpooled"].to_numpy(), None, cuts)
    np.testing.assert_allclose(resp["unpooled"], expected[0], rtol=1e-12)
    assert resp["partial"].between(1, 5).all()
    # the random intercept's pooling: fraction moved close to 1 - alpha (a GLMM: not exact)
    np.testing.assert_allclose(resp["fraction_moved"], 1 - resp["alpha"], atol=0.08)
    assert resp.attrs["quantity"] == "expected category"
    from hierarch import plots

    ax = plots.plot_shrinkage(resp)
    assert ax.get_ylabel() == "estimated expected category"
    ng = fit.new_group(scale="response").loc["Intercept"]
    assert 1 < ng["lower"] < ng["median"] < ng["upper"] < 5
    assert ng["median"] == pytest.approx(resp["grand_mean"].iloc[0], rel=1e-12)


def test_ordinal_with_covariates(wine):
    fit = hierarch.model("rating ~ temp + contact + (1 | judge)", wine, family="cumulative").fit(
        method="laplace"
    )
    table = fit.shrinkage()  # link scale: the judges' shifts, covariates held
    assert np.isfinite(table["unpooled"]).all() and (table["grand_mean"] == 0).all()
    assert fit.coef()["judge"].columns.tolist() == ["Intercept", "temp[warm]", "contact[yes]"]
    with pytest.raises(ValueError, match="intercept-only fixed part.*temp\\[warm\\]"):
        fit.shrinkage(scale="response")
    with pytest.raises(ValueError, match="intercept-only fixed part"):
        fit.new_group(scale="response")


@pytest.fixture(scope="module")
def zip_bayes(zi_data):
    # a short run: the test checks bookkeeping on whatever draws there are, not convergence
    model = hierarch.model("y ~ 1 + (1 | g)", zi_data, family="zero_inflated_poisson")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        return model.fit(
            method="bayes", draws=300, tune=300, chains=2, random_seed=SEED, progressbar=False
        )


def test_bayes_response_scale_uses_each_draws_zero_probability(zip_bayes):
    # exact bookkeeping (1e-10): the posterior mean of E[y] = (1 - zi) exp(b0 + b_j), each
    # draw with its own zi, computed here from the posterior draws by hand
    post = zip_bayes.idata.posterior
    zi = post["zi"].values.reshape(-1)
    coef = R.coefficient_draws(zip_bayes)[:, :, 0]  # link scale
    mean_y = (1 - zi)[:, None] * np.exp(coef)
    table = zip_bayes.coefficients(scale="response")
    np.testing.assert_allclose(table["estimate"], mean_y.mean(0), rtol=1e-10)
    np.testing.assert_allclose(table["lower"], np.quantile(mean_y, 0.025, axis=0), rtol=1e-10)
    shrink = zip_bayes.shrinkage(scale="response")
    np.testing.assert_allclose(shrink["partial"], mean_y.mean(0), rtol=1e-10)
    b0 = post["beta"].values.reshape(-1)  # the one fixed effect, the intercept
    assert shrink["grand_mean"].iloc[0] == pytest.approx(
        float(np.mean((1 - zi) * np.exp(b0))), rel=1e-10
    )
    # the separate fits hold zi at its posterior mean
    link = zip_bayes.shrinkage()
    np.testing.assert_allclose(
        shrink["unpooled"], (1 - zi.mean()) * np.exp(link["unpooled"]), rtol=1e-10
    )
    ng = zip_bayes.new_group(scale="response").loc["Intercept"]
    assert 0 < ng["lower"] < ng["median"] < ng["upper"]
