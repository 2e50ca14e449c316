"""Write ``01_rats_binomial.ipynb`` from the cells below.

The notebook retells the immr guide "Random Effects Models" (Mark Andrews), which uses
``immr::binomial_model()`` on the rats tumour data, in Python with hierarch, and then fits the
same multilevel model the Bayesian way and sets the two side by side.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_01_rats_binomial.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fit
through environment variables, e.g. ``HIERARCH_NB_DRAWS=200 HIERARCH_NB_CHAINS=2
MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import code, main, md

OUT = Path(__file__).with_name("01_rats_binomial.ipynb")


CELLS = [
    md(
        r"""
        # Random effects models: the rats tumour data

        Multilevel models are, in a fundamental sense, *models of models*. This notebook
        introduces the idea through the binomial random effects model, building from a
        single-group binomial through pooled and unpooled estimates to a full multilevel model
        that treats the per-group log-odds as draws from a common normal distribution.

        It retells Mark Andrews' R guide *Random Effects Models* (which uses
        `immr::binomial_model()`) in Python with **hierarch**: one function,
        `hierarch.binomial_model()`, handles all four model types, and its printed results
        follow the R guide. The key ideas are partial pooling, shrinkage, the prediction interval
        for a new group, and the role of the between-group standard deviation $\tau$.

        The second half fits the same multilevel model the Bayesian way
        (`method="bayes"`) and compares the two.
        """
    ),
    code(
        """
        import os
        import warnings

        import matplotlib.pyplot as plt
        import numpy as np
        import pandas as pd
        from scipy import stats

        import hierarch

        # Size of the Bayesian fit (section 2). The defaults are what you should use; tests run
        # the notebook with small values through these environment variables.
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
        ## The rats tumour data

        We work with a classic dataset from Gelman et al. (*Bayesian Data Analysis*), consisting
        of 71 batches of laboratory rats. For each batch $j$ we have the number of rats $n_j$
        and the number $m_j$ that developed endometrial stromal polyps (a kind of tumour).
        """
    ),
    code(
        """
        print(hierarch.describe_dataset("rats"))
        rats = hierarch.load_dataset("rats")
        rats
        """
    ),
    md(
        r"""
        Each row is one batch. The sample proportion $m_j/n_j$ varies substantially across
        batches, partly because the true tumour probabilities differ and partly because the
        batches are small (10 to 52 rats), which amplifies sampling noise.
        """
    ),
    code(
        """
        rats.assign(proportion=rats["m"] / rats["n"]).describe()
        """
    ),
    md(
        r"""
        ## A single-group model

        Begin by focusing on batch 42 alone.
        """
    ),
    code(
        """
        rats_42 = rats[rats["batch"] == 42]
        rats_42
        """
    ),
    md(
        r"""
        The natural model is binomial: the number of tumours $m$ in a batch of size $n$ is a draw
        from $\mathrm{Binom}(\theta, n)$, where $\theta$ is the unknown probability of a tumour.
        """
    ),
    code(
        """
        m1 = hierarch.binomial_model("m", "n", data=rats_42)
        print(m1)
        """
    ),
    md(
        r"""
        The estimate ($2/13$) and its 95% confidence interval are returned on the probability
        scale directly. (The interval is a Wald interval computed on the log-odds scale and
        transformed back, which is why it is not symmetric around the estimate.)

        ## A pooled model

        Now apply the same model to all 71 batches simultaneously, treating them as one large
        batch with a single shared probability.
        """
    ),
    code(
        """
        m2 = hierarch.binomial_model("m", "n", data=rats)
        print(m2)
        """
    ),
    md(
        r"""
        This assumes that every batch has exactly the same tumour probability. The estimate is
        the pooled proportion across all rats, $\sum_j m_j / \sum_j n_j$. It ignores the fact
        that batches are distinct biological units with their own rates.

        ## An unpooled model

        The opposite extreme is to estimate a separate probability for each batch, treating the
        batches as entirely independent. Giving a grouping column (`group="batch"`) without
        `multilevel=True` does exactly that.
        """
    ),
    code(
        """
        m3 = hierarch.binomial_model("m", "n", group="batch", data=rats)
        m3.estimates
        """
    ),
    md(
        r"""
        Each row gives the maximum likelihood estimate $m_j/n_j$ and a confidence interval for
        one batch. Several batches have $m_j = 0$, which would push the log-odds estimate to
        $-\infty$ and produce degenerate Wald intervals. `binomial_model()` therefore uses
        **Wilson score intervals** in the unpooled case, which remain well-behaved at the
        boundaries.
        """
    ),
    md(
        r"""
        ## A multilevel model

        The pooled model ignores between-batch variation entirely; the unpooled model ignores the
        fact that the batches are all part of the same experiment. The multilevel model takes a
        middle position. It assumes that the log-odds parameters
        $\beta_1, \beta_2, \ldots, \beta_J$ of the 71 batches are not independent but are drawn
        from a common normal distribution:

        $$\beta_j \sim N(b, \tau^2).$$

        This can equivalently be written $\beta_j = b + \xi_j$ with $\xi_j \sim N(0, \tau^2)$,
        so the model for each batch becomes

        $$m_j \sim \mathrm{Binom}(\theta_j, n_j), \qquad
          \log\left(\frac{\theta_j}{1-\theta_j}\right) = b + \xi_j.$$

        The normal distribution $N(b, \tau^2)$ is a model of the *population* from which the
        batch-specific log-odds are drawn. This is what makes it a multilevel model: the
        individual batch models are themselves modelled.

        In hierarch, $b$ is called `mu`. The model is fitted by maximum likelihood (the Laplace
        approximation, as in `lme4::glmer`).
        """
    ),
    code(
        """
        ml = hierarch.binomial_model("m", "n", group="batch", data=rats, multilevel=True)
        print(ml)
        """
    ),
    md(
        r"""
        The output gives:

        * the grand mean $b$ on the probability scale (`ml.estimate`, i.e.
          $\mathrm{logit}^{-1}(b)$), with a confidence interval (`ml.conf_int`);
        * the prediction interval for a new batch drawn from the same population
          (`ml.prediction_int`);
        * $b$ itself on the log-odds scale (`ml.mu`) and $\tau$, the standard deviation of the
          batch-specific log-odds (`ml.tau()`);
        * per-batch estimates based on partial pooling (`ml.estimates`).

        Each of these is also available as an attribute:
        """
    ),
    code(
        """
        print(f"mu  = {ml.mu:.4f}   tau = {ml.tau():.4f}")
        print(f"grand mean = {ml.estimate:.4f},  95% CI = {np.round(ml.conf_int, 4)}")
        ml.estimates.head()
        """
    ),
    md(
        r"""
        ## Partial pooling and shrinkage

        The multilevel model neither ignores between-batch structure (pooled) nor treats each
        batch in isolation (unpooled). It performs **partial pooling**: the estimate for each
        batch is, roughly, a weighted average of its own data and the grand mean, with the
        weights determined by the relative precision of the two sources of information.

        The consequence is **shrinkage**: the multilevel estimates are pulled towards the grand
        mean compared to the unpooled estimates. Batches with small $n_j$ or extreme proportions
        experience the most shrinkage.

        `ml.shrinkage()` puts the three estimates side by side, per batch. Its `shrinkage`
        column is the fraction of the way from the batch's own proportion to the grand mean that
        the multilevel estimate has moved (0 = no pooling, 1 = complete pooling).
        """
    ),
    code(
        """
        shrink = ml.shrinkage()
        shrink[["group", "n", "successes", "unpooled", "partial", "grand_mean", "fraction_moved"]]
        """
    ),
    md(
        r"""
        Two "pooled" numbers appear in this table, and they differ. `complete` is the pooled
        proportion of model 2, $\sum_j m_j / \sum_j n_j$; `grand_mean`, the point towards which
        the shrinkage is measured, is $\operatorname{logit}^{-1}(\hat\mu)$, the **median** of
        the population distribution of batch rates. They differ for two reasons: that
        distribution (normal on the log-odds scale) is skewed to the right on the probability
        scale, so its mean lies above its median; and the pooled proportion weighs every rat
        equally, where $\mu$ is the centre of the batches' log-odds. The multilevel estimates
        are pulled towards $\hat\mu$ on the log-odds scale.
        """
    ),
    code(
        """
        from scipy import special

        z, w = np.polynomial.hermite_e.hermegauss(60)  # E f(Z), Z ~ N(0, 1)
        tau_hat = ml.tau().estimate
        population_mean = np.sum(w * special.expit(ml.mu + tau_hat * z)) / np.sum(w)
        print(f"pooled proportion (complete pooling): {shrink['complete'].iloc[0]:.4f}")
        print(f"population mean of the batch rates:   {population_mean:.4f}")
        print(f"population median, invlogit(mu):      {special.expit(ml.mu):.4f}")
        """
    ),
    code(
        """
        ax = hierarch.plots.plot_shrinkage(shrink, label="multilevel")
        """
    ),
    md(
        r"""
        Each grey line joins a batch's unpooled estimate (left) to its multilevel estimate
        (right). The lines converge: estimates above the grand mean come down, estimates below it
        go up, and the batches with no tumours at all are no longer estimated at exactly zero.

        The R guide draws the same picture from the two tables of estimates. Here is that
        version with pandas and matplotlib, next to a scatter plot of one estimate against the
        other.
        """
    ),
    code(
        """
        comparison = m3.estimates[["group", "estimate"]].rename(columns={"estimate": "unpooled"})
        comparison = comparison.merge(
            ml.estimates[["group", "estimate"]].rename(columns={"estimate": "multilevel"}),
            on="group",
        )

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained")
        # left: one line per batch, from its unpooled to its multilevel estimate
        for _, row in comparison.iterrows():
            ax1.plot([0, 1], [row["unpooled"], row["multilevel"]], color="k", marker="o",
                     lw=0.6, ms=3, alpha=0.5)
        ax1.set_xticks([0, 1], ["unpooled", "multilevel"])
        ax1.set_xlim(-0.2, 1.2)
        ax1.set_xlabel("Model type")
        ax1.set_ylabel("Estimate")

        # right: multilevel against unpooled, with the diagonal y = x
        ax2.scatter(comparison["unpooled"], comparison["multilevel"], s=15)
        ax2.axline((0, 0), slope=1, color="k", lw=0.8, label="y = x (no shrinkage)")
        ax2.axhline(ml.estimate, color="C3", ls="--", lw=0.8, label="grand mean")
        ax2.set_xlim(-0.02, 0.4)
        ax2.set_ylim(-0.02, 0.4)
        ax2.set_xlabel("unpooled estimate")
        ax2.set_ylabel("multilevel estimate")
        ax2.legend(frameon=False, fontsize="small");
        """
    ),
    md(
        r"""
        In the scatter plot, points above the diagonal are batches whose multilevel estimate is
        higher than the unpooled estimate (they start below the grand mean); points below it are
        batches whose multilevel estimate is lower (they start above it). Both cases represent
        the multilevel estimate being pulled towards the grand mean. The multilevel estimates
        span a much narrower range than the raw proportions.
        """
    ),
    md(
        r"""
        ## The population distribution

        The multilevel model provides a distribution over the probability parameter for the
        entire population of batches, including future ones not yet observed. It is recovered
        from the grand mean $b$ and $\tau$: the log-odds are $N(b, \tau^2)$, so a batch's
        probability $\theta = \mathrm{logit}^{-1}(\beta)$ has a *logit-normal* distribution.

        `ml.population()` returns that density on a grid of $\theta$ values, and
        `hierarch.plots.plot_population()` draws it, shading the 95% interval for a new batch.
        """
    ),
    code(
        """
        pop = ml.population()
        ax = hierarch.plots.plot_population(pop, ml.new_group())
        """
    ),
    md(
        r"""
        There is nothing magic in that density. To get it by hand, evaluate the normal density
        of the log-odds and multiply by the **Jacobian** of the change of variables from
        $\theta$ to $\log(\theta / (1-\theta))$:

        $$p(\theta) = N\!\left(\log\tfrac{\theta}{1-\theta} \,\middle|\, b, \tau^2\right)
          \left|\frac{d}{d\theta}\log\frac{\theta}{1-\theta}\right|,
          \qquad \frac{d}{d\theta}\log\frac{\theta}{1-\theta} = \frac{1}{\theta} +
          \frac{1}{1-\theta}.$$

        Without the Jacobian the curve would not be a density on the probability scale (it
        would not integrate to one).
        """
    ),
    code(
        """
        b = ml.mu
        tau = float(ml.tau())

        theta_seq = np.linspace(0.001, 0.999, 1000)
        log_odds = np.log(theta_seq / (1 - theta_seq))
        jacobian = np.abs(1 / theta_seq + 1 / (1 - theta_seq))
        density = stats.norm.pdf(log_odds, loc=b, scale=tau) * jacobian

        print("same as ml.population():", np.allclose(density, pop["density"]))
        print("integrates to", round(np.trapezoid(density, theta_seq), 4))

        fig, ax = plt.subplots(figsize=(6.4, 4.2), layout="constrained")
        ax.plot(theta_seq, density)
        ax.set_xlabel(r"$\\theta$")
        ax.set_ylabel("Density")
        ax.set_title("Estimated population distribution of tumour probabilities");
        """
    ),
    md(
        r"""
        ## A new batch: the prediction interval

        The prediction interval `ml.prediction_int` gives the range within which a new batch's
        tumour probability is expected to fall with 95% probability, according to this population
        model. It is simply $\mathrm{logit}^{-1}(b \pm 1.96\,\tau)$.

        Note how much wider it is than the confidence interval of the grand mean: the confidence
        interval is about the *average* batch, the prediction interval about a *single* new one.
        """
    ),
    code(
        """
        print("95% CI for the grand mean     :", np.round(ml.conf_int, 4))
        print("95% PI for a new batch        :", np.round(ml.prediction_int, 4))
        z = stats.norm.ppf(0.975)
        by_hand = 1 / (1 + np.exp(-(b + np.array([-z, z]) * tau)))
        print("by hand, invlogit(b -/+ z tau):", np.round(by_hand, 4))
        """
    ),
    md(
        r"""
        `ml.new_group(trials=20)` adds the prediction for what an analyst would actually observe:
        the number of rats with tumours in a new batch of 20 (a binomial count mixed over the
        population distribution). The `probability` row repeats the interval above, with the
        mean and median of the population distribution.
        """
    ),
    code(
        """
        ml.new_group(trials=20)
        """
    ),
    md(
        r"""
        ## Why the multilevel model is preferable

        The unpooled model treats each batch as a separate problem, discarding the information
        that the batches come from the same experiment. For batches with few rats, this produces
        wide and sometimes degenerate confidence intervals (lower limit exactly 0 when no tumours
        were seen). The multilevel model **borrows strength** across batches: even the smallest
        batches get a reasonable estimate, because the population-level distribution regularises
        the inference. The smallest batches show it:
        """
    ),
    code(
        """
        widths = shrink.assign(
            unpooled_width=shrink["unpooled_upper"] - shrink["unpooled_lower"],
            multilevel_width=shrink["partial_upper"] - shrink["partial_lower"],
        )
        widths.sort_values("n")[
            ["group", "n", "successes", "unpooled", "unpooled_lower", "unpooled_upper",
             "partial", "partial_lower", "partial_upper", "unpooled_width", "multilevel_width"]
        ].head(8)
        """
    ),
    md(
        r"""
        At the same time, the multilevel model does not ignore real between-batch variation. If
        $\tau$ is large, the estimates remain spread out. If $\tau$ is near zero, the model
        converges to the fully pooled result. The estimate of $\tau$ from the data automatically
        determines how much pooling is appropriate.
        """
    ),
    md(
        r"""
        # The Bayesian version

        Everything above treats $b$ and $\tau$ as fixed unknowns estimated by maximum
        likelihood, and then *plugs them in*: the population curve, the prediction interval and
        the amount of shrinkage all act as if $\tau$ were known to be exactly 0.6646. With 71
        batches that is not bad, but $\tau$ is in fact estimated with considerable uncertainty.

        The Bayesian version of the same model gives $b$ and $\tau$ prior distributions and
        samples their joint posterior together with all 71 batch effects (NUTS, via PyMC or
        nutpie). hierarch's default priors are weakly informative, on the log-odds scale:
        $b \sim N(0, 2.5^2)$ and $\tau \sim \text{Half-Normal}(1)$. Point estimates are now
        posterior means and the intervals are 95% central credible intervals.

        The only change to the call is `method="bayes"` plus the sampler settings. (`DRAWS` and
        `CHAINS` were set in the first cell; the defaults, 4 chains of 1000 draws after 1000
        tuning steps, take a few seconds on this model.)
        """
    ),
    code(
        """
        bayes = hierarch.binomial_model(
            "m", "n", group="batch", data=rats, multilevel=True,
            method="bayes", draws=DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024,
        )
        print(bayes)
        """
    ),
    md(
        r"""
        The printout has the same layout as the maximum likelihood one, plus the priors and a
        convergence check (R-hat, effective sample sizes, divergent transitions) in plain words.
        If that check fails, hierarch also raises a `hierarch.ConvergenceWarning` saying what to
        try.

        ### Shrinkage, the Bayesian way

        `bayes.shrinkage()` returns the same table as before, now with posterior means and
        credible intervals in the `partial` columns.
        """
    ),
    code(
        """
        bshrink = bayes.shrinkage()

        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True, layout="constrained")
        hierarch.plots.plot_shrinkage(shrink, ax=axes[0], label="ML multilevel")
        hierarch.plots.plot_shrinkage(bshrink, ax=axes[1], label="Bayesian multilevel")
        axes[0].set_title("Maximum likelihood")
        axes[1].set_title("Bayesian (posterior means)")

        # the shrinkage fractions of the 71 batches, summarised
        fractions = {"ML": shrink["fraction_moved"], "Bayes": bshrink["fraction_moved"]}
        pd.DataFrame(fractions).describe()
        """
    ),
    md(
        r"""
        The two pictures are nearly identical. One detail in the summary: the Bayesian
        `fraction_moved` can come out slightly above 1 for a batch or two. Those are batches
        whose own proportion is already very close to the grand mean, so the fraction divides by
        a tiny distance; and a posterior *mean* on the probability scale sits a little above the
        centre of a right-skewed posterior, so such a batch can land just past the grand mean.
        It is not a sign that anything went wrong.

        ### The between-batch standard deviation $\tau$

        The Bayesian fit gives a whole posterior distribution for $\tau$. `bayes.tau()`
        summarises it (mean, sd, median and a highest-density interval; the draws themselves are
        in `.draws`), and `hierarch.plots.plot_tau()` sets the posterior against the prior.
        """
    ),
    code(
        """
        tau_post = bayes.tau()
        print(tau_post)
        tau_post.table
        """
    ),
    code(
        """
        ax = hierarch.plots.plot_tau(tau_post)
        ax.axvline(float(ml.tau()), color="k", lw=1.2, label=f"ML estimate {ml.tau():.3f}")
        ax.legend(fontsize="small", frameon=False);
        """
    ),
    md(
        r"""
        The posterior of $\tau$ is far narrower than the prior, so the data, not the prior,
        determine it. It is also skewed to the right, so its mean lies to the right of its peak:
        the Bayesian point estimate of $\tau$ is usually a little larger than the maximum
        likelihood one.

        ### A new batch

        `bayes.new_group(trials=20)` draws from the posterior predictive distribution of a new
        batch: for every posterior draw of $(b, \tau)$, a new log-odds from $N(b, \tau^2)$, and
        a binomial count of 20 trials. The uncertainty in $b$ and $\tau$ is thereby carried into
        the prediction.
        """
    ),
    code(
        """
        bayes.new_group(trials=20)
        """
    ),
    md(
        r"""
        ### The population distribution

        `bayes.population()` averages the logit-normal population density over the posterior
        draws (this average is the predictive density of a new batch's probability) and adds a
        pointwise 95% band showing how uncertain the curve itself is.
        """
    ),
    code(
        """
        bpop = bayes.population()
        ax = hierarch.plots.plot_population(bpop, bayes.new_group())
        ax.plot(pop["theta"], pop["density"], color="k", ls=":", lw=1, label="ML plug-in density")
        ax.legend(fontsize="small", frameon=False);
        """
    ),
    md(
        r"""
        ### Convergence diagnostics

        Before trusting any of this, check that the sampler converged. `bayes.diagnostics()`
        reports the worst R-hat and the smallest bulk and tail effective sample sizes for each
        parameter (over all batches for `z` and `logit_theta`), and the number of divergent
        transitions. (With the small `DRAWS` used for quick test runs, expect it to complain.)
        """
    ),
    code(
        """
        diag = bayes.diagnostics()
        print(diag)
        diag.table
        """
    ),
    md(
        r"""
        ### Monte Carlo error

        Several batches have identical data (the same number of tumours out of the same
        number of rats), so their posterior distributions are identical too. Their posterior
        *means* still differ slightly: each is computed from a finite sample of draws, and
        carries **Monte Carlo error**. Its size is the Monte Carlo standard error (MCSE),
        which shrinks like one over the square root of the effective number of draws.
        Differences of that size are noise of the computation, not information in the data;
        report posterior means to no more digits than their MCSE supports.
        """
    ),
    code(
        """
        import arviz as az

        theta = bayes.draws("theta").reshape(CHAINS, -1, len(bshrink))  # (chain, draw, batch)
        mcse = az.mcse(az.convert_to_dataset({"theta": theta}))["theta"].to_numpy()
        alike = bshrink.assign(mcse=mcse)[bshrink.duplicated(["successes", "n"], keep=False)]
        spread = alike.groupby(["successes", "n"]).agg(
            batches=("group", "size"),
            lowest=("partial", "min"),
            highest=("partial", "max"),
            mcse=("mcse", "mean"),
        )
        spread["difference"] = spread["highest"] - spread["lowest"]
        worst = spread.sort_values("batches", ascending=False).iloc[0]
        print(
            f"{int(worst['batches'])} batches with the same data: posterior means differ by "
            f"{worst['difference']:.4f}, with an MCSE of {worst['mcse']:.4f} each"
        )
        spread
        """
    ),
    md(
        r"""
        # Maximum likelihood versus Bayes

        `hierarch.compare(ml, bayes)` sets the two multilevel fits side by side: `summary` for
        the population-level quantities, `groups` for the batches.
        """
    ),
    code(
        """
        cmp = hierarch.compare(ml, bayes)
        cmp.summary
        """
    ),
    code(
        """
        cmp.groups.head(10)
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(5, 5), layout="constrained")
        ax.scatter(cmp.groups["freq"], cmp.groups["bayes"], s=15)
        ax.axline((0, 0), slope=1, color="k", lw=0.8)
        ax.set_xlabel("ML multilevel estimate")
        ax.set_ylabel("Bayesian multilevel estimate (posterior mean)")
        ax.set_title("Batch estimates: ML vs Bayes");

        s = cmp.summary
        width = s["new_group_upper"] - s["new_group_lower"]
        gap = (cmp.groups["bayes"] - cmp.groups["freq"]).abs().max()
        print(f"tau: ML {s.loc['frequentist', 'tau']:.4f},  "
              f"Bayes (posterior mean) {s.loc['bayesian', 'tau']:.4f}")
        print(f"width of the 95% interval for a new batch: ML {width['frequentist']:.4f},  "
              f"Bayes {width['bayesian']:.4f}")
        print(f"largest difference between the batch estimates: {gap:.4f}")
        """
    ),
    md(
        r"""
        With 71 batches the two approaches tell the same story, and the batch estimates almost
        coincide. The differences are instructive all the same:

        * **$\tau$ is larger in the Bayesian fit.** The Bayesian figure is a posterior *mean*,
          and the posterior of $\tau$ is skewed to the right; the maximum likelihood estimate is
          the peak of the likelihood. (Maximum likelihood estimates of variance components are
          also known to be biased downwards, noticeably so when there are few groups.)
        * **The Bayesian interval for a new batch is wider.** The ML prediction interval
          $\mathrm{logit}^{-1}(b \pm 1.96\,\tau)$ plugs in $b$ and $\tau$ as if they were
          known. The Bayesian posterior predictive averages over their uncertainty, in
          particular over the plausible values of $\tau$, which widens the interval, mostly at
          the top.
        * **The Bayesian batch estimates are a touch higher** almost everywhere (the scatter plot
          sits just above the diagonal). They are posterior means of $\theta_j$, and for
          probabilities well below one half the posterior is skewed to the right, so its mean
          lies above $\mathrm{logit}^{-1}$ of the most likely log-odds, which is what the ML
          estimate is. The slightly larger $\tau$ also means slightly less shrinkage.
        * **The group intervals** come directly from the posterior in the Bayesian fit, rather
          than from a normal approximation around the conditional modes, so they need not be
          symmetric on the log-odds scale.
        * **The price** is a prior to state (here weakly informative, and dominated by the data)
          and a sampler to check: always look at the convergence diagnostics.

        When the number of groups is small, $\tau$ is poorly determined and these differences
        grow: that is where the Bayesian version earns its keep.
        """
    ),
    md(
        r"""
        ## Exercises

        1. Batch 71 had 4 tumours in 14 rats. Read its unpooled estimate, its pooling weight
           $\alpha$ and its partial-pooling estimate from the shrinkage table, and explain
           why it moved as far as it did.
        2. Refit the multilevel model without the 10 largest batches. How do $\tau$ and the
           prediction interval for a new batch change?
        3. Fit the Bayesian model with a tighter prior on $\tau$
           (`priors={"tau": hierarch.Prior("HalfNormal", sigma=0.2)}`). Which results move,
           and which hardly at all? Why?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
