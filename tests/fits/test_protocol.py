"""The fit protocol (hierarch.fits.base) on the four bundled hierarchies, each fitted by
maximum likelihood and by NUTS: every fit says how it was made, prints, and is compared with
its twin by ``hierarch.compare`` in either order; Bayesian fits save and reload with
identical reports; the ICC of a Bayesian binomial GLMM is on the latent scale."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierarch

pytestmark = pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # short runs
SHORT = {"draws": 300, "tune": 300, "chains": 2, "progressbar": False}
SCHOOLS = pd.DataFrame(
    {
        "school": list("ABCDEFGH"),
        "effect": [28.0, 8, -3, 7, -1, 1, 18, 12],
        "se": [15.0, 10, 16, 11, 9, 11, 10, 18],
    }
)
ML_METHODS = {"ml", "reml", "laplace", "agq"}


@pytest.fixture(scope="module")
def cbpp_model():
    return hierarch.model(
        "incidence | trials(size) ~ C(period) + (1 | herd)",
        hierarch.load_dataset("cbpp"),
        family="binomial",
    )


@pytest.fixture(scope="module")
def pairs(rats_ml, rats_bayes, pigs_reml, pigs_bayes, cbpp_model, seed):
    """(frequentist, Bayesian) per hierarchy."""
    return {
        "rats": (rats_ml, rats_bayes),
        "pigs": (pigs_reml, pigs_bayes),
        "cbpp": (cbpp_model.fit(method="laplace"), cbpp_model.fit(random_seed=seed, **SHORT)),
        "eight schools": (
            hierarch.normal_means("effect", "se", "school", SCHOOLS, method="reml"),
            hierarch.normal_means(
                "effect", "se", "school", SCHOOLS, method="bayes", random_seed=seed, **SHORT
            ),
        ),
    }


@pytest.mark.parametrize("name", ["rats", "pigs", "cbpp", "eight schools"])
def test_each_fit_says_how_it_was_made_and_prints(pairs, name):
    freq, bayes = pairs[name]
    assert freq.method in ML_METHODS and bayes.method == "bayes"
    assert freq.conf_level == bayes.conf_level == 0.95
    assert len(str(freq).splitlines()) > 5 and len(str(bayes).splitlines()) > 5


NAMES = ["rats", "pigs", "cbpp", "eight schools"]
FITS = [(name, which) for name in NAMES for which in (0, 1)]
#: random-intercept models have an ICC and the two shrinkage measures; pigs has slopes
RANDOM_INTERCEPT = {"rats", "cbpp", "eight schools"}


@pytest.mark.parametrize(("name", "which"), FITS)
def test_every_fit_answers_the_whole_protocol(pairs, name, which):
    """The same method names and table columns for every (front end x method) pair."""
    fit = pairs[name][which]
    bayes = fit.method == "bayes"
    spread = "sd" if bayes else "se"
    fe = fit.fixed_effects()
    assert fe.index.name == "coef" and "Intercept" in fe.index
    assert {"estimate", spread, "lower", "upper"} <= set(fe.columns)
    assert (fe["lower"] < fe["estimate"]).all() and (fe["estimate"] < fe["upper"]).all()
    sds = fit.group_sds()
    assert list(sds.columns[:4]) == ["group", "effect", "kind", "estimate"]
    assert (sds["estimate"] >= 0).all() and np.isfinite(sds["estimate"]).all()
    tau = fit.tau()
    assert tau.method == fit.method and float(tau) >= 0 and (tau.draws is not None) == bayes
    first = sds[sds["effect"] == "Intercept"].iloc[0]
    assert float(tau) == pytest.approx(first["estimate"], rel=1e-12)
    assert set(fit.correlations().columns) >= {"group", "var1", "var2", "estimate"}
    ranef, coef = fit.ranef(), fit.coef()
    assert isinstance(ranef, dict) and isinstance(coef, dict) and len(ranef) >= 1
    group = sds["group"].iloc[0]
    assert "Intercept" in coef[group].columns and len(coef[group]) >= 8
    shrink = fit.shrinkage()
    assert "group" in shrink.columns  # per coefficient (suffixed when there are several):
    for part in ("unpooled", "partial", "partial_lower", "partial_upper", "complete"):
        assert part in shrink.columns or f"{part.split('_')[0]}_Intercept" in shrink.columns
    if name in RANDOM_INTERCEPT:
        assert {"alpha", "fraction_moved", "grand_mean"} <= set(shrink.columns)
        assert ((shrink["alpha"] > 0) & (shrink["alpha"] <= 1)).all() or (
            name == "eight schools" and not bayes  # tau = 0: alpha = 0, complete pooling
        )
    ng = fit.new_group()
    assert {"mean", "lower", "upper"} <= set(ng.columns)
    # a new group varies in its random effects (ML: plug-in; coefficients with no random
    # effect, cbpp's periods, then have an interval of width 0)
    assert (ng["lower"] <= ng["upper"]).all() and ng["lower"].iloc[0] < ng["upper"].iloc[0]
    if name in ("rats", "cbpp"):
        icc = fit.icc()
        assert 0 < icc["icc"].iloc[0] < 1
    else:
        with pytest.raises(ValueError, match="ICC"):
            fit.icc()
    if name == "pigs":
        sigma = fit.sigma()
        assert list(sigma.index) == ["sigma"] and sigma.loc["sigma", "estimate"] > 0
    else:
        with pytest.raises(ValueError, match="residual SD"):
            fit.sigma()
    assert len(str(fit).splitlines()) > 5


@pytest.mark.parametrize(("name", "which"), FITS)
def test_every_fit_saves_and_reloads_with_identical_reports(pairs, name, which, tmp_path):
    fit = pairs[name][which]
    again = hierarch.load_fit(fit.save(tmp_path / "fit.nc"))
    assert type(again) is type(fit) and again.method == fit.method
    assert str(again) == str(fit)
    for report in ("fixed_effects", "group_sds", "shrinkage", "new_group"):
        pd.testing.assert_frame_equal(getattr(again, report)(), getattr(fit, report)())
    assert float(again.tau()) == float(fit.tau())


@pytest.mark.parametrize("name", NAMES)
def test_compare_takes_the_twins_in_either_order(pairs, name):
    freq, bayes = pairs[name]
    one, other = hierarch.compare(freq, bayes), hierarch.compare(bayes, freq)
    if isinstance(one, pd.DataFrame):  # formula models: one row per parameter
        pd.testing.assert_frame_equal(one, other)
        assert {"estimate", "mean", "lower", "upper"} <= set(one.columns)
        assert one.loc[one.index[0], "lower"] <= one.loc[one.index[0], "upper"]
    else:  # the simple hierarchies: per group and for mu, tau
        pd.testing.assert_frame_equal(one.summary, other.summary)
        pd.testing.assert_frame_equal(one.groups, other.groups)
        assert list(one.summary.index) == ["frequentist", "bayesian"]
        assert one.summary.loc["frequentist", "mu"] == pytest.approx(freq.mu)
    # two fits made the same way: the parameters side by side, here identical
    same = hierarch.compare(freq, freq)
    m = freq.method
    np.testing.assert_array_equal(same[f"{m}_1"].to_numpy(), same[f"{m}_2"].to_numpy())
    assert same.index[0] == "Intercept" and same.index.name == "quantity"


def test_compare_reml_with_ml(pigs, pigs_reml):
    """Two frequentist fits of pigs: REML's group SDs are the larger (ML divides by n)."""
    ml = hierarch.model("weight ~ week + (week | id)", pigs).fit(method="ml")
    side = hierarch.compare(pigs_reml, ml)
    assert list(side.columns[:3]) == ["reml", "reml_lower", "reml_upper"]
    assert side.loc["week", "reml"] == pytest.approx(side.loc["week", "ml"], rel=1e-6)
    assert side.loc["sd[id: Intercept]", "reml"] > side.loc["sd[id: Intercept]", "ml"]
    assert side.loc["sigma", "ml"] == pytest.approx(float(ml.lmm.sigma))


def test_compare_refuses_fits_of_different_models(pairs):
    with pytest.raises(ValueError, match="different models"):
        hierarch.compare(pairs["rats"][0], pairs["pigs"][1])


def test_a_reloaded_formula_fit_keeps_its_priors_and_settings(pairs, tmp_path):
    """Not the defaults: the fitted priors, parameterization and aggregation."""
    for name in ("pigs", "cbpp"):
        bayes = pairs[name][1]
        again = hierarch.load_fit(bayes.save(tmp_path / f"{name}.nc"))
        assert again.model.priors == bayes.model.priors
        assert again.model.aggregate == bayes.model.aggregate
        assert again.spec["parameterization"] == bayes.spec["parameterization"]


def test_bayesian_icc_of_a_binomial_glmm_is_on_the_latent_scale(pairs):
    """Nakagawa et al. (2017): tau^2 / (tau^2 + pi^2 / 3) for a logit link, per draw."""
    bayes = pairs["cbpp"][1]
    icc = bayes.icc()
    sd = bayes.idata.posterior["sd_herd"].values.ravel()
    expected = sd**2 / (sd**2 + np.pi**2 / 3)
    assert icc["icc"].iloc[0] == pytest.approx(expected.mean(), rel=1e-12)
    assert 0 < icc["lower"].iloc[0] < icc["icc"].iloc[0] < icc["upper"].iloc[0] < 1


def test_latent_icc_of_a_poisson_glmm_uses_the_mean_count():
    """log link: residual variance log(1 + 1/lambda), lambda = exp(b0 + tau^2 / 2)."""
    fam = hierarch.core.families.get_family("poisson")
    lam = np.exp(0.5 + 0.3 / 2)
    assert fam.latent_variance("log", 0.5, 0.3) == pytest.approx(np.log1p(1 / lam))
    nb = hierarch.core.families.get_family("negative_binomial")
    assert nb.latent_variance("log", 0.5, 0.3, size=2.0) == pytest.approx(np.log1p(1 / lam + 0.5))
    with pytest.raises(ValueError, match="not defined here for family 'gamma'"):
        hierarch.core.families.get_family("gamma").latent_variance("log", 0.5, 0.3)


@pytest.mark.parametrize("name", NAMES)
def test_every_fit_has_fitted_values_residuals_and_the_fixed_effect_correlation(pairs, name):
    """The same calls on every fit, ML and Bayes (lme4's fitted / residuals / the correlation
    of the fixed effects): one finite value per data row, a unit diagonal."""
    for fit in pairs[name]:
        n = len(fit.model.parsed.y)
        for values in (fit.fitted(), fit.residuals(), fit.residuals("response")):
            assert values.shape == (n,) and np.all(np.isfinite(values)), (name, fit.method)
        C = fit.fixed_effect_correlation()
        np.testing.assert_allclose(np.diag(C), 1.0, rtol=1e-12)
        if fit.method != "bayes":
            assert fit.is_singular() == (name == "eight schools")  # eight schools: tau = 0
