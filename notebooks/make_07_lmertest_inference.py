"""Write ``07_lmertest_inference.ipynb`` from the cells below.

The notebook retells seed document 004 (the lecture "Random Effects, Mixed Effects, &
Hierarchical/Multilevel Models") end to end with hierarch's frequentist inference: the
simulated random slopes of ``set.seed(757)`` (a singular fit, and lmerTest's table for the
model without the correlation), the pig growth data (lmerTest's Satterthwaite table,
``isSingular``, per-pig lines against separate fits), profile intervals, the
likelihood-ratio test of the random slope, and then the Bayesian fit and the comparison of
tau -- for the pigs, for the singular fit, and for rats and cbpp.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_07_lmertest_inference.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fits
through environment variables (``HIERARCH_NB_DRAWS``, ``HIERARCH_NB_CHAINS``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import code, main, md

OUT = Path(__file__).with_name("07_lmertest_inference.ipynb")


CELLS = [
    md(
        r"""
        # p-values, intervals and the Bayesian extension: lmerTest's questions in hierarch

        The lecture *Random Effects, Mixed Effects, & Hierarchical/Multilevel Models* fits
        two data sets with `lme4::lmer` and prints `lmerTest`'s summaries: Satterthwaite
        degrees of freedom, t statistics and p-values. It checks `isSingular`, draws each
        pig's fitted line beside its own regression, and advises ML (not REML) for model
        comparison. This notebook does all of that with **hierarch** -- and the numbers are
        checked against the lecture's as it goes -- then asks what the Bayesian fit says
        about the same between-group SD, tau.
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
        from hierarch.report.mixed import compare_groups
        from hierarch.report.tau import tau_comparison

        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))
        NUTS = dict(
            method="bayes", draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024,
            progressbar=False,
        )
        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)
        pd.set_option("display.width", 120)
        pd.set_option("display.precision", 4)
        """
    ),
    md(
        r"""
        ## 1. Simulated random slopes (`set.seed(757)`)

        The lecture simulates 7 groups of 20 points with a common intercept of 50, a slope
        per group drawn from N(2.5, 1) and residual SD 16. R's random numbers cannot be
        reproduced in Python, so hierarch bundles the data exactly as the lecture's code
        makes them (`hierarch.load_dataset("seed004_slopes")`, made in R by the project's
        reference script).
        """
    ),
    code(
        """
        dat = hierarch.load_dataset("seed004_slopes")
        dat["Group"] = dat["Group"].astype(str)
        assert round(dat.loc[0, "Y"], 5) == 70.32508 and round(dat.loc[1, "X"], 5) == 65.44526

        fig, ax = plt.subplots(figsize=(6.4, 4.2))
        xs = np.linspace(1, 100, 2)
        for i, (g, d) in enumerate(dat.groupby("Group")):
            ax.scatter(d["X"], d["Y"], s=10, color=f"C{i}")
            b = smf.ols("Y ~ X", d).fit().params
            ax.plot(xs, b["Intercept"] + b["X"] * xs, ls="--", color=f"C{i}", lw=1)
        b = smf.ols("Y ~ X", dat).fit().params
        ax.plot(xs, b["Intercept"] + b["X"] * xs, color="k", lw=2, label="ignoring groups")
        ax.set_xlabel("X"); ax.set_ylabel("Y"); ax.legend(frameon=False)
        plt.show()
        """
    ),
    md(
        r"""
        The lecture's first model, `Y ~ X + (X | Group)`, gives an intercept SD of 1.02, a
        slope SD of 0.74 and a correlation of 1.00, with an lme4 warning. A correlation of
        exactly 1 is a **singular** fit: the estimate sits on the edge of what is possible.
        hierarch says so in plain words, and says what to try.
        """
    ),
    code(
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", hierarch.FitWarning)
            rfit = hierarch.model("Y ~ X + (X | Group)", dat).fit(method="reml")
        print(rfit)
        print("isSingular:", rfit.lmm.singular)
        assert rfit.lmm.singular and any("singular" in str(w.message) for w in caught)
        vc = rfit.varcorr()
        assert abs(vc.loc[vc["var1"] == "X", "sdcor"].iloc[0] - 0.7363) < 5e-4  # the lecture's
        """
    ),
    md(
        r"""
        The lecture then drops the random intercept and its correlation, `Y ~ X + (X - 1 |
        Group)` (written `(0 + X | Group)` here), and prints lmerTest's table. hierarch's
        `fixed_effects()` has the same columns -- estimate, standard error, Satterthwaite's
        df, t and p -- computed from the same cross-products the fit uses:
        """
    ),
    code(
        """
        rfit1 = hierarch.model("Y ~ X + (0 + X | Group)", dat).fit(method="reml")
        print(rfit1)
        fe = rfit1.fixed_effects()
        # the lecture's lmerTest table: 49.2571 (2.7496, df 132.0413) and 2.2844 (0.2875, 6.2696)
        assert np.allclose(fe["estimate"], [49.2571, 2.2844], atol=1e-4)
        assert np.allclose(fe["df"], [132.0413, 6.2696], atol=1e-3)
        print(f"slope: t = {fe.loc['X', 't']:.3f} on {fe.loc['X', 'df']:.2f} df, "
              f"p = {fe.loc['X', 'p']:.6f}")
        """
    ),
    md(
        r"""
        Only 7 groups carry the slope's SD, so its test has about 6 degrees of freedom, not
        138: Satterthwaite's approximation finds how much information the variance
        components leave for each coefficient. Kenward and Roger's method (pbkrtest) is the
        other common choice; it also adjusts the standard errors:
        """
    ),
    code(
        """
        rfit1.fixed_effects(ddf="kenward-roger")[["estimate", "se", "df", "t", "p"]]
        """
    ),
    md(
        r"""
        ## 2. The pig growth data

        48 pigs weighed in 9 successive weeks, `weight ~ week + (week | id)`. The lecture
        prints lmerTest's summary (df 47.00 for both coefficients) and checks
        `isSingular(Pfit)` (FALSE is good).
        """
    ),
    code(
        """
        pigs = hierarch.load_dataset("pigs")
        pmodel = hierarch.model("weight ~ week + (week | id)", pigs)
        pfit = pmodel.fit(method="reml")
        print(pfit)
        print("isSingular:", pfit.lmm.singular)
        fe = pfit.fixed_effects()
        assert np.allclose(fe["estimate"], [19.35561, 6.20990], atol=1e-5)
        assert np.allclose(fe["df"], 47.0, atol=1e-3) and not pfit.lmm.singular
        """
    ),
    md(
        r"""
        `coef()` gives each pig's own line (fixed effects plus its random effects); pig 1's is
        19.59583 + 5.813491 week in the lecture. The figure sets each pig's mixed-model line
        (solid) beside its separate regression (dashed), and the second panel shows their
        difference: the lines hardly move, because 9 precise weighings per pig leave little
        to borrow.
        """
    ),
    code(
        """
        coefs = pfit.coef()["id"]
        one = coefs.loc[1]
        print(f"pig 1: {one['Intercept']:.5f} + {one['week']:.6f} week")
        assert abs(one["Intercept"] - 19.59583) < 1e-4 and abs(one["week"] - 5.813491) < 1e-5

        separate = {
            pid: smf.ols("weight ~ week", d).fit().params for pid, d in pigs.groupby("id")
        }
        weeks = np.arange(1, 10)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for i, (pid, c) in enumerate(coefs.iterrows()):
            col = plt.cm.hsv(i / 48)
            s = separate[pid]
            axes[0].plot(weeks, c["Intercept"] + c["week"] * weeks, color=col, lw=1)
            axes[0].plot(weeks, s["Intercept"] + s["week"] * weeks, color=col, lw=1, ls="--")
            axes[1].plot(
                weeks,
                (c["Intercept"] - s["Intercept"]) + (c["week"] - s["week"]) * weeks,
                color=col, lw=1,
            )
        axes[0].set(xlabel="week", ylabel="weight", title="mixed model (solid) vs separate fits")
        axes[1].set(xlabel="week", ylabel="difference", ylim=(-1, 1),
                    title="mixed-model line minus separate fit")
        plt.show()
        """
    ),
    md(
        r"""
        ### Tests and intervals

        lmerTest's `anova(fit)` tests each term (type III F tests with Satterthwaite's
        denominator df); lme4's `confint(fit)` profiles the likelihood for every parameter,
        the variance components included. (As lme4, the profiles use the ML deviance.)
        """
    ),
    code(
        """
        print(pfit.anova())
        ci = pfit.confint()
        ci
        """
    ),
    md(
        r"""
        Does each pig need its own slope? The lecture's advice -- "use ML when doing model
        comparison" -- is what `hierarch.anova` does: REML fits are refitted by ML, and the
        table says so. The slope's variance is tested on its boundary (it cannot be
        negative), so the naive chi-square p-value is conservative; the 50:50 chi-bar-square
        mixture (Self and Liang 1987) is the right reference.
        """
    ),
    code(
        """
        p0 = hierarch.model("weight ~ week + (1 | id)", pigs).fit(method="reml")
        table = hierarch.anova(p0, pfit)
        table
        """
    ),
    md(
        r"""
        ## 3. The Bayesian fit, and tau both ways

        The same model by NUTS. `hierarch.compare` lines up the REML estimate and its
        interval (profile for the SDs, the correlation and sigma; Wald for the fixed effects)
        with the posterior median and highest-density interval;
        `compare_groups` does the same for every pig's effects (BLUP and conditional SD
        against posterior mean and SD).
        """
    ),
    code(
        """
        pbayes = pmodel.fit(**NUTS)
        cmp = hierarch.compare(pfit, pbayes)
        cmp[["estimate", "ml_lower", "ml_upper", "median", "hdi_lower", "hdi_upper"]]
        """
    ),
    code(
        """
        groups = compare_groups(pfit, pbayes)
        r = np.corrcoef(groups["blup"], groups["posterior_mean"])[0, 1]
        print(f"BLUPs vs posterior means of the pig effects: correlation {r:.4f}")
        groups.head()
        """
    ),
    md(
        r"""
        The between-pig SD of the intercept, tau: the posterior (blue), its prior (dashed)
        and the profile likelihood of the ML fit, normalised to unit area (orange), with the
        ML interval and the HDI beneath. With 48 pigs the data dominate the prior and the
        two agree.
        """
    ),
    code(
        """
        tab = tau_comparison(pfit.tau(), pbayes.tau())
        plots.plot_tau_comparison(tab)
        plt.show()
        print(f"REML {tab.attrs['ml_estimate']:.3f} [{tab.attrs['ml_lower']:.3f}, "
              f"{tab.attrs['ml_upper']:.3f}]; posterior median {tab.attrs['posterior_median']:.3f} "
              f"[{tab.attrs['hdi_lower']:.3f}, {tab.attrs['hdi_upper']:.3f}]")
        """
    ),
    md(
        r"""
        ### When the ML fit is singular

        For the simulated slopes the ML fit put the correlation at 1. The Bayesian fit's LKJ
        prior on the correlation matrix and half-normal priors on the SDs keep the estimates
        inside the parameter space: the posterior of the correlation is wide -- 7 groups say
        little about it -- instead of a point on its edge.
        """
    ),
    code(
        """
        sbayes = hierarch.model("Y ~ X + (X | Group)", dat).fit(**NUTS, target_accept=0.95)
        scmp = hierarch.compare(rfit, sbayes)
        scmp.loc[[i for i in scmp.index if i.startswith(("sd[", "cor["))],
                 ["estimate", "ml_lower", "ml_upper", "median", "hdi_lower", "hdi_upper"]]
        """
    ),
    md(
        r"""
        ## 4. The same comparison for rats and cbpp

        Two binomial hierarchies of the other notebooks: the 71 rat batches (01) and the 15
        cattle herds (05), each by Laplace ML and by NUTS. With only 15 herds the profile
        likelihood of tau is wide and skewed, and the posterior follows it.
        """
    ),
    code(
        """
        rats = hierarch.load_dataset("rats")
        rats_ml = hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
        rats_bayes = hierarch.binomial_model(
            "m", "n", group="batch", data=rats, multilevel=True,
            method="bayes", draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024,
            progressbar=False,
        )
        cbpp = hierarch.load_dataset("cbpp")
        cmodel = hierarch.model(
            "incidence | trials(size) ~ C(period) + (1 | herd)", cbpp, family="binomial"
        )
        cbpp_ml, cbpp_bayes = cmodel.fit(method="laplace"), cmodel.fit(**NUTS)

        fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
        for ax, (ml, bayes, name) in zip(
            axes, [(rats_ml, rats_bayes, "rats"), (cbpp_ml, cbpp_bayes, "cbpp")]
        ):
            plots.plot_tau_comparison(tau_comparison(ml.tau(), bayes.tau()), ax=ax)
            ax.set_title(name)
        plt.show()
        hierarch.compare(cbpp_ml, cbpp_bayes)[
            ["estimate", "ml_lower", "ml_upper", "median", "hdi_lower", "hdi_upper"]
        ]
        """
    ),
    md(
        r"""
        ## What to take away

        * hierarch's REML fit gives lmerTest's table -- Satterthwaite's df, t and p -- and
          Kenward-Roger's on request; `anova(fit)` tests terms, `fit.contrast(L)` any linear
          hypothesis.
        * `confint()` profiles the likelihood for every parameter, as lme4; `group_sds()` and
          `tau()` carry those intervals.
        * Compare models by ML (`hierarch.anova` refits REML fits); for a variance tested on
          zero use the chi-bar-square p-value, or the parametric bootstrap (`n_boot=`).
        * A singular ML fit is said in plain words; the Bayesian fit, whose priors keep SDs
          off zero and correlations off +/-1, and `hierarch.compare` are the way to see what
          the data do and do not say.
        """
    ),
    md(
        r"""
        ## Exercises

        1. Compare Satterthwaite's and Kenward-Roger's degrees of freedom for the pigs' slope.
           Why are they so close here?
        2. Test the random slope of the seed-757 data with the parametric bootstrap instead of
           the likelihood ratio's chi-square. Do the p-values differ?
        3. Refit the pigs with ML instead of REML. Which numbers change, and which test needs
           ML?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
