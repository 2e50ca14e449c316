"""Formula parsing: lme4 bars, nesting, safety, and clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch.core.formula import FormulaError, parse_formula, split_formula


@pytest.fixture(scope="module")
def pigs():
    return hierarch.load_dataset("pigs")


@pytest.mark.parametrize(
    "formula,bars",
    [
        ("y ~ x + (x | g)", [("x", "g", True)]),
        ("y ~ x + (1 | g) + (0 + x | g)", [("1", "g", True), ("0 + x", "g", True)]),
        ("y ~ x + (x || g)", [("x", "g", False)]),
        ("y ~ 1 + (1 | a/b)", [("1", "a/b", True)]),
        ("y ~ (1 | a) + (1 | b)", [("1", "a", True), ("1", "b", True)]),
    ],
)
def test_split(formula, bars):
    assert split_formula(formula)[2] == bars


def test_correlated_block_and_columns(pigs):
    pf = parse_formula("weight ~ week + (week | id)", pigs)
    assert pf.x_names == ["Intercept", "week"]
    (b,) = pf.blocks
    assert (b.factor, b.columns, b.n_levels) == ("id", ["Intercept", "week"], 48)
    np.testing.assert_array_equal(b.Z[:, 1], pigs["week"])


def test_uncorrelated_and_double_bar_are_the_same(pigs):
    a = parse_formula("weight ~ week + (1 | id) + (0 + week | id)", pigs)
    b = parse_formula("weight ~ week + (week || id)", pigs)
    assert [(x.factor, x.columns) for x in a.blocks] == [(x.factor, x.columns) for x in b.blocks]
    assert [x.columns for x in a.blocks] == [["Intercept"], ["week"]]


def test_nested_expands_to_outer_and_interaction():
    pastes = hierarch.load_dataset("pastes")
    pf = parse_formula("strength ~ 1 + (1 | batch/cask)", pastes)
    assert [(b.factor, b.n_levels) for b in pf.blocks] == [("batch", 10), ("batch:cask", 30)]
    assert pf.blocks[1].levels[:2] == ["A:a", "A:b"]


def test_categorical_predictors_and_interactions(pigs):
    df = pigs.assign(phase=np.where(pigs["week"] > 4, "late", "early"))
    pf = parse_formula("weight ~ phase * week + (1 | id)", df)
    assert pf.x_names == ["Intercept", "phase[late]", "week", "phase[late]:week"]


def test_group_level_predictor_is_a_fixed_effect(pigs):
    df = pigs.assign(heavy=(pigs["id"] % 2).astype(float))  # constant within each pig
    pf = parse_formula("weight ~ week + heavy + (1 | id)", df)
    assert "heavy" in pf.x_names


@pytest.mark.parametrize(
    "formula,message",
    [
        ("weight ~ wek + (1 | id)", r"formula term 'wek' in the fixed effects is not a column"),
        (
            "weight ~ week + (1 | pig)",
            r"grouping factor 'pig' is not a column of the data; available columns: id",
        ),
        ("wt ~ week + (1 | id)", r"formula term 'wt' in the response is not a column"),
        ("weight ~ week + (week | )", r"malformed random-effect term"),
        ("weight ~ week + (1 | id | x)", r"malformed random-effect term"),
        ("weight ~ week + 1 | id", r"malformed term .* written \(expr \| group\)"),
        ("weight ~ week + (1 | id", r"unbalanced parentheses"),
        ("weight week", r"a formula looks like 'y ~ x \+ \(x \| g\)'"),
        ("weight ~ __import__('os') + (1 | id)", r"function '__import__' .* is not allowed"),
        ("weight ~ week + (1 | id); import os", r"contains characters a formula cannot have: ;"),
        ("weight ~ week + + (1 | id)", r"empty term"),
    ],
)
def test_formula_errors(pigs, formula, message):
    with pytest.raises(FormulaError, match=message):
        parse_formula(formula, pigs)


def test_formula_errors_are_value_errors(pigs):
    with pytest.raises(ValueError):
        parse_formula("weight ~ nope + (1 | id)", pigs)


def test_nan_and_non_finite_values_are_reported_with_rows(pigs):
    df = pigs.copy()
    df.loc[[3, 7], "weight"] = np.nan
    with pytest.raises(FormulaError, match=r"response column 'weight' has missing.*rows \[3, 7\]"):
        parse_formula("weight ~ week + (1 | id)", df)
    df = pigs.astype({"week": float})
    df.loc[5, "week"] = np.inf
    with pytest.raises(FormulaError, match=r"column 'week' has infinite values in rows \[5\]"):
        parse_formula("weight ~ week + (1 | id)", df)
    df = pigs.astype({"id": object})
    df.loc[2, "id"] = None
    with pytest.raises(
        FormulaError, match=r"grouping column 'id' has missing values in rows \[2\]"
    ):
        parse_formula("weight ~ week + (1 | id)", df)


def test_model_structure_errors(pigs):
    with pytest.raises(FormulaError, match=r"grouping factor 'one' has only 1 level"):
        hierarch.model("weight ~ week + (1 | one)", pigs.assign(one="a"))
    with pytest.raises(FormulaError, match=r"'heavy' is constant within every group"):
        hierarch.model(
            "weight ~ week + (heavy | id)", pigs.assign(heavy=(pigs["id"] % 2).astype(float))
        )
    with pytest.raises(FormulaError, match=r"has 432 levels for 432 observations"):
        hierarch.model("weight ~ week + (1 | row)", pigs.assign(row=np.arange(len(pigs))))
    with pytest.raises(FormulaError, match="too few observations: 3 rows for 3 fixed-effect"):
        small = pd.DataFrame({"y": [1.0, 2, 3], "a": [1.0, 2, 4], "b": [0.0, 1, 1], "g": [1, 1, 2]})
        hierarch.model("y ~ a + b + (1 | g)", small)
    with pytest.raises(FormulaError, match="no random effects"):
        hierarch.model("weight ~ week", pigs)
    with pytest.raises(FormulaError, match="rank deficient"):
        hierarch.model("weight ~ week + w2 + (1 | id)", pigs.assign(w2=2 * pigs["week"]))


def test_family_errors(pigs):
    with pytest.raises(ValueError, match="unknown family 'gausian'"):
        hierarch.model("weight ~ week + (1 | id)", pigs, family="gausian")
    with pytest.raises(ValueError, match="response 'weight' for family 'poisson' must be whole"):
        hierarch.model(
            "weight ~ week + (1 | id)", pigs.assign(weight=pigs["weight"] + 0.5), family="poisson"
        )


def test_duplicated_columns_numbers_as_text_and_missing_newdata_columns_are_named():
    """Issue 11, item 8: duplicated names crashed inside pandas, text that looks like numbers
    was converted silently (now refused as by the binomial front end), and predictions for
    newdata without a predictor raised a bare KeyError."""
    import pandas as pd

    import hierarch

    sl = hierarch.load_dataset("sleepstudy")
    with pytest.raises(ValueError, match="duplicated column names: 'Days'"):
        hierarch.model("Reaction ~ Days + (1 | Subject)", pd.concat([sl, sl[["Days"]]], axis=1))
    as_text = sl.assign(Reaction=sl["Reaction"].astype(str))
    with pytest.raises(ValueError, match="'Reaction' holds text, not numbers"):
        hierarch.model("Reaction ~ Days + (1 | Subject)", as_text)
    rats = hierarch.load_dataset("rats")
    with pytest.raises(ValueError, match="'n' holds text, not numbers"):
        hierarch.binomial_model("m", "n", "batch", rats.assign(n=rats["n"].astype(str)))
    pf = hierarch.model("Reaction ~ Days + (Days | Subject)", sl).parsed
    with pytest.raises(ValueError, match="newdata lacks column.s. 'Days' used by the fixed"):
        pf.new_X(pd.DataFrame({"days": [1.0]}))
    with pytest.raises(ValueError, match="newdata lacks column.s. 'Days' used by the random"):
        pf.blocks[0].new_Z(pd.DataFrame({"days": [1.0]}))


def test_the_reference_level_can_be_chosen():
    """Issue 11, item 7: a pandas Categorical's category order was ignored (formulae sorts
    unordered categories), Treatment('drugA') was refused, and C(x, levels=[...]) got no hint."""
    rng = np.random.default_rng(1)
    d = pd.DataFrame(
        {
            "y": rng.normal(size=60),
            "trt": np.tile(["drugA", "drugB", "placebo"], 20),
            "g": np.repeat(np.arange(10), 6),
        }
    )
    assert hierarch.model("y ~ trt + (1 | g)", d).parsed.x_names[1:] == [
        "trt[drugB]",
        "trt[placebo]",
    ]
    ref = hierarch.model("y ~ C(trt, Treatment('placebo')) + (1 | g)", d).parsed.x_names
    assert ref[1:] == ["C(trt, Treatment('placebo'))[drugA]", "C(trt, Treatment('placebo'))[drugB]"]
    assert len(hierarch.model("y ~ C(trt, Sum) + (1 | g)", d).parsed.x_names) == 3
    cat = d.assign(trt=pd.Categorical(d["trt"], categories=["placebo", "drugA", "drugB"]))
    fit = hierarch.model("y ~ trt + (1 | g)", cat).fit(method="reml")
    assert list(fit.fixed_effects().index) == ["Intercept", "trt[drugA]", "trt[drugB]"]
    with pytest.raises(
        FormulaError, match=r"Treatment\('level'\)\), or make x a pandas Categorical"
    ):
        hierarch.model("y ~ C(trt, levels=['placebo']) + (1 | g)", d)
    with pytest.raises(FormulaError, match="function 'Poly' .* is not allowed"):
        hierarch.model("y ~ Poly(trt) + (1 | g)", d)


def test_a_saved_fit_keeps_the_categorical_order(tmp_path):
    rng = np.random.default_rng(2)
    d = pd.DataFrame(
        {
            "y": rng.normal(size=60),
            "trt": pd.Categorical(np.tile(["a", "b", "c"], 20), categories=["c", "a", "b"]),
            "g": np.repeat(np.arange(10), 6),
        }
    )
    fit = hierarch.model("y ~ trt + (1 | g)", d).fit(method="reml")
    back = hierarch.load_fit(fit.save(tmp_path / "fit.nc"))
    pd.testing.assert_frame_equal(back.fixed_effects(), fit.fixed_effects())
    assert back.model.parsed.x_names == ["Intercept", "trt[a]", "trt[b]"]


def test_poly_and_I_terms_match_r():
    # poly(x, k) gives R's orthogonal polynomial columns and I(x^2) R's power (tolerance 1e-10:
    # the same QR construction); REML fits that use them reproduce lmer (fixed effects 1e-6
    # relative, REML criterion 1e-5: the optimisers' stopping points).  New data take the
    # training data's polynomial coefficients (formulae's stateful transform).
    import json
    from pathlib import Path

    import hierarch

    ref = json.loads((Path(__file__).parents[1] / "reference" / "terms.json").read_text())
    pigs = hierarch.load_dataset("pigs")
    pf = parse_formula("weight ~ poly(week, 3) + (1 | id)", pigs)
    np.testing.assert_allclose(pf.X[:, 1:], np.array(ref["poly_week_3"]).T, atol=1e-10)
    for key, formula in [
        ("fit_poly2", "weight ~ poly(week, 2) + (1 | id)"),
        ("fit_I2", "weight ~ week + I(week^2) + (week | id)"),
    ]:
        fit = hierarch.model(formula, pigs).fit(method="reml")
        np.testing.assert_allclose(fit.lmm.beta, ref[key]["fixef"], rtol=1e-6)
        assert fit.lmm.criterion == pytest.approx(ref[key]["reml"], abs=1e-5)
        assert fit.lmm.sigma == pytest.approx(ref[key]["sigma"], rel=1e-5)
    assert parse_formula("weight ~ I(week^2) + (1 | id)", pigs).x_names[1] == "I(week ** 2)"
    new = pf.new_X(pigs.iloc[[0, 5, 9]])
    np.testing.assert_allclose(new, pf.X[[0, 5, 9]], atol=1e-12)
    with pytest.raises(FormulaError, match=r"cannot have: \^"):
        parse_formula("weight ~ week^2 + (1 | id)", pigs)


SPLINE_CALLS = {  # the R script's labels -> (term as a hierarch formula writes it, variable)
    "bs(weight, df=5)": "bs(weight, df=5)",
    "bs(weight, df=6, degree=2)": "bs(weight, df=6, degree=2)",
    "bs(weight, knots=c(40, 60))": "bs(weight, knots=c(40, 60))",
    "bs(week, df=4, intercept=TRUE)": "bs(week, df=4, intercept=TRUE)",
    "ns(weight, df=4)": "ns(weight, df=4)",
    "ns(weight, knots=c(35, 50, 65))": "ns(weight, knots=c(35, 50, 65))",
    "ns(week, df=3, intercept=TRUE)": "ns(week, df=3, intercept=TRUE)",
    "ns(week, df=1)": "ns(week, df=1)",
}


def test_spline_terms_match_r_splines():
    """Issue 15: bs() and ns() give R's splines::bs / splines::ns columns (tolerance 1e-10;
    seen 5e-15: the same B-spline recursion and QR projection), on the data and on new values
    inside and beyond the boundary knots (predict(<basis>, newx)); REML fits that use them
    reproduce lmer (as poly above)."""
    import json
    from pathlib import Path

    import hierarch

    ref = json.loads((Path(__file__).parents[1] / "reference" / "terms.json").read_text())
    pigs = hierarch.load_dataset("pigs")
    for case in ref["splines"]:
        term = SPLINE_CALLS[case["label"]]
        pf = parse_formula(f"week ~ 0 + {term} + (1 | id)", pigs)
        want = np.column_stack(case["columns"])
        assert pf.X.shape == want.shape, term
        np.testing.assert_allclose(pf.X, want, atol=1e-10, err_msg=term)
        var = term[3:].split(",")[0]
        other = "week" if var == "weight" else "weight"
        new = pd.DataFrame({var: case["new"], other: 1.0, "id": 1})
        np.testing.assert_allclose(
            pf.new_X(new), np.column_stack(case["predicted"]), atol=1e-10, err_msg=term
        )
        assert pf.x_names[0].startswith(term)
    for key, formula in [
        ("fit_ns3", "weight ~ ns(week, 3) + (1 | id)"),
        ("fit_bs4", "weight ~ bs(week, df=4) + (1 | id)"),
    ]:
        fit = hierarch.model(formula, pigs).fit(method="reml")
        np.testing.assert_allclose(fit.lmm.beta, ref[key]["fixef"], rtol=1e-6)
        assert fit.lmm.criterion == pytest.approx(ref[key]["reml"], abs=1e-5)
        assert list(fit.anova().index) == [formula.split(" + ")[0].split("~ ")[1]]


def test_cr_terms_match_mgcv():
    """cr() gives mgcv's cubic regression spline basis with its sum-to-zero constraint
    absorbed (smoothCon(s(x, bs = "cr", k = df + 1), absorb.cons = TRUE)), on the data and
    on new values (PredictMat, linear beyond the end knots); tolerance 1e-8 (patsy's
    implementation of the same algebra; seen 1e-13); an lmer fit on that basis is
    reproduced (REML criterion to 1e-5)."""
    import json
    from pathlib import Path

    import hierarch

    ref = json.loads((Path(__file__).parents[1] / "reference" / "terms.json").read_text())
    pigs = hierarch.load_dataset("pigs")
    for case in ref["cr"]:
        term = case["label"]
        pf = parse_formula(f"week ~ {term} + (1 | id)", pigs)
        want = np.column_stack(case["columns"])
        assert pf.X[:, 1:].shape == want.shape, term
        np.testing.assert_allclose(pf.X[:, 1:], want, atol=1e-8, err_msg=term)
        var = term[3:].split(",")[0]
        other = "week" if var == "weight" else "weight"
        new = pd.DataFrame({var: case["new"], other: 1.0, "id": 1})
        got = pf.new_X(new)[:, 1:]
        np.testing.assert_allclose(got, np.column_stack(case["predicted"]), atol=1e-8, err_msg=term)
    fit = hierarch.model("weight ~ cr(week, df=4) + (1 | id)", pigs).fit(method="reml")
    np.testing.assert_allclose(fit.lmm.beta, ref["fit_cr4"]["fixef"], rtol=1e-6)
    assert fit.lmm.criterion == pytest.approx(ref["fit_cr4"]["reml"], abs=1e-5)
    with pytest.raises(FormulaError, match=r"cr\(\) needs df= or knots="):
        parse_formula("weight ~ cr(week) + (1 | id)", pigs)
    with pytest.raises(FormulaError, match=r"cr\(\) has no argument 'k'"):
        parse_formula("weight ~ cr(week, k=5) + (1 | id)", pigs)


def test_spline_terms_check_their_arguments():
    import hierarch

    pigs = hierarch.load_dataset("pigs")
    with pytest.raises(FormulaError, match=r"bs\(\) needs df= or knots="):
        parse_formula("weight ~ bs(week) + (1 | id)", pigs)
    with pytest.raises(FormulaError, match="knots must lie inside the range"):
        parse_formula("weight ~ ns(week, knots=c(0, 5)) + (1 | id)", pigs)
    with pytest.raises(FormulaError, match="df must be a whole number >= 3"):
        parse_formula("weight ~ bs(week, df=2) + (1 | id)", pigs)
    with pytest.raises(FormulaError, match=r"bs\(\) has no argument 'dof'; it takes df,"):
        parse_formula("weight ~ bs(week, dof=4) + (1 | id)", pigs)
