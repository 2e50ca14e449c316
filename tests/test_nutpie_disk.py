"""nutpie's numba wrappers cached on disk (hierarch._nutpie_disk): a model compiled before is
loaded, not compiled, and gives exactly nutpie's own draws; another structure never loads it;
and the marginal model's statistics give the same density as graph constants or as data."""

from __future__ import annotations

import numpy as np
import pytest

import hierarch
from hierarch import _nutpie_disk, sampling

nutpie = pytest.importorskip("nutpie")
SHORT = {"draws": 50, "tune": 50, "chains": 2, "progress_bar": False}


def _rats_model(rats):
    from hierarch.binomial import build_binomial_pymc

    return build_binomial_pymc(
        "multilevel", rats["m"].to_numpy(), rats["n"].to_numpy(), list(rats.index)
    )


def _draws(compiled, seed):
    post = nutpie.sample(compiled, seed=seed, **SHORT).posterior
    return {v: post[v].values for v in ("mu", "tau", "theta")}


@pytest.fixture(scope="module")
def key(seed):
    # a key no other test uses, so the first compile below is a genuine one
    return ("test_nutpie_disk", seed, np.random.default_rng().integers(1 << 62))


def test_cached_wrappers_load_and_give_nutpies_own_draws(rats, seed, key):
    model = _rats_model(rats)
    reference = _draws(nutpie.compile_pymc_model(model), seed)
    first = _nutpie_disk.compile_pymc_model(model, structure_key=key)
    assert first is not None, "this nutpie is one the disk cache was written for"
    assert first.compiled_logp_func._cache_hits == 0  # compiled (the key is new)
    again = _nutpie_disk.compile_pymc_model(_rats_model(rats), structure_key=key)
    assert again.compiled_logp_func._cache_hits == 1  # loaded from disk
    assert again.compiled_expand_func._cache_hits == 1
    for compiled in (first, again):
        draws = _draws(compiled, seed)
        for v in reference:
            np.testing.assert_array_equal(draws[v], reference[v])
    # new data through nutpie's own ``with_data`` reach the loaded code
    m2 = rats["m"].to_numpy() // 2
    ref2 = _draws(nutpie.compile_pymc_model(model).with_data(y_obs=m2), seed)
    new = _draws(again.with_data(y_obs=m2), seed)
    np.testing.assert_array_equal(new["theta"], ref2["theta"])


def test_another_structure_key_is_not_served_the_cached_code(rats, key):
    other = _nutpie_disk.compile_pymc_model(_rats_model(rats), structure_key=(*key, "other"))
    assert other.compiled_logp_func._cache_hits == 0


def test_marginal_statistics_as_data_give_the_same_density(monkeypatch):
    """Many groups: the per-group statistics enter as data; the log density at any point is
    the one with the statistics as constants (to 1e-9 relative: float summation order)."""
    df = hierarch.simulate.random_slopes(obs_per_cluster=6, n_cluster=20, seed=4)
    m = hierarch.model("y ~ x + (x | cluster)", df)
    const = m.build_marginal()
    assert not any(d.name.startswith("stat_") for d in const.data_vars)
    monkeypatch.setattr(hierarch.mixed.Model, "STATS_AS_DATA", 0)
    data = m.build_marginal()
    assert {d.name for d in data.data_vars} >= {"stat_ZtZ00", "stat_Zty1", "stat_ZtX0"}
    rng = np.random.default_rng(7)
    f_const, f_data = const.compile_logp(), data.compile_logp()
    for _ in range(3):
        point = {k: v + rng.normal(0, 0.3, np.shape(v)) for k, v in const.initial_point().items()}
        np.testing.assert_allclose(f_data(point), f_const(point), rtol=1e-9)


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # 50 draws
def test_disk_cache_can_be_switched_off(rats, seed, monkeypatch):
    """``HIERARCH_DISK_CACHE=0``: the disk path is not entered, nutpie compiles."""
    calls = []
    monkeypatch.setattr(_nutpie_disk, "compile_pymc_model", lambda *a, **k: calls.append(1))
    monkeypatch.setenv("HIERARCH_DISK_CACHE", "0")
    sampling.clear_compiled_cache()
    fit = hierarch.binomial_model(
        "m",
        "n",
        "batch",
        rats,
        multilevel=True,
        method="bayes",
        random_seed=seed,
        draws=50,
        tune=50,
        chains=2,
        progressbar=False,
    )
    assert calls == [] and fit.idata.posterior["mu"].shape == (2, 50)
    monkeypatch.setenv("HIERARCH_DISK_CACHE", "1")
    sampling.clear_compiled_cache()
    hierarch.binomial_model(
        "m",
        "n",
        "batch",
        rats,
        multilevel=True,
        method="bayes",
        random_seed=seed,
        draws=50,
        tune=50,
        chains=2,
        progressbar=False,
    )
    assert calls == [1]  # on by default (returned None here, so nutpie compiled again)
    sampling.clear_compiled_cache()


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # 50 draws
def test_a_broken_disk_cache_falls_back_to_nutpie(rats, seed, monkeypatch):
    """Whatever goes wrong in the disk-cache path (a corrupt cache file, changed nutpie
    internals), the fit is compiled by nutpie and the user is told."""

    def broken(*args, **kwargs):
        raise OSError("cache file truncated")

    monkeypatch.setattr(_nutpie_disk, "compile_pymc_model", broken)
    sampling.clear_compiled_cache()
    with pytest.warns(RuntimeWarning, match="cache file truncated"):
        fit = hierarch.binomial_model(
            "m",
            "n",
            "batch",
            rats,
            multilevel=True,
            method="bayes",
            random_seed=seed,
            draws=50,
            tune=50,
            chains=2,
            progressbar=False,
        )
    assert fit.idata.posterior["mu"].shape == (2, 50)
    sampling.clear_compiled_cache()
