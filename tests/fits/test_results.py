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
