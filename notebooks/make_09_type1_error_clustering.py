"""Write ``09_type1_error_clustering.ipynb`` from the cells below.

The first learning objective of the lesson "Mixed-effects and hierarchical models intro"
(seed 002): recognise when ignoring clustering inflates Type-I errors.  A simulation with a
known null effect: ordinary least squares against the mixed model (REML, Satterthwaite's
t-test), for a predictor measured on the clusters (a group-level predictor) and one that varies
within them, over a range of intra-class correlations.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_09_type1_error_clustering.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the simulation through
``HIERARCH_NB_SIMS=10 MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("09_type1_error_clustering.ipynb")

CELLS = [
    md(
        r"""
        # Ignoring clustering inflates Type-I errors

        Students within schools, patients within hospitals, repeated measurements of one
        person: observations in the same cluster share something, and are correlated. A model
        that treats them as independent counts every observation as a separate piece of
        evidence. Its standard errors are then too small, and a test at the 5% level rejects
        a true null hypothesis far more often than 5% of the time: the **Type-I error is
        inflated**, "sometimes dramatically", as the lesson puts it.

        This notebook measures how much, by simulation: data with a known **null** effect,
        analysed many times by ordinary least squares (OLS, ignoring the clusters) and by the
        mixed model with a random intercept per cluster. It also shows *which* predictors are
        affected: a predictor measured on the clusters (a **group-level predictor**, such as a
        school's teaching method) suffers most; one that varies within every cluster hardly
        at all.
        """
    ),
    code(
        """
        import os
        import warnings

        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd
        import statsmodels.formula.api as smf

        import hierarch

        # Size of the simulation. The default is what you should use; tests run the notebook
        # with a small value through this environment variable.
        N_SIMS = int(os.environ.get("HIERARCH_NB_SIMS", "200"))
        # a boundary fit (the cluster SD estimated at 0) is one of the outcomes being counted
        warnings.filterwarnings("ignore", category=hierarch.FitWarning)
        pd.set_option("display.precision", 3)
        """
    ),
    md(
        r"""
        ## The simulation

        $J = 20$ clusters of $n = 10$ observations, $y_{ij} = u_j + e_{ij}$ with
        $u_j \sim N(0, \sigma_u^2)$ and $e_{ij} \sim N(0, 1 - \sigma_u^2)$, so the total
        variance is 1 and $\sigma_u^2$ is the **intra-class correlation** (ICC): the
        correlation of two observations in the same cluster. Two predictors, both with **no
        effect** on $y$:

        * `treat`, a group-level predictor: half of the clusters are treated, every
          observation in a cluster has the same value;
        * `x`, an observation-level predictor: a fresh normal draw for every observation.

        Each data set is analysed with OLS (`y ~ treat + x`) and with the mixed model
        (`y ~ treat + x + (1 | cluster)`, REML, with Satterthwaite's degrees of freedom as in
        `lmerTest`), and each test rejects when its $p < 0.05$.
        """
    ),
    code(
        """
        J, N_PER = 20, 10


        def simulate(icc, rng):
            cluster = np.repeat(np.arange(J), N_PER)
            treat = np.repeat(rng.permutation(np.arange(J) % 2), N_PER)
            u = rng.normal(0.0, np.sqrt(icc), J)
            y = u[cluster] + rng.normal(0.0, np.sqrt(1.0 - icc), J * N_PER)
            x = rng.normal(size=J * N_PER)
            return pd.DataFrame({"y": y, "treat": treat, "x": x, "cluster": cluster})


        def p_values(data):
            ols = smf.ols("y ~ treat + x", data).fit()
            mixed = hierarch.model("y ~ treat + x + (1 | cluster)", data).fit(method="reml")
            table = mixed.fixed_effects()
            return {
                ("OLS", "treat"): ols.pvalues["treat"],
                ("OLS", "x"): ols.pvalues["x"],
                ("mixed model", "treat"): table.loc["treat", "p"],
                ("mixed model", "x"): table.loc["x", "p"],
            }


        rng = np.random.default_rng(2024)
        ICCS = [0.0, 0.05, 0.1, 0.2, 0.4]
        rows = []
        for icc in ICCS:
            for _ in range(N_SIMS):
                for (method, predictor), p in p_values(simulate(icc, rng)).items():
                    rows.append({"icc": icc, "method": method, "predictor": predictor, "p": p})
        results = pd.DataFrame(rows)
        rates = (
            results.assign(reject=results["p"] < 0.05)
            .groupby(["predictor", "method", "icc"])["reject"]
            .mean()
            .unstack("icc")
        )
        rates
        """
    ),
    md(
        r"""
        Each rate is a proportion of `N_SIMS` simulated data sets, so it carries Monte Carlo
        error: its standard error is about $\sqrt{0.05 \times 0.95 / N_\text{sims}}$ near the
        nominal 5%.
        """
    ),
    code(
        """
        mc_se = np.sqrt(0.05 * 0.95 / N_SIMS)
        print(f"{N_SIMS} data sets per setting: Monte Carlo SE of a rate near 5% = {mc_se:.3f}")
        ols_treat = rates.loc[("treat", "OLS")]
        mixed_treat = rates.loc[("treat", "mixed model")]
        top = max(ICCS)
        print(
            f"group-level predictor at ICC {top}: OLS rejects a true null in "
            f"{ols_treat[top]:.0%} of the data sets, the mixed model in {mixed_treat[top]:.0%}"
        )

        fig, axes = plt.subplots(1, 2, figsize=(10, 3.8), sharey=True, layout="constrained")
        for ax, predictor in zip(axes, ["treat", "x"], strict=True):
            for method, style in [("OLS", "o-"), ("mixed model", "s-")]:
                r = rates.loc[(predictor, method)]
                ax.plot(r.index, r.values, style, label=method)
            ax.axhline(0.05, color="k", ls="--", lw=1, label="nominal 5%")
            ax.fill_between(ICCS, 0.05 - 2 * mc_se, 0.05 + 2 * mc_se, color="0.85")
            ax.set_xlabel("intra-class correlation")
            ax.set_title(
                "group-level predictor (treat)" if predictor == "treat"
                else "observation-level predictor (x)"
            )
        axes[0].set_ylabel("rejection rate of a true null")
        axes[0].legend(frameon=False)
        plt.show()
        """
    ),
    md(
        r"""
        ## Why: the design effect

        For a group-level predictor the information is in the **clusters**, not in the
        observations. With $n$ observations per cluster and intra-class correlation $\rho$,
        the variance of a cluster mean is larger than OLS assumes by the **design effect**
        $1 + (n - 1)\rho$ (Kish). OLS's standard error of `treat` is too small by the square
        root of that factor, and its $t$ statistic too large by the same factor. The
        predicted rejection rate of OLS is then $P(|Z| > 1.96 / \sqrt{1 + (n-1)\rho})$:
        """
    ),
    code(
        """
        from scipy import stats

        deff = 1 + (N_PER - 1) * np.array(ICCS)
        predicted = 2 * stats.norm.sf(1.96 / np.sqrt(deff))
        pd.DataFrame(
            {
                "design effect": deff,
                "predicted OLS rate": predicted,
                "simulated OLS rate": ols_treat.to_numpy(),
                "simulated mixed-model rate": mixed_treat.to_numpy(),
            },
            index=pd.Index(ICCS, name="icc"),
        )
        """
    ),
    checks(
        """
        says(deff[ICCS.index(0.2)], "2.8", ".1f")
        """
    ),
    md(
        r"""
        The observation-level predictor `x` varies within every cluster, so the comparison
        of its values happens mostly *within* clusters, where the shared $u_j$ cancels: OLS
        stays close to 5% for it. The mixed model keeps both tests near the nominal level at
        every ICC: it estimates the cluster variance and tests `treat` against the variation
        *between* clusters, on about $J - 2$ degrees of freedom.

        At ICC 0 there is no clustering and OLS is exact. The mixed model still tests
        `treat` between clusters, on about $J - 2$ degrees of freedom, and when the cluster
        SD is estimated at zero its test is somewhat conservative (it rejects less often than
        5%): a small price for not assuming what the data cannot show.

        ## What to take away

        * Clustered data analysed as if independent give standard errors that are too small
          for anything measured on the clusters, and tests that reject a true null far too
          often: with 10 observations per cluster and an ICC of 0.2, the design effect is 2.8.
        * Group-level predictors (a school's method, a hospital's policy, a herd's region) are
          the most exposed; predictors that vary within clusters much less.
        * The random intercept repairs this: its test of a group-level predictor is, in effect,
          a test on the cluster means.

        ## Exercises

        1. Keep the total number of observations at 200 but use 50 clusters of 4. How do the
           design effect and the OLS rejection rate change?
        2. Make `x` vary between clusters as well as within them (add a cluster-level
           component to it). What happens to OLS's rejection rate for `x`?
        3. Give `treat` a real effect of 0.3 and compare the **power** of the two methods at
           ICC 0.2. Why is OLS's apparent power not worth having?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
