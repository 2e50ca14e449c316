"""The Laplace twin never stops below glmer's optimum: 53 fresh simulated data sets
(tests/reference/glmm_many.json, made by make_glmm_many_reference.R): Bernoulli, binomial,
Poisson and negative binomial ``y ~ x + (1 | g)``, group SD 0.3 and 1.2, 8 groups of 20 and
60 groups of 6, three replicates each, plus five data sets shaped as issue 12's defect (350
Bernoulli rows in 25 groups, SD drawn from U(0.3, 1.2)).

Tolerance: the issue asks that hierarch's log-likelihood never be below glmer's by more
than 1e-4.  The bar is glmer with ``tolPwrss = 1e-12`` (``logLik_tight``; negative binomial:
with theta optimised tightly too): glmer's default ``logLik`` can be *too high* by 4e-5 (its
inner PIRLS stops early; the reference README explains), so it is no safe floor.  We also
check the default logLik with the same 1e-4.

Tiers: replicate 1 of each of the 16 designs and the 5 bug-report data sets run in
``make test``; replicates 2 and 3 (32 data sets) in the slow tier (``make test-slow``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hierarch.freq.boundary import escape_boundary
from hierarch.freq.laplace import fit_glmm

REFDIR = Path(__file__).parents[1] / "reference"
REF = json.loads((REFDIR / "glmm_many.json").read_text())
DATA = pd.read_csv(REFDIR / "glmm_many_sim.csv")
FAMILY = {
    "bernoulli": "bernoulli",
    "binomial": "binomial",
    "poisson": "poisson",
    "negbin": "negative_binomial",
}


def _fit(rec):
    d = DATA[DATA["dataset"] == rec["dataset"]]
    codes = d["g"].to_numpy() - 1
    X = np.column_stack([np.ones(len(d)), d["x"].to_numpy()])
    fam = FAMILY[rec["family_key"]]
    trials = d["n"].to_numpy(float) if fam == "binomial" else None
    return fit_glmm(
        d["y"].to_numpy(float),
        X,
        [(np.ones((len(d), 1)), codes, int(codes.max()) + 1)],
        family=fam,
        trials=trials,
    )


def _tier(rec):
    """Replicate 1 of every design and the bug-report data sets in the fast tier; the other
    replicates in the slow tier (they take most of the minute the whole set needs)."""
    slow = rec.get("replicate", 1) not in (1, None) and rec["design"] != "bugreport"
    return pytest.param(rec, id=rec["dataset"], marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("rec", [_tier(r) for r in REF["datasets"]])
def test_laplace_loglik_never_below_glmer(rec):
    fit = _fit(rec)
    tight = rec.get("logLik_tight_theta_opt", rec["logLik_tight"])
    assert fit.loglik >= tight - 1e-4, (fit.loglik, tight, np.sqrt(fit.cov[0][0, 0]))
    assert fit.loglik >= rec["logLik"] - 1e-4
    # and a fit that glmer finds off the boundary is off the boundary here too
    sd_ref = rec.get("re_sd_tight_theta_opt", rec["re_sd_tight"])
    sd_ref = sd_ref if np.isscalar(sd_ref) else next(iter(sd_ref.values()))
    if sd_ref > 0.05:
        assert np.sqrt(fit.cov[0][0, 0]) > 0.5 * sd_ref


def test_escape_boundary_leaves_a_false_stop_and_keeps_a_true_one():
    f = lambda x: (x[0] ** 2 - 0.25) ** 2 + x[1] ** 2  # noqa: E731  stationary at 0, min 0.5
    assert escape_boundary(f, np.array([0.0, 0.0]), [0])[0] == pytest.approx(0.5, abs=1e-4)
    g = lambda x: x[0] ** 2  # noqa: E731  the minimum is on the boundary
    assert escape_boundary(g, np.array([0.0]), [0]) is None
