"""nutpie's numba wrappers cached on disk (hierarch.bayes._nutpie_disk): a model compiled before is
loaded, not compiled, and computes nutpie's own density; another structure never loads it;
and the marginal model's statistics give the same density as graph constants or as data."""

from __future__ import annotations

import numpy as np
import pytest

import hierarch
from hierarch.bayes import _nutpie_disk, sampling

nutpie = pytest.importorskip("nutpie")
SHORT = {"draws": 50, "tune": 50, "chains": 2, "progress_bar": False}


@pytest.fixture(autouse=True)
def _graph_path(monkeypatch):
    """These tests are about compiling PyMC graphs: rats' model would otherwise take the
    hand-written log-density (hierarch.bayes.kernels), which compiles no graph."""
    monkeypatch.setenv("HIERARCH_KERNELS", "0")


def _rats_model(rats):
    return hierarch.model(
        "m | trials(n) ~ 1 + (1 | batch)", rats, family="binomial", parameterization="non-centred"
    ).build()


def _draws(compiled, seed):
    post = nutpie.sample(compiled, seed=seed, **SHORT).posterior
    return {v: post[v].values for v in ("beta", "sd_batch", "b_batch")}


def _logp_grad(compiled, x: np.ndarray) -> tuple[float, np.ndarray]:
    """Call a compiled model's logp wrapper (the numba cfunc nutpie calls) at ``x``."""
    import ctypes

    x = np.ascontiguousarray(x, dtype=np.float64)
    grad = np.empty_like(x)
    logp = np.empty((), dtype=np.float64)
    ptr = ctypes.POINTER(ctypes.c_double)
    rc = compiled.compiled_logp_func.ctypes(
        len(x),
        x.ctypes.data_as(ptr),
        grad.ctypes.data_as(ptr),
        logp.ctypes.data_as(ptr),
        ctypes.c_void_p(compiled.user_data.ctypes.data),
    )
    assert rc == 0, f"logp wrapper returned error code {rc}"
    return float(logp), grad


def _assert_same_density(a, b, n_dim: int, seed: int) -> None:
    """The same log density and gradient at random points.  Tolerance: relative 1e-10.  Two
    separate compilations of one graph may sum in another order (differences of a few ulp,
    ~1e-15 relative); a wrong constant, datum or layout would differ by far more than 1e-10."""
    rng = np.random.default_rng(seed)
    for _ in range(5):
        x = rng.normal(0.0, 1.0, n_dim)
        la, ga = _logp_grad(a, x)
        lb, gb = _logp_grad(b, x)
        np.testing.assert_allclose(la, lb, rtol=1e-10)
        np.testing.assert_allclose(ga, gb, rtol=1e-10, atol=1e-10)


@pytest.fixture(scope="module")
def key(seed):
    # a key no other test uses, so the first compile below is a genuine one
    return ("test_nutpie_disk", seed, np.random.default_rng().integers(1 << 62))


def test_cached_wrappers_load_and_give_nutpies_own_density(rats, seed, key):
    """The cached wrappers compute nutpie's own log density and gradient, and sample it.

    No bit-identical comparison of draws: with an empty compile cache, nutpie's compile and
    ours are two compilations whose last digits may differ (seen: draws 2e-6 apart)."""
    model = _rats_model(rats)
    own = nutpie.compile_pymc_model(model)
    first = _nutpie_disk.compile_pymc_model(model, structure_key=key)
    assert first is not None, "this nutpie is one the disk cache was written for"
    assert first.compiled_logp_func._cache_hits == 0  # compiled (the key is new)
    again = _nutpie_disk.compile_pymc_model(_rats_model(rats), structure_key=key)
    assert again.compiled_logp_func._cache_hits == 1  # loaded from disk
    assert again.compiled_expand_func._cache_hits == 1
    n_dim = own.n_dim
    assert first.n_dim == again.n_dim == n_dim == 2 + len(rats)  # intercept, log sd, z
    for compiled in (first, again):
        _assert_same_density(compiled, own, n_dim, seed)
    # the expand wrapper (the draws nutpie stores) and a real run: same shapes, finite, and
    # a posterior mean of the intercept within 0.1 of nutpie's own run (its posterior SD is
    # ~0.11; two runs of 2 x 50 draws from one seed on the same density stay far closer)
    reference = _draws(own, seed)
    draws = _draws(again, seed)
    for v in reference:
        assert draws[v].shape == reference[v].shape and np.isfinite(draws[v]).all()
    assert abs(draws["beta"].mean() - reference["beta"].mean()) < 0.1
    # new data through nutpie's own ``with_data`` reach the loaded code
    m2 = rats["m"].to_numpy() // 2
    _assert_same_density(again.with_data(y_obs=m2), own.with_data(y_obs=m2), n_dim, seed + 1)
    with pytest.raises(AssertionError):  # and the check can tell other data apart
        _assert_same_density(again.with_data(y_obs=m2), own, n_dim, seed + 1)


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
    monkeypatch.setattr(hierarch.Model, "STATS_AS_DATA", 0)
    data = m.build_marginal()
    assert {d.name for d in data.data_vars} >= {"stat_ZtZ00", "stat_Zty1", "stat_ZtX0"}
    rng = np.random.default_rng(7)
    fast = {"mode": "FAST_COMPILE"}  # the graphs' own arithmetic, without C compilation
    f_const, f_data = const.compile_logp(**fast), data.compile_logp(**fast)
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
    assert calls == [] and fit.idata.posterior["beta"].shape == (2, 50, 1)
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
    assert fit.idata.posterior["beta"].shape == (2, 50, 1)
    sampling.clear_compiled_cache()
