"""Prior predictive checks and posterior predictive checks by group (issue 15, item 3)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import hierarch
from hierarch import plots


def test_prior_predictive_replicates_the_data_from_the_priors(pigs_model):
    reps = pigs_model.prior_predictive(draws=400, random_seed=3)
    assert reps.shape == (432, 401) and reps.attrs == {"family": "gaussian", "kind": "prior"}
    np.testing.assert_array_equal(reps["observed"], pigs_model.parsed.y)
    again = pigs_model.prior_predictive(draws=400, random_seed=3)
    np.testing.assert_array_equal(reps.to_numpy(), again.to_numpy())  # same seed, same draws
    # hierarch's default priors are scaled to the data (weakly informative): the replicates'
    # spread is wider than the data's, and their centre is near the data's. Monte Carlo
    # tolerance: 400 data sets, their mean's prior SD is about the response SD, so the median
    # of 400 replicate means lies within a few tenths of an SD of the prior's centre
    rep = reps.drop(columns="observed").to_numpy()
    y = pigs_model.parsed.y
    assert np.median(rep.std(axis=0)) > y.std()
    assert abs(np.median(rep.mean(axis=0)) - y.mean()) < 0.5 * y.std()
    ax = plots.plot_ppc(reps)
    assert ax.get_title() == "Prior predictive check"
    lo, hi = ax.get_xlim()
    assert lo <= y.min() and hi >= y.max()  # the data are always in view


def test_prior_predictive_of_binomial_counts_respects_the_trials():
    cbpp = hierarch.load_dataset("cbpp")
    m = hierarch.model("incidence | trials(size) ~ C(period) + (1 | herd)", cbpp, family="binomial")
    reps = m.prior_predictive(draws=50, random_seed=1)
    rep = reps.drop(columns="observed").to_numpy()
    assert (rep >= 0).all() and (rep <= cbpp["size"].to_numpy()[:, None]).all()
    assert np.array_equal(rep, np.round(rep))


def test_prior_predictive_checks_its_settings(pigs_model):
    with pytest.raises(ValueError, match="draws"):
        pigs_model.prior_predictive(draws=0)
    with pytest.raises(ValueError, match="random_seed"):
        pigs_model.prior_predictive(draws=10, random_seed=-1)


@pytest.fixture(scope="module")
def pigs_intercepts(seed):
    m = hierarch.model("weight ~ week + (1 | id)", hierarch.load_dataset("pigs"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", hierarch.ConvergenceWarning)
        return m.fit(draws=300, tune=300, chains=2, random_seed=seed, progressbar=False)


def test_ppc_groups_finds_what_random_intercepts_miss(pigs_intercepts, pigs_bayes):
    """Pigs grow at different rates: with random intercepts only, each pig's SD of weight is
    poorly replicated (many pigs outside their 95% interval); random slopes replicate it."""
    a = pigs_intercepts.ppc_groups(stat="sd", random_seed=1)
    b = pigs_bayes.ppc_groups(stat="sd", random_seed=1)
    assert list(a.columns) == ["group", "n", "observed", "replicated", "lower", "upper", "p"]
    assert (a["n"] == 9).all() and len(a) == 48
    outside = [((t.observed < t.lower) | (t.observed > t.upper)).mean() for t in (a, b)]
    # 5% expected when the model fits; seen 40% (intercepts) and under 10% (slopes)
    assert outside[0] > 0.25 and outside[1] < 0.15
    obs = pigs_bayes.model.parsed.y[pigs_bayes.model.parsed.blocks[0].codes == 0]
    assert a.loc[0, "observed"] == pytest.approx(obs.std())
    ax = plots.plot_ppc_groups(a)
    assert "outside 95%" in ax.get_title()
    with pytest.raises(ValueError, match="stat must be one of"):
        pigs_bayes.ppc_groups(stat="median")
