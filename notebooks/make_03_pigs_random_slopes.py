"""Write ``03_pigs_random_slopes.ipynb`` from the cells below.

The notebook retells the pig-growth part of the lecture "Random Effects, Mixed Effects, &
Hierarchical/Multilevel Models" (48 pigs weighed over 9 weeks, fitted there with
``lme4::lmer(weight ~ week + (week | id))``) in Python with hierarch: one overall regression,
separate fits per pig, random intercepts and slopes in between, then the Bayesian fit of the
same model, shrinkage in two dimensions and the growth curve of a new pig.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_03_pigs_random_slopes.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fit
through environment variables, e.g. ``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2
MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("03_pigs_random_slopes.ipynb")


CELLS = [
    md(
        r"""
        # Random intercepts and slopes: how pigs grow

        Repeated measurements on the same individuals are the textbook case of hierarchical
        data: the weighings of one pig are not independent of each other, and each pig has a
        growth curve of its own. This notebook compares three ways of fitting straight lines
        to such data:

        1. **one regression for all** (complete pooling), which ignores the pigs;
        2. **a separate regression for every pig** (no pooling), which ignores that they are
           pigs of the same kind;
        3. a **linear mixed model** with a random intercept and a random slope per pig
           (partial pooling), which sits in between.

        It retells the pig-growth example of the lecture *Random Effects, Mixed Effects, &
        Hierarchical/Multilevel Models* (fitted there with `lme4::lmer`) in Python with
        **hierarch**, then fits the same model the Bayesian way, looks at shrinkage in two
        dimensions and predicts the growth curve of a pig not yet weighed.
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
        from hierarch import plots
        from hierarch.report.mixed import hyperparameter_draws

        # Size of the Bayesian fit (second half). The defaults are what you should use; tests
        # run the notebook with small values through these environment variables.
        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))

        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks, and the
            # warning would be noise. With the default DRAWS you *should* see any such warning.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)

        pd.set_option("display.precision", 4)
        """
    ),
    md(
        r"""
        ## The pig growth data

        48 pigs were weighed (in kilograms) once a week for 9 weeks (Diggle, Liang & Zeger,
        *Analysis of Longitudinal Data*; the R `cv` package ships them as `Pigs`).
        """
    ),
    code(
        """
        print(hierarch.describe_dataset("pigs"))
        pigs = hierarch.load_dataset("pigs")
        pigs.head(6)
        """
    ),
    code(
        """
        pigs.describe()
        """
    ),
    md(
        r"""
        A spaghetti plot, one coloured line per pig, with the single regression line through
        all 432 weighings in black. Do the pigs look as if their growth curves had the same
        intercept and slope?
        """
    ),
    code(
        """
        ols = smf.ols("weight ~ week", data=pigs).fit()
        colors = plt.cm.rainbow(np.linspace(0, 1, pigs["id"].nunique()))

        fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
        for color, (_, pig) in zip(colors, pigs.groupby("id"), strict=True):
            ax.plot(pig["week"], pig["weight"], "o-", color=color, ms=3, lw=0.8)
        weeks = np.arange(1, 10)
        ax.plot(weeks, ols.params["Intercept"] + ols.params["week"] * weeks, color="k", lw=4,
                label="overall best fit line")
        ax.set_xlabel("week")
        ax.set_ylabel("weight (kg)")
        ax.legend(loc="upper left", frameon=False);
        """
    ),
    md(
        r"""
        Every pig grows almost linearly, but the lines fan out: the pigs start at different
        weights and grow at different rates. Pigs that start heavy also tend to stay heavy, so
        the weighings of one pig are correlated.

        ## Option 1: one regression for everything

        The simplest approach pretends that all $48 \times 9 = 432$ weighings are independent
        draws around one line. The estimates are simple, and the standard errors small, but
        the standard errors rest on a false assumption: 432 weighings of 48 pigs carry much
        less information about how *pigs* grow than 432 independent pigs would.
        """
    ),
    code(
        """
        pd.DataFrame({"estimate": ols.params, "se": ols.bse})
        """
    ),
    md(
        r"""
        ## Option 2: a separate regression for every pig

        The opposite extreme fits 48 separate lines. No pig's data influence another pig's
        line; but each line rests on 9 weighings, and we estimate $48 \times 2$ coefficients
        (and 48 residual SDs). Nor is there a population-level slope to speak of: only 48
        slopes.
        """
    ),
    code(
        """
        separate = {}
        for pig_id, pig in pigs.groupby("id"):
            fit = smf.ols("weight ~ week", data=pig).fit()
            separate[pig_id] = {
                "Intercept": fit.params["Intercept"],
                "week": fit.params["week"],
                "se_week": fit.bse["week"],
            }
        separate = pd.DataFrame.from_dict(separate, orient="index").rename_axis("id")
        print(
            f"SD of the 48 slopes {separate['week'].std():.2f}; "
            f"typical SE of one pig's slope {separate['se_week'].median():.2f}"
        )
        separate.describe().loc[["mean", "std", "min", "max"]]
        """
    ),
    md(
        r"""
        The slopes range from about 4.7 to 7.5 kg per week. Each pig's slope has a standard
        error of about 0.15 (nine weighings), so most of the spread between the slopes (their
        SD is about 0.6) is real: the pigs grow at different rates. (The 0.15 is not to be
        set beside the single regression's 0.082: that is the standard error of one average
        slope estimated from all 432 weighings, a different quantity.)

        ## Option 3: a mixed model

        The linear mixed model gives pig $j$ its own intercept and slope, as deviations from a
        population-level intercept and slope, and models the deviations as draws from a normal
        distribution. For weighing $i$ of pig $j$:

        $$
        \begin{aligned}
        y_{ij} &= (\beta_0 + b_{0j}) + (\beta_1 + b_{1j})\,\mathrm{week}_{ij} + \varepsilon_{ij},
        \qquad \varepsilon_{ij} \sim N(0, \sigma^2),\\
        \begin{pmatrix} b_{0j} \\ b_{1j} \end{pmatrix} &\sim
        N\!\left(\begin{pmatrix} 0 \\ 0 \end{pmatrix},
        \begin{pmatrix} \sigma_0^2 & \rho\,\sigma_0\sigma_1 \\
                        \rho\,\sigma_0\sigma_1 & \sigma_1^2 \end{pmatrix}\right).
        \end{aligned}
        $$

        The **fixed effects** $\beta_0, \beta_1$ are the population-level intercept and slope;
        the **random effects** $b_{0j}, b_{1j}$ are pig $j$'s deviations; pig $j$'s line is
        their sum. Instead of 96 free coefficients the model estimates six parameters:
        $\beta_0$, $\beta_1$, $\sigma_0$, $\sigma_1$, $\rho$ and $\sigma$. The pigs' lines are
        still estimated, but constrained by the normal distribution: they are pulled towards
        the population line (**shrinkage**).

        The lme4 formula `weight ~ week + (week | id)` (random intercept *and* slope by `id`,
        correlated) works unchanged in hierarch. REML is the default frequentist fit, as in
        lme4.
        """
    ),
    code(
        """
        m = hierarch.model("weight ~ week + (week | id)", pigs)
        ml = m.fit(method="reml")
        print(ml)
        """
    ),
    md(
        r"""
        These are the numbers of the lecture's `lmer` fit: REML criterion 1740.9, SDs 2.6432
        (intercept) and 0.6164 (slope) with correlation $-0.06$, residual SD 1.2637, fixed
        effects 19.35561 and 6.20990. The same pieces one by one:
        """
    ),
    code(
        """
        ml.varcorr()
        """
    ),
    code(
        """
        ml.fixed_effects()
        """
    ),
    md(
        r"""
        The slope's standard error, 0.092, is larger than the single regression's 0.082: the
        mixed model knows that the 432 weighings come from only 48 pigs.

        ## Every pig's line

        `ml.coef()` returns each pig's coefficients, fixed effect plus random effect (lme4's
        `coef()`). Pig 1's line is $19.59583 + 5.813491 \cdot \mathrm{week}$, as in the
        lecture.
        """
    ),
    code(
        """
        pig_coef = ml.coef()["id"]
        pig_coef.head()
        """
    ),
    code(
        """
        b0, b1 = pig_coef.loc[1, "Intercept"], pig_coef.loc[1, "week"]
        print(f"pig 1: weight = {b0:.4f} + {b1:.4f} * week")
        print("lecture (lme4): weight = 19.59583 + 5.813491 * week")
        print(f"differences: {b0 - 19.59583:.1e}, {b1 - 5.813491:.1e} "
              "(the two optimisers' last digits)")
        """
    ),
    md(
        r"""
        `ml.shrinkage()` sets the three options side by side for every pig: the separate fit
        (`unpooled_*`), the mixed model (`partial_*`, with intervals) and the single
        regression (`complete_*`).
        """
    ),
    code(
        """
        shrink = ml.shrinkage()
        shrink.head()
        """
    ),
    code(
        """
        # the separate fits are the ones we computed by hand above
        np.allclose(shrink.set_index("group")[["unpooled_Intercept", "unpooled_week"]],
                    separate[["Intercept", "week"]])
        """
    ),
    md(
        r"""
        The lecture draws all 48 mixed-model lines (solid) over the separate fits (dashed).
        `plots.plot_group_lines()` does exactly that:
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(7, 5), layout="constrained")
        for color, (_, pig) in zip(colors, pigs.groupby("id"), strict=True):
            ax.plot(pig["week"], pig["weight"], ".", color=color, ms=4)
        plots.plot_group_lines(shrink, weeks, ax=ax)
        ax.set_ylabel("weight (kg)");
        """
    ),
    md(
        r"""
        The two sets of lines are hard to tell apart. That is because these pigs are very
        well measured (9 weighings each, residual SD of just 1.3 kg against a spread of
        2.6 kg in the intercepts): there is little need to borrow strength.
        """
    ),
    md(
        r"""
        The lecture's last plot makes the differences visible: for every pig, the mixed-model
        line minus the separate fit.
        """
    ),
    code(
        """
        d_int = shrink["partial_Intercept"] - shrink["unpooled_Intercept"]
        d_slope = shrink["partial_week"] - shrink["unpooled_week"]

        fig, ax = plt.subplots(figsize=(7, 4), layout="constrained")
        for color, di, ds in zip(colors, d_int, d_slope, strict=True):
            ax.plot(weeks, di + ds * weeks, color=color, lw=1)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_xlabel("week")
        ax.set_ylabel("mixed model minus separate fit (kg)");
        """
    ),
    md(
        r"""
        The differences are below a kilogram everywhere, and close to zero around weeks 5
        and 6: the mixed model mostly *tilts* the pigs' lines about the middle of the study,
        where each pig's nine weighings pin its line down best, and changes them most at the
        ends.
        """
    ),
    md(
        r"""
        ## Shrinkage in two dimensions

        Each pig has two coefficients, so its shrinkage is a move in the plane of
        (intercept, slope). `plots.plot_shrinkage_2d()` draws an arrow from each pig's separate
        fit to its mixed-model estimate, with the single regression as a black cross.
        """
    ),
    code(
        """
        ax = plots.plot_shrinkage_2d(shrink)
        ax.set_xlabel("intercept (kg at week 0)")
        ax.set_ylabel("slope (kg per week)")

        # how precisely a separate fit pins down intercept and slope (the same for every pig:
        # they were all weighed in weeks 1 to 9)
        cov = smf.ols("weight ~ week", data=pigs[pigs["id"] == 1]).fit().cov_params()
        sd = np.sqrt(np.diag(cov))
        print(f"separate fit: SE(intercept) {sd[0]:.2f}, SE(slope) {sd[1]:.2f}, "
              f"correlation of the two estimates {cov.iloc[0, 1] / (sd[0] * sd[1]):.2f}")
        """
    ),
    md(
        r"""
        The arrows do not point at the cross. They all run in much the same direction: a
        little more intercept and a little less slope, or the reverse. That is the direction in
        which the separate fits are least certain. The weighings span weeks 1 to 9, so a
        pig's line can be tilted about its middle (week 5) with little change in how well it
        fits; a separate fit's intercept (an extrapolation to week 0) and slope are therefore
        strongly negatively correlated. Partial pooling moves each pig mostly along this
        poorly determined direction, towards the population line, which is the tilting seen in
        the difference plot. A pig whose line is simply higher or lower than average is barely
        moved: nine weighings pin down its level well. (With `week` centred at 5, intercept and
        slope estimates would be uncorrelated and the arrows would run mostly vertically.)
        """
    ),
    md(
        r"""
        # The Bayesian version

        The Bayesian fit of the same model gives $\beta_0, \beta_1$, the two SDs, the
        correlation and $\sigma$ prior distributions and samples their posterior together with
        all 96 pig coefficients. The default priors are weakly informative and scaled to the
        data (as rstanarm's); the correlation gets an LKJ(2) prior, which mildly favours
        values away from $\pm 1$.
        """
    ),
    code(
        """
        m.priors
        """
    ),
    code(
        """
        bayes = m.fit(method="bayes", draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024,
                      progressbar=False)
        print(bayes)
        """
    ),
    code(
        """
        bayes.diagnostics().table
        """
    ),
    md(
        r"""
        ## REML and Bayes side by side

        Fixed effects, the two group SDs, their correlation and the residual SD. REML gives
        Wald intervals for the fixed effects only; the Bayesian intervals are 95% central
        posterior intervals.
        """
    ),
    code(
        """
        vc = ml.varcorr()
        fe_ml = ml.fixed_effects()
        reml_col = [
            fe_ml.loc["Intercept", "estimate"],
            fe_ml.loc["week", "estimate"],
            vc.loc[(vc["group"] == "id") & (vc["var1"] == "Intercept") & vc["var2"].isna(),
                   "sdcor"].iloc[0],
            vc.loc[(vc["group"] == "id") & (vc["var1"] == "week") & vc["var2"].isna(),
                   "sdcor"].iloc[0],
            vc.loc[vc["var2"].notna(), "sdcor"].iloc[0],
            ml.lmm.sigma,
        ]
        post = pd.concat(
            [
                bayes.fixed_effects(),
                bayes.group_sds().drop(columns="group").set_index("effect"),
                bayes.correlations().drop(columns=["group", "var1", "var2"]),
                bayes.sigma(),
            ]
        )
        post.index = ["Intercept", "week", "sd(Intercept)", "sd(week)", "cor(Intercept, week)",
                      "sigma"]
        side_by_side = post.rename(columns={"estimate": "Bayes", "lower": "Bayes lower",
                                            "upper": "Bayes upper"}).drop(columns="sd")
        side_by_side.insert(0, "REML", reml_col)
        side_by_side
        """
    ),
    md(
        r"""
        The fixed effects agree to the second decimal. The Bayesian SDs are a little larger than
        REML's: they are posterior *means* of right-skewed posteriors. The correlation is
        estimated near zero by both, and the posterior shows how little the 48 pigs say about
        it: anything from about $-0.35$ to $0.25$ is plausible.
        """
    ),
    code(
        """
        hyper = hyperparameter_draws(bayes)
        axes = plots.plot_hyperparameters(hyper)
        for ax, value in zip(axes, reml_col[2:], strict=True):
            ax.axvline(value, color="k", ls="--", lw=1)
        axes[0].plot([], [], color="k", ls="--", lw=1, label="REML")
        axes[0].plot([], [], color="C3", lw=1, label="posterior mean")
        axes[0].legend(fontsize="x-small", frameon=False);
        """
    ),
    md(
        r"""
        The pigs' coefficients: `bayes.shrinkage()` has the same layout as the REML table, so
        the same plot shows the Bayesian shrinkage.
        """
    ),
    code(
        """
        bshrink = bayes.shrinkage()
        fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True, sharey=True,
                                 layout="constrained")
        plots.plot_shrinkage_2d(shrink, ax=axes[0])
        plots.plot_shrinkage_2d(bshrink, ax=axes[1])
        axes[0].set_title("REML")
        axes[1].set_title("Bayes (posterior means)")
        for ax in axes:
            ax.set_xlabel("intercept (kg at week 0)")
        axes[0].set_ylabel("slope (kg per week)")
        axes[1].set_ylabel("")

        gap = (bshrink[["partial_Intercept", "partial_week"]]
               - shrink[["partial_Intercept", "partial_week"]]).abs().max()
        print("largest difference between REML and Bayesian pig coefficients:")
        print(gap.to_string())
        """
    ),
    md(
        r"""
        The caterpillar plot of the slopes shows each pig's growth rate with its interval,
        sorted; the population slope $\beta_1$ is the dashed line.
        """
    ),
    code(
        """
        fig, axes = plt.subplots(1, 2, figsize=(11, 7), sharey=False, layout="constrained")
        plots.plot_caterpillar(ml.coefficients(), coef="week", ax=axes[0])
        plots.plot_caterpillar(bayes.coefficients(), coef="week", ax=axes[1])
        axes[0].set_title("REML: pig slopes, 95% intervals")
        axes[1].set_title("Bayes: pig slopes, 95% posterior intervals")
        for ax in axes:
            ax.axvline(fe_ml.loc["week", "estimate"], color="C3", ls="--", lw=0.8)
            ax.set_xlabel("slope (kg per week)");
        """
    ),
    md(
        r"""
        # A new pig

        The population model also predicts a pig that was not in the study: draw its
        intercept and slope from the estimated normal distribution around $(\beta_0, \beta_1)$.
        `new_group()` without arguments gives the interval of the new pig's coefficients:
        """
    ),
    code(
        """
        pd.concat({"REML": ml.new_group(), "Bayes": bayes.new_group()}, names=["fit"])
        """
    ),
    md(
        r"""
        With a DataFrame of predictor values, `new_group()` returns the new pig's growth
        curve: `fit` with the band `fit_lower`/`fit_upper` for its *line* (its mean weight each
        week) and `pred_lower`/`pred_upper` for an actual *weighing* (line plus residual
        noise). REML draws $\beta$ from its sampling distribution with the variance components
        fixed at their estimates; the Bayesian version uses the posterior draws of everything.
        """
    ),
    code(
        """
        new_weeks = pd.DataFrame({"week": range(1, 10)})
        new_ml = ml.new_group(new_weeks)
        new_bayes = bayes.new_group(new_weeks)
        new_bayes
        """
    ),
    code(
        """
        # for contrast: the *average* pig's line, beta_0 + beta_1 week, with its 95% band
        X_new = np.column_stack([np.ones(9), new_weeks["week"]])
        avg_ml = X_new @ ml.lmm.beta
        se_ml = np.sqrt(np.einsum("ij,jk,ik->i", X_new, ml.lmm.vcov, X_new))
        avg_ml_band = (avg_ml - 1.96 * se_ml, avg_ml + 1.96 * se_ml)
        beta_draws = bayes.idata.posterior["beta"].stack(s=("chain", "draw")).values  # (2, S)
        avg_bayes_band = tuple(np.quantile(X_new @ beta_draws, [0.025, 0.975], axis=1))

        fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True, layout="constrained")
        for ax, label, band, avg_band in [
            (axes[0], "REML", new_ml, avg_ml_band),
            (axes[1], "Bayes", new_bayes, avg_bayes_band),
        ]:
            for _, pig in pigs.groupby("id"):
                ax.plot(pig["week"], pig["weight"], color="0.75", lw=0.5)
            ax.fill_between(band["week"], band["pred_lower"], band["pred_upper"], color="C1",
                            alpha=0.25, label="95% interval for a weighing")
            ax.fill_between(band["week"], band["fit_lower"], band["fit_upper"], color="C0",
                            alpha=0.3, label="95% band for the new pig's line")
            ax.fill_between(band["week"], *avg_band, color="k", alpha=0.5,
                            label="95% band for the average pig's line")
            ax.plot(band["week"], band["fit"], color="C0", lw=2, label="expected weight")
            ax.set_title(f"A new pig's growth curve ({label})")
            ax.set_xlabel("week")
        axes[0].set_ylabel("weight (kg)")
        axes[0].legend(loc="upper left", fontsize="small", frameon=False);
        """
    ),
    md(
        r"""
        The grey lines are the 48 pigs of the study. The narrow dark band is the uncertainty
        about the *average* pig's line (the fixed effects alone). The band for the *new* pig's
        line is far wider, and it widens with the weeks: a new pig's intercept and slope are
        only known to lie within the population's spread ($\hat\sigma_0 \approx 2.6$ kg,
        $\hat\sigma_1 \approx 0.6$ kg per week). The interval for a single weighing is hardly
        wider than that: the residual SD (1.3 kg) is small next to the differences between
        pigs. This between-pig variation is what the single regression of option 1 ignored,
        and it is the honest answer to the question "how heavy will the next pig be?"

        ## Summary

        * **One regression for all** gets the average line right, but treats 432 weighings
          as if they came from 432 pigs: its standard errors are too small, and it has nothing
          to say about individual pigs.
        * **Separate regressions** describe each pig but have no population model: 96
          unconnected coefficients.
        * The **mixed model** `weight ~ week + (week | id)` has both: a population line
          (19.36 kg + 6.21 kg/week), the spread of the pigs around it (SDs 2.6 and 0.6, nearly
          uncorrelated), and each pig's line, shrunk towards the population line. With 9
          precise weighings per pig the shrinkage is small.
        * REML (`method="reml"`, lme4's numbers) and the **Bayesian fit** (`method="bayes"`)
          agree on all of this; the Bayesian fit adds posterior intervals for the SDs and the
          correlation and carries their uncertainty into the prediction for a new pig. Check
          its convergence diagnostics first.
        """
    ),
    checks(
        """
        says(separate["week"].min(), "4.7", ".1f")
        says(separate["week"].max(), "7.5", ".1f")
        says(separate["se_week"].median(), "0.15", ".2f")
        says(separate["week"].std(), "0.6", ".1f")
        says(ols.bse["week"], "0.082", ".3f")
        says(ml.lmm.criterion, "1740.9", ".1f")
        sd_int, sd_week, cor, sigma = ml.varcorr()["sdcor"]
        says(sd_int, "2.6432", ".4f")
        says(sd_week, "0.6164", ".4f")
        says(cor, "-0.06", ".2f")
        says(sigma, "1.2637", ".4f")
        says(sigma, "1.3", ".1f")
        says(sd_int, "2.6", ".1f")
        fe = ml.fixed_effects()
        says(fe.loc["Intercept", "estimate"], "19.35561", ".5f")
        says(fe.loc["week", "estimate"], "6.20990", ".5f")
        says(fe.loc["Intercept", "estimate"], "19.36", ".2f")
        says(fe.loc["week", "estimate"], "6.21", ".2f")
        says(fe.loc["week", "se"], "0.092", ".3f")
        """
    ),
    md(
        r"""
        ## Exercises

        1. Fit `weight ~ week + (week || id)` (uncorrelated intercepts and slopes) and compare
           it with the correlated model by a likelihood ratio test (`hierarch.anova`).
        2. Which pig's slope is shrunk most, and why that one?
        3. Centre `week` at week 5 and refit. What happens to the intercept SD and to the
           correlation, and why?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
