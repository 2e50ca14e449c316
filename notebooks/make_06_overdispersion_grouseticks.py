"""Write ``06_overdispersion_grouseticks.ipynb`` from the cells below.

The second GLMM notebook of Rafael de Andrade Moral's slides "Introduction to Mixed Models"
(the first is ``05_glmm_cbpp.ipynb``): overdispersion and the individual-level
(observation-level) random effect on the grouse ticks data, with the negative binomial as the
alternative and a posterior predictive check that shows what the extra random effect is for.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_06_overdispersion_grouseticks.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fits
through environment variables, e.g. ``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2
MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("06_overdispersion_grouseticks.ipynb")


CELLS = [
    md(
        r"""
        # Overdispersion and individual-level random effects: grouse ticks

        A binomial count has variance $m\pi(1 - \pi)$, a Poisson count variance $\mu$: the
        mean fixes the variance. When the data vary more than that, they are
        **overdispersed**. The causes are many: variable experimental material, correlated
        individual responses, clustered or multistage sampling, aggregation, and variables
        that were not observed.

        One remedy is an **individual-level random effect**: one normal random effect per
        observation, added to the linear predictor. For counts, the **Poisson-normal** GLMM

        $$
        \begin{aligned}
        Y_i \mid z_i &\sim \text{Poisson}(\mu_i), \\
        \log \mu_i &= \beta_0 + \beta_1 x_{1i} + \cdots + \beta_p x_{pi} + z_i, \\
        z_i &\sim N(0, \sigma_z^2).
        \end{aligned}
        $$

        (The binomial-normal GLMM is the same with a logit link.) Each $z_i$ is seen by one
        observation only, so it cannot be estimated on its own; $\sigma_z$ can, and it
        measures the extra variation.

        ## Ticks on red grouse chicks

        Elston et al. counted the ticks on the heads of 403 red grouse chicks, in 118 broods
        at 63 locations, over three years (1995 to 1997). `INDEX` numbers the chicks,
        `HEIGHT` is the altitude of the location (`cHEIGHT`: centred).
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
        from hierarch.report.mixed import compare

        # Size of the Bayesian fits. The defaults are what you should use; tests run the
        # notebook with small values through these environment variables.
        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))
        # Tuning never drops below the sampler's default of 1000 steps: with 300, a chain of
        # the grouse ticks model below can stay stuck far from the posterior. Quick test runs
        # (DRAWS < 1000) only check that the notebook runs, and tune as briefly as they draw.
        TUNE = max(DRAWS, 1000) if DRAWS >= 1000 else DRAWS
        # the same sampler settings for every Bayesian fit below
        NUTS = dict(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=2024, progressbar=False)

        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks, and the
            # warning would be noise. With the default DRAWS you *should* see any such warning.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)

        pd.set_option("display.precision", 4)
        """
    ),
    code(
        """
        print(hierarch.describe_dataset("grouseticks"))
        grouse = hierarch.load_dataset("grouseticks")
        ticks = grouse.assign(YEAR=grouse["YEAR"].astype(str))  # the year as a category
        ticks.head()
        """
    ),
    code(
        """
        brood_locations = ticks.groupby("BROOD")["LOCATION"].nunique().max()
        location_heights = ticks.groupby("LOCATION")["HEIGHT"].nunique().max()
        chicks_per_brood = ticks.groupby("BROOD").size()
        print(
            f"chicks {len(ticks)}, broods {ticks['BROOD'].nunique()}, "
            f"locations {ticks['LOCATION'].nunique()}"
        )
        print(f"locations per brood (at most): {brood_locations}")
        print(f"altitudes per location (at most): {location_heights}")
        print(
            f"chicks per brood: median {chicks_per_brood.median():.0f}, "
            f"range {chicks_per_brood.min()} to {chicks_per_brood.max()}"
        )
        mean, var = ticks["TICKS"].mean(), ticks["TICKS"].var()
        print(
            f"ticks per chick: mean {mean:.2f}, variance {var:.1f}, "
            f"chicks without ticks {(ticks['TICKS'] == 0).mean():.0%}"
        )
        """
    ),
    md(
        r"""
        Broods are nested in locations, and the altitude is a property of the location. The
        variance of the counts is 27 times their mean, but that alone proves little: the
        years, the altitudes, the broods and the locations all differ. The question is whether
        there is more variation than a Poisson model *with all of these* allows.
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        for year, rows in ticks.groupby("YEAR"):
            ax.scatter(rows["HEIGHT"], rows["TICKS"] + 1, s=10, alpha=0.6, label=f"19{year}")
        ax.set_yscale("log")
        ax.set_xlabel("altitude of the location (m)")
        ax.set_ylabel("ticks + 1 (log scale)")
        ax.set_title("Fewer ticks higher up; many more in 1996")
        ax.legend(frameon=False, fontsize="small");
        """
    ),
    md(
        r"""
        ## Poisson with and without the individual-level effect

        Two Poisson GLMMs with year and altitude as fixed effects and random intercepts for
        brood and location; the second adds `(1 | INDEX)`, one random effect per chick. Both
        are fitted by the Laplace approximation.
        """
    ),
    code(
        """
        f_groups = "TICKS ~ YEAR + cHEIGHT + (1 | BROOD) + (1 | LOCATION)"
        f_chicks = f_groups + " + (1 | INDEX)"
        m_pois = hierarch.model(f_groups, ticks, family="poisson")
        m_olre = hierarch.model(f_chicks, ticks, family="poisson")
        lap_pois = m_pois.fit(method="laplace")
        lap_olre = m_olre.fit(method="laplace")
        print(lap_olre)
        """
    ),
    md(
        r"""
        `INDEX` has 403 levels for 403 rows. hierarch recognises such an observation-level
        effect and labels it as **overdispersion** rather than as a grouping of the data, in
        the printout and in `group_sds()`:
        """
    ),
    code(
        """
        lap_olre.group_sds()
        """
    ),
    md(
        r"""
        ## The negative binomial alternative

        Another way to let counts vary more than a Poisson: a **negative binomial** response,
        with $\operatorname{Var}(Y) = \mu + \mu^2 / k$. It is a Poisson whose mean is
        multiplied by a gamma-distributed individual effect, where the Poisson-normal model
        uses a log-normal one. `dispersion()` reports $k$:
        """
    ),
    code(
        """
        m_nb = hierarch.model(f_groups, ticks, family="negative_binomial")
        lap_nb = m_nb.fit(method="laplace")
        lap_nb.dispersion()
        """
    ),
    code(
        """
        fits = {
            "Poisson": lap_pois,
            "Poisson + (1 | INDEX)": lap_olre,
            "negative binomial": lap_nb,
        }
        pd.DataFrame(
            {
                name: {"parameters": f.glmm.n_params, "log-likelihood": f.loglik, "AIC": f.aic}
                for name, f in fits.items()
            }
        ).T
        """
    ),
    code(
        """
        lr = 2 * (lap_olre.loglik - lap_pois.loglik)
        print(f"likelihood ratio statistic for sigma_z = 0: {lr:.1f} on 1 parameter")
        """
    ),
    md(
        r"""
        One extra parameter improves the log-likelihood by almost 98 and the AIC by 193: the
        Poisson model with brood and location effects is clearly overdispersed. (The usual
        $\chi^2_1$ reference distribution is conservative here, since $\sigma_z = 0$ lies on
        the boundary; no matter at this size.) The negative binomial model does about as well
        as the individual-level effect (AIC 1791.7 against 1794.5): the data cannot tell a
        gamma from a log-normal multiplier.

        What changes, and what does not?
        """
    ),
    code(
        """
        fixed = {name: f.fixed_effects()[["estimate", "se"]] for name, f in fits.items()}
        pd.concat(fixed, axis=1)
        """
    ),
    code(
        """
        pd.concat(
            {name: f.group_sds().set_index("group")["estimate"] for name, f in fits.items()},
            axis=1,
        )
        """
    ),
    md(
        r"""
        The fixed effects and their standard errors hardly move: with about three chicks per
        brood, the brood effects had already absorbed much of the extra variation that,
        without them, would have made the Poisson standard errors too small. The brood and
        location SDs shrink a little once the individual effect takes its share. The gain is
        in the fit, and, as the next section shows, in a part of the data that the Poisson
        model gets wrong.

        ## A posterior predictive check

        A posterior predictive check simulates new data sets from the fitted model (one per
        posterior draw) and compares them with the data. It needs a Bayesian fit; we start
        with the Poisson model without the individual effect.
        """
    ),
    code(
        """
        bayes_pois = m_pois.fit(**NUTS)
        print(bayes_pois.diagnostics())
        """
    ),
    md(
        r"""
        Even this model can fall short of the checks at the default settings (in some of our
        runs R-hat was a little above 1.01 for the brood and location SDs, with a handful of
        divergent transitions): broods are nested in locations, and the two SDs trade off, as
        the next model shows more clearly. For inference, run it longer. For the check below
        it matters little: under a Poisson model the statistic we compute is close to 1
        whatever the values of these parameters.
        """
    ),
    code(
        """
        # posterior predictive replicates: one simulated data set per (thinned) posterior draw
        rep_pois = bayes_pois.ppc(random_seed=1)
        ax = plots.plot_ppc(rep_pois)
        ax.set_xlim(-0.5, 40)
        ax.set_xlabel("ticks per chick")
        ax.set_title("Poisson with brood and location effects");
        """
    ),
    md(
        r"""
        The distribution of the counts as a whole looks acceptable: the brood effects can give
        every brood its own mean, so the model reproduces the many zeros and the long tail.
        The check has to look where the Poisson assumption bites. Chicks of one brood share
        the year, the location and its altitude, so the model gives them one and the same
        mean; if their counts were Poisson, the variance within a brood would be about equal
        to its mean. The statistic below averages the within-brood variance-to-mean ratio over
        the broods (with at least two chicks and some ticks), for the data and for each
        simulated data set.
        """
    ),
    code(
        """
        brood = ticks["BROOD"].to_numpy()


        def within_brood_dispersion(counts):
            by_brood = pd.Series(np.asarray(counts)).groupby(brood)
            mean, var, n = by_brood.mean(), by_brood.var(), by_brood.size()
            keep = (n > 1) & (mean > 0)
            return float((var[keep] / mean[keep]).mean())


        def replicated_dispersion(replicates):
            columns = [c for c in replicates.columns if c.startswith("rep_")]
            return np.array([within_brood_dispersion(replicates[c]) for c in columns])


        observed = within_brood_dispersion(ticks["TICKS"])
        disp_pois = replicated_dispersion(rep_pois)
        print(f"observed: {observed:.2f}")
        print(
            f"Poisson replicates: median {np.median(disp_pois):.2f}, "
            f"share at least as large as observed {np.mean(disp_pois >= observed):.3f}"
        )
        """
    ),
    md(
        r"""
        The chicks of a brood differ from each other more than twice as much as a Poisson
        model allows, and not one simulated data set comes close. This is the variation that
        `(1 | INDEX)` is for.

        ## The Bayesian individual-level model, and its convergence

        The same check for the model with `(1 | INDEX)`. This model is harder to sample: 403
        individual effects on top of 118 brood and 63 location effects, with broods nested in
        locations (many locations have only one or two broods, so the brood and location SDs
        trade off against each other). **Read the diagnostics first.**
        """
    ),
    code(
        """
        bayes_olre = m_olre.fit(**NUTS)
        diagnostics = bayes_olre.diagnostics()
        print(diagnostics)
        diagnostics.table
        """
    ),
    md(
        r"""
        At the default settings (4 chains of 1000 draws after 1000 tuning steps) this fit does
        **not** pass the checks. In our runs R-hat was 1.02 to 1.04 for the fixed effects and
        the brood and location SDs, the location SD had only 70 to 140 effective draws (400
        are required), and some runs had a few dozen divergent transitions, others none (the
        same seed did not always give the same chains between our runs; this posterior is
        sensitive enough for tiny numerical differences to show). The individual-level SD
        $\sigma_z$ itself is well determined. The numbers below are therefore preliminary.
        What to do:

        * **Run longer**, with more tuning and smaller steps: with
          `draws=3000, tune=2000, target_accept=0.95` the fit passed every check in each of
          our runs (in one, R-hat at most 1.006 and at least 600 effective draws for every
          parameter). It takes a few times longer; the last cell of this section runs it in
          full-size runs of the notebook.
        * **Compare with the Laplace twin**: if the posterior means sit far from the maximum
          likelihood estimates for no reason a prior could explain, suspect the sampler.
        * The centred parameterization for the locations
          (`parameterization={"LOCATION": "centred"}`) is no cure: in our trial one chain got
          stuck. If a longer run still fails, a more informative prior on the SDs is the next
          step, reported as such.

        Whatever you do, report the diagnostics with the estimates.
        """
    ),
    code(
        """
        compare(lap_olre, bayes_olre)
        """
    ),
    code(
        """
        rep_olre = bayes_olre.ppc(random_seed=1)
        disp_olre = replicated_dispersion(rep_olre)

        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2), layout="constrained")
        plots.plot_ppc(rep_olre, ax=axes[0])
        axes[0].set_xlim(-0.5, 40)
        axes[0].set_xlabel("ticks per chick")
        axes[0].set_title("Poisson + (1 | INDEX)")
        bins = np.linspace(0.5, max(disp_olre.max(), observed) + 0.3, 40)
        axes[1].hist(disp_pois, bins=bins, alpha=0.6, label="Poisson")
        axes[1].hist(disp_olre, bins=bins, alpha=0.6, label="Poisson + (1 | INDEX)")
        axes[1].axvline(observed, color="k", lw=2, label="observed")
        axes[1].set_xlabel("mean within-brood variance / mean")
        axes[1].set_title("Replicated data sets")
        axes[1].legend(frameon=False, fontsize="small")
        print(
            f"Poisson + (1 | INDEX) replicates: median {np.median(disp_olre):.2f}, "
            f"share at least as large as observed {np.mean(disp_olre >= observed):.3f}"
        )
        """
    ),
    md(
        r"""
        With the individual effects, the simulated broods vary as much as the real ones: the
        observed ratio sits in the middle of the replicates. The Poisson model's replicates
        all fall near 1.

        The longer run recommended above (skipped in quick test runs, which could not pass the
        checks anyway):
        """
    ),
    code(
        """
        if DRAWS >= 1000:
            bayes_long = m_olre.fit(
                random_seed=2024,
                draws=3 * DRAWS,
                tune=2 * TUNE,
                chains=CHAINS,
                target_accept=0.95,
                progressbar=False,
            )
            print(bayes_long.diagnostics())
            print(bayes_long.diagnostics().table.round(3))
            print()
            print(compare(lap_olre, bayes_long).round(4))
        else:
            print(f"quick run (DRAWS={DRAWS}): the long fit is skipped")
        """
    ),
    md(
        r"""
        ## Summary

        * **Overdispersion** in the grouse ticks: an **individual-level random effect**
          `(1 | INDEX)` (labelled `overdispersion`) improves the AIC by 193, as does a
          negative binomial response. A posterior predictive check aimed at the variation
          *within* broods shows what the Poisson model missed and the individual effect
          repairs.
        * The full Bayesian grouse ticks model needs **longer runs** than the defaults to pass
          its convergence checks; read `diagnostics()` before the estimates, and compare with
          the Laplace twin.
        """
    ),
    checks(
        """
        says(lap_nb.aic, "1791.7", ".1f")
        says(lap_olre.aic, "1794.5", ".1f")
        """
    ),
    md(
        r"""
        ## Exercises

        1. Add a random intercept for `LOCATION` to the negative binomial model. Does the
           brood SD change?
        2. By how much does the observation-level SD raise the mean count: how much larger is
           $E[\mu_i] = \exp(\eta_i + \sigma_z^2/2)$ than $\exp(\eta_i)$?
        3. Run the posterior predictive check of the within-brood dispersion for the negative
           binomial model. Does it repair what the Poisson model missed?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
