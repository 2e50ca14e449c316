"""Write ``02_alcohol_variance_components.ipynb`` from the cells below.

The notebook retells the normal random effects part of Rafael de Andrade Moral's slides
"Introduction to Mixed Models" (per-capita alcohol consumption of 189 countries, the model
``y_ij = beta_0 + b_i + e_ij``, between- and within-country variance, the intraclass
correlation and its link to shrinkage) in Python with hierarch, then fits the same model the
Bayesian way and compares the two.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_02_alcohol_variance_components.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fit
through environment variables, e.g. ``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2
MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import code, main, md

OUT = Path(__file__).with_name("02_alcohol_variance_components.ipynb")


CELLS = [
    md(
        r"""
        # Variance components: alcohol consumption around the world

        A multilevel model is a *model of models*: each group gets its own model, and the
        group-level parameters are themselves modelled as draws from a population. This notebook
        takes the simplest normal case, a **random intercept model**, and uses it to split the
        variation in a response into a part *between* groups and a part *within* them.

        It retells the normal random effects section of Rafael de Andrade Moral's slides
        *Introduction to Mixed Models* (fitted there with `lme4::lmer`) in Python with
        **hierarch**: the variance components, the intraclass correlation (ICC), the
        distinction between *estimating* parameters and *predicting* random effects, and how
        the ICC governs shrinkage. The second half fits the same model the Bayesian way and
        sets the two fits side by side.
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
        ## The data

        The World Health Organization records the per-capita alcohol consumption (litres of pure
        alcohol per person and year) of 189 countries. Not every country was recorded every
        year: most have two readings (2005 and 2008), a few have three, three countries only
        one, and Russia and Sweden have a long series.
        """
    ),
    code(
        """
        print(hierarch.describe_dataset("alcohol"))
        alcohol = hierarch.load_dataset("alcohol")
        alcohol.head()
        """
    ),
    code(
        """
        years_per_country = alcohol.groupby("country").size()
        print("countries:", years_per_country.size, "  rows:", len(alcohol))
        years_per_country.value_counts().sort_index().rename_axis("years recorded").rename(
            "countries"
        ).to_frame()
        """
    ),
    md(
        r"""
        The striking feature of these data is that countries differ a great deal from each
        other, while a country's readings in different years are close together. Plotting the
        2008 reading against the 2005 one, for the countries that have both, shows it at once:
        """
    ),
    code(
        """
        wide = alcohol.pivot_table(index="country", columns="year", values="alcohol")
        both = wide[[2005, 2008]].dropna()

        fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
        ax.scatter(both[2005], both[2008], s=12, alpha=0.7)
        ax.axline((0, 0), slope=1, color="k", lw=0.8)
        ax.set_xlabel("litres per capita, 2005")
        ax.set_ylabel("litres per capita, 2008")
        ax.set_title(f"{len(both)} countries recorded in both years")
        print(f"correlation between the 2005 and the 2008 reading: "
              f"{both[2005].corr(both[2008]):.3f}")
        """
    ),
    md(
        r"""
        ## The normal random effects model

        A mixed model for the consumption of country $i$ in year $j$ is

        $$
        \begin{aligned}
        Y_{ij} \mid b_i &\sim N(\mu_i, \sigma^2), \\
        \mu_i &= \beta_0 + b_i, \\
        b_i &\sim N(0, \sigma_b^2),
        \end{aligned}
        $$

        or, in the alternative notation,

        $$
        y_{ij} = \underbrace{\beta_0}_{\text{fixed intercept}}
               + \underbrace{b_i}_{\text{country-level random effect}}
               + \underbrace{\varepsilon_{ij}}_{\text{random error}},
        \qquad \varepsilon_{ij} \sim N(0, \sigma^2).
        $$

        The error $\varepsilon_{ij}$ is the year-to-year deviation from the country's average
        consumption. The country effects $b_i$ are *latent*: they are never observed. Although
        the model describes a mean for each of the 189 countries, it has only **three
        parameters**: $\beta_0$, $\sigma^2$ and $\sigma_b^2$. We *estimate* parameters
        ($\hat\beta_0$) and *predict* random effects ($\hat b_i$).

        In lme4 this is `lmer(alcohol ~ 1 + (1 | country))`; hierarch reads the same formula.
        REML (restricted maximum likelihood, lme4's default) is the frequentist fit.
        """
    ),
    code(
        """
        m = hierarch.model("alcohol ~ 1 + (1 | country)", alcohol)
        ml = m.fit(method="reml")
        print(ml)
        """
    ),
    md(
        r"""
        ## Between and within: the variance components

        How does the model account for readings of the same country being correlated?
        Marginally, integrating out $b_i$,

        $$\operatorname{Var}(Y_{ij}) = \sigma_b^2 + \sigma^2, \qquad
          \operatorname{Cov}(Y_{ij}, Y_{ij'}) = \sigma_b^2 \quad (j \neq j').$$

        So $\sigma_b^2$ is the **between-country** variance, $\sigma^2$ the **within-country**
        variance, and both contribute to the total. `ml.varcorr()` lists them (as lme4's
        `VarCorr`): `vcov` is the variance, `sdcor` the standard deviation.
        """
    ),
    code(
        """
        vc = ml.varcorr()
        vc
        """
    ),
    code(
        """
        sigma2_b = float(vc.loc[vc["group"] == "country", "vcov"].iloc[0])
        sigma2 = float(vc.loc[vc["group"] == "Residual", "vcov"].iloc[0])
        total = sigma2_b + sigma2

        pd.DataFrame(
            {
                "variance": [sigma2_b, sigma2, total],
                "share of total": [sigma2_b / total, sigma2 / total, 1.0],
            },
            index=["between countries (sigma_b^2)", "within countries (sigma^2)", "total"],
        )
        """
    ),
    md(
        r"""
        ## The intraclass correlation

        The share of the total variance that lies between countries is the **intraclass
        correlation**

        $$\mathrm{ICC} = \operatorname{Corr}(Y_{ij}, Y_{ij'}) =
          \frac{\sigma_b^2}{\sigma_b^2 + \sigma^2}.$$

        It lies between 0 and 1. Close to 1, most of the variation is between countries; close
        to 0, it is mostly year-to-year noise. `ml.icc()` computes it, and it is, as its name
        says, the correlation between two readings of the same country: compare it with the
        correlation of the 2005 and 2008 readings we saw in the scatter plot.
        """
    ),
    code(
        """
        print(f"ICC from the fit      : {ml.icc()['icc'].iloc[0]:.4f}")
        print(f"by hand               : {sigma2_b / (sigma2_b + sigma2):.4f}")
        print(f"corr(2005, 2008) data : {both[2005].corr(both[2008]):.4f}")
        """
    ),
    md(
        r"""
        The two agree well, but the correlation of the 2005 and 2008 readings is a little
        higher. The model has a single within-country variance $\sigma^2$ for every country and
        every pair of years, and it also has to absorb the drift in the long series: Russia's
        consumption rose from about 11 litres in the late 1980s to 16 in 2008. Fitted to the
        2005 and 2008 readings alone, the within-country SD is much smaller and the ICC matches
        the correlation:
        """
    ),
    code(
        """
        recent = alcohol[alcohol["year"].isin([2005, 2008])]
        ml_recent = hierarch.model("alcohol ~ 1 + (1 | country)", recent).fit(method="reml")
        print(ml_recent.varcorr()[["group", "sdcor"]].to_string(index=False))
        print(f"ICC, 2005 and 2008 only: {ml_recent.icc()['icc'].iloc[0]:.4f}")
        """
    ),
    md(
        r"""
        (A model with a time trend, or a random slope on year, would be the next step. We keep
        the model of the slides, with all 411 readings.) An ICC of 0.95 is very high either way:
        countries differ far more from each other than a country differs from itself over the
        years.

        ## Estimates and predictions

        The one fixed effect, $\hat\beta_0$, is the mean consumption of the *population of
        countries*. It is close to the plain average of the 189 country averages (6.66), not
        to the mean of the 411 rows (7.04), in which Russia and Sweden count a dozen times
        each.
        """
    ),
    code(
        """
        ml.fixed_effects()
        """
    ),
    md(
        r"""
        The predicted random effects $\hat b_i$ (the conditional modes, or BLUPs) come from
        `ml.ranef()`, one DataFrame per grouping factor, with their conditional standard
        deviations. `ml.coef()` adds the fixed effect, $\hat\beta_0 + \hat b_i$, which is each
        country's predicted mean consumption (lme4's `coef()`).
        """
    ),
    code(
        """
        ranef = ml.ranef()["country"]
        country_means = ml.coef()["country"]
        predictions = pd.DataFrame(
            {
                "years": years_per_country,
                "b_i": ranef["Intercept"],
                "se(b_i)": ranef["se_Intercept"],
                "beta_0 + b_i": country_means["Intercept"],
            }
        )
        # the three lowest and the three highest
        predictions.sort_values("b_i").iloc[[0, 1, 2, -3, -2, -1]]
        """
    ),
    md(
        r"""
        ## Shrinkage, and how the ICC controls it

        The predicted country mean is not the country's own average $\bar y_i$. It is pulled
        towards $\hat\beta_0$:

        $$\hat\beta_0 + \hat b_i = \hat\beta_0 + \alpha_i\,(\bar y_i - \hat\beta_0), \qquad
          \alpha_i = \frac{\sigma_b^2}{\sigma_b^2 + \sigma^2 / n_i},$$

        where $n_i$ is the number of years recorded for country $i$. The **pooling weight**
        $\alpha_i$ is the weight the country's own data get: $\alpha_i = 1$ means no pooling (the
        country's own average), $\alpha_i = 0$ complete pooling (everyone gets $\hat\beta_0$).
        Dividing numerator and denominator by $\sigma_b^2 + \sigma^2$ writes it in terms of the
        ICC alone:

        $$\alpha_i = \frac{n_i\,\mathrm{ICC}}{n_i\,\mathrm{ICC} + 1 - \mathrm{ICC}}.$$

        So a high ICC means little shrinkage, a low ICC much shrinkage, and for a given ICC the
        countries with **fewer years are shrunk more**. `ml.shrinkage()` puts the three estimates
        side by side for every country: `unpooled` ($\bar y_i$), `partial` (the mixed model,
        with an interval) and `complete` (the mean of all rows), plus `alpha` and
        `shrinkage` $= 1 - \alpha_i$.
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
        icc = ml.icc()["icc"].iloc[0]
        by_n = shrink.groupby("n")[["alpha", "fraction_moved"]].first()
        by_n["alpha from the ICC"] = by_n.index * icc / (by_n.index * icc + 1 - icc)
        by_n.insert(0, "countries", shrink.groupby("n").size())
        by_n
        """
    ),
    md(
        r"""
        The three countries with a single reading are shrunk about twice as much as those with
        two, and Russia and Sweden, with a dozen readings, hardly at all. Because the ICC is
        so high, even the strongest shrinkage here is small: under 5% of the way to the mean.

        The curves below show $\alpha$ as a function of $n_i$ for several ICCs. The alcohol
        data sit on the top curve; with an ICC of 0.2, a country with two readings would keep
        only a third of its own deviation from the mean.
        """
    ),
    code(
        """
        n_grid = np.arange(1, 16)
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        for r in [0.05, 0.2, 0.5, 0.8, icc]:
            label = f"ICC = {r:.2f}" + ("  (alcohol)" if r == icc else "")
            ax.plot(n_grid, n_grid * r / (n_grid * r + 1 - r), marker=".", label=label)
        ax.scatter(by_n.index, by_n["alpha"], s=60, facecolors="none", edgecolors="k",
                   zorder=3, label="the alcohol countries")
        ax.set_xlabel("readings per country $n_i$")
        ax.set_ylabel(r"pooling weight $\\alpha_i$")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize="small", frameon=False, loc="lower right");
        """
    ),
    md(
        r"""
        The amount a country actually *moves* depends on both its shrinkage and how far its own
        average lies from the mean: $(1 - \alpha_i)(\bar y_i - \hat\beta_0)$. The countries
        that move most are the extreme ones with a single reading.
        """
    ),
    code(
        """
        moved = shrink.assign(moved=shrink["partial"] - shrink["unpooled"])
        moved.reindex(moved["moved"].abs().sort_values(ascending=False).index)[
            ["group", "n", "unpooled", "partial", "alpha", "moved"]
        ].head(8)
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        ax.scatter(moved["unpooled"], moved["moved"], c=np.log(moved["n"]),
                   s=15 + 8 * moved["n"], cmap="viridis")
        ax.axhline(0, color="k", lw=0.6)
        ax.axvline(ml.lmm.beta[0], color="C3", ls="--", lw=0.8, label=r"$\\hat\\beta_0$")
        for _, r in moved[moved["n"] != 2].iterrows():
            if r["n"] == 1 or r["n"] > 10:
                ax.annotate(r["group"], (r["unpooled"], r["moved"]), fontsize="x-small",
                            xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel(r"country average $\\bar y_i$ (no pooling)")
        ax.set_ylabel("partial pooling minus no pooling")
        ax.set_title("How far each country is pulled (point size: years recorded)")
        ax.legend(frameon=False, fontsize="small");
        """
    ),
    md(
        r"""
        Every country is pulled towards $\hat\beta_0$ (the points fall on lines through the
        dashed line, one line per $n_i$, with slope $-(1-\alpha_i)$): the single-reading
        countries on the steepest line, Russia and Sweden on an almost flat one.

        ## The caterpillar plot

        `ml.coefficients()` gives every country's predicted mean with a 95% interval (the
        conditional variance of $b_i$ plus the variance of $\hat\beta_0$), and
        `plots.plot_caterpillar()` sorts and draws them. The widths differ with $n_i$: the
        single-reading countries have the widest intervals.
        """
    ),
    code(
        """
        coefs = ml.coefficients()
        fig, ax = plt.subplots(figsize=(6.4, 8), layout="constrained")
        plots.plot_caterpillar(coefs, coef="Intercept", ax=ax)
        ax.axvline(ml.lmm.beta[0], color="C3", ls="--", lw=0.8)
        ax.set_xlabel("predicted mean consumption (litres per capita)")
        ax.set_title("189 countries, REML predictions with 95% intervals");

        coefs.assign(width=coefs["upper"] - coefs["lower"]).merge(
            shrink[["group", "n"]], on="group"
        ).groupby("n")["width"].mean().rename("mean interval width").to_frame()
        """
    ),
    md(
        r"""
        # The Bayesian version

        REML gives point estimates of $\sigma_b$ and $\sigma$ and then treats them as known when
        it predicts the $b_i$ and computes the ICC. The Bayesian fit puts priors on
        $\beta_0$, $\sigma_b$ and $\sigma$ and samples their joint posterior together with the
        189 country effects, so every derived quantity, the ICC included, comes with its
        uncertainty. hierarch's default priors are weakly informative and scaled to the data
        (as rstanarm's): here $\beta_0 \sim N(\bar y, (2.5\,s_y)^2)$ and
        $\sigma_b, \sigma \sim \text{Half-Normal}(s_y)$ with $s_y$ the SD of the response.
        """
    ),
    code(
        """
        m.priors
        """
    ),
    md(
        r"""
        For a normal model with a single grouping factor, hierarch integrates the country
        effects out of the likelihood exactly, samples $\beta_0$, $\sigma_b$ and $\sigma$, and
        then draws the 189 country effects from their exact conditional posterior: the same
        posterior as sampling everything at once, at a fraction of the cost. The fit records
        how it was sampled.
        """
    ),
    code(
        """
        bayes = m.fit(method="bayes", draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024,
                      progressbar=False)
        print("sampled:", bayes.spec["parameterization"])
        print(bayes)
        """
    ),
    md(
        r"""
        Check the sampler before reading anything else: R-hat close to 1, enough effective draws,
        no divergent transitions. (With the small `DRAWS` of quick test runs, expect it to
        complain.)
        """
    ),
    code(
        """
        bayes.diagnostics().table
        """
    ),
    md(
        r"""
        ## The ICC and the variance components, with their uncertainty

        `bayes.icc()` summarises the posterior of the ICC, `bayes.group_sds()` and
        `bayes.sigma()` those of $\sigma_b$ and $\sigma$.
        """
    ),
    code(
        """
        bayes.icc()
        """
    ),
    code(
        """
        sds = bayes.group_sds().drop(columns=["group", "effect"]).set_axis(["sigma_b"])
        pd.concat([sds, bayes.sigma()])
        """
    ),
    md(
        r"""
        `hyperparameter_draws()` returns the draws themselves (long format), and
        `plots.plot_hyperparameters()` draws their histograms. From the same draws we can
        compute the posterior of the ICC and of the pooling weight of a country with one or two
        readings, and mark the REML values.
        """
    ),
    code(
        """
        hyper = hyperparameter_draws(bayes)
        axes = plots.plot_hyperparameters(hyper)
        axes[0].axvline(np.sqrt(sigma2_b), color="k", ls="--", lw=1, label="REML")
        axes[1].axvline(np.sqrt(sigma2), color="k", ls="--", lw=1)
        axes[0].plot([], [], color="C3", lw=1, label="posterior mean")
        axes[0].legend(fontsize="small", frameon=False);
        """
    ),
    code(
        """
        # the draws of each parameter come in the same order, so they line up draw by draw
        sd_b = hyper.loc[hyper["parameter"] == "sd[country: Intercept]", "value"].to_numpy()
        sd_e = hyper.loc[hyper["parameter"] == "sigma", "value"].to_numpy()
        icc_draws = sd_b**2 / (sd_b**2 + sd_e**2)

        fig, axes = plt.subplots(1, 3, figsize=(11, 3.2), layout="constrained")
        axes[0].hist(icc_draws, bins=50, density=True, color="C0", alpha=0.7)
        axes[0].axvline(icc, color="k", ls="--", lw=1, label=f"REML {icc:.3f}")
        axes[0].set_title("ICC")
        for ax, n_i in zip(axes[1:], [1, 2], strict=True):
            a = n_i * icc_draws / (n_i * icc_draws + 1 - icc_draws)
            a_reml = n_i * icc / (n_i * icc + 1 - icc)
            ax.hist(a, bins=50, density=True, color="C2", alpha=0.7)
            ax.axvline(a_reml, color="k", ls="--", lw=1, label=f"REML {a_reml:.3f}")
            ax.set_title(rf"pooling weight $\\alpha$ for $n_i = {n_i}$")
        for ax in axes:
            ax.set_yticks([])
            ax.legend(fontsize="small", frameon=False)

        print(f"ICC: posterior mean {icc_draws.mean():.4f}, "
              f"95% interval [{np.quantile(icc_draws, 0.025):.4f}, "
              f"{np.quantile(icc_draws, 0.975):.4f}]")
        """
    ),
    md(
        r"""
        # REML versus Bayes

        The population-level quantities side by side. REML's `varcorr()` has no intervals for
        the variance components; the Bayesian fit has them for free.
        """
    ),
    code(
        """
        fe_b = bayes.fixed_effects().loc["Intercept"]
        sds_b = bayes.group_sds().iloc[0]
        sig_b = bayes.sigma().loc["sigma"]
        icc_b = bayes.icc().iloc[0]
        fe_ml = ml.fixed_effects().loc["Intercept"]

        side_by_side = pd.DataFrame(
            {
                "REML": [fe_ml["estimate"], np.sqrt(sigma2_b), np.sqrt(sigma2), icc],
                "REML lower": [fe_ml["lower"], np.nan, np.nan, np.nan],
                "REML upper": [fe_ml["upper"], np.nan, np.nan, np.nan],
                "Bayes": [fe_b["estimate"], sds_b["estimate"], sig_b["estimate"], icc_b["icc"]],
                "Bayes lower": [fe_b["lower"], sds_b["lower"], sig_b["lower"], icc_b["lower"]],
                "Bayes upper": [fe_b["upper"], sds_b["upper"], sig_b["upper"], icc_b["upper"]],
            },
            index=["beta_0", "sigma_b", "sigma", "ICC"],
        )
        side_by_side
        """
    ),
    md(
        r"""
        And the 189 country predictions: `bayes.shrinkage()` has the same layout as the REML
        table, with posterior means and central intervals in the `partial` columns and the
        posterior mean of $\alpha_i$.
        """
    ),
    code(
        """
        bshrink = bayes.shrinkage()
        both_fits = shrink[["group", "n", "unpooled", "partial", "alpha"]].merge(
            bshrink[["group", "partial", "alpha"]], on="group", suffixes=("_reml", "_bayes")
        )

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
        ax1.scatter(both_fits["partial_reml"], both_fits["partial_bayes"], s=12)
        ax1.axline((0, 0), slope=1, color="k", lw=0.8)
        ax1.set_xlabel("REML prediction")
        ax1.set_ylabel("Bayesian prediction (posterior mean)")
        ax1.set_title("Country means")
        ax2.scatter(both_fits["n"], both_fits["alpha_reml"], s=40, label="REML", marker="o",
                    facecolors="none", edgecolors="C0")
        ax2.scatter(both_fits["n"], both_fits["alpha_bayes"], s=12, label="Bayes", color="C1")
        ax2.set_xticks(sorted(both_fits["n"].unique()))
        ax2.set_xlabel("readings per country $n_i$")
        ax2.set_ylabel(r"pooling weight $\\alpha_i$")
        ax2.set_title("Pooling weights")
        ax2.legend(frameon=False, fontsize="small")

        gap = (both_fits["partial_bayes"] - both_fits["partial_reml"]).abs().max()
        print(f"largest difference between the country predictions: {gap:.4f} litres")
        """
    ),
    md(
        r"""
        ## A country not in the data

        The population model also predicts the mean consumption of a country we have not
        observed: $\beta_0 + b_{\text{new}}$ with $b_{\text{new}} \sim N(0, \sigma_b^2)$.
        `new_group()` returns the interval. REML plugs in $\hat\sigma_b$ (and draws $\beta_0$
        from its sampling distribution); the Bayesian version also averages over the
        uncertainty in $\sigma_b$.

        Both intervals reach below zero litres, as do the intervals of the driest countries
        above: the normal population model knows nothing about consumption being positive.
        With a response this skewed near zero, a model on the log scale would be worth
        trying.
        """
    ),
    code(
        """
        pd.concat({"REML": ml.new_group(), "Bayes": bayes.new_group()}, names=["fit"])
        """
    ),
    md(
        r"""
        ## Summary

        * The random intercept model splits the variance of alcohol consumption into a part
          between countries ($\hat\sigma_b \approx 4.7$ litres) and a part within countries,
          year to year ($\hat\sigma \approx 1.05$ litres), with only three parameters.
        * The **ICC**, about 0.95, is the correlation of two readings of the same country and
          the share of the variance that lies between countries.
        * The ICC and the number of readings $n_i$ set the **pooling weight**
          $\alpha_i = n_i\,\mathrm{ICC} / (n_i\,\mathrm{ICC} + 1 - \mathrm{ICC})$: countries
          with fewer readings are shrunk more, but with an ICC this high the shrinkage is small
          everywhere.
        * With 189 countries the **Bayesian** fit agrees closely with REML. It adds what REML
          does not give directly: intervals for $\sigma_b$, $\sigma$, the ICC and the pooling
          weights, and a new-country prediction that allows for the uncertainty in $\sigma_b$.
          Always check the convergence diagnostics first.
        """
    ),
    md(
        r"""
        ## Exercises

        1. Compute the ICC from the variance components by hand and check it against
           `fit.icc()`.
        2. Which countries are shrunk most? Relate their shrinkage to their number of
           readings.
        3. Drop the countries with only one reading and refit. Does the between-country SD
           change? Should it?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
