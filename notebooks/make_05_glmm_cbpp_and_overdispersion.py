"""Write ``05_glmm_cbpp_and_overdispersion.ipynb`` (outputs cleared) from the cells below.

The notebook retells the GLMM part of Rafael de Andrade Moral's slides "Introduction to Mixed
Models" in Python with hierarch: the cattle herds of the cbpp data (one herd alone, one model
per herd, the binomial random effects model, shrinkage, Laplace versus adaptive quadrature
versus Bayes), then overdispersion and the individual-level (observation-level) random effect
on the grouse ticks data, with the negative binomial as the alternative and a posterior
predictive check that shows what the extra random effect is for.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_05_glmm_cbpp_and_overdispersion.py

The notebook is stored without outputs.  Quick runs (tests, CI) shrink the Bayesian fits
through environment variables, e.g. ``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2
MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import code, main, md

OUT = Path(__file__).with_name("05_glmm_cbpp_and_overdispersion.ipynb")


CELLS = [
    md(
        r"""
        # Generalized linear mixed models: cattle herds and grouse ticks

        A linear mixed model is a special case of a **generalized linear mixed model** (GLMM):
        keep the random effects in the linear predictor, and change the distribution at the
        top of the hierarchy to suit the response (binomial for proportions, Poisson or
        negative binomial for counts, ...), with a link function for its mean.

        This notebook retells the GLMM part of Rafael de Andrade Moral's slides *Introduction
        to Mixed Models* (fitted there with `lme4::glmer`) in Python with **hierarch**, in two
        parts:

        1. **Cattle herds** (the `cbpp` data): a binomial model for one herd, one model per
           herd, and the random effects model that turns the herds into a sample from a
           population: a *model of models*. We look at shrinkage, at a new herd, and at the
           ways of fitting a GLMM: the Laplace approximation, adaptive Gauss-Hermite
           quadrature and the Bayesian fit.
        2. **Overdispersion** (the `grouseticks` data): counts that vary more than a Poisson
           model allows, and the *individual-level random effect* that absorbs the excess,
           with the negative binomial model as the alternative and a posterior predictive
           check that shows what the extra random effect is for.
        """
    ),
    code(
        """
        import os
        import warnings

        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd
        from scipy import special

        import hierarch
        from hierarch import plots
        from hierarch.report.mixed import compare, hyperparameter_draws

        # Size of the Bayesian fits. The defaults are what you should use; tests run the
        # notebook with small values through these environment variables.
        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))
        # Tuning never drops below the sampler's default of 1000 steps, even in quick runs:
        # with 300, a chain of the grouse ticks model below can stay stuck far from the posterior.
        TUNE = max(DRAWS, 1000)
        # the same sampler settings for every Bayesian fit below
        NUTS = dict(draws=DRAWS, tune=TUNE, chains=CHAINS, random_seed=2024, progressbar=False)

        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks, and the
            # warning would be noise. With the default DRAWS you *should* see any such warning.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)

        pd.set_option("display.precision", 4)
        """
    ),
    md(
        r"""
        # Part 1: contagious bovine pleuropneumonia in 15 herds

        Contagious bovine pleuropneumonia (CBPP) is a respiratory disease of cattle. Lesnoff et
        al. followed 15 herds in Ethiopia over four periods and recorded, in each herd and
        period, how many cattle were examined (`size`) and how many of them were new cases
        (`incidence`).
        """
    ),
    code(
        """
        print(hierarch.describe_dataset("cbpp"))
        cbpp = hierarch.load_dataset("cbpp")
        cbpp.head()
        """
    ),
    md(
        r"""
        Cases out of cattle examined, by herd and period (blank: the herd was not examined in
        that period). The herds are small, and not every herd was visited every time: herd 8
        only in the first period, and herd 14 had 19 cattle examined in the first period but
        only 2 or 3 later.
        """
    ),
    code(
        """
        cases = cbpp.assign(cases=cbpp["incidence"].astype(str) + "/" + cbpp["size"].astype(str))
        cases.pivot(index="herd", columns="period", values="cases").fillna("")
        """
    ),
    code(
        """
        by_period = cbpp.groupby("period")[["incidence", "size"]].sum()
        share = by_period["incidence"] / by_period["size"]
        print(
            f"new cases among the cattle examined: {share.iloc[0]:.1%} in period 1, "
            f"{share.iloc[-1]:.1%} in period 4"
        )
        by_period.assign(proportion=share)
        """
    ),
    md(
        r"""
        The incidence falls over the four periods, from 22% of the cattle examined in the
        first to 4.5% in the last. We come back to that; first we ignore the periods, as the
        slides do.

        ## One herd

        Begin with herd 4 alone. With $Y_j$ the number of new cases among the $m_j$ cattle
        examined in period $j$, a binomial model with a single probability $\pi$ is

        $$
        \begin{aligned}
        Y_j &\sim \text{Binomial}(m_j, \pi), \\
        \log\left(\frac{\pi}{1 - \pi}\right) &= \beta_0 .
        \end{aligned}
        $$
        """
    ),
    code(
        """
        herd4 = cbpp[cbpp["herd"] == 4]
        herd4
        """
    ),
    code(
        """
        one_herd = hierarch.binomial_model("incidence", "size", data=herd4)
        print(one_herd)
        """
    ),
    md(
        r"""
        Four cases among 35 cattle: $\hat\pi = 4/35 = 0.114$. The interval is a Wald interval on
        the log-odds scale, $\hat\beta_0 \pm 1.96\,\widehat{\text{se}}$ with
        $\widehat{\text{se}} = \sqrt{1/y + 1/(m - y)}$, transformed back to a probability
        (which is why it is not symmetric around $\hat\pi$):
        """
    ),
    code(
        """
        y4, m4 = herd4["incidence"].sum(), herd4["size"].sum()
        beta0 = np.log(y4 / (m4 - y4))
        se = np.sqrt(1 / y4 + 1 / (m4 - y4))
        wald = special.expit(beta0 + np.array([-1.96, 1.96]) * se)
        print(f"beta_0 = logit({y4}/{m4}) = {beta0:.4f}, se = {se:.4f}")
        print(f"Wald interval on the log-odds scale, back-transformed: {wald.round(4)}")
        """
    ),
    md(
        r"""
        ## One model per herd

        We can fit the same model to each herd separately:

        $$
        \begin{aligned}
        Y_{ij} &\sim \text{Binomial}(m_{ij}, \pi_i), \\
        \log\left(\frac{\pi_i}{1 - \pi_i}\right) &= \beta_{0i},
        \end{aligned}
        $$

        with $i$ the herd and $j$ the observation within herd. That is 15 regression
        coefficients, one log-odds of disease per herd. `binomial_model()` with a grouping
        column and no pooling gives each herd's proportion, with a Wilson score interval
        (which, unlike the Wald interval, also exists for a herd with no cases at all).
        """
    ),
    code(
        """
        per_herd = hierarch.binomial_model("incidence", "size", group="herd", data=cbpp)
        per_herd.estimates
        """
    ),
    md(
        r"""
        Herd 4 gets the same estimate as before (its Wilson interval is a little narrower than
        the Wald one). The herds differ a lot, from 3 cases in 87 (herd 13) to 11 in 26
        (herd 14). But we now have 15 unconnected models: one for herd 1, one for herd 2, and
        so on. There is no model of the *population* of herds, nothing that says what the
        mean or the spread of disease incidence across herds is, or what to expect of a herd
        we have not examined.

        ## The random effects model

        To get such a model, we let the 15 log-odds be draws from one normal distribution:

        $$
        \begin{aligned}
        Y_{ij} \mid \beta_{0i} &\sim \text{Binomial}(m_{ij}, \pi_i), \\
        \log\left(\frac{\pi_i}{1 - \pi_i}\right) &= \beta_{0i}, \\
        \beta_{0i} &\sim N(b, \sigma^2).
        \end{aligned}
        $$

        The $\beta_{0i}$ still are the herds' log-odds, but two things change:

        * the normal distribution is a model of the population of herds, of which our 15 are
          a sample: a **model of models**, which can predict the incidence of any future herd;
        * $b$ and $\sigma$ are unknown and are estimated from all the herds together, so the
          estimates of the $\beta_{0i}$ depend on each other: they are **shrunk** towards the
          population mean.

        Written as deviations from the population mean, $\beta_{0i} = \beta_0 + b_i$ with
        $b_i \sim N(0, \sigma^2)$, the linear predictor
        $\log\{\pi_i / (1 - \pi_i)\} = \beta_0 + b_i$ has a fixed effect $\beta_0$ and a random
        effect $b_i$: a *mixed* model. It is the same model, re-parameterised. In lme4 it is
        `glmer(cbind(incidence, size - incidence) ~ 1 + (1 | herd), family = binomial)`;
        hierarch writes the binomial response as `incidence | trials(size)`.
        """
    ),
    code(
        """
        m0 = hierarch.model("incidence | trials(size) ~ 1 + (1 | herd)", cbpp, family="binomial")
        fit0 = m0.fit(method="laplace")
        print(fit0)
        """
    ),
    md(
        r"""
        Two parameters: the population mean log-odds $\hat\beta_0 = -2.05$ (a probability of
        0.114 for a typical herd) and the between-herd SD $\hat\sigma = 0.81$ on the log-odds
        scale. This is exactly the multilevel binomial model of notebook 01, which
        `binomial_model(..., multilevel=True)` fits with the same code:
        """
    ),
    code(
        """
        ml0 = hierarch.binomial_model("incidence", "size", group="herd", data=cbpp, multilevel=True)
        print(f"binomial_model: mu = {ml0.mu:.4f}, tau = {ml0.tau():.4f}")
        """
    ),
    md(
        r"""
        ## Shrinkage

        `shrinkage(scale="response")` puts three estimates of each herd's incidence side by
        side: `unpooled` (the herd's own proportion, with its Wilson interval), `partial` (the
        mixed model) and `complete` (all herds pooled: 99 cases in 842 cattle). The pooling
        weight `alpha` is the weight of the herd's own data. On the log-odds scale

        $$\hat\beta_0 + \hat b_i \approx \hat\beta_0 + \alpha_i\,(\hat\beta_{0i}^{\text{unpooled}}
          - \hat\beta_0), \qquad
          \alpha_i = \frac{\sigma^2 W_i}{1 + \sigma^2 W_i},$$

        where $W_i$ is the information of the herd's data about its log-odds, about
        $m_i \pi_i (1 - \pi_i)$ for $m_i$ cattle: the binomial counterpart of $n_i / \sigma_e^2$
        in the normal model of notebook 02. `shrinkage` $= 1 - \alpha_i$.
        """
    ),
    code(
        """
        shrink = fit0.shrinkage(scale="response")
        shrink
        """
    ),
    code(
        """
        # on the log-odds scale, the partial estimate is (nearly) the alpha-weighted average
        link = fit0.shrinkage()
        beta0_hat = fit0.fixed_effects().loc["Intercept", "estimate"]
        weighted = beta0_hat + link["alpha"] * (link["unpooled"] - beta0_hat)
        gap = np.abs(link["partial"] - weighted).max()
        print(f"largest gap on the log-odds scale: {gap:.3f}")
        """
    ),
    md(
        r"""
        Not exact for a binomial response (the information $W_i$ depends on the estimate
        itself), but close. The plot joins each herd's own proportion to its mixed-model
        estimate. `plots.plot_shrinkage()` draws the table of the binomial hierarchy
        (`ml0.shrinkage()`; the same model, and the same partial estimates); on the right, the
        pooling weight against the number of cattle examined.
        """
    ),
    code(
        """
        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
        plots.plot_shrinkage(ml0.shrinkage(), ax=ax1, label="mixed model")
        ax1.set_ylabel("incidence (probability)")
        ax2.scatter(shrink["n"], shrink["alpha"], color="C1")
        for herd, n, alpha in zip(shrink["group"], shrink["n"], shrink["alpha"], strict=True):
            ax2.annotate(
                f"herd {herd}",
                (n, alpha),
                fontsize="x-small",
                xytext=(3, 3),
                textcoords="offset points",
            )
        ax2.set_xlabel("cattle examined in the herd")
        ax2.set_ylabel(r"pooling weight $\\alpha_i$")
        ax2.set_title("Weight of each herd's own data");
        """
    ),
    md(
        r"""
        Every herd is pulled towards the population mean, the extreme ones furthest: herd 14
        (11 of 26) from 0.42 to 0.34, herd 13 (3 of 87) from 0.034 to 0.050. Herds with few
        cattle keep the least of their own data (herds 9 and 12, 29 cattle each, $\alpha
        \approx 0.6$). The number of cattle is not the whole story: herd 13, with 87 cattle,
        is shrunk more than herd 1 with 40, because a herd with few cases says less about its
        log-odds ($m \pi (1 - \pi)$ is small when $\pi$ is small).

        ## A new herd

        The population model predicts a herd we have not examined: draw its log-odds from
        $N(\hat\beta_0, \hat\sigma^2)$. `new_group(scale="response")` gives the interval of its
        incidence probability:
        """
    ),
    code(
        """
        fit0.new_group(scale="response")
        """
    ),
    md(
        r"""
        A new herd's incidence lies between 2.6% and 39% with 95% probability: the interval
        $\operatorname{logit}^{-1}(\hat\beta_0 \pm 1.96\,\hat\sigma)$, the same as the
        binomial hierarchy's prediction interval. (It is a plug-in interval: it treats
        $\hat\beta_0$ and $\hat\sigma$ as known; a Bayesian fit would widen it a little.)
        Its median is $\operatorname{logit}^{-1}(\hat\beta_0) = 0.114$, but its mean is
        higher (0.139): the distribution of a probability whose log-odds are normal is skewed
        to the right.
        """
    ),
    code(
        """
        print(f"binomial_model prediction interval: {np.round(ml0.prediction_int, 4)}")
        """
    ),
    md(
        r"""
        # Adding the period: estimation methods

        The incidence fell over the four periods, and the herds were not examined equally
        often in each period. The model that lme4 made famous with these data adds the period
        as a fixed effect:
        `glmer(cbind(incidence, size - incidence) ~ period + (1 | herd), family = binomial)`.
        """
    ),
    code(
        """
        formula = "incidence | trials(size) ~ C(period) + (1 | herd)"
        m = hierarch.model(formula, cbpp, family="binomial")
        lap = m.fit(method="laplace")
        print(lap)
        """
    ),
    md(
        r"""
        The odds of a new case in periods 2, 3 and 4 are $e^{-0.99} = 0.37$, $e^{-1.13} = 0.32$
        and $e^{-1.58} = 0.21$ times those of period 1, in the same herd.

        **How was this fitted?** For a normal response the marginal likelihood, with the random
        effects integrated out,

        $$f(y) = \int f(y \mid b)\, f(b)\, db,$$

        has a closed form. For a binomial response it does not, and it has to be approximated.
        From fastest and least precise to slowest and most precise: penalised
        quasi-likelihood, the **Laplace approximation** (a normal approximation of the
        integrand around its mode; `glmer`'s default, `nAGQ = 1`), **adaptive Gauss-Hermite
        quadrature** (the integral as a weighted sum over `nAGQ` points) and Monte Carlo
        integration. hierarch has the Laplace approximation for every GLMM it fits and
        adaptive quadrature for a single scalar random effect, as here:
        """
    ),
    code(
        """
        agq = m.fit(method="agq", n_agq=25)
        print(agq)
        """
    ),
    code(
        """
        def estimates(fit):
            fe = fit.fixed_effects()["estimate"]
            sds = fit.group_sds().set_index("group")["estimate"].add_prefix("sd ")
            return pd.concat([fe, sds, pd.Series({"log-likelihood": fit.loglik})])


        pd.DataFrame({"Laplace": estimates(lap), "AGQ, 25 points": estimates(agq)})
        """
    ),
    md(
        r"""
        The two agree to about two decimals; the herd SD moves from 0.642 to 0.648 and the
        log-likelihood by 0.04. With 15 herds of a few dozen cattle each, the Laplace
        approximation is good. (Both reproduce `glmer`. R users comparing log-likelihoods:
        for `nAGQ > 1`, `glmer` reports the log-likelihood relative to the saturated model,
        so its Laplace and quadrature values are not on the same scale; hierarch's are.)

        The herd SD is smaller than without the period (0.64 against 0.81): part of what
        looked like herd-to-herd variation was the period. Herds 8 and 14, examined mostly
        in the high-incidence first period, looked worse than they are:
        """
    ),
    code(
        """
        ranef = lap.ranef()["herd"]
        pd.DataFrame(
            {
                "b_i, intercept only": fit0.ranef()["herd"]["Intercept"],
                "b_i, with period": ranef["Intercept"],
                "se, with period": ranef["se_Intercept"],
            }
        ).loc[[8, 14, 7, 13]]
        """
    ),
    md(
        r"""
        `ranef()` holds the conditional modes $\hat b_i$ (lme4's `ranef`) with their
        conditional SDs; `coefficients()` adds the fixed intercept, $\hat\beta_0 + \hat b_i$,
        the log-odds of a case in herd $i$ in period 1, with an interval.
        `plots.plot_caterpillar()` sorts and draws them.
        """
    ),
    code(
        """
        ax = plots.plot_caterpillar(lap.coefficients())
        ax.axvline(lap.fixed_effects().loc["Intercept", "estimate"], color="C3", ls="--", lw=0.8)
        ax.set_xlabel("log-odds of a new case in period 1")
        ax.set_title("15 herds, Laplace: conditional modes with 95% intervals");
        """
    ),
    md(
        r"""
        ## The Bayesian fit

        The Bayesian fit needs no approximation of the integral: it samples the herd effects
        together with the parameters. Priors go on the log-odds scale: the intercept is
        centred on the logit of the overall proportion, the period effects get wide normal
        priors, the herd SD a half-normal with scale 1.
        """
    ),
    code(
        """
        m.priors
        """
    ),
    code(
        """
        bayes = m.fit(**NUTS)
        print(bayes)
        """
    ),
    md(
        r"""
        Check the sampler before reading anything else: R-hat close to 1, enough effective
        draws, no divergent transitions. (With the small `DRAWS` of quick test runs, expect
        it to complain.)
        """
    ),
    code(
        """
        bayes.diagnostics().table
        """
    ),
    md(
        r"""
        ## Laplace and Bayes side by side

        `report_mixed.compare()` lines up the maximum likelihood estimates with the posterior
        means and 95% central intervals:
        """
    ),
    code(
        """
        compare(lap, bayes)
        """
    ),
    md(
        r"""
        The fixed effects agree closely. The herd SD is where the two differ: its posterior is
        skewed to the right, 15 herds do not pin it down (the interval spans roughly 0.4 to
        1.2), and its mean lies above the maximum likelihood estimate.
        """
    ),
    code(
        """
        axes = plots.plot_hyperparameters(hyperparameter_draws(bayes))
        sd_laplace = lap.group_sds()["estimate"].iloc[0]
        axes[0].axvline(sd_laplace, color="k", ls="--", lw=1, label="Laplace")
        axes[0].plot([], [], color="C3", lw=1, label="posterior mean")
        axes[0].legend(fontsize="small", frameon=False);
        """
    ),
    code(
        """
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharex=True, layout="constrained")
        coefs = {"Laplace": lap.coefficients(), "Bayes": bayes.coefficients()}
        plots.plot_caterpillar(coefs["Laplace"], ax=axes[0])
        plots.plot_caterpillar(coefs["Bayes"], ax=axes[1])
        axes[0].set_title("Laplace: 95% intervals")
        axes[1].set_title("Bayes: 95% posterior intervals")
        for ax in axes:
            ax.set_xlabel("log-odds of a new case in period 1")
        for name, c in coefs.items():
            print(f"{name}: average interval width {(c['upper'] - c['lower']).mean():.2f}")
        """
    ),
    md(
        r"""
        The herds come out in nearly the same order, with intervals of about the same width.
        They are not computed alike: the Laplace interval adds the variance of
        $\hat\beta_0$ to the conditional variance of $b_i$ given $\hat\sigma$, while the
        posterior interval also averages over the uncertainty about $\sigma$. Here the two
        come out close.

        # Part 2: overdispersion and individual-level random effects

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

        * **One herd** is a binomial model with one log-odds; **one model per herd** gives 15
          unconnected estimates and no model of the population of herds.
        * The **random effects model** $\operatorname{logit} \pi_i = \beta_0 + b_i$,
          $b_i \sim N(0, \sigma^2)$, is a model of models: it estimates the population
          (log-odds $-2.05$, between-herd SD 0.81), shrinks every herd towards it by its
          pooling weight (herds with few cattle or few cases most), and predicts a new herd
          (incidence between 2.6% and 39%).
        * With the **period** as a fixed effect, the herd SD drops to 0.64. The Laplace
          approximation and 25-point adaptive quadrature agree to two decimals; the **Bayesian
          fit** agrees on the fixed effects and shows how poorly 15 herds determine the SD.
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
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
