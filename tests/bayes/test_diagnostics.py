"""Convergence checks on hand-made draws (no sampling): plain words and what to try."""

from __future__ import annotations

import arviz as az
import numpy as np
import pytest

from hierarch.bayes.diagnostics import ConvergenceWarning, check_convergence


def _idata(posterior, diverging):
    return az.from_dict(posterior=posterior, sample_stats={"diverging": diverging})


def test_good_chains_pass(rng):
    idata = _idata({"mu": rng.normal(size=(4, 1000))}, np.zeros((4, 1000), dtype=bool))
    diag = check_convergence(idata, ["mu"])
    assert diag.ok and diag.problems == []
    assert diag.table.loc["mu", "r_hat_max"] < 1.01
    assert diag.table.loc["mu", "ess_bulk_min"] > 3000


def test_stuck_chains_low_ess_and_divergences_are_reported(rng):
    # chains centred at different places, strongly autocorrelated: R-hat and ESS both fail
    walk = np.cumsum(rng.normal(size=(4, 500)), axis=1) + np.arange(4)[:, None] * 5
    div = np.zeros((4, 500), dtype=bool)
    div[0, :7] = True
    idata = _idata({"tau": walk}, div)
    with pytest.warns(ConvergenceWarning) as record:
        diag = check_convergence(idata, ["tau"])
    text = str(record[0].message)
    assert "the chains disagree (R-hat above 1.01) for tau" in text
    assert "too few effective draws (ESS below 400) for tau" in text
    assert "7 divergent transitions" in text and "raise target_accept" in text
    assert diag.divergences == 7 and not diag.ok
    # the summary line names what failed (issue 11: it used to list the thresholds only)
    head = str(diag).splitlines()[0]
    assert head == (
        "Convergence: FAILED (R-hat above 1.01 for tau; ESS below 400 for tau; "
        "7 divergent transitions)"
    )


def test_warning_can_be_turned_off(rng):
    walk = np.cumsum(rng.normal(size=(2, 100)), axis=1)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        diag = check_convergence(_idata({"x": walk}, np.zeros((2, 100), bool)), ["x"], warn=False)
    assert not diag.ok
