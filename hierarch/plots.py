"""Plots: each draws only what a reporting function returned, and returns the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from hierarch.report import TauSummary

__all__ = ["plot_population", "plot_shrinkage", "plot_tau"]


def _ax(ax: Axes | None, figsize=(6.4, 4.2)) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax


def plot_shrinkage(
    table: pd.DataFrame, ax: Axes | None = None, *, label: str = "partial pooling"
) -> Axes:
    """Each group's unpooled estimate joined to its partially pooled estimate.

    Parameters
    ----------
    table : DataFrame
        The output of :func:`hierarch.shrinkage`.
    ax : matplotlib Axes, optional

    Examples
    --------
    >>> ax = hierarch.plots.plot_shrinkage(fit.shrinkage())  # doctest: +SKIP
    """
    ax = _ax(ax)
    n = table["n"].to_numpy(dtype=float)
    size = 15 + 85 * (n - n.min()) / max(np.ptp(n), 1.0)
    x0, x1 = 0.0, 1.0
    for _, row in table.iterrows():
        ax.plot([x0, x1], [row["unpooled"], row["partial"]], color="0.6", lw=0.8, zorder=1)
    ax.scatter(
        np.full(len(table), x0),
        table["unpooled"],
        s=size,
        color="C0",
        alpha=0.7,
        label="unpooled (m/n)",
        zorder=2,
    )
    ax.scatter(
        np.full(len(table), x1),
        table["partial"],
        s=size,
        color="C1",
        alpha=0.7,
        label=label,
        zorder=2,
    )
    grand = float(table["grand_mean"].iloc[0])
    ax.axhline(grand, color="k", ls="--", lw=1, label=f"grand mean {grand:.3f}")
    ax.set_xticks([x0, x1], ["unpooled", label])
    ax.set_xlim(-0.3, 1.3)
    ax.set_ylabel("estimated probability")
    ax.set_title("Shrinkage toward the grand mean (point size: n)")
    ax.legend(loc="upper center", fontsize="small", frameon=False)
    return ax


def plot_population(
    population: pd.DataFrame, new_group: pd.DataFrame | None = None, ax: Axes | None = None
) -> Axes:
    """Population density of group probabilities, with the new-group interval shaded.

    Parameters
    ----------
    population : DataFrame
        The output of :func:`hierarch.population` (a band is drawn if it has ``lower``/``upper``).
    new_group : DataFrame, optional
        The output of :func:`hierarch.new_group`; its ``probability`` interval is shaded.
    """
    ax = _ax(ax)
    ax.plot(population["theta"], population["density"], color="C0", label="population density")
    if {"lower", "upper"} <= set(population.columns):
        ax.fill_between(
            population["theta"],
            population["lower"],
            population["upper"],
            color="C0",
            alpha=0.2,
            label="pointwise band",
        )
    if new_group is not None:
        lo, hi = new_group.loc["probability", ["lower", "upper"]]
        pct = 100 * new_group.attrs.get("prob", 0.95)
        ax.axvspan(
            lo,
            hi,
            color="C1",
            alpha=0.15,
            label=f"{pct:g}% interval for a new group [{lo:.3f}, {hi:.3f}]",
        )
    ax.set_xlabel(r"group probability $\theta$")
    ax.set_ylabel("density")
    ax.set_xlim(
        0,
        min(
            1.0,
            float(
                population["theta"][
                    population["density"] > 1e-3 * population["density"].max()
                ].max()
            )
            * 1.1,
        ),
    )
    ax.set_title("Estimated population distribution of group probabilities")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_tau(summary: TauSummary, ax: Axes | None = None) -> Axes:
    """Posterior of tau (histogram of draws, HDI marked) against its prior density."""
    ax = _ax(ax)
    ax.hist(summary.draws, bins=60, density=True, color="C0", alpha=0.6, label="posterior")
    ax.plot(
        summary.prior_density["tau"],
        summary.prior_density["density"],
        color="k",
        ls="--",
        label=f"prior {summary.prior}",
    )
    ax.axvline(summary.mean, color="C3", lw=1.2, label=f"posterior mean {summary.mean:.3f}")
    ax.hlines(
        0,
        summary.hdi_lower,
        summary.hdi_upper,
        color="C3",
        lw=4,
        label=f"{100 * summary.hdi_prob:g}% HDI",
    )
    ax.set_xlabel(r"$\tau$ (between-group SD, log-odds)")
    ax.set_ylabel("density")
    ax.set_title(r"Posterior of $\tau$")
    ax.legend(fontsize="small", frameon=False)
    return ax
