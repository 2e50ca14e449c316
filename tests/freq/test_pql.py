"""PQL against MASS::glmmPQL (tests/reference/make_pql_reference.R -> pql.json).

Tolerances: the estimates to 1e-6 relative and the random-effect SD, residual SD and
conditional modes to 1e-5 (both programs fit each working LMM by ML to ~1e-8 and take the
same steps; seen: 1e-9); the SEs to 1e-5 (glmmPQL's summary scales the ML covariance by
N / (N - p), and so does PQLFit); the number of working fits exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch.freq.pql import glmm_pql

REF = json.loads((Path(__file__).parents[1] / "reference" / "pql.json").read_text())
SIM = Path(__file__).parents[1] / "reference" / "pql_sim_invgauss.csv"


def _models():
    cbpp = hierarch.model(
        "incidence | trials(size) ~ C(period) + (1 | herd)",
        hierarch.load_dataset("cbpp"),
        family="binomial",
    )
    ig = hierarch.model("y ~ x + (1 | g)", pd.read_csv(SIM), family="inverse_gaussian", link="log")
    return {"cbpp": cbpp, "invgauss": ig}


@pytest.mark.parametrize("case", ["cbpp", "invgauss"])
def test_pql_matches_glmmpql(case):
    ref = REF[case]
    fit = glmm_pql(_models()[case])
    assert fit.converged and fit.iterations == ref["iterations"]
    np.testing.assert_allclose(fit.beta, list(ref["fixef"].values()), rtol=1e-6)
    table = fit.fixed_effects()
    np.testing.assert_allclose(table["se"], list(ref["se_fixef"].values()), rtol=1e-5)
    vc = fit.varcorr()
    assert vc["sdcor"].iloc[0] == pytest.approx(ref["sd_group"], rel=1e-5)
    assert fit.sigma == pytest.approx(ref["sigma"], rel=1e-5)
    (effects,) = fit.ranef().values()
    assert [str(x) for x in effects.index] == ref["ranef_levels"]
    np.testing.assert_allclose(effects.iloc[:, 0], ref["ranef"], rtol=1e-5, atol=1e-7)
    assert "no likelihood" in str(fit)


def test_pql_bad_inputs():
    pigs = hierarch.model("weight ~ week + (week | id)", hierarch.load_dataset("pigs"))
    with pytest.raises(ValueError, match="PQL is for GLMMs"):
        glmm_pql(pigs)
    with pytest.raises(ValueError, match="n_iter must be"):
        glmm_pql(_models()["cbpp"], n_iter=0)
    one = glmm_pql(_models()["invgauss"], n_iter=1)
    assert not one.converged and "NOT converged" in str(one)


def test_inverse_gaussian_agq_likelihood_is_the_integral():
    # no R program fits the inverse Gaussian GLMM by its likelihood (glmmTMB has no such
    # family; glmer plugs in a deviance-based dispersion): check the twin's 25-point AGQ
    # log-likelihood against the integral over each group's effect done by SciPy's adaptive
    # quadrature at the same parameters (tolerance 1e-6: quad's error is ~1e-10 per group)
    from scipy import integrate, stats

    data = pd.read_csv(SIM)
    fit = _models()["invgauss"].fit(method="agq", n_agq=25)
    g = fit.glmm
    (name, lam), sd = g.dispersion, float(np.sqrt(g.cov[0][0, 0]))
    assert name == "lam" and 1 < lam < 10
    total = 0.0
    for _, rows in data.groupby("g"):
        eta = g.beta[0] + g.beta[1] * rows["x"].to_numpy()
        y = rows["y"].to_numpy()

        def integrand(b, eta=eta, y=y):
            mu = np.exp(eta + b)
            return np.exp(
                stats.invgauss.logpdf(y, mu / lam, scale=lam).sum() + stats.norm.logpdf(b, 0, sd)
            )

        scale = np.exp(stats.invgauss.logpdf(y, np.exp(eta) / lam, scale=lam).sum())
        value, _ = integrate.quad(
            lambda b, scale=scale: integrand(b) / scale, -8 * sd, 8 * sd, epsabs=0
        )
        total += np.log(value) + np.log(scale)
    assert fit.loglik == pytest.approx(total, rel=1e-6)
