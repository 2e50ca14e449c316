"""Write ``05_glmm_cbpp.ipynb`` from the cells below.

The notebook retells the GLMM part of Rafael de Andrade Moral's slides "Introduction to Mixed
Models" in Python with hierarch: the cattle herds of the cbpp data (one herd alone, one model
per herd, the binomial random effects model, shrinkage, Laplace versus adaptive quadrature
versus Bayes).  Overdispersion (the grouse ticks) follows in
``06_overdispersion_grouseticks.ipynb``.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_05_glmm_cbpp.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fits
through environment variables, e.g. ``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2
MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("05_glmm_cbpp.ipynb")


CELLS = [
    md(
        r"""
        # Generalized linear mixed models: cattle herds

        A linear mixed model is a special case of a **generalized linear mixed model** (GLMM):
        keep the random effects in the linear predictor, and change the distribution at the
        top of the hierarchy to suit the response (binomial for proportions, Poisson or
        negative binomial for counts, ...), with a link function for its mean.

        This notebook retells the GLMM part of Rafael de Andrade Moral's slides *Introduction
        to Mixed Models* (fitted there with `lme4::glmer`) in Python with **hierarch**, on the
        **cattle herds** of the `cbpp` data: a binomial model for one herd, one model per
        herd, and the random effects model that turns the herds into a sample from a
        population: a *model of models*. We look at shrinkage, at a new herd, and at the ways
        of fitting a GLMM: the Laplace approximation, adaptive Gauss-Hermite quadrature and
        the Bayesian fit. The next notebook, `06_overdispersion_grouseticks`, takes up counts
        that vary more than a Poisson model allows.
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
        # with 300, a chain of a GLMM can stay stuck far from the posterior (see notebook 06).
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
        ## Contagious bovine pleuropneumonia in 15 herds

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
        """
    ),
    checks(
        """
        says(share.iloc[0], "22%", ".0%")
        says(share.iloc[-1], "4.5%", ".1%")
        b0 = fit0.fixed_effects().loc["Intercept", "estimate"]
        sd0 = fit0.group_sds()["estimate"].iloc[0]
        says(b0, "-2.05", ".2f")
        says(special.expit(b0), "0.114", ".3f")
        says(sd0, "0.81", ".2f")
        by_herd = shrink.set_index("group")
        says(by_herd.loc[14, "unpooled"], "0.42", ".2f")
        says(by_herd.loc[14, "partial"], "0.34", ".2f")
        says(by_herd.loc[13, "unpooled"], "0.034", ".3f")
        says(by_herd.loc[13, "partial"], "0.050", ".3f")
        says(by_herd.loc[9, "alpha"], "0.6", ".1f")
        says(by_herd.loc[12, "alpha"], "0.6", ".1f")
        assert by_herd.loc[13, "alpha"] < by_herd.loc[1, "alpha"]  # "shrunk more than herd 1"
        lo, hi = special.expit(b0 + np.array([-1.96, 1.96]) * sd0)
        says(lo, "2.6%", ".1%")
        says(hi, "39%", ".0%")
        draws = special.expit(b0 + sd0 * np.random.default_rng(0).standard_normal(400_000))
        says(draws.mean(), "0.139", ".3f")  # Monte Carlo SE ~1e-4
        sd_lap = lap.group_sds()["estimate"].iloc[0]
        sd_agq = agq.group_sds()["estimate"].iloc[0]
        says(sd_lap, "0.642", ".3f")
        says(sd_agq, "0.648", ".3f")
        says(agq.loglik - lap.loglik, "0.04", ".2f")
        says(sd_lap, "0.64", ".2f")
        """
    ),
    md(
        r"""
        ## Exercises

        1. Which herd has the largest pooling weight, and what about its data explains it?
        2. Compare the Laplace fit with `n_agq=0` (glmer's fastest setting) and with 25-point
           quadrature. Which estimates change, and by how much?
        3. Predict the incidence in a new herd in period 4 with its prediction interval.
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
