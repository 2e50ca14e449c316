"""Write ``04_shrinkage_scenarios.ipynb`` from the cells below.

The notebook retells two pieces on shrinkage in Python with hierarch, on simulated data with a
known truth:

* Michael Clark's "Shrinkage in Mixed Effects Models" (random intercepts and slopes; how the
  amount of shrinkage depends on the variance components, the cluster sizes and balance),
  with REML fits and one Bayesian fit;
* the "Mixed-effects and hierarchical models intro" lesson on BLUP weights (complete, no and
  partial pooling of group means, the pooling weight alpha_j, and the mean squared error of
  the three).

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_04_shrinkage_scenarios.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fit and
the simulation study through environment variables, e.g. ``HIERARCH_NB_DRAWS=300
HIERARCH_NB_CHAINS=2 HIERARCH_NB_SIMS=10 MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import code, main, md

OUT = Path(__file__).with_name("04_shrinkage_scenarios.ipynb")


CELLS = [
    md(
        r"""
        # Shrinkage: when and how much

        Mixed models give every cluster its own estimates, but *borrow strength* from the
        population: cluster estimates are pulled (shrunk) towards the population-average
        effects. How far depends on the data: on how different the clusters really are, how
        noisy the observations are, and how many observations each cluster has.

        This notebook explores that on simulated data, where the truth is known. Part 1
        retells Michael Clark's *Shrinkage in Mixed Effects Models* (random intercepts and
        slopes, fitted there with `lme4`) in Python with **hierarch**; part 2 retells a lesson
        on the BLUP shrinkage formula for group means and measures which of complete, no and
        partial pooling estimates the groups best.
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
        from hierarch import plots, simulate
        from hierarch.report.mixed import hyperparameter_draws

        # Size of the one Bayesian fit and of the simulation study in part 2. The defaults are
        # what you should use; tests run the notebook with small values through these
        # environment variables.
        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))
        N_SIMS = int(os.environ.get("HIERARCH_NB_SIMS", "50"))

        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks, and the
            # warning would be noise. With the default DRAWS you *should* see any such warning.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)

        pd.set_option("display.precision", 4)
        """
    ),
    md(
        r"""
        # Part 1: shrinkage of intercepts and slopes

        ## The model and the simulated data

        A basic mixed model with a random intercept and a random slope for one predictor: for
        observation $i$ in cluster $c$,

        $$
        \begin{aligned}
        \mu_{ic} &= (b_0 + \mathrm{re}_{0c}) + (b_1 + \mathrm{re}_{1c})\,x_{ic}, \\
        (\mathrm{re}_{0c}, \mathrm{re}_{1c}) &\sim \mathcal{N}(0, \Sigma), \\
        y_{ic} &\sim \mathcal{N}(\mu_{ic}, \sigma^2).
        \end{aligned}
        $$

        `hierarch.simulate.random_slopes()` generates data from this model, following the
        original's `create_data()`: $x \sim N(0, 1)$; by default 100 clusters of 10
        observations, intercept $b_0 = 1$, slope $b_1 = 0.5$, $\sigma = 1$, random-effect SDs
        0.5 (intercept) and 0.25 (slope), uncorrelated; `balanced` below 1 keeps only that
        fraction of the rows, at random, which makes the clusters unequal in size. The true
        per-cluster intercepts and slopes are kept in `attrs["effects"]`. (NumPy's random
        numbers are not R's, so the data, and the estimates, differ in detail from the
        original's.)
        """
    ),
    code(
        """
        df = simulate.random_slopes()
        print(df.attrs["truth"])
        df.head()
        """
    ),
    md(
        r"""
        The mixed model in lme4's notation is `y ~ x + (x | cluster)`. Fitted by REML, it
        recovers the parameters well:
        """
    ),
    code(
        """
        fit = hierarch.model("y ~ x + (x | cluster)", df).fit(method="reml")
        print(fit)
        """
    ),
    md(
        r"""
        ## The picture: from separate fits to the mixed model

        `fit.shrinkage()` sets each cluster's *separate* regression (no pooling, `unpooled_*`)
        beside its mixed-model coefficients (partial pooling, `partial_*`), and
        `plots.plot_shrinkage_2d()` draws an arrow from one to the other, intercept on the
        horizontal axis, slope on the vertical, with the single regression for all data
        (complete pooling) as the black cross: the "black hole" the clusters are drawn to.

        As in the original, every plot below uses the same window, set for the default
        setting, so that the settings can be compared; extreme separate fits can start outside
        it (the title counts them).
        """
    ),
    code(
        """
        XLIM, YLIM = (-1.0, 3.0), (-1.0, 2.0)


        def shrinkage_plot(data, title, ax=None):
            \"\"\"Fit y ~ x + (x | cluster) by REML and draw the 2-D shrinkage arrows.\"\"\"
            fit = hierarch.model("y ~ x + (x | cluster)", data).fit(method="reml")
            table = fit.shrinkage()
            ax = plots.plot_shrinkage_2d(table, ax=ax)
            outside = ~(table["unpooled_Intercept"].between(*XLIM)
                        & table["unpooled_x"].between(*YLIM))
            ax.set_xlim(*XLIM)
            ax.set_ylim(*YLIM)
            ax.set_xlabel("intercept")
            ax.set_ylabel("slope of x")
            ax.set_title(f"{title}\\n({outside.sum()} separate fits outside the window)",
                         fontsize="medium")
            return fit, table


        fits, tables = {}, {}
        fits["default"], tables["default"] = shrinkage_plot(df, "default settings")
        """
    ),
    md(
        r"""
        Cluster-specific effects are shrunk back towards the population-average effects: the
        normal distribution imposed on the random effects makes extreme values less probable.
        The most extreme separate fits are shrunk the most. For prediction this trades a little
        bias in the cluster-specific effects for lower variance, and it allows predictions for
        clusters not seen yet: assume the average cluster, a random effect of 0.

        Now the same picture under different data circumstances.

        ## More cluster-level variance

        With more variance between the clusters, relative to the residual variance, values that
        were improbable before are now plausible, and the mixed model lets the clusters speak
        for themselves: less shrinkage.
        """
    ),
    code(
        """
        scenarios = {}
        scenarios["sd_int=1, sd_slope=1"] = simulate.random_slopes(sd_int=1, sd_slope=1)
        fits["sd_int=1, sd_slope=1"], tables["sd_int=1, sd_slope=1"] = shrinkage_plot(
            scenarios["sd_int=1, sd_slope=1"], "sd_int = 1, sd_slope = 1"
        )
        """
    ),
    md(
        r"""
        ## More slope variance than intercept variance

        With more slope variance relative to the intercept variance, the picture turns on its
        side: the shrinkage is now mostly in the intercepts (horizontal), and the slopes are
        left more to themselves.

        In real data the slope variance is usually on a very different scale from the
        intercept variance (often many times smaller), which can make the model harder to
        estimate; scaling the predictor (mean 0, SD 1, as $x$ is here) is the usual remedy.
        """
    ),
    code(
        """
        scenarios["sd_int=.25, sd_slope=1"] = simulate.random_slopes(sd_int=0.25, sd_slope=1)
        fits["sd_int=.25, sd_slope=1"], tables["sd_int=.25, sd_slope=1"] = shrinkage_plot(
            scenarios["sd_int=.25, sd_slope=1"], "sd_int = 0.25, sd_slope = 1"
        )
        """
    ),
    md(
        r"""
        ## Fewer observations per cluster

        With only three observations per cluster, the separate fits fly off to extreme values
        much more easily (a line through three points with nearly equal $x$ can have any
        slope), and the mixed model shrinks more: we know less about each cluster, so its
        estimate leans towards the population average. In the extreme of a single
        observation per cluster, a cluster's deviation cannot be told from the residual
        noise, and the cluster-specific estimates can only be the fixed effects. Two
        observations per cluster are enough for a random intercept; a random slope needs
        more (two points fix a line exactly, leaving nothing to tell its tilt from noise).
        That is for balanced data. With unbalanced data, singletons and clusters with very
        few observations are fine: the clusters with more observations identify the
        variance components, and the singletons still contribute to the intercept.
        """
    ),
    code(
        """
        scenarios["obs_per_cluster=3"] = simulate.random_slopes(obs_per_cluster=3)
        fits["obs_per_cluster=3"], tables["obs_per_cluster=3"] = shrinkage_plot(
            scenarios["obs_per_cluster=3"], "obs_per_cluster = 3"
        )
        """
    ),
    md(
        r"""
        ## More observations per cluster

        The opposite case: with 100 observations per cluster the separate fits do not fly to
        extreme values in the first place, and there is little shrinkage except for the most
        extreme clusters.
        """
    ),
    code(
        """
        scenarios["obs_per_cluster=100"] = simulate.random_slopes(obs_per_cluster=100)
        fits["obs_per_cluster=100"], tables["obs_per_cluster=100"] = shrinkage_plot(
            scenarios["obs_per_cluster=100"], "obs_per_cluster = 100"
        )
        """
    ),
    md(
        r"""
        ## Unbalanced clusters

        Keeping a random half of the rows makes the clusters unequal in size (point size is
        the cluster size). Clusters with more observations are shrunk less, those with fewer
        more, though this is tempered by the variance components: here the residual SD is
        small ($\sigma = 0.25$) next to the random-effect SDs (0.5 each), so even small clusters
        are informative.
        """
    ),
    code(
        """
        unbalanced = "unbalanced"
        scenarios[unbalanced] = simulate.random_slopes(
            balanced=0.5, sd_int=0.5, sd_slope=0.5, sigma=0.25
        )
        fits[unbalanced], tables[unbalanced] = shrinkage_plot(
            scenarios[unbalanced], "balanced = 0.5, sd_int = sd_slope = 0.5, sigma = 0.25"
        )
        print("cluster sizes:", tables[unbalanced]["n"].value_counts().sort_index().to_dict())
        """
    ),
    md(
        r"""
        ## The six settings in numbers

        For each setting: the true and the REML-estimated random-effect SDs; how much of the
        spread of the separate fits the mixed model keeps (SD of the partially pooled
        coefficients over SD of the separate fits: 1 is no shrinkage); and the mean squared
        error of each approach against the true cluster intercepts and slopes, which the
        simulator kept.
        """
    ),
    code(
        """
        def reml_sd(fit, effect):
            \"\"\"The REML estimate of a random-effect SD, from the long varcorr() table.\"\"\"
            vc = fit.varcorr()
            row = (vc["group"] == "cluster") & (vc["var1"] == effect) & vc["var2"].isna()
            return float(vc.loc[row, "sdcor"].iloc[0])


        scenarios = {"default": df, **scenarios}
        rows = {}
        for name, data in scenarios.items():
            truth, effects = data.attrs["truth"], data.attrs["effects"]
            t = tables[name].set_index("group")
            true_eff = effects.loc[t.index]
            mse = {
                approach: np.mean(
                    (t[f"{approach}_Intercept"] - true_eff["intercept"]) ** 2
                    + (t[f"{approach}_x"] - true_eff["slope"]) ** 2
                )
                for approach in ("unpooled", "partial", "complete")
            }
            rows[name] = {
                "sd_int true": truth["sd_int"],
                "sd_int REML": reml_sd(fits[name], "Intercept"),
                "sd_slope true": truth["sd_slope"],
                "sd_slope REML": reml_sd(fits[name], "x"),
                "spread kept, intercept": (
                    t["partial_Intercept"].std() / t["unpooled_Intercept"].std()
                ),
                "spread kept, slope": t["partial_x"].std() / t["unpooled_x"].std(),
                "MSE no pooling": mse["unpooled"],
                "MSE partial": mse["partial"],
                "MSE complete": mse["complete"],
            }
        summary = pd.DataFrame(rows).T
        summary.iloc[:, :4]
        """
    ),
    code(
        """
        summary.iloc[:, 4:]
        """
    ),
    md(
        r"""
        The table says in numbers what the pictures showed:

        * REML recovers the random-effect SDs reasonably in every setting;
        * more between-cluster variance (`sd_int=1, sd_slope=1`) or more observations per
          cluster (`obs_per_cluster=100`): the mixed model keeps most of the spread;
        * more slope than intercept variance: the intercepts are shrunk much more than the
          slopes;
        * three observations per cluster: the separate slopes are wildly spread (the mixed
          model keeps only a few percent of that spread), and their mean squared error
          is enormous;
        * in every setting the partially pooled coefficients are closer to the true ones than
          both the separate fits and the single regression.

        ## One Bayesian fit: three observations per cluster

        Three observations per cluster is where the random-effect SDs are least well
        determined, so it is where a Bayesian fit, which carries their uncertainty along, has
        most to add. The slope SD is poorly identified here: its posterior reaches down to
        zero, and describing that tail well takes the sampler more draws than usual, so we take
        twice the default number.
        """
    ),
    code(
        """
        few = scenarios["obs_per_cluster=3"]
        bayes = hierarch.model("y ~ x + (x | cluster)", few).fit(
            method="bayes", draws=2 * DRAWS, tune=DRAWS, chains=CHAINS, random_seed=2024,
            progressbar=False,
        )
        print(bayes)
        """
    ),
    code(
        """
        reml_few = fits["obs_per_cluster=3"]
        compare_sds = bayes.group_sds().drop(columns="group").set_index("effect")
        compare_sds.insert(0, "REML", [reml_sd(reml_few, "Intercept"), reml_sd(reml_few, "x")])
        compare_sds.insert(0, "truth", [0.5, 0.25])
        compare_sds
        """
    ),
    code(
        """
        axes = plots.plot_hyperparameters(hyperparameter_draws(bayes))
        for ax, value in zip(axes, [0.5, 0.25, 0.0, 1.0], strict=True):
            ax.axvline(value, color="k", ls="--", lw=1)
        axes[0].plot([], [], color="k", ls="--", lw=1, label="truth")
        axes[0].plot([], [], color="C3", lw=1, label="posterior mean")
        axes[0].legend(fontsize="x-small", frameon=False);
        """
    ),
    md(
        r"""
        The posterior of the slope SD is wide: the data are consistent with anything from
        almost no slope variation to nearly twice the true value, and the correlation is barely
        determined at all. REML reports one number for each. The Bayesian fit's cluster
        coefficients average over all those plausible values; side by side, the two pictures
        of shrinkage are nonetheless much alike.
        """
    ),
    code(
        """
        fig, axes = plt.subplots(1, 2, figsize=(12, 5), sharex=True, sharey=True,
                                 layout="constrained")
        plots.plot_shrinkage_2d(tables["obs_per_cluster=3"], ax=axes[0])
        plots.plot_shrinkage_2d(bayes.shrinkage(), ax=axes[1])
        axes[0].set_title("REML")
        axes[1].set_title("Bayes (posterior means)")
        for ax in axes:
            ax.set_xlim(*XLIM)
            ax.set_ylim(*YLIM)
            ax.set_xlabel("intercept")
        axes[0].set_ylabel("slope of x")
        axes[1].set_ylabel("");
        """
    ),
    md(
        r"""
        ## The shrinkage, animated

        The original piece animates every cluster's estimate moving from its own fit to the
        mixed model's (the "black hole" of the population average pulls them in).
        `report.frames.shrinkage_frames` computes that path frame by frame and
        `plots.animate_shrinkage` writes it as a GIF: here the default setting, three
        observations per cluster, and the Bayesian fit of the latter, whose posterior
        means are surrounded by a faint cloud of posterior draws. Point size is the cluster
        size. `docs/make_animations.py` in the repository writes all six settings.
        """
    ),
    code(
        """
        from IPython.display import Image, display

        from hierarch.report.frames import shrinkage_frames

        N_FRAMES = 30 if DRAWS >= 1000 else 8  # fewer frames in quick test runs
        animations = {
            "shrinkage_default.gif": shrinkage_frames(fits["default"], n_frames=N_FRAMES),
            "shrinkage_obs3.gif": shrinkage_frames(fits["obs_per_cluster=3"], n_frames=N_FRAMES),
            "shrinkage_obs3_bayes.gif": shrinkage_frames(bayes, n_frames=N_FRAMES, n_draws=20),
        }
        for name, frames in animations.items():
            # the first frame is the separate fits, the last the mixed model's estimates
            assert (frames.position[-1] == frames.partial).all()
            display(Image(filename=plots.animate_shrinkage(frames, name, dpi=55)))
        """
    ),
    md(
        r"""
        # Part 2: BLUP weights for group means

        ## The shrinkage formula

        Take the simplest case, a random intercept only: $J$ groups (clusters) with $n_j$
        observations each,

        $$y_{ij} = \mu + u_j + e_{ij}, \qquad u_j \sim N(0, \sigma_u^2), \quad
          e_{ij} \sim N(0, \sigma_e^2).$$

        There are three ways to estimate the group means $\mu + u_j$:

        * **complete pooling**: one number for all groups, the grand mean (ignores the
          structure);
        * **no pooling**: each group's own mean $\bar y_j$ (treats the groups as unrelated,
          and gives noisy estimates for small groups);
        * **partial pooling**: the mixed model's BLUP (Henderson), a weighted average of the
          two,

        $$\hat\mu + \alpha_j\,(\bar y_j - \hat\mu), \qquad
          \alpha_j = \frac{\sigma_u^2}{\sigma_u^2 + \sigma_e^2 / n_j}.$$

        Small groups (small $n_j$) get $\alpha_j$ near 0, strong shrinkage towards the grand
        mean; large groups $\alpha_j$ near 1, almost none. In practice $\mu$, $\sigma_u$ and
        $\sigma_e$ are replaced by their REML estimates.

        `simulate.random_intercepts()` draws such data (by default $J = 16$ groups, sizes
        around $\bar n = 8$ drawn from a Poisson distribution, $\sigma_u = 1.5$,
        $\sigma_e = 2$, $\mu = 0$), keeping each group's true mean; `simulate.pooling_estimates()`
        returns the three estimates and $\alpha_j$ for every group.
        """
    ),
    code(
        """
        settings = {
            "default": {},
            "sigma_u = 0.2": {"sigma_u": 0.2},
            "sigma_u = 5": {"sigma_u": 5.0},
            "sigma_e = 5": {"sigma_e": 5.0},
            "n_mean = 3": {"n_mean": 3},
        }
        SEED = 3
        data2 = {name: simulate.random_intercepts(seed=SEED, **kw) for name, kw in settings.items()}
        estimates = {name: simulate.pooling_estimates(d) for name, d in data2.items()}
        truth2 = {name: d.groupby("group")["true_mean"].first() for name, d in data2.items()}

        estimates["default"].assign(true_mean=truth2["default"])
        """
    ),
    md(
        r"""
        The same model fitted with `hierarch.model()` gives the same numbers: `shrinkage()`'s
        `partial` and `alpha` columns are the BLUP and the pooling weight.
        """
    ),
    code(
        """
        check = hierarch.model("y ~ 1 + (1 | group)", data2["default"]).fit(method="reml")
        check_table = check.shrinkage().set_index("group")
        print("same partial pooling estimates:",
              np.allclose(check_table["partial"], estimates["default"]["partial"]))
        print("same pooling weights:",
              np.allclose(check_table["alpha"], estimates["default"]["alpha"]))
        """
    ),
    md(
        r"""
        ## Five settings

        One data set per setting (the same random seed, so the same group sizes wherever
        $\bar n = 8$). In each panel the groups are sorted by size; open circles are the no
        pooling estimates $\bar y_j$, filled circles the partial pooling estimates, joined by a
        line that shows the contraction; the dashed line is complete pooling, and the crosses
        are the true group means. The last panel shows the pooling weights $\alpha_j$.
        """
    ),
    code(
        """
        def pooling_panel(est, truth, ax, title):
            est = est.assign(truth=truth).sort_values("n", kind="stable")
            pos = np.arange(len(est))
            ax.vlines(pos, est["no_pooling"], est["partial"], color="0.6", lw=1)
            ax.scatter(pos, est["no_pooling"], facecolors="none", edgecolors="C0", s=30,
                       label="no pooling")
            ax.scatter(pos, est["partial"], color="C1", s=22, label="partial pooling")
            ax.scatter(pos, est["truth"], marker="x", color="k", s=22, label="true mean")
            ax.axhline(est["complete"].iloc[0], color="k", ls="--", lw=0.8,
                       label="complete pooling")
            ax.set_xticks(pos, est["n"].astype(str), fontsize="x-small")
            ax.set_xlabel("groups, by size $n_j$")
            ax.set_title(title, fontsize="medium")


        fig, axes = plt.subplots(2, 3, figsize=(14, 8), layout="constrained")
        for ax, name in zip(axes.flat, settings, strict=False):
            pooling_panel(estimates[name], truth2[name], ax, name)
        axes[0, 0].set_ylabel("group mean")
        axes[1, 0].set_ylabel("group mean")
        axes[0, 0].legend(fontsize="x-small", frameon=False)

        ax = axes[1, 2]
        for name in settings:
            e = estimates[name].sort_values("n")
            ax.plot(e["n"], e["alpha"], marker="o", ms=3, label=name)
        ax.set_xlabel("group size $n_j$")
        ax.set_ylabel(r"pooling weight $\\alpha_j$")
        ax.set_ylim(0, 1.02)
        ax.set_title("pooling weights (REML estimates)", fontsize="medium")
        ax.legend(fontsize="x-small", frameon=False);
        """
    ),
    md(
        r"""
        What the five settings show:

        * **Default** ($J = 16$, $\bar n = 8$, $\sigma_u = 1.5$, $\sigma_e = 2$): the
          small groups move noticeably towards the grand mean, the large ones hardly at all.
        * **$\sigma_u = 0.2$**, the group means nearly identical: the partial pooling estimates
          collapse onto the grand mean, and partial and complete pooling become almost
          indistinguishable.
        * **$\sigma_u = 5$**, very different group means: partial pooling barely shrinks at
          all and is nearly identical to no pooling. The mixed model "knows" the groups are
          genuinely different and trusts each group's own mean.
        * **$\sigma_e = 5$**, noisy observations: the group means are too noisy to trust on
          their own, and partial pooling shrinks aggressively.
        * **$\bar n = 3$**, very small groups: every $\alpha_j$ is lower, even with moderate
          $\sigma_u$.

        (The REML estimates of $\sigma_u$ and $\sigma_e$ come from only 16 groups, so the
        weights of one data set can stray from what the true values imply. With
        $\sigma_u = 0.2$, REML estimates $\sigma_u = 0$ in about a third of the simulated data
        sets; then every $\alpha_j = 0$ and partial pooling *is* complete pooling.)
        """
    ),
    code(
        """
        pd.DataFrame(
            {
                name: est["alpha"].agg(["min", "median", "max"]).add_prefix("alpha ")
                for name, est in estimates.items()
            }
        ).T
        """
    ),
    md(
        r"""
        ## Which estimates are best? Mean squared error

        One data set per setting is an anecdote. `simulate.pooling_mse()` repeats the
        experiment: it simulates `n_sims` data sets per setting, estimates every group mean the
        three ways, and averages the squared error against the true group means (with its
        Monte Carlo standard error).
        """
    ),
    code(
        """
        mse = {name: simulate.pooling_mse(n_sims=N_SIMS, **kw) for name, kw in settings.items()}
        mse["default"]
        """
    ),
    code(
        """
        mse_table = pd.DataFrame({name: t["mse"] for name, t in mse.items()}).T
        mse_table = mse_table[["complete", "no_pooling", "partial"]]
        mse_se = pd.DataFrame({name: t["mse_se"] for name, t in mse.items()}).T
        mse_table["best"] = mse_table.idxmin(axis=1)
        mse_table["no pooling / partial"] = mse_table["no_pooling"] / mse_table["partial"]
        mse_table["complete / partial"] = mse_table["complete"] / mse_table["partial"]
        print(f"mean squared error over {N_SIMS} simulated data sets per setting")
        mse_table
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(8, 4), layout="constrained")
        methods = ["complete", "no_pooling", "partial"]
        pos = np.arange(len(mse_table))
        for k, method in enumerate(methods):
            ax.bar(pos + (k - 1) * 0.27, mse_table[method], width=0.27, yerr=2 * mse_se[method],
                   label=method.replace("_", " "), capsize=2)
        ax.set_xticks(pos, mse_table.index)
        ax.set_yscale("log")
        ax.set_ylabel("mean squared error (log scale)")
        ax.set_title("Estimating 16 group means: complete, no and partial pooling")
        ax.legend(frameon=False, fontsize="small");
        """
    ),
    md(
        r"""
        Partial pooling has the lowest mean squared error in four of the five settings, and it
        is never far from the best:

        * against **no pooling** it is never worse: it wins most clearly where the groups are
          small or noisy ($\bar n = 3$, $\sigma_e = 5$) or similar ($\sigma_u = 0.2$), and
          ties where the groups are very different ($\sigma_u = 5$), which is exactly when it
          hardly pools;
        * against **complete pooling** it wins by a wide margin whenever the groups really
          differ;
        * the exception is **$\sigma_u = 0.2$**, where the groups barely differ and complete
          pooling, which assumes exactly that, comes out somewhat ahead. Partial pooling pays
          for *estimating* $\sigma_u$ from 16 groups: whenever REML overestimates it (and
          from 16 groups it often does, by a lot, relative to 0.2), partial pooling shrinks
          too little.

        The no pooling error is the same in the first three settings: it depends only on the
        noise $\sigma_e$ and the group sizes, not on how different the groups are, and the
        simulations reuse the same random numbers.

        The last point can be checked: with the *true* $\sigma_u$ and $\sigma_e$ in the BLUP
        formula (and $\mu$ estimated by the corresponding weighted mean), partial pooling is
        the best of the three in every setting, including $\sigma_u = 0.2$. Its advantage is
        built into the model; what remains is the cost of estimating the variance components.
        """
    ),
    code(
        """
        def oracle_mse(n_sims, seed=0, **kw):
            \"\"\"BLUP with the true variance components, on pooling_mse()'s data sets.\"\"\"
            errors = []
            for i in range(n_sims):
                d = simulate.random_intercepts(seed=seed + i, **kw)
                sigma_u, sigma_e = d.attrs["truth"]["sigma_u"], d.attrs["truth"]["sigma_e"]
                g = d.groupby("group")
                n, ybar, true_mean = g.size(), g["y"].mean(), g["true_mean"].first()
                weight = 1 / (sigma_u**2 + sigma_e**2 / n)  # precision of each group mean
                mu_hat = np.sum(weight * ybar) / np.sum(weight)
                alpha = sigma_u**2 / (sigma_u**2 + sigma_e**2 / n)
                errors.append(np.mean((mu_hat + alpha * (ybar - mu_hat) - true_mean) ** 2))
            return float(np.mean(errors))


        mse_table["partial, true variances"] = [
            oracle_mse(N_SIMS, **kw) for kw in settings.values()
        ]
        mse_table[["complete", "no_pooling", "partial", "partial, true variances"]]
        """
    ),
    md(
        r"""
        ## Summary

        * Shrinkage is the mixed model weighing each cluster's own data against the
          population. It is strong when the clusters are small, the observations noisy, or
          the clusters similar; weak when the clusters are large, precise, or genuinely
          different. For a random intercept, the weight of a group's own mean is
          $\alpha_j = \sigma_u^2 / (\sigma_u^2 + \sigma_e^2 / n_j)$.
        * With random slopes the same happens in two dimensions, and the direction of the pull
          follows the variance components: intercepts and slopes are shrunk by different
          amounts.
        * On data with a known truth, partial pooling estimates the cluster effects better
          than separate fits, and better than one pooled fit unless the clusters barely differ.
          Where the variance components are poorly determined (few groups, tiny between-group
          variance, three observations per cluster), a Bayesian fit shows how poorly.

        Back to the lesson's question: hospital A (500 patients, mortality 4.2%) has
        $\alpha_A$ close to 1, and its own rate is trusted. Hospital B (5 patients, 60%) has a
        small $\alpha_B$: its estimate is pulled strongly towards the mortality of hospitals
        in general, borrowing strength from the other seven.

        That pull does not come from hospital B's own data. Taken alone, three deaths in
        five patients favour a 60% mortality over an ordinary 4.2% by a likelihood ratio of
        about 500 to 1 (computed below). The shrunken estimate combines that evidence with
        the **population model**: hospitals' rates vary around a common mean by about
        $\sigma_u$, so a rate of 60% would be extraordinary, and five patients are too few to
        establish it. Shrinkage is only as good as that model: if hospital B may really be
        unlike the others (a different case mix, say), the model should say so, e.g. with a
        predictor at the hospital level.
        """
    ),
    code(
        """
        from scipy import stats

        ratio = stats.binom.pmf(3, 5, 0.60) / stats.binom.pmf(3, 5, 0.042)
        print(f"likelihood of 3 deaths in 5 patients, 60% against 4.2%: {ratio:.0f} to 1")
        assert 400 < ratio < 600  # the sentence above says "about 500 to 1"
        """
    ),
    md(
        r"""
        ## Exercises

        1. Set `sd_slope = 0` in the simulator. What does REML estimate for the slope SD, and
           what does the shrinkage plot look like?
        2. Find a setting of `obs_per_cluster` where partial and no pooling give almost the
           same mean squared error. What is $\alpha_j$ there?
        3. In part 2, put the true $\sigma_e$ into the BLUP formula but keep the REML
           estimate of $\sigma_u$. Which of the two estimated variances costs more accuracy?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
