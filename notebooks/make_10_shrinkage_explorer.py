"""Write ``10_shrinkage_explorer.ipynb`` from the cells below.

How to use the shrinkage explorer (``hierarch explore``) in a class: the page itself, shown
inline; a lesson plan around the "Try it" scenarios of seed 002 with the page's numbers
reproduced in Python (the same generator, the REML twin and the grid posterior); and the
hospital question.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_10_shrinkage_explorer.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the averaged error through
``HIERARCH_NB_SIMS=10 MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("10_shrinkage_explorer.ipynb")

CELLS = [
    md(
        r"""
        # The shrinkage explorer in a class

        `hierarch explore --out explorer.html` writes one web page that students open in any
        browser, offline, with nothing to install: hand it out by e-mail or on a learning
        platform. In a notebook, `hierarch.explore()` shows the same page inline, as below.

        The page simulates clustered data ($J$ clusters of mean size $\bar n$, between-cluster
        SD $\sigma_u$, within-cluster SD $\sigma_e$, cluster sizes more or less equal by the
        *balance* slider), fits the random-intercept model by REML, and shows four ways to
        estimate every cluster's mean:

        * **complete pooling**: one overall mean for all;
        * **no pooling**: each cluster's own mean;
        * **partial pooling** (the mixed model): $\hat\mu + \alpha_j(\bar y_j - \hat\mu)$ with
          the pooling weight $\alpha_j = \tau^2 / (\tau^2 + \sigma^2 / n_j)$, with the dashed
          lines tracing each cluster's pull; hover a point for its $\alpha_j$;
        * **Bayesian**: the same pull averaged over the posterior of $\tau$ and $\sigma$
          instead of plugging in their estimates, with the posterior of $\tau$ drawn beside it.

        Its table gives each strategy's mean squared error against the true cluster means,
        for the data set on screen and averaged over many simulated data sets.
        """
    ),
    code(
        """
        import os

        import numpy as np
        import pandas as pd

        import hierarch
        from hierarch import simulate

        # Data sets in the averaged errors below. The default is what you should use; tests run
        # the notebook with a small value through this environment variable.
        N_SIMS = int(os.environ.get("HIERARCH_NB_SIMS", "100"))
        pd.set_option("display.precision", 3)
        """
    ),
    code(
        """
        page = hierarch.explore()  # the seed's defaults: J = 16, n-bar = 8, sigma_u = 1.5, ...
        page.save("explorer.html")  # the file to hand out
        page
        """
    ),
    md(
        r"""
        ## A lesson plan: the "Try it" scenarios

        The buttons above the views set the lesson's scenarios. Ask students to predict
        before they click, then to explain what they see. Each step below gives the
        question, what the page shows, and the same numbers computed in Python: the page runs
        hierarch's own computation in the browser (a test drives it in headless Chromium and
        checks that the two agree), so a teacher can prepare the numbers in advance.
        """
    ),
    code(
        """
        SCENARIOS = {
            "default": dict(J=16, n_mean=8, sigma_u=1.5, sigma_e=2.0),
            "sigma_u = 0.2 (similar clusters)": dict(J=16, n_mean=8, sigma_u=0.2, sigma_e=2.0),
            "sigma_u = 5 (very different)": dict(J=16, n_mean=8, sigma_u=5.0, sigma_e=2.0),
            "sigma_e = 5 (noisy observations)": dict(J=16, n_mean=8, sigma_u=1.5, sigma_e=5.0),
            "n-bar = 3 (small clusters)": dict(J=16, n_mean=3, sigma_u=1.5, sigma_e=2.0),
            "J = 5, sigma_u = 0.5 (Bayes differs)": dict(J=5, n_mean=8, sigma_u=0.5, sigma_e=2.0),
        }
        SEED, BALANCE = 1, 0.25  # the page's starting seed and balance


        def one_data_set(kw):
            data = simulate.explorer_data(seed=SEED, balance=BALANCE, **kw)
            est = simulate.pooling_estimates(data, bayes=True)
            return data, est


        rows = {}
        for name, kw in SCENARIOS.items():
            data, est = one_data_set(kw)
            rows[name] = {
                "smallest alpha": est["alpha"].min(),
                "largest alpha": est["alpha"].max(),
                "mean alpha": est["alpha"].mean(),
            }
        pd.DataFrame(rows).T
        """
    ),
    md(
        r"""
        1. **Default.** Toggle the three views. In partial pooling the small clusters move
           strongly toward the dashed grand-mean line; the large ones barely move. *Question:*
           which cluster keeps the largest share of its own deviation, and why?
        2. **$\sigma_u = 0.2$.** All partial-pooling estimates collapse toward the grand
           mean; partial and complete pooling become hard to tell apart (the pooling weights
           above are small).
        3. **$\sigma_u = 5$.** Partial pooling barely shrinks: the weights are near 1 and the
           estimates are close to the clusters' own means.
        4. **$\sigma_e = 5$.** Noisy observations: the weights drop and shrinkage is strong.
        5. **$\bar n = 3$.** Small clusters: each cluster's own mean is noisy, and partial
           pooling beats both extremes in the error table by a wide margin (printed below).

        The mean squared errors over many data sets (the page's "average" column) settle
        which strategy wins in each scenario:
        """
    ),
    code(
        """
        mse = {}
        for name, kw in SCENARIOS.items():
            table = simulate.pooling_mse(
                n_sims=N_SIMS,
                seed=1000 * SEED + 1,  # the page's seeds for its average
                simulator=simulate.explorer_data,
                bayes=True,
                balance=BALANCE,
                **kw,
            )
            mse[name] = table["mse"]
        mse = pd.DataFrame(mse).T[["complete", "no_pooling", "partial", "bayes"]]
        mse["best"] = mse.idxmin(axis=1)
        mse
        """
    ),
    code(
        """
        small = mse.loc["n-bar = 3 (small clusters)"]
        ratio = min(small["complete"], small["no_pooling"]) / small["partial"]
        print(
            f"n-bar = 3: partial pooling's error is {ratio:.1f} times smaller than the better "
            f"of the two extremes (averaged over {N_SIMS} data sets)"
        )
        """
    ),
    checks(
        """
        alpha = pd.DataFrame(rows).T
        assert alpha.loc["sigma_u = 0.2 (similar clusters)", "largest alpha"] < 0.25
        assert alpha.loc["sigma_u = 5 (very different)", "smallest alpha"] > 0.85
        assert alpha.loc["sigma_e = 5 (noisy observations)", "largest alpha"] < 0.25
        if N_SIMS >= 100:  # the averaged errors of the default run
            assert mse.loc["n-bar = 3 (small clusters)", "best"] in ("partial", "bayes")
            assert ratio > 1.5
        """
    ),
    md(
        r"""
        ## Where the Bayesian view differs

        The last preset has only five clusters and a small $\sigma_u$. REML's $\hat\tau$ is
        then poorly determined, often near or at zero, and partial pooling with that plug-in
        treats it as known. The Bayesian view averages over the posterior of $\tau$ (drawn
        beside the clusters): with few clusters it is wide, and its mean lies above $\hat\tau$.
        Students can see it move as they change the seed.
        """
    ),
    code(
        """
        from hierarch.bayes.grid import random_intercept_grid

        data, est = one_data_set(SCENARIOS["J = 5, sigma_u = 0.5 (Bayes differs)"])
        post = random_intercept_grid(data["y"], data["group"])
        reml = hierarch.model("y ~ 1 + (1 | group)", data).fit(method="reml")
        tau_hat = reml.group_sds()["estimate"].iloc[0]
        print(
            f"REML tau-hat = {tau_hat:.3f}; posterior of tau: mean {post.tau_mean:.3f}, "
            f"SD {post.tau_sd:.3f}"
        )
        est[["n", "no_pooling", "partial", "bayes", "alpha", "bayes_alpha"]]
        """
    ),
    md(
        r"""
        ## The hospital question

        The page's last panel works through the lesson's question: hospital A treated 500
        patients with a mortality of 4.2%, hospital B 5 patients of whom 3 died (60%). Its
        sliders set the typical mortality and the spread of true hospital rates; the pooling
        weights follow from $\alpha_j = \tau^2 / (\tau^2 + \bar p(1 - \bar p)/n_j)$. With a
        typical mortality of 5% and a spread of 2 percentage points:
        """
    ),
    code(
        """
        from scipy import stats

        pbar, tau = 0.05, 0.02
        for name, n, rate in [("A", 500, 0.042), ("B", 5, 0.6)]:
            alpha = tau**2 / (tau**2 + pbar * (1 - pbar) / n)
            print(
                f"hospital {name}: alpha = {alpha:.3f}, estimate "
                f"{100 * (pbar + alpha * (rate - pbar)):.1f}% (own rate {100 * rate:.1f}%)"
            )
        ratio = stats.binom.pmf(3, 5, 0.6) / stats.binom.pmf(3, 5, 0.042)
        print(f"likelihood ratio of 60% against 4.2% for 3 deaths in 5: {ratio:.0f} to 1")
        """
    ),
    md(
        r"""
        The shrinkage of B is not the data's verdict (they favour 60% by the likelihood ratio
        printed above): it is the population model's, which says hospitals' rates spread by
        about $\tau$ around a common value. Discuss with the class when that model should be
        doubted (a different case mix, a different kind of hospital) and what to add then (a
        hospital-level predictor).

        ## Exercises

        1. Find settings where no pooling beats partial pooling on the data set on screen.
           Does it still win in the averaged column? Why can one data set mislead?
        2. Set $J = 3$. How do the REML and Bayesian estimates of $\tau$ compare across a few
           seeds? What does the posterior of $\tau$ look like?
        3. Set the balance to 1 (equal clusters). Why do all clusters now have the same
           pooling weight?
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
