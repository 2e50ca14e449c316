"""Settings checked in one place (hierarch.core.validate) and the messages users see."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_na_action_drop_reports_the_rows():
    # the default names the rows and the option; "drop" fits the complete rows, warns how many
    # and which (per column), keeps their labels, and the fit uses exactly the rest
    import warnings

    import hierarch

    data = hierarch.load_dataset("pigs").copy()
    data.loc[[3, 10, 11], "weight"] = np.nan
    data.loc[50, "week"] = np.nan
    data["unused"] = np.where(data.index == 60, np.nan, 1.0)  # not a model column: kept
    with pytest.raises(ValueError, match=r"rows \[3, 10, 11\].*na_action='drop'"):
        hierarch.model("weight ~ week + (week | id)", data)
    with pytest.warns(hierarch.DataWarning, match=r"dropped 4 of 432 rows .*'week' 1, 'weight' 3"):
        m = hierarch.model("weight ~ week + (week | id)", data, na_action="drop")
    assert m.dropped_rows.tolist() == [3, 10, 11, 50]
    assert m.fit(method="reml").lmm.n_obs == 428
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing to drop: no warning
        clean = hierarch.model(
            "weight ~ week + (week | id)", data.dropna(subset=["weight", "week"]), na_action="drop"
        )
    assert len(clean.dropped_rows) == 0
    with pytest.raises(ValueError, match="na_action must be 'error' or 'drop'"):
        hierarch.model("weight ~ week + (week | id)", data, na_action="omit")
    empty = data.assign(weight=np.nan)
    with pytest.raises(ValueError, match="would drop every row"):
        hierarch.model("weight ~ week + (week | id)", empty, na_action="drop")


def test_formula_columns():
    from hierarch.core.formula import formula_columns

    data = pd.DataFrame(columns=["y", "x", "x2", "g", "t", "other"])
    cols = formula_columns("y ~ x + offset(log(t)) + (x | g)", data)
    assert cols == ["y", "x", "g", "t"]


def test_keyword_front_ends_drop_incomplete_rows_on_request():
    """Issue 15: binomial_model and normal_means take na_action too; the default error says so."""
    rats = hierarch.load_dataset("rats").copy()
    rats.loc[[4, 9], "m"] = np.nan
    with pytest.raises(ValueError, match=r"'m' has missing values.*na_action='drop'"):
        hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
    with pytest.warns(hierarch.DataWarning, match=r"dropped 2 of 71 rows.*'m' 2.*4, 9"):
        fit = hierarch.binomial_model(
            "m", "n", group="batch", data=rats, multilevel=True, na_action="drop"
        )
    complete = hierarch.binomial_model(
        "m", "n", group="batch", data=rats.dropna(subset=["m"]), multilevel=True
    )
    assert float(fit.tau()) == pytest.approx(float(complete.tau()), rel=1e-8)
    schools = pd.DataFrame(
        {
            "school": list("ABCDEFGH"),
            "effect": [28, 8, -3, 7, -1, 1, 18, np.nan],
            "se": [15, 10, 16, 11, 9, 11, 10, 18],
        }
    )
    with pytest.raises(ValueError, match="na_action='drop'"):
        hierarch.normal_means("effect", "se", "school", schools)
    with pytest.warns(hierarch.DataWarning, match="dropped 1 of 8 rows"):
        fit = hierarch.normal_means("effect", "se", "school", schools, na_action="drop")
    assert len(fit.estimates) == 7
    with pytest.raises(ValueError, match="na_action must be 'error' or 'drop'"):
        hierarch.normal_means("effect", "se", "school", schools, na_action="omit")
