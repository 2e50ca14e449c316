"""binomial_model: the immr quartet (DATA.md numbers to 4 decimals), bad input, PyMC graphs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch.bayes.binomial import DEFAULT_PRIORS, build_binomial_pymc


def r4(x):
    return [round(float(v), 4) for v in np.atleast_1d(x)]


# ------------------------------------------------------------------ frequentist, DATA.md numbers
def test_single_batch_42(rats):
    m1 = hierarch.binomial_model("m", "n", data=rats[rats["batch"] == 42])
    assert r4(m1.estimate) == [0.1538]
    assert r4(m1.conf_int) == [0.0387, 0.4506]
    assert m1.interval_method == "wald-logit"


def test_pooled(rats):
    m2 = hierarch.binomial_model("m", "n", data=rats)
    assert r4(m2.estimate) == [0.1535]
    assert r4(m2.conf_int) == [0.1373, 0.1713]
    assert str(m2) == (
        "Binomial model (pooled)\n\n  Estimate  :  0.1535\n  95% CI    :  [0.1373, 0.1713]"
    )


def test_unpooled_wilson_clipped(rats):
    m3 = hierarch.binomial_model("m", "n", group="batch", data=rats)
    est = m3.estimates
    assert list(est.columns) == ["group", "estimate", "lower", "upper"]
    assert len(est) == 71
    first = est.iloc[0]
    assert (first["group"], first["estimate"], first["lower"]) == (1, 0.0, 0.0)
    assert round(first["upper"], 3) == 0.161  # 0 of 20
    assert round(est.iloc[7]["upper"], 3) == 0.168  # 0 of 19
    assert ((est["lower"] >= 0) & (est["upper"] <= 1)).all()


def test_multilevel_laplace_reproduces_data_md(rats_ml):
    assert r4(rats_ml.mu) == [-1.9369]
    assert r4(float(rats_ml.tau())) == [0.6646]
    assert r4(rats_ml.estimate) == [0.1260]
    assert r4(rats_ml.conf_int) == [0.1021, 0.1545]
    assert r4(rats_ml.prediction_int) == [0.0377, 0.3465]
    first = rats_ml.estimates.iloc[0]  # batch 1: 0 of 20
    assert r4(first["estimate"]) == [0.0713]
    assert [round(first["lower"], 4), round(first["upper"], 3)] == [0.0259, 0.182]


def test_multilevel_print_matches_the_guide(rats_ml):
    text = str(rats_ml)
    for line in [
        "Binomial model (multilevel)",
        "  Grand mean      :  0.1260  [0.1021, 0.1545]  (95% CI)",
        "  Prediction int  :  [0.0377, 0.3465]  (95% PI for new group)",
        "  Mu              :  -1.9369  (grand mean, log-odds)",
        "  Tau             :  0.6646  (random-effects SD, log-odds)",
        "Group estimates (partial pooling):",
    ]:
        assert line in text.splitlines()


def test_agq_option_changes_approximation(rats):
    fit = hierarch.binomial_model("m", "n", "batch", rats, multilevel=True, n_agq=25)
    assert fit.approximation == "adaptive Gauss-Hermite quadrature, 25 points"
    assert r4(float(fit.tau())) == [0.6741]  # lme4 nAGQ = 25: 0.674118


def test_conf_level_is_honoured(rats):
    m90 = hierarch.binomial_model("m", "n", data=rats, conf_level=0.90)
    m95 = hierarch.binomial_model("m", "n", data=rats)
    assert m95.conf_int[0] < m90.conf_int[0] < m90.estimate < m90.conf_int[1] < m95.conf_int[1]
    assert "90% CI" in str(m90)


def test_several_rows_per_group_are_summed(rats):
    split = pd.concat(
        [
            rats.assign(m=rats["m"] // 2, n=rats["n"] // 2),
            rats.assign(m=rats["m"] - rats["m"] // 2, n=rats["n"] - rats["n"] // 2),
        ]
    )
    a = hierarch.binomial_model("m", "n", "batch", split, multilevel=True)
    b = hierarch.binomial_model("m", "n", "batch", rats, multilevel=True)
    assert a.mu == pytest.approx(b.mu, abs=1e-6)
    assert float(a.tau()) == pytest.approx(float(b.tau()), abs=1e-6)
    pd.testing.assert_frame_equal(a.groups, b.groups)


def test_pooled_all_zero_uses_wilson():
    df = pd.DataFrame({"m": [0, 0], "n": [10, 12]})
    fit = hierarch.binomial_model("m", "n", data=df)
    assert fit.interval_method == "wilson"
    assert fit.conf_int[0] == 0.0 and 0 < fit.conf_int[1] < 0.2
    assert "Wilson" in str(fit)


# ------------------------------------------------------------------ bad input
@pytest.fixture
def df():
    return pd.DataFrame(
        {"m": [1, 2, 3, 0], "n": [10, 10, 10, 10], "g": ["a", "a", "b", "b"]},
        index=[10, 11, 12, 13],
    )


@pytest.mark.parametrize(
    "change,kwargs,message",
    [
        (None, {"successes": "hits"}, r"column\(s\) not found in data: successes='hits'"),
        (None, {"group": "batch"}, r"not found in data: group='batch'; available columns: m, n, g"),
        (("m", 11, np.nan), {}, r"column 'm' has missing values \(NaN\) in row 11"),
        (("n", 12, np.nan), {}, r"column 'n' has missing values \(NaN\) in row 12"),
        (("g", 13, None), {"group": "g"}, r"column 'g' has missing values \(NaN\) in row 13"),
        (("m", 10, -1), {}, r"column 'm' has negative counts in row 10 \(values -1.0\)"),
        (("n", 13, -5), {}, r"column 'n' has negative counts in row 13"),
        (("m", 12, 2.5), {}, r"column 'm' has non-integer counts in row 12 \(values 2.5\)"),
        (("m", 11, 11), {}, r"successes above trials: column 'm' exceeds column 'n' in row 11"),
        (("n", 10, 0), {}, r"column 'n' \(trials\) is zero in row 10"),
        (("m", 10, "x"), {}, r"column 'm' is not numeric in row 10"),
        (
            ("g", slice(None), "a"),
            {"group": "g", "multilevel": True},
            r"grouping column 'g' has 1 level\(s\) \(a\); a multilevel model needs at least 2",
        ),
        (None, {"conf_level": 1.0}, r"conf_level must be strictly between 0 and 1, got 1.0"),
        (None, {"conf_level": 0}, r"conf_level must be strictly between 0 and 1, got 0"),
        (None, {"conf_level": "high"}, r"conf_level must be a number in \(0, 1\), got 'high'"),
        (None, {"multilevel": True}, r"multilevel=True needs a grouping column"),
        (None, {"method": "mcmc"}, r"method must be 'ml' or 'bayes', got 'mcmc'"),
    ],
)
def test_bad_input_names_column_rows_and_problem(df, change, kwargs, message):
    df = df.astype({"m": object, "n": object}) if change and change[0] in "mn" else df.copy()
    if change:
        col, row, value = change
        df.loc[row, col] = value
    args = {"successes": "m", "trials": "n", "data": df} | kwargs
    with pytest.raises(ValueError, match=message):
        hierarch.binomial_model(**args)


def test_bad_rows_are_all_listed_up_to_ten():
    df = pd.DataFrame({"m": [-1] * 12, "n": [5] * 12})
    with pytest.raises(ValueError, match=r"rows 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"):
        hierarch.binomial_model("m", "n", data=df)


def test_data_must_be_a_dataframe():
    with pytest.raises(ValueError, match="data must be a pandas DataFrame"):
        hierarch.binomial_model("m", "n", data={"m": [1], "n": [2]})


def test_input_is_not_modified(df):
    before = df.copy()
    hierarch.binomial_model("m", "n", "g", df, multilevel=True)
    pd.testing.assert_frame_equal(df, before)


# ------------------------------------------------------------------ PyMC graphs (no sampling)
def test_multilevel_graph_is_the_formula_models_non_centred_graph(rats):
    """binomial_model's multilevel model is m | trials(n) ~ 1 + (1 | batch), non-centred,
    with immr's priors as the intercept's and the group SD's."""
    from hierarch.frontends.binomial import _multilevel

    pri = {k: p for k, p in DEFAULT_PRIORS["multilevel"].items()}
    spec = _multilevel("m", "n", "batch", rats, pri)
    assert spec.formula == "m | trials(n) ~ 1 + (1 | batch)"
    assert spec.parameterization == {"batch": "non-centred"}
    assert spec.priors["Intercept"] == pri["mu"] and spec.priors["sd_batch"] == pri["tau"]
    model = spec.build()
    assert {v.name for v in model.free_RVs} == {"beta", "sd_batch", "z_batch"}
    assert list(model.coords["batch"]) == sorted(rats["batch"].unique().tolist())
    with pytest.raises(ValueError, match="'pooled' or 'unpooled'"):
        build_binomial_pymc("multilevel", np.array([1, 4]), np.array([10, 12]), ["a", "b"])


def test_default_and_overridden_priors(rats):
    from hierarch.core.priors import resolve_priors
    from hierarch.frontends.binomial import _multilevel

    assert str(DEFAULT_PRIORS["multilevel"]["tau"]) == "HalfNormal(sigma=1)"
    pri = resolve_priors(DEFAULT_PRIORS["multilevel"], {"tau": {"dist": "Exponential", "lam": 2}})
    model = _multilevel("m", "n", "batch", rats, pri).build()
    assert model["sd_batch"].owner.op.name == "exponential"


def test_unknown_prior_name_or_distribution(rats):
    with pytest.raises(
        ValueError,
        match="no parameter named 'sigma' has a prior in this model; "
        "parameters with priors: mu, tau",
    ):
        hierarch.binomial_model(
            "m",
            "n",
            "batch",
            rats,
            multilevel=True,
            method="bayes",
            priors={"sigma": hierarch.Prior("HalfNormal", sigma=1)},
        )
    with pytest.raises(ValueError, match="unknown prior distribution 'Gaussian'"):
        hierarch.Prior("Gaussian", sigma=1)


def test_unknown_sampler_is_rejected_before_sampling(rats):
    with pytest.raises(ValueError, match="unknown sampler 'stan'"):
        hierarch.binomial_model(
            "m", "n", "batch", rats, multilevel=True, method="bayes", sampler="stan"
        )


def test_a_convergence_warning_points_at_the_users_call(rats):
    """The multilevel Bayesian fit's ConvergenceWarning names the caller's line, not
    hierarch's (20 draws cannot converge: the warning is certain)."""
    with pytest.warns(hierarch.ConvergenceWarning) as record:
        hierarch.binomial_model(
            "m",
            "n",
            "batch",
            rats,
            multilevel=True,
            method="bayes",
            draws=20,
            tune=20,
            chains=2,
            random_seed=1,
            progressbar=False,
        )
    assert record[0].filename == __file__
