"""Priors are checked when they are made and where they are used (issue 11, item 1)."""

from __future__ import annotations

import pytest

import hierarch
from hierarch import Prior


def test_wrong_parameter_names_are_named_with_the_right_ones():
    with pytest.raises(ValueError, match=r"unknown parameter 'mean', 'sd'; Normal takes mu"):
        Prior("Normal", mean=0, sd=1)


@pytest.mark.parametrize(
    "dist,params,message",
    [
        ("HalfNormal", {"sigma": -1}, "sigma must be positive"),
        ("Exponential", {"lam": 0}, "lam must be positive"),
        ("StudentT", {"nu": 3, "mu": 0, "sigma": float("nan")}, "sigma must be finite"),
        ("Normal", {"mu": "zero", "sigma": 1}, "mu must be a number"),
    ],
)
def test_impossible_parameter_values_are_refused(dist, params, message):
    with pytest.raises(ValueError, match=message):
        Prior(dist, **params)


@pytest.fixture(scope="module")
def sleep():
    return hierarch.load_dataset("sleepstudy")


def test_an_sd_prior_on_the_real_line_is_refused(sleep):
    """It used to be accepted and a group SD of -0.2474 was reported."""
    with pytest.raises(ValueError, match="prior for 'sd_Subject' is Normal.*negative values"):
        hierarch.model(
            "Reaction ~ Days + (1 | Subject)", sleep, priors={"sd": Prior("Normal", mu=0, sigma=5)}
        )
    with pytest.raises(ValueError, match="prior for 'sigma' is StudentT"):
        hierarch.model(
            "Reaction ~ Days + (1 | Subject)",
            sleep,
            priors={"sigma": Prior("StudentT", nu=3, mu=0, sigma=5)},
        )
    # positive support through its bounds, or by its family: accepted
    ok = {
        "sd": Prior("TruncatedNormal", mu=0, sigma=5, lower=0),
        "sigma": Prior("Gamma", alpha=2, beta=0.1),
    }
    m = hierarch.model("Reaction ~ Days + (1 | Subject)", sleep, priors=ok)
    assert m.priors["sd_Subject"].dist == "TruncatedNormal"


def test_binomial_and_known_se_front_ends_check_tau():
    rats = hierarch.load_dataset("rats")
    with pytest.raises(ValueError, match="prior for 'tau' is Normal"):
        hierarch.binomial_model(
            "m",
            "n",
            "batch",
            rats,
            multilevel=True,
            method="bayes",
            priors={"tau": Prior("Normal", mu=0, sigma=1)},
        )


def test_lkj_eta_must_be_positive(sleep):
    with pytest.raises(ValueError, match="lkj_eta must be a positive number"):
        hierarch.model("Reaction ~ Days + (Days | Subject)", sleep, priors={"lkj_eta": -2})


def test_the_known_signatures_are_pymcs():
    """Prior checks the distributions of hierarch's defaults against a table, so that building
    a model spec does not import PyMC: the table must say what PyMC's signatures say."""
    import pymc as pm

    from hierarch.core.priors import _KNOWN_SIGNATURES, _parameter_names, _required_names

    for dist, (allowed, required) in _KNOWN_SIGNATURES.items():
        cls = getattr(pm, dist)
        assert list(allowed) == _parameter_names(cls), dist
        assert list(required) == _required_names(cls), dist
