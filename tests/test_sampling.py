"""The compiled-model cache (hierarch.sampling): a refit reuses the compiled model when, and
only when, that gives exactly the same draws as compiling afresh."""

from __future__ import annotations

import numpy as np
import pytest

import hierarch
from hierarch import sampling

pytestmark = pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # short runs
SHORT = {"draws": 100, "tune": 100, "chains": 2, "progressbar": False}


def _post(fit, var):
    return fit.idata.posterior[var].values


def test_binomial_refit_with_new_counts_reuses_the_compiled_model(rats, seed):
    if "nutpie" not in sampling.available_samplers():
        pytest.skip("the cache is nutpie's")
    other = rats.assign(m=np.minimum(rats["m"] + 1, rats["n"]))
    sampling.clear_compiled_cache()
    hierarch.binomial_model(
        "m", "n", "batch", rats, multilevel=True, method="bayes", random_seed=seed, **SHORT
    )
    assert len(sampling._COMPILED) == 1
    warm = hierarch.binomial_model(
        "m", "n", "batch", other, multilevel=True, method="bayes", random_seed=seed, **SHORT
    )
    assert len(sampling._COMPILED) == 1  # same structure: reused, data swapped in
    sampling.clear_compiled_cache()
    cold = hierarch.binomial_model(
        "m", "n", "batch", other, multilevel=True, method="bayes", random_seed=seed, **SHORT
    )
    np.testing.assert_array_equal(_post(warm, "mu"), _post(cold, "mu"))
    np.testing.assert_array_equal(_post(warm, "theta"), _post(cold, "theta"))


def test_new_data_with_other_priors_is_not_served_a_stale_model(seed):
    if "nutpie" not in sampling.available_samplers():
        pytest.skip("the cache is nutpie's")
    df = hierarch.simulate.random_intercepts(J=12, n_mean=5, sigma_u=1.0, sigma_e=1.5, seed=3)
    scaled = df.assign(y=df["y"] * 10 + 50)  # default priors scale with the data
    sampling.clear_compiled_cache()
    hierarch.model("y ~ 1 + (1 | group)", df).fit(random_seed=seed, **SHORT)
    warm = hierarch.model("y ~ 1 + (1 | group)", scaled).fit(random_seed=seed, **SHORT)
    assert len(sampling._COMPILED) == 2
    sampling.clear_compiled_cache()
    cold = hierarch.model("y ~ 1 + (1 | group)", scaled).fit(random_seed=seed, **SHORT)
    np.testing.assert_array_equal(_post(warm, "beta"), _post(cold, "beta"))
    # the same data and priors again: served from the cache, identical draws
    again = hierarch.model("y ~ 1 + (1 | group)", scaled).fit(random_seed=seed, **SHORT)
    assert len(sampling._COMPILED) == 1
    np.testing.assert_array_equal(_post(again, "beta"), _post(cold, "beta"))
    np.testing.assert_array_equal(_post(again, "b_group"), _post(cold, "b_group"))
