"""Exact marginalization of Gaussian group effects gives the same posterior as the plain model.

Tolerance (as the issue states): means and SDs of every hyperparameter, and of the group
effects, agree within 3 combined Monte Carlo standard errors (``az.mcse``, mean and sd).
"""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

import hierarch


def _mcse(x, stat):
    """Monte Carlo SE of the mean, or of the SD by the delta method on the mean of squared
    deviations (ArviZ 0.23's ``mcse(method="sd")`` fails with NumPy 2.4)."""
    if stat == "mean":
        return float(np.ravel(az.mcse(x, method="mean"))[0])
    sd = x.std()
    return float(np.ravel(az.mcse((x - x.mean()) ** 2, method="mean"))[0]) / (2 * sd)


def _elements(fit, var):
    """(chain, draw) arrays of every element of ``var``."""
    v = fit.idata.posterior[var].values
    return v.reshape(v.shape[0], v.shape[1], -1).transpose(2, 0, 1)


def _agree(a, b, var, frac_ok=1.0):
    ok = []
    for xa, xb in zip(_elements(a, var), _elements(b, var), strict=True):
        for stat, f in (("mean", np.mean), ("sd", np.std)):
            ea, eb = _mcse(xa, stat), _mcse(xb, stat)
            ok.append(abs(f(xa) - f(xb)) <= 3 * np.sqrt(ea**2 + eb**2))
    assert np.mean(ok) >= frac_ok, (var, np.mean(ok))


@pytest.fixture(scope="module")
def pigs_plain(pigs_model, seed):
    import warnings

    with warnings.catch_warnings():  # the plain model's ESS is what marginalizing improves
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        return pigs_model.fit(
            method="bayes", random_seed=seed + 1, progressbar=False, marginalize=False
        )


def test_default_pigs_fit_is_marginalized(pigs_bayes):
    assert pigs_bayes.spec["marginalized"] is True
    assert pigs_bayes.idata.posterior["b_id"].dims == ("chain", "draw", "id", "id_effect")


@pytest.mark.statistical
def test_marginalized_matches_plain_on_pigs(pigs_bayes, pigs_plain):
    assert pigs_plain.spec["marginalized"] is False
    for var in ("beta", "sigma", "sd_id"):
        _agree(pigs_bayes, pigs_plain, var)
    # the correlation: its off-diagonal element only (the diagonal is constant)
    off = {"id_effect": 0, "id_effect_bis": 1}
    ca = pigs_bayes.idata.posterior["corr_id"].isel(off).values
    cb = pigs_plain.idata.posterior["corr_id"].isel(off).values
    for stat, f in (("mean", np.mean), ("sd", np.std)):
        e = np.hypot(_mcse(ca, stat), _mcse(cb, stat))
        assert abs(f(ca) - f(cb)) <= 3 * e
    # group effects: 96 of them, so allow the ~1% that 3 MCSE misses by chance
    _agree(pigs_bayes, pigs_plain, "b_id", frac_ok=0.97)


@pytest.mark.statistical
def test_marginalized_matches_plain_on_a_random_intercept_model(seed):
    df = hierarch.simulate.random_intercepts(J=30, n_mean=6, sigma_u=1.0, sigma_e=1.5, seed=5)
    m = hierarch.model("y ~ 1 + (1 | group)", df)
    a = m.fit(random_seed=seed, progressbar=False)
    b = m.fit(random_seed=seed + 1, progressbar=False, marginalize=False)
    assert a.spec["marginalized"] and not b.spec["marginalized"]
    for var in ("beta", "sigma", "sd_group"):
        _agree(a, b, var)
    _agree(a, b, "b_group", frac_ok=0.95)


def test_crossed_models_are_not_marginalized():
    m = hierarch.model(
        "diameter ~ 1 + (1 | plate) + (1 | sample)", hierarch.load_dataset("penicillin")
    )
    assert not m.can_marginalize
    with pytest.raises(ValueError, match="one grouping factor"):
        m.build_marginal()


@pytest.mark.filterwarnings("ignore::hierarch.ConvergenceWarning")  # a short run
def test_fallback_to_the_plain_model_is_noted(seed):
    fit = hierarch.model(
        "diameter ~ 1 + (1 | plate) + (1 | sample)", hierarch.load_dataset("penicillin")
    ).fit(random_seed=seed, progressbar=False, draws=100, tune=100, chains=2)
    assert fit.spec["marginalized"] is False
    assert "exact marginalization covers one grouping factor" in fit.spec["notes"][0]
