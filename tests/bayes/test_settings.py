"""Sampler settings are checked before anything is sampled (issue 11, item 2)."""

from __future__ import annotations

import pytest

import hierarch
from hierarch.bayes.sampling import SamplerSettings


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"target_accept": 1.5}, "target_accept must be a number strictly between 0 and 1"),
        ({"target_accept": 0}, "target_accept must be a number strictly between 0 and 1"),
        ({"draws": 0}, "draws must be at least 1"),
        ({"draws": -5}, "draws must be at least 1"),
        ({"chains": -1}, "chains must be at least 1"),
        ({"tune": -1}, "tune must be at least 0"),
        ({"draws": 10.5}, "draws must be a whole number"),
        ({"draws": "many"}, "draws must be a whole number"),
        ({"random_seed": -3}, "random_seed must be at least 0"),
    ],
)
def test_bad_settings_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SamplerSettings(**kwargs)


def test_settings_from_the_environment_are_checked_and_named(monkeypatch):
    monkeypatch.setenv("HIERARCH_DRAWS", "lots")
    with pytest.raises(ValueError, match="environment variable HIERARCH_DRAWS must be a whole"):
        SamplerSettings()
    monkeypatch.setenv("HIERARCH_DRAWS", "25")
    assert SamplerSettings().draws == 25 and SamplerSettings(draws=7).draws == 7


def test_front_ends_check_settings_and_conf_level_before_fitting():
    sleep = hierarch.load_dataset("sleepstudy")
    m = hierarch.model("Reaction ~ Days + (1 | Subject)", sleep)
    with pytest.raises(ValueError, match="target_accept"):
        m.fit(target_accept=1.5)
    with pytest.raises(ValueError, match="conf_level must be strictly between 0 and 1"):
        m.fit(method="reml", conf_level=95)  # used to give NaN intervals
    with pytest.raises(ValueError, match="chains must be at least 1"):
        hierarch.binomial_model(
            "m",
            "n",
            "batch",
            hierarch.load_dataset("rats"),
            multilevel=True,
            method="bayes",
            chains=-1,
        )
