"""Simulation-based calibration (issue 15, item 3): the rank statistics, a small run in the
fast tier, and every builder calibrated in the slow tier.

Slow-tier level: each parameter's chi-square test of uniform ranks (10 bins of the 100
possible ranks, 100 simulated data sets) must not reject at alpha = 0.001; with 14 parameters
over the four builders, a correct sampler fails the whole test by chance about 1.4% of the
time (fixed seeds make a given run reproducible).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hierarch
from hierarch import plots
from hierarch.frontends.binomial import _multilevel
from hierarch.frontends.mixed import Model
from hierarch.report.sbc import rank_histogram, rank_uniformity


def test_rank_uniformity_tells_uniform_from_biased_ranks(rng):
    uniform = pd.DataFrame({"a": rng.integers(0, 100, 1000)})
    biased = pd.DataFrame({"a": np.minimum(rng.integers(0, 100, 1000), rng.integers(0, 100, 1000))})
    assert rank_uniformity(uniform, L=99).loc["a", "p"] > 0.001
    assert rank_uniformity(biased, L=99).loc["a", "p"] < 1e-10
    h = rank_histogram(uniform, L=99)
    assert h["a"].sum() == 1000 and h.attrs["expected"] == 100
    lo, hi = h.attrs["band"]
    assert lo < 100 < hi
    axes = plots.plot_sbc_ranks(h)
    assert [p.get_height() for p in axes[0, 0].patches[-10:]] == h["a"].tolist()
    with pytest.raises(ValueError, match="must divide the 100 possible ranks"):
        rank_uniformity(uniform, L=99, bins=7)


def test_sbc_runs_and_reports_ranks(seed):
    df = hierarch.simulate.random_intercepts(J=6, n_mean=4, seed=1)
    res = hierarch.sbc(
        hierarch.model("y ~ 1 + (1 | group)", df), n=3, draws=100, tune=100, random_seed=seed
    )
    assert list(res.ranks.columns) == ["beta[Intercept]", "sigma", "sd_group[Intercept]"]
    assert res.ranks.shape == (3, 3) and res.L == 99
    assert ((res.ranks >= 0) & (res.ranks <= 99)).all().all()
    assert (res.truth["sigma"] > 0).all() and len(res.diagnostics) == 3
    with pytest.raises(ValueError, match="thin_to"):
        hierarch.sbc(hierarch.model("y ~ 1 + (1 | group)", df), n=2, draws=10, chains=2)
    with pytest.raises(TypeError, match="takes a hierarch.model"):
        hierarch.sbc("y ~ 1 + (1 | group)")


def _builders():
    slopes = hierarch.simulate.random_slopes(obs_per_cluster=5, n_cluster=10, seed=2)
    binom = hierarch.simulate.binomial_groups(n_groups=10, seed=3)
    rng = np.random.default_rng(4)
    means = pd.DataFrame(
        {"estimate": rng.normal(0, 10, 8), "se": rng.uniform(5, 15, 8), "school": list("abcdefgh")}
    )
    counts = hierarch.simulate.random_intercepts(J=10, n_mean=5, seed=5)
    counts = counts.assign(count=rng.poisson(3, len(counts)))
    return {
        "model_random_slopes": hierarch.model("y ~ x + (x | cluster)", slopes),
        "binomial_model": _multilevel("m", "n", "group", binom),
        "normal_means": Model(
            "estimate | se(se) ~ 1 + (1 | school)", means, parameterization="non-centred"
        ),
        "model_poisson": hierarch.model("count ~ 1 + (1 | group)", counts, family="poisson"),
    }


@pytest.mark.slow
@pytest.mark.statistical
@pytest.mark.parametrize(
    "builder", ["model_random_slopes", "binomial_model", "normal_means", "model_poisson"]
)
def test_every_builder_is_calibrated(builder, seed):
    res = hierarch.sbc(_builders()[builder], n=100, draws=500, tune=500, random_seed=seed)
    table = res.uniformity(bins=10)
    assert (table["p"] > 0.001).all(), table
