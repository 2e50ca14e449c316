"""The compiled-model cache (hierarch.bayes.sampling): a refit reuses the compiled model when, and
only when, that gives the same draws as compiling afresh (to a stated tolerance)."""

from __future__ import annotations

import numpy as np
import pytest

import hierarch
from hierarch.bayes import sampling

pytestmark = pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # short runs
SHORT = {"draws": 100, "tune": 100, "chains": 2, "progressbar": False}


@pytest.fixture(autouse=True)
def _graph_path(monkeypatch):
    """The cache holds compiled PyMC graphs: the models here would otherwise take the
    hand-written log-densities (hierarch.bayes.kernels), which need no cache."""
    monkeypatch.setenv("HIERARCH_KERNELS", "0")


def _post(fit, var):
    return fit.idata.posterior[var].values


def _same_draws(a, b):
    """Draws of a reused model against a fresh compile of the same model and data.

    Tolerance: relative 1e-4.  Two compilations of one graph may differ in the last digits
    (another summation order); NUTS carries such differences along a chain (seen: 9e-7
    relative after 50 draws), so exact equality is not a property of the code.  A stale
    model (old data or old priors) moves the draws by percents, far beyond 1e-4."""
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


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
    _same_draws(warm.draws("mu"), cold.draws("mu"))
    _same_draws(warm.draws("theta"), cold.draws("theta"))


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
    _same_draws(_post(warm, "beta"), _post(cold, "beta"))
    # the same data and priors again: served from the cache, identical draws
    again = hierarch.model("y ~ 1 + (1 | group)", scaled).fit(random_seed=seed, **SHORT)
    assert len(sampling._COMPILED) == 1
    _same_draws(_post(again, "beta"), _post(cold, "beta"))
    _same_draws(_post(again, "b_group"), _post(cold, "b_group"))
