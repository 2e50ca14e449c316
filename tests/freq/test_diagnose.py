"""The fit-warning vocabulary (freq/diagnose): each message names what failed and what to
try."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hierarch
from hierarch.freq.diagnose import check_optimum, singular_message


def test_singular_fit_is_told_in_plain_words_with_the_bayesian_way_out():
    sleep = hierarch.load_dataset("sleepstudy")
    flat = sleep.assign(Reaction=sleep["Days"] * 10.0 + (sleep.index % 7))
    with pytest.warns(hierarch.FitWarning, match="SD of Intercept by Subject is estimated at zero"):
        fit = hierarch.model("Reaction ~ Days + (1 | Subject)", flat).fit(method="reml")
    text = str(fit)
    assert "boundary (singular) fit" in text and "fit(method='bayes')" in text
    assert "hierarch.compare" in text


def test_perfect_correlation_is_named():
    from types import SimpleNamespace

    b = SimpleNamespace(factor="g", columns=["Intercept", "x"], k=2)
    C = np.array([[1.0, 0.5], [0.5, 0.25]])  # correlation exactly 1
    msg = singular_message([b], [C])
    assert "perfectly correlated" in msg and "Intercept and x by g" in msg
    assert singular_message([b], [np.eye(2)]) is None


def test_a_stop_on_a_slope_and_a_flat_direction_are_reported():
    def slope(x):
        return (x[0] - 1) ** 2 + x[1] ** 2

    notes = check_optimum(slope, np.array([0.9, 0.0]), ["a", "b"])
    assert any("still slopes" in n and "in a" in n for n in notes)

    def flat(x):
        return (x[0] - 1) ** 2 + 1e-8 * x[1] ** 2

    notes = check_optimum(flat, np.array([1.0, 0.0]), ["a", "b"])
    assert any("nearly flat" in n for n in notes)
    assert check_optimum(slope, np.array([1.0, 0.0]), ["a", "b"]) == []
    # a coordinate on its lower bound is not checked (the slope may point outside)
    assert (
        check_optimum(lambda x: x[0] + x[1] ** 2, np.array([0.0, 0.0]), ["a", "b"], [0.0, None])
        == []
    )


def test_a_well_posed_fit_has_no_notes():
    with warnings.catch_warnings():
        warnings.simplefilter("error", hierarch.FitWarning)
        fit = hierarch.model("weight ~ week + (week | id)", hierarch.load_dataset("pigs")).fit(
            method="reml"
        )
    assert fit.lmm.notes == []
