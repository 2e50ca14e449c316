"""Reports on the rats fits: shrinkage, tau, new group, population, comparison.

``rats_bayes`` uses hierarch's default sampler settings (4 x 1000 draws, nutpie when
installed) with the suite's fixed seed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special

import hierarch


def test_default_rats_fit_converges(rats_bayes):
    """Acceptance: R-hat <= 1.01 and bulk ESS >= 400 for mu and tau (the formula model's
    intercept ``beta`` and group SD ``sd_batch``), no divergences."""
    diag = rats_bayes.diagnostics()
    assert diag.table.loc[["beta", "sd_batch"], "r_hat_max"].max() <= 1.01
    assert diag.table.loc[["beta", "sd_batch"], "ess_bulk_min"].min() >= 400
    assert diag.divergences == 0
    assert diag.ok, str(diag)
    assert rats_bayes.spec["sampler"] == {
        "draws": 1000,
        "tune": 1000,
        "chains": 4,
        "target_accept": 0.9,
        "sampler": "auto",
        "random_seed": 20261124,
    }


def test_idata_is_labelled_with_group_names(rats_bayes, rats):
    """The multilevel fit is the formula model's: group effects labelled by the grouping
    column's levels; immr's quantities by name through ``draws``."""
    post = rats_bayes.idata.posterior
    assert list(post["batch"].values) == rats["batch"].tolist()
    assert post["b_batch"].dims == ("chain", "draw", "batch", "batch_effect")
    assert post.sizes["chain"] == 4 and post.sizes["draw"] == 1000
    assert rats_bayes.draws("theta").shape == (4000, 71)
    assert rats_bayes.draws("mu").shape == rats_bayes.draws("tau").shape == (4000,)
    g = rats_bayes.groups.set_index("group")
    assert g.loc[42, "successes"] == 2 and g.loc[42, "trials"] == 13


def test_bayes_and_ml_agree_roughly_on_rats(rats_bayes, rats_ml):
    # posterior means within 2 posterior SDs of the Laplace estimates
    mu = rats_bayes.draws("mu")
    tau = rats_bayes.draws("tau")
    assert abs(mu.mean() - rats_ml.mu) < 2 * mu.std()
    assert abs(tau.mean() - float(rats_ml.tau())) < 2 * tau.std()


@pytest.mark.parametrize("which", ["ml", "bayes"])
def test_shrinkage_table(which, rats_ml, rats_bayes):
    fit = rats_ml if which == "ml" else rats_bayes
    t = hierarch.shrinkage(fit)
    assert list(t.columns) == [
        "group",
        "n",
        "successes",
        "observed",
        "unpooled",
        "unpooled_lower",
        "unpooled_upper",
        "partial",
        "partial_lower",
        "partial_upper",
        "complete",
        "grand_mean",
        "alpha",
        "fraction_moved",
    ]
    assert len(t) == 71
    assert t["complete"].iloc[0] == pytest.approx(267 / 1739)
    # every estimate moves toward the grand mean and stops short of it: 0 < shrinkage < 1.
    # (A posterior mean on the probability scale is not a linear pull, so for a batch whose own
    # proportion is within 0.03 of the grand mean the Bayesian fraction may leave [0, 1]: batch
    # 33, 1/10 against a grand mean of 0.126, has a posterior mean of about 0.128.)
    far = (t["observed"] - t["grand_mean"]).abs() > 0.03
    assert far.sum() >= 50
    assert ((t.loc[far, "fraction_moved"] > 0) & (t.loc[far, "fraction_moved"] < 1)).all()
    # the pooling weight: the weight of the batch's own trials, in (0, 1), larger for more
    assert ((t["alpha"] > 0) & (t["alpha"] < 1)).all()
    assert t.loc[t["n"].idxmax(), "alpha"] > t.loc[t["n"].idxmin(), "alpha"]
    # groups with the same m/n shrink more when n is smaller (batches 1-7: 0/20, 8-10: 0/19)
    if which == "ml":
        assert t.loc[7, "partial"] > t.loc[0, "partial"]
    pd.testing.assert_frame_equal(t, fit.shrinkage())


def test_tau_summary(rats_bayes):
    t = rats_bayes.tau()
    draws = rats_bayes.draws("tau")
    assert t.mean == pytest.approx(draws.mean())
    assert t.median == pytest.approx(np.median(draws))
    assert t.hdi_prob == 0.95
    assert 0 < t.hdi_lower < t.median < t.hdi_upper
    # HDI holds 95% of the draws (within one draw)
    inside = np.mean((draws >= t.hdi_lower) & (draws <= t.hdi_upper))
    assert inside == pytest.approx(0.95, abs=1 / len(draws) + 1e-9)
    # HalfNormal(1) prior density: 2 * phi(x)
    grid = t.prior_density
    assert grid["density"].iloc[0] == pytest.approx(2 / np.sqrt(2 * np.pi), rel=1e-6)
    assert list(t.table.columns) == [
        "estimate",
        "method",
        "sd",
        "median",
        "hdi_lower",
        "hdi_upper",
        "hdi_prob",
        "prior",
    ]


def test_tau_of_an_ml_fit_is_the_estimate(rats_ml):
    """The protocol's tau() on the ML twin: the estimate (immr: 0.6646), no posterior."""
    t = rats_ml.tau()
    assert t.method == "laplace" and t.draws is None and t.scale == "log-odds"
    assert round(t, 4) == 0.6646 and float(t) == t.estimate == rats_ml.tau_estimate
    assert f"{t:.4f}" == "0.6646" and "0.6646 (laplace estimate)" in str(t)
    assert list(t.table.columns) == ["estimate", "method", "lower", "upper", "interval"]
    assert t.interval == "profile" and t.lower < t.estimate < t.upper
    with pytest.raises(ValueError, match="maximum-likelihood estimate"):
        hierarch.plots.plot_tau(t)


def test_new_group_is_reproducible_and_sensible(rats_bayes):
    a = rats_bayes.new_group(trials=20)
    b = rats_bayes.new_group(trials=20)
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == ["probability", "count"]
    lo, hi = a.loc["probability", ["lower", "upper"]]
    assert 0.01 < lo < 0.126 < hi < 0.5
    assert 0 <= a.loc["count", "lower"] <= a.loc["count", "upper"] <= 20
    c = rats_bayes.new_group(trials=20, random_seed=1)
    assert c.loc["probability", "mean"] != a.loc["probability", "mean"]
    assert c.loc["probability", "mean"] == pytest.approx(a.loc["probability", "mean"], abs=0.005)


def test_new_group_wider_than_plugin(rats_bayes, rats_ml):
    lo, hi = rats_bayes.prediction_int
    plo, phi = rats_ml.prediction_int
    assert hi - lo > phi - plo


def test_ml_new_group_matches_prediction_interval(rats_ml):
    t = rats_ml.new_group(trials=20)
    assert tuple(t.loc["probability", ["lower", "upper"]]) == pytest.approx(rats_ml.prediction_int)
    assert t.loc["probability", "median"] == pytest.approx(special.expit(rats_ml.mu))
    assert 2.0 < t.loc["count", "mean"] < 3.5  # about 20 * 0.14


def test_new_group_rejects_bad_trials(rats_ml):
    with pytest.raises(ValueError, match="trials must be a positive whole number, got 2.5"):
        rats_ml.new_group(trials=2.5)


@pytest.mark.parametrize("which", ["ml", "bayes"])
def test_population_density_integrates_to_one(which, rats_ml, rats_bayes):
    fit = rats_ml if which == "ml" else rats_bayes
    grid = np.linspace(1e-5, 1 - 1e-5, 20001)
    pop = hierarch.population(fit, grid=grid)
    # the trapezoid rule on a fine grid: error well below 1e-3
    assert integrate.trapezoid(pop["density"], pop["theta"]) == pytest.approx(1.0, abs=1e-3)
    if which == "bayes":
        assert (pop["lower"] <= pop["density"] + 1e-12).all()
    else:
        # the seed's formula: dnorm(logit(theta), b, tau) * |1/theta + 1/(1-theta)|
        th = pop["theta"].to_numpy()
        expected = (
            np.exp(-0.5 * ((np.log(th / (1 - th)) - fit.mu) / fit.tau_estimate) ** 2)
            / (fit.tau_estimate * np.sqrt(2 * np.pi))
            * (1 / th + 1 / (1 - th))
        )
        np.testing.assert_allclose(pop["density"], expected, rtol=1e-12)


def test_population_rejects_grid_outside_unit_interval(rats_ml):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        rats_ml.population(grid=np.array([0.0, 0.5]))


def test_compare(rats_ml, rats_bayes):
    cmp = hierarch.compare(rats_ml, rats_bayes)
    assert list(cmp.summary.index) == ["frequentist", "bayesian"]
    assert cmp.summary.loc["frequentist", "tau"] == pytest.approx(0.6646, abs=5e-5)
    assert cmp.summary.loc["bayesian", "tau"] == pytest.approx(rats_bayes.tau().mean)
    # tau's profile interval (ML) beside its HDI (Bayes), issue 12 item 5
    freq, bayes = cmp.summary.loc["frequentist"], cmp.summary.loc["bayesian"]
    assert freq["tau_lower"] < freq["tau"] < freq["tau_upper"]
    assert bayes["tau_lower"] < bayes["tau_median"] < bayes["tau_upper"]
    assert freq["tau_lower"] == pytest.approx(rats_ml.tau().lower)
    assert list(cmp.groups.columns) == [
        "group",
        "n",
        "unpooled",
        "freq",
        "freq_lower",
        "freq_upper",
        "bayes",
        "bayes_lower",
        "bayes_upper",
    ]
    assert len(cmp.groups) == 71
    # the two partial-pooling estimates agree to within 0.02 on every batch
    assert (cmp.groups["freq"] - cmp.groups["bayes"]).abs().max() < 0.02
    # either order gives the same comparison; two Bayesian fits: parameter by parameter
    pd.testing.assert_frame_equal(hierarch.compare(rats_bayes, rats_ml).groups, cmp.groups)
    twice = hierarch.compare(rats_bayes, rats_bayes)
    assert twice.loc["sd[batch: Intercept]", "bayes_1"] == pytest.approx(float(rats_bayes.tau()))


def test_reports_need_a_multilevel_fit(rats):
    pooled = hierarch.binomial_model("m", "n", data=rats)
    with pytest.raises(ValueError, match=r"shrinkage\(\) needs a multilevel fit"):
        hierarch.shrinkage(pooled)
