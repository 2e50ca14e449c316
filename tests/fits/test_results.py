"""Save/load: the InferenceData (spec included) is the single source of truth."""

from __future__ import annotations

import pandas as pd
import pytest

import hierarch


def test_saved_and_loaded_fit_gives_identical_reports(rats_bayes, tmp_path):
    path = rats_bayes.save(tmp_path / "rats.nc")
    loaded = hierarch.load_fit(path)
    assert type(loaded) is type(rats_bayes)
    assert loaded.spec == rats_bayes.spec
    pd.testing.assert_frame_equal(loaded.shrinkage(), rats_bayes.shrinkage())
    pd.testing.assert_frame_equal(loaded.estimates, rats_bayes.estimates)
    pd.testing.assert_frame_equal(loaded.tau().table, rats_bayes.tau().table)
    pd.testing.assert_frame_equal(loaded.new_group(trials=20), rats_bayes.new_group(trials=20))
    pd.testing.assert_frame_equal(loaded.population(), rats_bayes.population())
    pd.testing.assert_frame_equal(loaded.diagnostics().table, rats_bayes.diagnostics().table)
    assert str(loaded) == str(rats_bayes)


def test_loading_a_foreign_netcdf_is_a_clear_error(rats_bayes, tmp_path):
    idata = rats_bayes.idata.copy()
    idata.posterior.attrs.pop("hierarch_spec")
    idata.to_netcdf(str(tmp_path / "plain.nc"))
    with pytest.raises(ValueError, match="is not a hierarch fit"):
        hierarch.load_fit(tmp_path / "plain.nc")


def test_an_ml_fit_is_stored_as_its_call_and_refitted(rats, rats_ml, tmp_path):
    """An ML fit reloads by repeating its call on the stored data: the same estimates."""
    loaded = hierarch.load_fit(rats_ml.save(tmp_path / "ml.nc"))
    assert loaded._call == rats_ml._call and loaded._call["front_end"] == "binomial_model"
    pd.testing.assert_frame_equal(loaded._data, rats[["m", "n", "batch"]].reset_index(drop=True))
    assert loaded.loglik == rats_ml.loglik and str(loaded) == str(rats_ml)


def test_a_reloaded_ml_fit_that_differs_from_the_saved_one_says_so(rats_ml, tmp_path, monkeypatch):
    """The stored estimates are checked on loading (another library version might move
    them): a difference is a warning naming the estimate."""
    path = rats_ml.save(tmp_path / "ml.nc")
    fit_cls = type(rats_ml)
    real = fit_cls._check_values
    monkeypatch.setattr(fit_cls, "_check_values", lambda self: {**real(self), "tau": 0.5})
    with pytest.warns(RuntimeWarning, match="reloaded fit's tau is 0.5"):
        hierarch.load_fit(path)


def test_an_ml_fit_made_outside_the_front_ends_cannot_be_saved(rats_ml, tmp_path):
    import copy

    bare = copy.copy(rats_ml)
    bare._call = None  # as if made without a front end: no recorded call
    with pytest.raises(ValueError, match="no call to store"):
        bare.save(tmp_path / "x.nc")


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # 200 draws
def test_a_reloaded_formula_fit_keeps_priors_that_are_not_the_defaults(seed, tmp_path):
    df = hierarch.simulate.random_intercepts(J=8, n_mean=5, sigma_u=1.0, sigma_e=1.0, seed=2)
    prior = hierarch.Prior("HalfNormal", sigma=3.0)
    fit = hierarch.model("y ~ 1 + (1 | group)", df, priors={"sd": prior}).fit(
        draws=200, tune=200, chains=2, random_seed=seed, progressbar=False
    )
    loaded = hierarch.load_fit(fit.save(tmp_path / "fit.nc"))
    assert loaded.model.priors["sd_group"] == prior  # the default is HalfNormal(sd(y))
    assert loaded.model.priors == fit.model.priors
    assert loaded.tau().prior == "HalfNormal(sigma=3)"


def test_summary_has_no_nan_rows_and_says_nothing(pigs_bayes):
    """Issue 11, item 11: the unit diagonal of a correlation matrix gave NaN R-hat rows and
    RuntimeWarnings in summary()."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        table = pigs_bayes.summary()
    assert "corr_id[Intercept, week]" in table.index
    assert "corr_id[Intercept, Intercept]" not in table.index
    assert table["r_hat"].notna().all()
