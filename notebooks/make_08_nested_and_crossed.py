"""Write ``08_nested_and_crossed.ipynb`` from the cells below.

The "Nested and crossed random effects" part of Rafael de Andrade Moral's slides
"Introduction to Mixed Models" (seed 003), taught with the bundled data of Davies and
Goldsmith: ``pastes`` (casks nested in batches) and ``penicillin`` (plates crossed with
samples), with REML fits checked against lme4's published estimates and a Bayesian fit of the
crossed model.

Edit the cells here, not in the notebook, and regenerate::

    .venv/bin/python notebooks/make_08_nested_and_crossed.py

The notebook is stored executed at its default settings (`make notebooks`, or this script
with `--execute`).  Quick runs (tests, CI) shrink the Bayesian fit through
``HIERARCH_NB_DRAWS=300 HIERARCH_NB_CHAINS=2 MPLBACKEND=Agg`` when executing it with nbclient.
"""

from __future__ import annotations

import sys
from pathlib import Path

from nbgen import checks, code, main, md

OUT = Path(__file__).with_name("08_nested_and_crossed.ipynb")

CELLS = [
    md(
        r"""
        # Nested and crossed random effects

        So far every model had two levels: observations within one kind of group. Data often
        have more structure, and two grouping factors can relate in two ways (seed 003):

        * **nested**: the levels of one factor occur within only one level of the other.
          Casks belong to one batch; plots to one block; pupils to one class, classes to one
          school. Cask "a" of batch A and cask "a" of batch B are different casks.
        * **crossed**: the levels of one factor meet the levels of the other. Every
          participant reads many words and every word is read by many participants; every
          plate is tested with every sample.

        Both are written with one random-effect term per factor; what differs is which
        groups the terms define. This notebook fits one of each with the data of Davies and
        Goldsmith (1972), as in lme4's documentation.
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
        from hierarch.report.mixed import compare, hyperparameter_draws

        # Size of the Bayesian fit. The defaults are what you should use; tests run the
        # notebook with small values through these environment variables.
        DRAWS = int(os.environ.get("HIERARCH_NB_DRAWS", "1000"))
        CHAINS = int(os.environ.get("HIERARCH_NB_CHAINS", "4"))
        if DRAWS < 1000:
            # Only for quick test runs: so few draws cannot pass the convergence checks.
            warnings.filterwarnings("ignore", category=hierarch.ConvergenceWarning)
        pd.set_option("display.precision", 4)
        """
    ),
    md(
        r"""
        ## Nested: the strength of a chemical paste

        Ten deliveries (`batch`) of a paste, three casks sampled from each delivery, two
        strength tests on each cask. The casks are labelled `a`, `b`, `c` *within* each
        batch: the labels repeat, the casks do not.
        """
    ),
    code(
        """
        pastes = hierarch.load_dataset("pastes")
        print(pastes.head(6))
        print("casks labelled:", sorted(pastes["cask"].unique()))
        print("distinct casks:", pastes.groupby(["batch", "cask"]).ngroups)
        pd.crosstab(pastes["batch"], pastes["cask"])
        """
    ),
    md(
        r"""
        The model has a random intercept for each batch and one for each cask **within**
        its batch:

        $$
        y_{ijk} = \beta_0 + b_i + c_{ij} + e_{ijk}, \quad b_i \sim N(0, \sigma_b^2),
        \quad c_{ij} \sim N(0, \sigma_c^2), \quad e_{ijk} \sim N(0, \sigma^2).
        $$

        `(1 | batch/cask)` is shorthand for `(1 | batch) + (1 | batch:cask)`: the second
        term groups by the *combination* of batch and cask, 30 groups.
        """
    ),
    code(
        """
        nested = hierarch.model("strength ~ 1 + (1 | batch/cask)", pastes).fit(method="reml")
        print(nested)
        """
    ),
    code(
        """
        vc = nested.varcorr().set_index("group")
        # lme4's estimates (Bates, lme4 book, ch. 2): SDs 1.2874 (batch), 2.9041 (cask in
        # batch), 0.8234 (residual)
        for group, lme4_sd in [("batch", 1.2874), ("batch:cask", 2.9041), ("Residual", 0.8234)]:
            ours = vc.loc[group, "sdcor"]
            print(f"{group:10s}  hierarch {ours:.4f}   lme4 {lme4_sd:.4f}")
            assert abs(ours - lme4_sd) < 1e-3
        """
    ),
    md(
        r"""
        Most of the variation is between casks within a batch (variance 8.43), much less
        between batches (1.66), and the repeated tests of one cask agree closely (0.68).

        **The classic mistake** is to write `(1 | batch) + (1 | cask)`. With labels that
        repeat across batches, `cask` then has only three levels, "a", "b" and "c", each
        pooling ten unrelated casks, as if cask "a" were the same object in every batch: a
        crossed model of a nested design. Giving every cask a unique label (the data's
        `sample` column) makes `(1 | batch) + (1 | sample)` the nested model again.
        """
    ),
    code(
        """
        wrong = hierarch.model("strength ~ 1 + (1 | batch) + (1 | cask)", pastes).fit(
            method="reml"
        )
        unique_labels = hierarch.model("strength ~ 1 + (1 | batch) + (1 | sample)", pastes).fit(
            method="reml"
        )
        resid_right = nested.varcorr()["sdcor"].iloc[-1]
        resid_wrong = wrong.varcorr()["sdcor"].iloc[-1]
        print(
            f"residual SD: {resid_right:.2f} in the nested model, {resid_wrong:.2f} in the wrong "
            f"one ({resid_wrong / resid_right:.1f} times larger; its cask SD: "
            f"{wrong.varcorr()['sdcor'].iloc[1]:.2f})"
        )
        pd.DataFrame(
            {
                "(1 | batch/cask)": nested.varcorr()["sdcor"].to_numpy(),
                "(1 | batch) + (1 | sample)": unique_labels.varcorr()["sdcor"].to_numpy(),
                "(1 | batch) + (1 | cask)  [wrong]": wrong.varcorr()["sdcor"].to_numpy(),
            },
            index=["batch SD", "cask SD", "residual SD"],
        )
        """
    ),
    md(
        r"""
        The wrong model finds little "cask" variation (three pseudo-casks that each average
        ten real ones differ little) and pushes the real cask-to-cask variation into the
        residual, which comes out several times larger (printed above); the batch SD grows
        too. Two tests of the same cask now look as different as two casks.

        ## Crossed: the potency of penicillin

        Six samples of penicillin were each tested on 24 agar plates; the response is the
        diameter of the zone where bacterial growth is inhibited. Every sample meets every
        plate: **plate and sample are crossed**.
        """
    ),
    code(
        """
        penicillin = hierarch.load_dataset("penicillin")
        table = penicillin.pivot(index="plate", columns="sample", values="diameter")
        n_missing = int(table.isna().sum().sum())
        print(f"{table.shape[0]} plates x {table.shape[1]} samples, {n_missing} missing")
        table.head()
        """
    ),
    code(
        """
        fig, ax = plt.subplots(figsize=(7, 3.5), layout="constrained")
        for sample, column in table.items():
            ax.plot(range(len(table)), column.to_numpy(), marker="o", ms=3, lw=0.8, label=sample)
        ax.set_xticks(range(len(table)), table.index, fontsize="small")
        ax.set_xlabel("plate")
        ax.set_ylabel("diameter (mm)")
        ax.legend(title="sample", ncols=6, fontsize="small", frameon=False)
        ax.set_title("Samples keep their order on every plate; plates shift all samples")
        plt.show()
        """
    ),
    md(
        r"""
        The lines are nearly parallel: each sample has its own potency, each plate shifts all
        six samples up or down. The model has one random intercept per plate and one per
        sample, **added**, not nested:

        $$
        y_{ij} = \beta_0 + p_i + s_j + e_{ij}, \quad p_i \sim N(0, \sigma_p^2),
        \quad s_j \sim N(0, \sigma_s^2).
        $$
        """
    ),
    code(
        """
        crossed = hierarch.model("diameter ~ 1 + (1 | plate) + (1 | sample)", penicillin).fit(
            method="reml"
        )
        vc = crossed.varcorr().set_index("group")
        # lme4's estimates (lme4 book, ch. 2): SDs 0.8467 (plate), 1.9316 (sample), 0.5499
        for group, lme4_sd in [("plate", 0.8467), ("sample", 1.9316), ("Residual", 0.5499)]:
            ours = vc.loc[group, "sdcor"]
            print(f"{group:8s}  hierarch {ours:.4f}   lme4 {lme4_sd:.4f}")
            assert abs(ours - lme4_sd) < 1e-3
        """
    ),
    md(
        r"""
        The samples differ more (SD 1.93 mm) than the plates (0.85 mm), and both more than
        the residual (0.55 mm). But the sample SD rests on **six** samples only, while the
        plate SD rests on 24 plates: the same estimate, very different certainty. The
        Bayesian fit shows it. hierarch integrates both sets of random effects out exactly
        (the crossed design's sparse factor), so NUTS samples only the intercept and the
        three SDs.
        """
    ),
    code(
        """
        m_pen = hierarch.model("diameter ~ 1 + (1 | plate) + (1 | sample)", penicillin)
        bayes = m_pen.fit(draws=DRAWS, chains=CHAINS, random_seed=2024, progressbar=False)
        print(bayes.diagnostics())
        compare(crossed, bayes)
        """
    ),
    code(
        """
        plots.plot_hyperparameters(hyperparameter_draws(bayes))
        plt.show()
        sds = bayes.group_sds().set_index("group")
        for group in ("plate", "sample"):
            row = sds.loc[group]
            print(
                f"{group}: posterior mean {row['estimate']:.2f} mm, "
                f"interval {row['lower']:.2f} to {row['upper']:.2f} mm"
            )
        """
    ),
    checks(
        """
        variances = nested.varcorr()["vcov"]
        says(variances.iloc[1], "8.43", ".2f")
        says(variances.iloc[0], "1.66", ".2f")
        says(variances.iloc[2], "0.68", ".2f")
        sds = crossed.varcorr().set_index("group")["sdcor"]
        says(sds["sample"], "1.93", ".2f")
        says(sds["plate"], "0.85", ".2f")
        says(sds["Residual"], "0.55", ".2f")
        """
    ),
    md(
        r"""
        The sample SD's posterior is wide and skewed: six samples cannot say whether the
        spread of potencies is 1 mm or 4 mm. The plate SD is pinned down far better.

        ## What to take away

        * Nested and crossed factors are both one random-effect term per factor. What makes a
          design nested is that a lower-level unit belongs to one upper-level unit; make its
          labels unique (or write `(1 | batch/cask)`) so that the model knows.
        * Crossed factors each get their own term, added; every observation carries one
          effect of each.
        * The precision of a variance component depends on how many **levels** its factor
          has, not on how many observations: six samples give a poorly determined SD however
          many plates test them.

        ## Exercises

        1. Fit the pastes model without the batch term, `strength ~ 1 + (1 | sample)`. Where
           does the batch variance go? Compare the REML criteria.
        2. Drop the plate term from the penicillin model. What happens to the residual SD, and
           why? Which model would you report?
        3. With the Bayesian fit, compute the posterior probability that the sample SD is
           larger than the plate SD.
        """
    ),
]


if __name__ == "__main__":
    sys.exit(main(CELLS, OUT, sys.argv))
