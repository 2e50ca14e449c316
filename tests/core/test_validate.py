"""Settings checked in one place (hierarch.core.validate) and the messages users see."""

from __future__ import annotations

import pytest

import hierarch
from hierarch.core import validate


@pytest.mark.parametrize(
    "method,n_agq,want", [("laplace", 1, 1), ("laplace", 0, 0), ("agq", 1, 25), ("agq", 9, 9)]
)
def test_quadrature_points_by_method(method, n_agq, want):
    assert validate.quadrature(method, n_agq) == want


@pytest.mark.parametrize(
    "n_agq,match",
    [
        (5, r"n_agq=5 with method='laplace': use n_agq=1 .* or n_agq=0 .*method='agq'"),
        (-1, r"n_agq must be a non-negative whole number, got -1"),
        (1.5, r"n_agq must be a non-negative whole number, got 1.5"),
        ("two", r"n_agq must be a non-negative whole number, got 'two'"),
    ],
)
def test_a_model_fit_refuses_a_bad_n_agq(n_agq, match):
    m = hierarch.model(
        "incidence | trials(size) ~ C(period) + (1 | herd)",
        hierarch.load_dataset("cbpp"),
        family="binomial",
    )
    with pytest.raises(ValueError, match=match):
        m.fit(method="laplace", n_agq=n_agq)
