"""Write ``12_robust_and_ordinal.ipynb`` from the cells below.

Two responses a Gaussian mixed model handles badly: reaction times with outliers
(sleepstudy; a Student-t mixed model, glmmTMB's ``t_family``) and ratings on a 1-5 scale
(the wine data of R's ordinal package; a cumulative logit mixed model, ``ordinal::clmm``),
each fitted by maximum likelihood and by NUTS, and compared by LOO and leave-one-group-out.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_12_robust_and_ordinal.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) use ``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("12_robust_and_ordinal.ipynb")

CELLS = [
    md(
        r"""
        # Robust and ordinal mixed models

        The lectures on mixed models (seeds 001 and 002) build them on a Gaussian response:
        each observation is its group's line plus normal noise. Two kinds of data break that
        assumption every day:

        * **Outliers.** A few observations far from their group's line. Normal noise makes
          such values nearly impossible, so the fit bends towards them. A **Student-t**
          response has heavier tails: it expects the occasional wild value and lets it pull
          less.
        * **Ratings.** "Rate the bitterness from 1 to 5" gives ordered categories, not
          numbers: the step from 1 to 2 need not be the step from 4 to 5, and a mean of 2.5
          is no rating anyone gave. A **cumulative link** (ordinal) model treats the rating
          as a hidden continuous score cut into categories at estimated thresholds.

        Both are mixed models like the others: the groups' effects are drawn from a common
        normal distribution, and everything hierarch does for a Gaussian model (shrinkage of
        the group effects, a frequentist twin, Bayesian fits, cross-validation) carries over.
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

        # Size of the Bayesian fits. The defaults are what you should use; tests run the
        # notebook with small values through these variables.
        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))
        NUTS = dict(draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024, progressbar=False)

        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks, and the
            # warnings would be noise. With the default DRAWS you *should* see any such warning.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)
            warnings.filterwarnings("ignore", category=hierarch.ParetoKWarning)

        pd.set_option("display.precision", 3)
        """
    ),
    md(
        r"""
        ## 1. Reaction times with outliers: a Student-t mixed model

        In the sleep-deprivation study, 18 subjects had their reaction time measured on 10
        successive days of restricted sleep. The usual model gives every subject a line,
        `Reaction ~ Days + (Days | Subject)`. First the Gaussian model (REML, as `lmer`),
        and the rows it finds hardest to explain, by their Pearson residuals:
        """
    ),
    code(
        """
        sleep = hierarch.load_dataset("sleepstudy")
        m_gauss = hierarch.model("Reaction ~ Days + (Days | Subject)", sleep)
        reml = m_gauss.fit(method="reml")
        resid = reml.residuals()
        worst = resid.abs().sort_values(ascending=False).index[:4]
        sleep.loc[worst].assign(residual=resid[worst])
        """
    ),
    md(
        r"""
        Subject 332's reaction time on day 6, 454 ms, lies 5.2 residual SDs from that
        subject's line: under normal noise a value that far out turns up less than once in
        four million observations. Now the same model with a Student-t response, fitted by the
        Laplace approximation, as R's `glmmTMB(..., family = t_family)` fits it (hierarch's
        twin reproduces glmmTMB to 5 significant digits, `tests/freq/test_student_t.py`):
        """
    ),
    code(
        """
        m_t = hierarch.model("Reaction ~ Days + (Days | Subject)", sleep, family="student_t")
        t_ml = m_t.fit(method="laplace")
        print(t_ml.dispersion())
        pd.DataFrame(
            {
                "Gaussian": reml.fixed_effects()["estimate"],
                "se (Gaussian)": reml.fixed_effects()["se"],
                "Student-t": t_ml.fixed_effects()["estimate"],
                "se (Student-t)": t_ml.fixed_effects()["se"],
            }
        )
        """
    ),
    md(
        r"""
        The data choose very heavy tails: `df` is 2.90 (a normal distribution is a t with
        infinite degrees of freedom; below 3 the variance is already nearly infinite). The
        scale `sigma` is 14.5 ms, against the Gaussian residual SD of 25.6 ms: most
        observations sit much closer to their subject's line than the Gaussian fit, inflated
        by the outliers, suggests. The average slope moves from 10.47 to 10.73 ms per day once
        the outliers pull less.

        The Bayesian fits put priors on everything (hierarch's defaults; for the degrees of
        freedom `nu ~ Gamma(2, 0.1)`, brms's default) and sample the posterior with NUTS:
        """
    ),
    code(
        """
        bayes_gauss = m_gauss.fit(**NUTS)
        bayes_t = m_t.fit(**NUTS)
        print(bayes_t.dispersion())

        nu = bayes_t.idata.posterior["nu"].values.ravel()
        fig, ax = plt.subplots(figsize=(6, 3), layout="constrained")
        ax.hist(nu, bins=60, density=True, color="C0", alpha=0.7)
        ax.axvline(t_ml.dispersion().set_index("parameter").loc["df", "estimate"], color="k",
                   ls="--", label="maximum likelihood")
        ax.set_xlabel("degrees of freedom nu")
        ax.set_title("Posterior of the Student-t degrees of freedom")
        ax.legend(frameon=False)
        plt.show()
        """
    ),
    md(
        r"""
        The posterior of `nu` sits between about 2 and 6: the data rule out anything close to
        normal tails. Which model predicts new reaction times better? Leave-one-out
        cross-validation answers without refitting (PSIS-LOO, `hierarch.loo_compare`):
        """
    ),
    code(
        """
        table_t = hierarch.loo_compare({"Student-t": bayes_t, "Gaussian": bayes_gauss})
        table_t[["elpd_loo", "p_loo", "elpd_diff", "dse"]]
        """
    ),
    md(
        r"""
        The Student-t model predicts better by about 30 units of expected log predictive
        density, more than twice the standard error of the difference. hierarch also warns
        that a few rows are too influential for the Gaussian model's LOO to be trusted
        (Pareto k above 0.7): they are the outliers themselves, which the Gaussian model
        cannot predict when they are left out.

        ## 2. Ratings: an ordinal mixed model

        In Randall's (1989) wine study, 9 judges rated the bitterness of white wines on a
        scale from 1 (least bitter) to 5. The wines differed in two treatments at the press:
        the temperature (cold or warm) and skin contact (no or yes). Each judge rated two
        bottles of each of the four combinations: 72 ratings.
        """
    ),
    code(
        """
        wine = hierarch.load_dataset("wine")
        pd.crosstab([wine["temp"], wine["contact"]], wine["rating"])
        """
    ),
    md(
        r"""
        The cumulative logit model puts a hidden bitterness score behind each rating,

        $$P(\text{rating} \le j) = \operatorname{logit}^{-1}(\alpha_j - \eta), \qquad
        \eta = \beta_\text{warm} x_\text{warm} + \beta_\text{contact} x_\text{contact} + u_\text{judge},$$

        with thresholds $\alpha_1 < \dots < \alpha_4$ where the score crosses from one
        rating to the next, and a random effect per judge: some judges find every wine more
        bitter than others do. There is no intercept: the thresholds take its place. By
        maximum likelihood (the Laplace approximation, equal to R's `ordinal::clmm` to 5
        significant digits, `tests/freq/test_ordinal.py`):
        """
    ),
    code(
        """
        m_wine = hierarch.model("rating ~ temp + contact + (1 | judge)", wine, family="cumulative")
        wine_ml = m_wine.fit(method="laplace")
        print(wine_ml)
        """
    ),
    md(
        r"""
        Warm pressing raises the hidden score by 3.06 on the logit scale: the odds of a
        rating above any given category are multiplied by $e^{3.06} \approx 21$. Skin contact
        multiplies them by $e^{1.83} \approx 6$. The judges differ with an SD of 1.13, about
        a third of the temperature effect.

        The Bayesian fit of the same model (ordered cutpoints with `Normal(0, 5)` priors),
        beside the maximum-likelihood estimates:
        """
    ),
    code(
        """
        wine_bayes = m_wine.fit(**NUTS)
        hierarch.compare(wine_ml, wine_bayes)[["estimate", "ml_lower", "ml_upper", "mean", "lower", "upper"]]
        """
    ),
    md(
        r"""
        With 9 judges the posterior of the judges' SD is skewed to the right: its mean lies
        above the maximum-likelihood estimate, as for any variance component estimated from
        few groups.

        What do the estimates mean for a wine? `category_probabilities` gives the probability
        of every rating, here for the four treatments and a typical judge (`kind="fixed"`:
        judge effect 0) and for a judge we have not seen (`kind="new_group"`: the judge's
        effect drawn from the population of judges):
        """
    ),
    code(
        """
        treatments = pd.DataFrame(
            {"temp": ["cold", "cold", "warm", "warm"], "contact": ["no", "yes", "no", "yes"]}
        )
        typical = wine_bayes.category_probabilities(treatments, kind="fixed")
        unseen = wine_bayes.category_probabilities(treatments, kind="new_group")
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.2), layout="constrained", sharey=True)
        plots.plot_category_probabilities(typical, ax=axes[0])
        plots.plot_category_probabilities(unseen, ax=axes[1])
        axes[0].set_title("a typical judge")
        axes[1].set_title("a new judge")
        plt.show()
        typical.pivot(index=["temp", "contact"], columns="category", values="mean")
        """
    ),
    md(
        r"""
        A typical judge gives a cold wine without skin contact a 2 with probability about
        0.6; warm pressing with skin contact makes a 4 or a 5 the likely ratings. For a new
        judge the probabilities spread out over more categories: the uncertainty about who
        is judging adds to the uncertainty about the wine.

        Is the logistic link the right one? The probit link (a normal hidden score) is the
        other common choice. Compare them by leave-one-out over ratings and, since the model
        is meant to generalise to new judges, by **leave-one-judge-out**: each judge's
        effect integrated out by adaptive quadrature, no refits (`fit.logo()`).
        """
    ),
    code(
        """
        m_probit = hierarch.model(
            "rating ~ temp + contact + (1 | judge)", wine, family="cumulative", link="probit"
        )
        wine_probit = m_probit.fit(**NUTS)
        fits = {"logit": wine_bayes, "probit": wine_probit}
        by_rating = hierarch.loo_compare(fits)
        by_judge = hierarch.loo_compare(fits, by="judge")
        pd.concat({"by rating": by_rating, "by judge": by_judge})[
            ["elpd_loo", "p_loo", "elpd_diff", "dse"]
        ]
        """
    ),
    md(
        r"""
        The two links predict equally well: the differences are about one standard error or
        less, by ratings and by judges. With 72 ratings the data cannot tell a logistic
        from a normal hidden score, and the choice changes the scale of the coefficients
        (probit ones are smaller: the normal score has SD 1, the logistic one
        $\pi/\sqrt{3} \approx 1.8$), not the conclusions. If hierarch flags a judge with a
        high Pareto k, that judge's ratings are unusual enough that leaving them out moves
        the posterior a lot: an exact refit without that judge would check the estimate.

        ## What to take away

        * Look at the largest residuals of a Gaussian mixed model. If a few are far beyond
          3, a Student-t response lets the data say how heavy the tails are, and the
          estimates stop bending towards the outliers.
        * Ratings are categories. A cumulative link mixed model estimates where the
          thresholds between them lie and reports results as probabilities of each rating.
        * Both models have frequentist twins that reproduce glmmTMB and `ordinal::clmm`, and
          the same checks and comparisons as every other hierarch model.

        ## Exercises

        1. Refit the sleep study without subject 332's day-6 observation. How much do the
           Gaussian and the Student-t slopes move?
        2. Fit `rating ~ temp * contact + (1 | judge)`. Does the interaction improve the
           leave-one-judge-out comparison?
        3. Add `(1 | bottle)` to the wine model. Are bottles of one treatment rated alike?
        """
    ),
    checks(
        """
        disp = t_ml.dispersion().set_index("parameter")["estimate"]
        says(disp["df"], "2.90", ".2f")
        says(disp["sigma"], "14.5", ".1f")
        says(reml.sigma().loc["sigma", "estimate"], "25.6", ".1f")
        says(reml.fixed_effects().loc["Days", "estimate"], "10.47", ".2f")
        says(t_ml.fixed_effects().loc["Days", "estimate"], "10.73", ".2f")
        says(resid.abs().max(), "5.2", ".1f")
        from scipy import stats

        assert 2 * stats.norm.sf(resid.abs().max()) < 1 / 4e6  # "less than once in four million"
        assert sleep.loc[resid.abs().idxmax(), "Subject"] == 332
        fe = wine_ml.fixed_effects()["estimate"]
        says(fe["temp[warm]"], "3.06", ".2f")
        says(fe["contact[yes]"], "1.83", ".2f")
        says(np.exp(fe["temp[warm]"]), "21", ".0f")
        says(wine_ml.group_sds()["estimate"].iloc[0], "1.13", ".2f")
        if DRAWS >= 1000:  # the Bayesian statements, at the default settings
            assert table_t.index[0] == "Student-t"
            assert table_t["elpd_diff"].iloc[1] > 2 * table_t["dse"].iloc[1]
            assert 20 < table_t["elpd_diff"].iloc[1] < 45  # "about 30"
            assert 1.5 < np.quantile(nu, 0.025) and np.quantile(nu, 0.975) < 7
            cold_no = typical[(typical["row"] == 0) & (typical["category"] == 2)]["mean"]
            assert 0.5 < float(cold_no.iloc[0]) < 0.7  # "about 0.6"
            for t in (by_rating, by_judge):
                assert t["elpd_diff"].iloc[1] < 1.5 * max(t["dse"].iloc[1], 0.5)
            post_sd = wine_bayes.group_sds()["estimate"].iloc[0]
            assert post_sd > wine_ml.group_sds()["estimate"].iloc[0]
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
