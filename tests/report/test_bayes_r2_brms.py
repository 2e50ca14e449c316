"""The Bayesian R-squared (Gelman, Goodrich, Gabry & Vehtari 2019) of hierarch's fits against
brms's ``bayes_R2`` on the same data and priors (tests/reference/bayes_r2.json, made by
make_bayes_r2_reference.R: 4 chains x 2,000 draws; R is not needed to run this).

Exactly, on the same draws: brms's first 100 draws put into a hierarch fit give brms's
per-draw R2 (fast tier).  Over independent runs (slow tier): posterior means of the
conditional and marginal R2 within 3 combined Monte Carlo standard errors, posterior SDs
within 10 % (3 significant digits is beyond the Monte Carlo precision of two runs of 8,000
draws: brms's own MCSE of the mean is 3e-4 to 1.4e-3; seen: sleepstudy 0.79163 / 0.28473
against brms's 0.79160 / 0.28408, cbpp 0.63580 / 0.32987 against 0.63542 / 0.32788,
conditional / marginal)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import hierarch
from hierarch.core.priors import Prior

REF = json.loads((Path(__file__).resolve().parents[1] / "reference" / "bayes_r2.json").read_text())[
    "cases"
]

CASES = {
    "sleep": (
        "Reaction ~ Days + (Days | Subject)",
        "sleepstudy",
        {},
        {  # brms: normal(250, 100), normal(0, 50), half-normal(0, 50) x 2, lkj(2)
            "Intercept": Prior("Normal", mu=250.0, sigma=100.0),
            "Days": Prior("Normal", mu=0.0, sigma=50.0),
            "sd": Prior("HalfNormal", sigma=50.0),
            "sigma": Prior("HalfNormal", sigma=50.0),
            "lkj_eta": 2.0,
        },
    ),
    "cbpp": (
        "incidence | trials(size) ~ C(period) + (1 | herd)",
        "cbpp",
        {"family": "binomial"},
        {  # brms: normal(0, 2.5) on every coefficient, half-normal(0, 1)
            "Intercept": Prior("Normal", mu=0.0, sigma=2.5),
            **{f"C(period)[{k}]": Prior("Normal", mu=0.0, sigma=2.5) for k in (2, 3, 4)},
            "sd": Prior("HalfNormal", sigma=1.0),
        },
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_bayes_r2_matches_brms(case):
    import arviz as az
    import xarray as xr

    formula, data, kw, priors = CASES[case]
    model = hierarch.model(formula, hierarch.load_dataset(data), priors=priors, **kw)
    fit = model.fit(draws=2000, tune=1000, chains=4, random_seed=20261202)
    table = fit.r2()
    for kind in ("conditional", "marginal"):
        ref = REF[case]["bayes_R2"][kind]
        draws = np.asarray(table.attrs["draws"][kind]).reshape(4, -1)  # (chain, draw)
        mean = float(draws.mean())
        da = xr.DataArray(draws, dims=("chain", "draw"))
        mcse = float(az.mcse(da.to_dataset(name="r2"))["r2"])
        combined = np.hypot(mcse, ref["mcse_mean"])
        assert abs(mean - ref["mean"]) < 3 * combined, (case, kind, mean, ref["mean"], combined)
        assert float(draws.std()) == pytest.approx(ref["sd"], rel=0.1), (case, kind)


@pytest.mark.parametrize("case", list(CASES))
def test_bayes_r2_equals_brms_on_the_same_draws(case):
    """The same 100 posterior draws (brms's chain 1) put into a hierarch fit of the same
    model give brms's per-draw bayes_R2, conditional and marginal, to 1e-10 (the formula,
    Gelman et al. 2019's residual-based R2, with brms's expected counts for the binomial;
    seen 1e-16): the issue's 3 significant digits without Monte Carlo error."""
    import warnings

    formula, data, kw, priors = CASES[case]
    ref = REF[case]["draws_check"]
    model = hierarch.model(formula, hierarch.load_dataset(data), priors=priors, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        fit = model.fit(draws=100, tune=100, chains=1, random_seed=1, progressbar=False)
    post = fit.idata.posterior
    post["beta"].values[0] = np.column_stack([ref["b"][name] for name in ref["b_names"]])
    for name, blk in zip(model.block_names, model.parsed.blocks, strict=True):
        r = ref[f"r_{blk.factor}"]
        where = [r["levels"].index(str(level)) for level in blk.levels]
        for c, term in enumerate(r["terms"]):
            assert blk.columns[c] == term
            post[f"b_{name}"].values[0, :, :, c] = np.asarray(r[term])[:, where]
    if "sigma" in ref:
        post["sigma"].values[0] = ref["sigma"]
    draws = fit.r2().attrs["draws"]
    for kind in ("conditional", "marginal"):
        np.testing.assert_allclose(draws[kind], ref["bayes_R2"][kind], rtol=1e-10)
