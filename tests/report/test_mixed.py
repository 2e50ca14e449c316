"""Reports for normal mixed models, mostly on REML fits (fast) and the session pigs fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch import simulate
from hierarch.report import mixed as report_mixed


@pytest.fixture(scope="module")
def alcohol_reml():
    return hierarch.model("alcohol ~ 1 + (1 | country)", hierarch.load_dataset("alcohol")).fit(
        method="reml"
    )


def test_coefficients_match_lme4_coef(pigs_reml):
    coefs = pigs_reml.coefficients()
    pig1 = coefs[coefs["group"] == 1].set_index("coef")["estimate"]
    wide = pigs_reml.coef()["id"].loc[1]
    assert pig1["Intercept"] == pytest.approx(wide["Intercept"])
    assert pig1["week"] == pytest.approx(wide["week"])
    assert (coefs["lower"] < coefs["estimate"]).all() and (coefs["estimate"] < coefs["upper"]).all()


def test_random_slopes_shrinkage_table(pigs_reml, pigs):
    t = pigs_reml.shrinkage()
    assert len(t) == 48 and (t["n"] == 9).all()
    # the separate fit of pig 1 is ordinary least squares on its 9 weeks
    p1 = pigs[pigs["id"] == 1]
    slope, intercept = np.polyfit(p1["week"], p1["weight"], 1)
    assert t.loc[0, "unpooled_Intercept"] == pytest.approx(intercept)
    assert t.loc[0, "unpooled_week"] == pytest.approx(slope)
    # partial pooling pulls the lines together: the spread of the partially pooled
    # intercepts and slopes is smaller than that of the separate fits
    assert t["partial_week"].std() < t["unpooled_week"].std()
    assert t["partial_Intercept"].std() < t["unpooled_Intercept"].std()
    assert t.loc[0, "complete_week"] == pytest.approx(
        np.polyfit(pigs["week"], pigs["weight"], 1)[0]
    )


def test_random_intercept_pooling_weight(alcohol_reml):
    t = alcohol_reml.shrinkage()
    vc = alcohol_reml.varcorr()
    tau2, s2 = vc["vcov"].iloc[0], vc["vcov"].iloc[1]
    expected = tau2 / (tau2 + s2 / t["n"])
    np.testing.assert_allclose(t["alpha"], expected, rtol=1e-10)
    # the BLUP is exactly mu + alpha (ybar - mu) for a random-intercept model
    mu = alcohol_reml.lmm.beta[0]
    np.testing.assert_allclose(t["partial"], mu + t["alpha"] * (t["unpooled"] - mu), rtol=1e-8)
    # more years of data -> less shrinkage
    assert t.sort_values("n")["alpha"].is_monotonic_increasing
    # a Gaussian random intercept: the fraction moved is 1 - alpha (to rounding, 1e-6, where
    # the group's mean is not within 1e-3 of the grand mean: there the fraction is 0 / 0)
    far = (t["unpooled"] - t["grand_mean"]).abs() > 1e-3
    np.testing.assert_allclose(t.loc[far, "fraction_moved"], 1 - t.loc[far, "alpha"], atol=1e-6)


def test_icc_report(alcohol_reml):
    icc = report_mixed.icc(alcohol_reml)
    pd.testing.assert_frame_equal(icc, alcohol_reml.icc())
    vc = alcohol_reml.varcorr()
    tau2, s2 = vc["vcov"].iloc[0], vc["vcov"].iloc[1]
    assert icc["icc"].iloc[0] == pytest.approx(tau2 / (tau2 + s2))


def test_shrinkage_needs_the_random_columns_in_the_fixed_part(pigs):
    fit = hierarch.model("weight ~ 1 + (week | id)", pigs).fit(method="reml")
    with pytest.raises(ValueError, match="must also be in the fixed part"):
        fit.shrinkage()


def test_shrinkage_holds_covariates_without_random_effects_at_complete_pooling(pigs):
    """``weight ~ week + (1 | id)``: each pig's own intercept is its mean of
    ``weight - b_week * week`` with ``b_week`` the complete-pooling (least-squares) slope."""
    fit = hierarch.model("weight ~ week + (1 | id)", pigs).fit(method="reml")
    t = fit.shrinkage()
    complete = np.polyfit(pigs["week"], pigs["weight"], 1)
    own = (pigs["weight"] - complete[0] * pigs["week"]).groupby(pigs["id"]).mean()
    np.testing.assert_allclose(t["unpooled"], own.to_numpy(), rtol=1e-10)
    assert t["complete"].iloc[0] == pytest.approx(complete[1])
    assert ((t["alpha"] > 0) & (t["alpha"] < 1)).all()


def test_new_group_ml_and_bayes(pigs_reml, pigs_bayes):
    new = pd.DataFrame({"week": np.arange(1, 10)})
    for fit in (pigs_reml, pigs_bayes):
        curve = fit.new_group(new)
        assert list(curve.columns) == [
            "week",
            "fit",
            "fit_lower",
            "fit_upper",
            "pred_lower",
            "pred_upper",
        ]
        # the band widens with week (slope uncertainty) and the prediction band is wider
        width = curve["fit_upper"] - curve["fit_lower"]
        assert width.iloc[-1] > width.iloc[0]
        # a new observation's interval is wider than the mean's band; at late weeks the band
        # dominates (sigma is small beside the new pig's slope) and the two quantile widths,
        # each from the same few thousand draws, differ by Monte Carlo error: 2 % allowed
        assert ((curve["pred_upper"] - curve["pred_lower"]) > 0.98 * width).all()
        assert (curve["pred_upper"] - curve["pred_lower"]).iloc[0] > 1.05 * width.iloc[0]
        # the mean curve is the fixed-effect line
        beta = pigs_reml.lmm.beta
        np.testing.assert_allclose(curve["fit"], beta[0] + beta[1] * new["week"], rtol=0.02)
        coefs = fit.new_group()
        sd_int = np.sqrt(pigs_reml.lmm.cov[0][0, 0])
        width_int = coefs.loc["Intercept", "upper"] - coefs.loc["Intercept", "lower"]
        assert width_int == pytest.approx(2 * 1.96 * sd_int, rel=0.2)
    pd.testing.assert_frame_equal(pigs_bayes.new_group(new), pigs_bayes.new_group(new))


def test_hyperparameter_draws(pigs_bayes):
    d = report_mixed.hyperparameter_draws(pigs_bayes)
    assert list(dict.fromkeys(d["parameter"])) == [
        "sd[id: Intercept]",
        "sd[id: week]",
        "cor[id: Intercept, week]",
        "sigma",
    ]
    assert (d.groupby("parameter").size() == 4000).all()


def test_pooling_mse_reproduces_the_seed_002_lesson():
    """Default widget settings (J=16, n=8, sigma_u=1.5, sigma_e=2), 50 data sets (seeds 0-49):
    partial pooling has the lowest MSE of the three."""
    table = simulate.pooling_mse(n_sims=50, seed=0)
    assert table.index[0] == "partial"
    assert (
        table.loc["partial", "mse"] < table.loc["no_pooling", "mse"] < table.loc["complete", "mse"]
    )


def test_simulators():
    df = simulate.random_slopes()
    assert df.shape == (1000, 3) and df["cluster"].nunique() == 100
    assert abs(df["x"].mean()) < 0.1 and abs(df["x"].std() - 1) < 0.1
    half = simulate.random_slopes(balanced=0.5)
    assert len(half) == 500
    assert half["cluster"].value_counts().std() > 0  # unbalanced
    with pytest.raises(ValueError, match="balanced should be a proportion"):
        simulate.random_slopes(balanced=1.5)
    ri = simulate.random_intercepts(J=16, n_mean=8, seed=4)
    assert ri["group"].nunique() == 16
    assert ri.groupby("group")["true_mean"].nunique().eq(1).all()
    eq = simulate.random_intercepts(J=5, n_mean=4, unequal=False, seed=4)
    assert (eq.groupby("group").size() == 4).all()


def test_ml_summaries_parallel_the_bayesian_ones(pigs_reml):
    sds = pigs_reml.group_sds()
    assert list(sds["effect"]) == ["Intercept", "week"]
    assert sds["estimate"].round(4).tolist() == [2.6432, 0.6164]
    cor = pigs_reml.correlations()
    assert cor["estimate"].iloc[0] == pytest.approx(-0.0634, abs=5e-4)
    assert round(pigs_reml.sigma().loc["sigma", "estimate"], 4) == 1.2637


def test_ppc_and_loo_on_pigs(pigs_bayes, pigs):
    reps = pigs_bayes.ppc(n_draws=50)
    assert reps.shape == (len(pigs), 51)
    np.testing.assert_array_equal(reps["observed"], pigs["weight"])
    # replicated means track the observed mean (within 1 kg: sigma 1.26, 432 rows)
    assert abs(reps.drop(columns="observed").mean().mean() - pigs["weight"].mean()) < 1.0
    pd.testing.assert_frame_equal(pigs_bayes.ppc(n_draws=50), reps)  # seeded
    ll = report_mixed.pointwise_loglik(pigs_bayes)
    assert ll.shape == (4, 1000, len(pigs))
    res = pigs_bayes.loo()
    assert np.isfinite(res.elpd_loo) and res.elpd_loo < 0
    assert len(res.pareto_k) == len(pigs)


def test_plot_ppc(pigs_bayes):
    from hierarch import plots

    ax = plots.plot_ppc(pigs_bayes.ppc(n_draws=20))
    assert len(ax.lines) == 20 + 1 + 1  # replicates, observed, legend proxy


def test_compare_reml_and_bayes(pigs_reml, pigs_bayes):
    table = report_mixed.compare(pigs_reml, pigs_bayes)
    assert list(table.index) == [
        "Intercept",
        "week",
        "sd[id: Intercept]",
        "sd[id: week]",
        "cor[id: Intercept, week]",
        "sigma",
    ]
    assert table.loc["week", "estimate"] == pytest.approx(6.20990, abs=1e-5)
    # every REML estimate lies inside the 95% posterior interval
    assert ((table["lower"] < table["estimate"]) & (table["estimate"] < table["upper"])).all()
    with pytest.raises(ValueError, match="the REML/ML fit first"):
        report_mixed.compare(pigs_bayes, pigs_reml)


def test_new_group_with_newdata_honours_the_response_scale():
    """Issue 11, item 6: scale="response" with newdata was ignored on a Laplace Poisson fit
    (link-scale values, a negative lower bound for a count mean).  The response-scale band is
    exp of the link-scale one draw by draw, so its quantiles are exp of those (the same seed:
    the same draws; to 1% since np.quantile interpolates linearly between two neighbouring
    draws, on each scale) and it is positive."""
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(12), 10)
    x = rng.normal(0, 1, len(g))
    y = rng.poisson(np.exp(0.3 + 0.4 * x + rng.normal(0, 0.5, 12)[g]))
    fit = hierarch.model(
        "y ~ x + (1 | g)", pd.DataFrame({"y": y, "x": x, "g": g}), family="poisson"
    ).fit(method="laplace")
    new = pd.DataFrame({"x": [-1.0, 0.0, 1.0]})
    link = fit.new_group(new, random_seed=1)
    resp = fit.new_group(new, random_seed=1, scale="response")
    assert resp.attrs["scale"] == "response" and link.attrs["scale"] == "link"
    assert (link["fit_lower"] < 0).any() and (resp["fit_lower"] > 0).all()
    np.testing.assert_allclose(resp["fit_lower"], np.exp(link["fit_lower"]), rtol=1e-2)
    np.testing.assert_allclose(resp["fit_upper"], np.exp(link["fit_upper"]), rtol=1e-2)
    with pytest.raises(ValueError, match="scale must be 'link' or 'response'"):
        fit.new_group(new, scale="counts")


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # 100 draws
def test_a_grouping_factor_named_sample_works_in_every_bayesian_report(seed):
    """Issue 11, item 3: penicillin's factor ``sample`` broke icc, shrinkage and new_group
    (xarray: a new dimension with the name of an existing one)."""
    pen = hierarch.load_dataset("penicillin")
    fit = hierarch.model("diameter ~ 1 + (1 | plate) + (1 | sample)", pen).fit(
        draws=100, tune=100, chains=2, random_seed=seed, progressbar=False
    )
    assert list(fit.icc()["group"]) == ["plate", "sample"]
    assert len(fit.shrinkage("sample")) == pen["sample"].nunique()
    assert np.isfinite(fit.new_group().to_numpy()).all()
    assert fit.group_sds()["estimate"].gt(0).all()


def test_compare_says_what_is_wrong_with_its_arguments():
    """Issue 11, item 10: any pair that was not binomial was told it needed a multilevel
    binomial fit."""
    rats = hierarch.load_dataset("rats")
    unpooled = hierarch.binomial_model("m", "n", "batch", rats)
    with pytest.raises(ValueError, match="the unpooled binomial model has no hierarchy"):
        hierarch.compare(unpooled, unpooled)
    with pytest.raises(TypeError, match="two hierarch fits, got a DataFrame"):
        hierarch.compare(rats, unpooled)
    sleep = hierarch.load_dataset("sleepstudy")
    reml = hierarch.model("Reaction ~ Days + (1 | Subject)", sleep).fit(method="reml")
    with pytest.raises(ValueError, match="different models"):
        hierarch.compare(reml, hierarch.binomial_model("m", "n", "batch", rats, multilevel=True))


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # 100 draws
def test_column_names_that_are_the_models_own_dimension_names(seed, tmp_path):
    """Issue 11, item 3: any column name works; the model's dimensions (``obs``, ``coef``,
    ``<block>_effect``) step aside for the names of the columns the model uses, and a factor
    called ``chain`` (a name ArviZ owns) gets the dimension ``chain__level``."""
    df = simulate.random_intercepts(J=8, n_mean=6, sigma_u=1.0, sigma_e=1.0, seed=3)
    rng = np.random.default_rng(0)
    df = pd.DataFrame(
        {
            "coef": df["y"],
            "obs": rng.normal(size=len(df)),
            "chain": df["group"],
            "chain_effect": rng.normal(size=len(df)),
        }
    )
    m = hierarch.model("coef ~ obs + chain_effect + (1 | chain)", df)
    assert (m.dim_obs, m.dim_coef, m.dim_factor("chain"), m.dim_effect("chain")) == (
        "obs_",
        "coef_",
        "chain__level",
        "chain_effect_",
    )
    fit = m.fit(draws=100, tune=100, chains=2, random_seed=seed, progressbar=False)
    assert fit.idata.posterior["b_chain"].dims == ("chain", "draw", "chain__level", "chain_effect_")
    ml = m.fit(method="reml")
    for f in (fit, ml):
        assert f.group_sds()["estimate"].gt(0).all()
        assert len(f.shrinkage()) == 8 and np.isfinite(f.new_group().to_numpy()).all()
        assert list(f.icc()["group"]) == ["chain"]
    assert len(hierarch.compare(ml, fit)) > 0
    back = hierarch.load_fit(fit.save(tmp_path / "fit.nc"))
    pd.testing.assert_frame_equal(back.group_sds(), fit.group_sds())


def test_frequentist_icc_has_a_row_per_grouping_factor():
    """Issue 11, item 5 (fixed in the redesign): penicillin's REML icc() gave plate's share
    only; each factor's share of the total variance, tau_f^2 / (sum tau^2 + sigma^2)."""
    fit = hierarch.model(
        "diameter ~ 1 + (1 | plate) + (1 | sample)", hierarch.load_dataset("penicillin")
    ).fit(method="reml")
    icc = fit.icc().set_index("group")["icc"]
    var = (fit.group_sds().set_index("group")["estimate"] ** 2).to_dict()
    total = sum(var.values()) + float(fit.sigma()["estimate"].iloc[0]) ** 2
    assert list(icc.index) == ["plate", "sample"]
    for f in icc.index:
        assert icc[f] == pytest.approx(var[f] / total, rel=1e-12)
    assert round(icc["plate"], 4) == 0.1509  # lme4: 0.8467^2 / (0.8467^2 + 1.9316^2 + 0.5499^2)


def test_predict_on_maximum_likelihood_fits():
    """predict() answers on every fit of the protocol: ML fits draw beta ~ N(beta_hat, vcov)
    and each group's effects from N(b_hat, condVar) (merTools' predictInterval).  With 4000
    draws the mean of a Gaussian prediction is its plug-in value to a few Monte Carlo
    standard errors (SE ~ sd / 63: 0.1 ms here is far inside); a new subject's interval is
    wider than a fitted one's."""
    sl = hierarch.load_dataset("sleepstudy")
    fit = hierarch.model("Reaction ~ Days + (Days | Subject)", sl).fit(method="reml")
    new = pd.DataFrame({"Days": [0.0, 5.0], "Subject": [sl["Subject"].iloc[0]] * 2})
    cond = fit.predict(new)
    coef = fit.coef()["Subject"].iloc[0]
    plug = coef["Intercept"] + coef["Days"] * new["Days"]
    half = (cond["upper"] - cond["lower"]).to_numpy()
    np.testing.assert_allclose(cond["mean"], plug, atol=0.02 * half.max())
    assert ((cond["lower"] < plug) & (plug < cond["upper"])).all()
    fixed = fit.predict(new, kind="fixed")
    beta = fit.fixed_effects()["estimate"]
    np.testing.assert_allclose(
        fixed["mean"], beta["Intercept"] + beta["Days"] * new["Days"], atol=0.02 * half.max()
    )
    wide = fit.predict(new, kind="new_group")
    assert ((wide["upper"] - wide["lower"]).to_numpy() > half).all()
    again = fit.predict(new)
    pd.testing.assert_frame_equal(cond, again)  # seeded: reproducible
    rats = hierarch.load_dataset("rats")
    ml = hierarch.binomial_model("m", "n", "batch", rats, multilevel=True)
    p = ml.predict(rats.head(3))
    est = ml.estimates.head(3)
    np.testing.assert_allclose(p["mean"], est["estimate"], atol=0.02)  # mean of invlogit draws
    assert ((p["lower"] > 0) & (p["upper"] < 1)).all()


def test_compare_sets_profile_intervals_beside_the_posterior(pigs_reml, pigs_bayes):
    """Issue 12, item 5: the ML estimate with its interval (profile for the variance
    parameters, Wald for the fixed effects) next to the posterior median and HDI."""
    table = report_mixed.compare(pigs_reml, pigs_bayes)
    ci = pigs_reml.confint(parm="theta_")
    wald = pigs_reml.confint("wald")
    ci.loc[["Intercept", "week"]] = wald.loc[["Intercept", "week"]]
    for q in table.index:
        assert table.loc[q, "ml_lower"] == pytest.approx(ci.loc[q, "lower"])
        assert table.loc[q, "ml_upper"] == pytest.approx(ci.loc[q, "upper"])
    assert (table["hdi_lower"] <= table["median"]).all()
    assert (table["median"] <= table["hdi_upper"]).all()
    # a well-identified model: the two intervals overlap for every parameter
    assert (
        (table["ml_lower"] < table["hdi_upper"]) & (table["hdi_lower"] < table["ml_upper"])
    ).all()


def test_compare_groups_blups_beside_posterior(pigs_reml, pigs_bayes):
    groups = report_mixed.compare_groups(pigs_reml, pigs_bayes)
    assert list(groups.columns) == [
        "group",
        "level",
        "effect",
        "blup",
        "blup_sd",
        "posterior_mean",
        "posterior_sd",
        "shrink_ratio",
    ]
    assert len(groups) == 2 * 48
    # 48 pigs and 9 weeks each: the posterior means track the BLUPs closely
    assert np.corrcoef(groups["blup"], groups["posterior_mean"])[0, 1] > 0.99
    assert (groups["blup_sd"] > 0).all() and (groups["posterior_sd"] > 0).all()


def test_tau_comparison_and_its_plot(rats_ml, rats_bayes):
    from hierarch import plots
    from hierarch.report.tau import tau_comparison

    table = tau_comparison(rats_ml.tau(), rats_bayes.tau())
    grid = table["tau"].to_numpy()
    area = float(
        np.sum(
            (
                table["profile_likelihood"].to_numpy()[1:]
                + table["profile_likelihood"].to_numpy()[:-1]
            )
            * np.diff(grid)
        )
        / 2
    )
    assert area == pytest.approx(1.0, rel=1e-9)
    peak = grid[np.argmax(table["profile_likelihood"])]
    assert abs(peak - table.attrs["ml_estimate"]) < 0.05  # Laplace fit: the profile's mode
    assert table.attrs["ml_lower"] < table.attrs["ml_estimate"] < table.attrs["ml_upper"]
    ax = plots.plot_tau_comparison(table)
    assert len(ax.lines) >= 4 and ax.get_xlabel().startswith(r"$\tau$")
    with pytest.raises(ValueError, match="ML fit's tau first"):
        tau_comparison(rats_bayes.tau(), rats_ml.tau())
