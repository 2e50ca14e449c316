"""Write ``11_model_checking_and_comparison.ipynb`` from the cells below.

The Bayesian workflow on the pigs of seed 004's lecture (``weight ~ week`` with random
intercepts, then random slopes): a prior predictive check, posterior predictive checks overall
and by pig, leave-one-out and leave-one-pig-out cross-validation without refits, model
comparison, R-squared, and simulation-based calibration.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_11_model_checking_and_comparison.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) use ``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2
HIERARCH_NB_SIMS=10``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("11_model_checking_and_comparison.ipynb")

CELLS = [
    md(
        r"""
        # Checking and comparing hierarchical models

        A fitted model is a claim about how the data came about. Before believing its
        estimates, ask four questions, each with a tool:

        1. **Do the priors make sense?** Simulate data from the priors alone (a *prior
           predictive check*).
        2. **Can the model reproduce the data?** Simulate data from the posterior and compare
           (a *posterior predictive check*), overall *and group by group*.
        3. **Which model predicts better?** Cross-validation: leave rows out, or, for a
           hierarchical model, leave whole **groups** out.
        4. **Does the fitting procedure itself work?** Simulation-based calibration: fit the
           model to data simulated from it, many times, and check that the truth falls where
           the posteriors say it should.

        The data are the pigs of the lecture on random effects (seed 004): the weight of 48
        pigs, each weighed in 9 successive weeks. Two models: every pig its own intercept
        (`(1 | id)`), or its own intercept *and* growth rate (`(week | id)`).
        """
    ),
    code(
        """
        import os
        import warnings

        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd

        import hierarch
        from hierarch import plots
        from hierarch.report.sbc import rank_histogram

        # Size of the Bayesian fits and of the calibration study. The defaults are what you
        # should use; tests run the notebook with small values through these variables.
        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))
        N_SIMS = int(os.environ.get("HIERARCH_NB_SIMS", "100"))
        NUTS = dict(draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024, progressbar=False)

        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks, and the
            # warning would be noise. With the default DRAWS you *should* see any such warning.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)

        pigs = hierarch.load_dataset("pigs")
        pd.set_option("display.precision", 3)
        """
    ),
    md(
        r"""
        ## 1. Prior predictive check

        hierarch's default priors are *weakly informative*: scaled to the data's spread, wide
        enough to let the data speak, narrow enough to rule out absurd values. A prior
        predictive check shows what they imply: whole data sets drawn from the priors, before
        seeing the data, beside the real weights.
        """
    ),
    code(
        """
        m_slopes = hierarch.model("weight ~ week + (week | id)", pigs)
        m_intercepts = hierarch.model("weight ~ week + (1 | id)", pigs)

        prior_reps = m_slopes.prior_predictive(draws=200, random_seed=1)
        plots.plot_ppc(prior_reps)
        plt.show()
        rep = prior_reps.drop(columns="observed").to_numpy()
        print(f"observed weights: {pigs.weight.min():.0f} to {pigs.weight.max():.0f} kg")
        print(f"prior replicates: middle 90% from {np.quantile(rep, 0.05):.0f} "
              f"to {np.quantile(rep, 0.95):.0f} kg")
        """
    ),
    md(
        r"""
        The replicated data sets scatter far more widely than the real weights, some of them
        below zero: the priors allow much more than the data will show, and they do not
        exclude the data. That is what weakly informative means. If you knew more (a pig
        cannot weigh less than nothing; a piglet weighs about 20 kg), you could say so with a
        prior and check again.

        ## 2. Posterior predictive checks: overall, then by pig

        Both models are fitted by NUTS. The overall check compares the distribution of all
        432 weights with replicated data sets.
        """
    ),
    code(
        """
        fit_intercepts = m_intercepts.fit(**NUTS)
        fit_slopes = m_slopes.fit(**NUTS)

        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
        plots.plot_ppc(fit_intercepts.ppc(random_seed=1), ax=axes[0])
        axes[0].set_title("(1 | id): all weights")
        plots.plot_ppc(fit_slopes.ppc(random_seed=1), ax=axes[1])
        axes[1].set_title("(week | id): all weights")
        plt.show()
        """
    ),
    md(
        r"""
        Both models reproduce the distribution of all weights: by this check, either would
        do. But a hierarchical model makes claims about every *group*. Pigs grow at different
        rates, so a pig's weights spread out over the nine weeks by an amount that depends on
        its own growth rate. With random intercepts only, every pig grows at the same rate,
        and the model cannot reproduce that spread. The check by group computes a statistic
        per pig (here the SD of its nine weights) on the data and on every replicate:
        """
    ),
    code(
        """
        by_pig_int = fit_intercepts.ppc_groups(stat="sd", random_seed=1)
        by_pig_slo = fit_slopes.ppc_groups(stat="sd", random_seed=1)

        fig, axes = plt.subplots(1, 2, figsize=(11, 9), sharey=True)
        plots.plot_ppc_groups(by_pig_int, ax=axes[0])
        axes[0].set_title("(1 | id)", fontsize="medium")
        plots.plot_ppc_groups(by_pig_slo, ax=axes[1])
        axes[1].set_title("(week | id)", fontsize="medium")
        plt.show()


        def outside(t):
            return float(((t.observed < t.lower) | (t.observed > t.upper)).mean())


        share_int, share_slo = outside(by_pig_int), outside(by_pig_slo)
        print(f"pigs outside their 95% interval: (1 | id) {share_int:.0%}, "
              f"(week | id) {share_slo:.0%}")
        """
    ),
    md(
        r"""
        With random intercepts, about a third of the pigs' spreads lie outside their
        replicates' 95% intervals, in both directions: some pigs grow faster, some slower
        than the common slope allows. With random slopes, hardly any do. (Fewer than 5% is
        expected here: each pig's own data informed the replicates of that pig, which makes
        posterior predictive checks conservative. A misfit that shows despite this is real.)
        **An overall check can hide a misfit that the check by group shows.**

        ## 3. Cross-validation: leave out rows, or leave out pigs

        PSIS-LOO (Vehtari, Gelman and Gabry 2017) estimates how well a model predicts a left-out
        row from the one posterior, by importance sampling. In a hierarchical model a single
        row is predicted with the help of its own pig's effects, which that row itself
        informed, and the importance weights can become unstable: ArviZ measures this by the
        Pareto k of each row, and values above 0.7 mean that row's estimate cannot be trusted.
        For the pigs, a few rows are flagged:
        """
    ),
    code(
        """
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the high Pareto k is the point of this cell
            loo_rows = fit_slopes.loo()
        k = np.asarray(loo_rows.pareto_k)
        print(f"row-wise LOO, (week | id): {int((k > 0.7).sum())} of {k.size} rows with k > 0.7")
        """
    ),
    md(
        r"""
        The question a hierarchical model is built for is another one anyway: how well does it
        predict a **new pig**? That is leave-one-*group*-out cross-validation. brms and
        rstanarm answer it with 48 refits. hierarch answers it from the one posterior: for a
        Gaussian model, the likelihood of a whole pig's nine weights *with its two effects
        integrated out* is known exactly (a 9-dimensional normal density), so the importance
        weights of leaving a pig out are as well behaved as can be.
        """
    ),
    code(
        """
        logo_slopes = fit_slopes.logo()
        print(logo_slopes)
        print("largest Pareto k over the 48 pigs:", round(float(logo_slopes.pareto_k.max()), 2))
        """
    ),
    md(
        r"""
        Every pig's k is small. This estimate equals 48 refits, each without one pig, within
        Monte Carlo error (a slow test, `tests/report/test_crossval.py`), at a fraction of the
        time (`benchmarks/RESULTS.md`).

        `hierarch.loo_compare` ranks models by either kind of cross-validation, in ArviZ's
        comparison table. `elpd_loo` is the expected log predictive density (higher is
        better), `elpd_diff` the difference from the best model and `dse` its standard error.
        """
    ),
    code(
        """
        table = hierarch.loo_compare(
            {"(week | id)": fit_slopes, "(1 | id)": fit_intercepts}, by="id"
        )
        table[["elpd_loo", "p_loo", "elpd_diff", "dse", "weight"]]
        """
    ),
    md(
        r"""
        For a new pig, the random-slopes model predicts far better: the difference is many
        standard errors. This is the same verdict as the check by pig, now as a number.

        ## How much do the models explain? R-squared

        For maximum-likelihood fits, Nakagawa and Schielzeth's R-squared splits the variance
        into what the fixed effects explain (**marginal**) and what fixed and random effects
        together explain (**conditional**), as `performance::r2_nakagawa` in R computes it.
        Bayesian fits get the Bayesian R-squared of Gelman et al. (2019), one value per
        posterior draw.
        """
    ),
    code(
        """
        reml_int = m_intercepts.fit(method="reml")
        reml_slo = m_slopes.fit(method="reml")
        print("REML, (1 | id):")
        print(reml_int.r2()[["estimate", "var_fixed", "var_random", "var_residual"]])
        print()
        print("REML, (week | id):")
        print(reml_slo.r2()[["estimate", "var_fixed", "var_random", "var_residual"]])
        print()
        print("Bayesian R2, (week | id):")
        print(fit_slopes.r2())
        """
    ),
    md(
        r"""
        Week alone explains about 93% of the variance in weight (marginal R2 0.93 in both
        models). The random slopes raise the conditional R2 only from 0.984 to 0.994, yet
        they transform the prediction of a new pig. R-squared measures variance explained on
        the data at hand, not predictive skill, and it does not notice misfit by group.

        ## 4. Simulation-based calibration

        The checks above ask whether the *model* fits. Simulation-based calibration (Talts et
        al. 2018) asks whether the *fitting* works: draw parameters from the prior, simulate a
        data set, fit it, and note the rank of the true value among the posterior draws.
        If the sampler and the model code are right, these ranks are uniform. Here on a
        small random-intercept design, so that each fit takes a second:
        """
    ),
    code(
        """
        small = hierarch.simulate.random_intercepts(J=10, n_mean=5, seed=3)
        sbc = hierarch.sbc(
            hierarch.model("y ~ 1 + (1 | group)", small), n=N_SIMS, random_seed=1
        )
        print(sbc.uniformity(bins=10))
        plots.plot_sbc_ranks(rank_histogram(sbc.ranks, sbc.L, bins=10))
        plt.show()
        """
    ),
    md(
        r"""
        The bars stay inside the grey band that uniform ranks would fill 99% of the time, and
        the chi-square tests do not reject. A sampler that underestimated the uncertainty of
        the group SD would pile the ranks up at both ends; a biased one would tilt them. The
        slow tier of hierarch's test suite runs this for every model builder.

        ## What to take away

        * Check the priors by what they imply for data, not by their formulas.
        * Check a hierarchical model *group by group*: an overall check can look perfect while
          the model misses what distinguishes the groups.
        * To compare hierarchical models by how they predict new groups, leave out groups, not
          rows. For Gaussian models hierarch needs no refits for it.
        * R-squared describes; it does not compare predictive skill.

        ## Exercises

        1. Repeat the check by pig with `stat="mean"`. Why does the random-intercept model
           pass this one?
        2. Compare `loo_compare(..., by=None)` (rows) with `by="id"`. Do the two agree on the
           ranking? Which question does each answer?
        3. Give the residual SD a much too narrow prior, e.g.
           `priors={"sigma": hierarch.Prior("HalfNormal", sigma=0.5)}`, and look at the
           prior predictive check and the posterior predictive check by pig.
        """
    ),
    checks(
        """
        assert 0.2 < share_int < 0.5 and share_slo < 0.05  # "about a third", "hardly any"
        assert float(logo_slopes.pareto_k.max()) < 0.7  # "every pig's k is small"
        assert table.index[0] == "(week | id)"  # "the random-slopes model predicts far better"
        assert table["elpd_diff"].iloc[1] > 3 * table["dse"].iloc[1]
        if N_SIMS >= 100:  # quick runs have too few simulations for the test to mean anything
            assert (sbc.uniformity(bins=10)["p"] > 0.01).all()  # "the tests do not reject"
        says(reml_int.r2().loc["marginal", "estimate"], "0.93", ".2f")
        says(reml_slo.r2().loc["marginal", "estimate"], "0.93", ".2f")
        says(reml_int.r2().loc["conditional", "estimate"], "0.984", ".3f")
        says(reml_slo.r2().loc["conditional", "estimate"], "0.994", ".3f")
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
