"""Plots: each draws only what a reporting function returned, and returns the Axes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation
    from matplotlib.collections import PathCollection
    from matplotlib.figure import Figure

from hierarch.core.families import get_family
from hierarch.report.tau import TauSummary

__all__ = [
    "ShrinkageAnimation",
    "animate_shrinkage",
    "plot_caterpillar",
    "plot_category_probabilities",
    "plot_group_lines",
    "plot_hyperparameters",
    "plot_population",
    "plot_ppc",
    "plot_ppc_groups",
    "plot_sbc_ranks",
    "plot_shrinkage",
    "plot_shrinkage_2d",
    "plot_tau",
    "shrinkage_animation",
]


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
        The output of :func:`hierarch.shrinkage` (binomial hierarchy) or of
        :func:`hierarch.report.mixed.shrinkage` for a model with one coefficient per group
        (any scale; the dashed line is the grand mean when the table has one, otherwise
        complete pooling).
    ax : matplotlib Axes, optional

    Examples
    --------
    >>> ax = hierarch.plots.plot_shrinkage(fit.shrinkage())  # doctest: +SKIP
    """
    if "unpooled" not in table.columns or "partial" not in table.columns:
        raise ValueError(
            "plot_shrinkage draws one coefficient per group (columns 'unpooled' and "
            "'partial'); for two coefficients use plot_shrinkage_2d"
        )
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
        label="unpooled",
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
    if "grand_mean" in table.columns:
        grand, what = float(table["grand_mean"].iloc[0]), "grand mean"
    else:
        grand, what = float(table["complete"].iloc[0]), "complete pooling"
    ax.axhline(grand, color="k", ls="--", lw=1, label=f"{what} {grand:.3f}")
    ax.set_xticks([x0, x1], ["unpooled", label])
    ax.set_xlim(-0.3, 1.3)
    scale = table.attrs.get("scale")
    if "successes" in table.columns:  # the binomial hierarchy's table
        ylabel = "estimated probability"
    elif scale == "response":
        ylabel = f"estimated {table.attrs.get('quantity', 'probability')}"
    else:
        ylabel = "estimate (link scale)" if scale else "estimate"
    ax.set_ylabel(ylabel)
    ax.set_title(f"Shrinkage toward the {what} (point size: n)")
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
    if summary.draws is None:
        raise ValueError(
            "plot_tau draws a posterior; this tau is a maximum-likelihood estimate "
            f"({summary.estimate:.4f}): plot the tau() of a Bayesian fit"
        )
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
    ax.set_xlabel(rf"$\tau$ (between-group SD, {summary.scale})")
    ax.set_ylabel("density")
    ax.set_title(r"Posterior of $\tau$")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_tau_comparison(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """tau by both approaches, from :func:`hierarch.report.tau.tau_comparison`: the
    posterior (density of the draws, posterior median and HDI), the prior, and the
    normalised profile likelihood with the ML estimate and its profile interval."""
    a = table.attrs
    ax = _ax(ax)
    ax.fill_between(table["tau"], table["posterior"], color="C0", alpha=0.35, label="posterior")
    ax.plot(
        table["tau"], table["prior"], color="k", ls="--", lw=1, label=f"prior {a['prior_label']}"
    )
    ax.plot(
        table["tau"],
        table["profile_likelihood"],
        color="C1",
        lw=2,
        label="profile likelihood (normalised)",
    )
    ax.axvline(
        a["ml_estimate"],
        color="C1",
        lw=1,
        label=f"{a['ml_method']} estimate {a['ml_estimate']:.3f}",
    )
    top = float(np.nanmax(table[["posterior", "profile_likelihood"]].to_numpy()))
    ax.hlines(
        -0.04 * top,
        a["ml_lower"],
        a["ml_upper"],
        color="C1",
        lw=4,
        label=f"{100 * a['conf_level']:g}% profile interval",
    )
    ax.axvline(
        a["posterior_median"],
        color="C0",
        lw=1,
        label=f"posterior median {a['posterior_median']:.3f}",
    )
    ax.hlines(
        -0.09 * top,
        a["hdi_lower"],
        a["hdi_upper"],
        color="C0",
        lw=4,
        label=f"{100 * a['hdi_prob']:g}% HDI",
    )
    group = f" of {a['group']}" if a.get("group") else ""
    ax.set_xlabel(rf"$\tau$ (between-group SD{group}, {a['scale']})")
    ax.set_ylabel("density")
    ax.set_title(r"$\tau$: posterior and profile likelihood")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_shrinkage_2d(
    table: pd.DataFrame, ax: Axes | None = None, *, coefs: tuple[str, str] | None = None
) -> Axes:
    """Arrows from each group's separate fit to its partially pooled (intercept, slope).

    Parameters
    ----------
    table : DataFrame
        :func:`hierarch.report.mixed.shrinkage` of a model with two coefficients per group.
    coefs : (str, str), optional
        The two coefficients (default: the first two found in the table).
    """
    ax = _ax(ax, figsize=(6.0, 5.0))
    if coefs is None:
        names = [c[len("unpooled_") :] for c in table.columns if c.startswith("unpooled_")]
        if len(names) < 2:
            raise ValueError("plot_shrinkage_2d needs a table with two coefficients per group")
        coefs = (names[0], names[1])
    a, b = coefs
    ok = table[f"unpooled_{a}"].notna() & table[f"unpooled_{b}"].notna()
    t = table[ok]
    n = t["n"].to_numpy(dtype=float)
    size = 12 + 60 * (n - n.min()) / max(np.ptp(n), 1.0)
    ax.quiver(
        t[f"unpooled_{a}"],
        t[f"unpooled_{b}"],
        t[f"partial_{a}"] - t[f"unpooled_{a}"],
        t[f"partial_{b}"] - t[f"unpooled_{b}"],
        angles="xy",
        scale_units="xy",
        scale=1,
        color="0.55",
        width=0.003,
        zorder=1,
    )
    ax.scatter(
        t[f"unpooled_{a}"],
        t[f"unpooled_{b}"],
        s=size,
        color="C0",
        alpha=0.7,
        label="separate fit per group",
        zorder=2,
    )
    ax.scatter(
        t[f"partial_{a}"],
        t[f"partial_{b}"],
        s=size,
        color="C1",
        alpha=0.8,
        label="partial pooling",
        zorder=3,
    )
    ax.scatter(
        [t[f"complete_{a}"].iloc[0]],
        [t[f"complete_{b}"].iloc[0]],
        marker="X",
        s=120,
        color="k",
        label="complete pooling",
        zorder=4,
    )
    ax.set_xlabel(a)
    ax.set_ylabel(b)
    ax.set_title("Shrinkage of group intercepts and slopes")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_group_lines(
    table: pd.DataFrame,
    x: np.ndarray,
    ax: Axes | None = None,
    *,
    slope: str | None = None,
    groups: list | None = None,
) -> Axes:
    """Per-group fitted lines (partial pooling, solid) against separate fits (dashed).

    Parameters
    ----------
    table : DataFrame
        :func:`hierarch.report.mixed.shrinkage` of a model ``y ~ x + (x | g)``.
    x : array
        Values of the predictor at which to draw the lines.
    slope : str, optional
        Name of the slope coefficient (default: the non-intercept one).
    groups : list, optional
        Only these groups (default: all).
    """
    ax = _ax(ax)
    if slope is None:
        slope = [
            c[len("unpooled_") :]
            for c in table.columns
            if c.startswith("unpooled_") and c != "unpooled_Intercept"
        ][0]
    t = table if groups is None else table[table["group"].isin(groups)]
    colors = plt.cm.rainbow(np.linspace(0, 1, len(t)))
    x = np.asarray(x, dtype=float)
    for color, (_, r) in zip(colors, t.iterrows(), strict=True):
        ax.plot(x, r["partial_Intercept"] + r[f"partial_{slope}"] * x, color=color, lw=1)
        if np.isfinite(r["unpooled_Intercept"]):
            ax.plot(
                x,
                r["unpooled_Intercept"] + r[f"unpooled_{slope}"] * x,
                color=color,
                lw=0.8,
                ls="--",
                alpha=0.7,
            )
    c0 = table.iloc[0]
    ax.plot(
        x,
        c0["complete_Intercept"] + c0[f"complete_{slope}"] * x,
        color="k",
        lw=3,
        label="complete pooling",
    )
    ax.plot([], [], color="0.3", lw=1, label="partial pooling (mixed model)")
    ax.plot([], [], color="0.3", lw=0.8, ls="--", label="separate fit per group")
    ax.set_xlabel(slope)
    ax.set_title("Per-group lines: partial pooling vs separate fits")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_caterpillar(coefs: pd.DataFrame, coef: str = "Intercept", ax: Axes | None = None) -> Axes:
    """Group coefficients sorted by estimate, with their intervals.

    Parameters
    ----------
    coefs : DataFrame
        :func:`hierarch.report.mixed.coefficients` (long format).
    coef : str
        Which coefficient to show.
    """
    t = coefs[coefs["coef"] == coef].sort_values("estimate").reset_index(drop=True)
    ax = _ax(ax, figsize=(6.0, min(10.0, max(3.0, 0.12 * len(t) + 1))))
    pos = np.arange(len(t))
    ax.hlines(pos, t["lower"], t["upper"], color="C0", lw=1)
    ax.plot(t["estimate"], pos, "o", color="C0", ms=3)
    if len(t) <= 60:
        ax.set_yticks(pos, [str(g) for g in t["group"]], fontsize="x-small")
    else:
        ax.set_yticks([])
    ax.set_xlabel(coef)
    ax.set_title(f"Group coefficients: {coef}")
    return ax


def _hyperparameter_label(p: str) -> str:
    """``sd[id: week]`` -> "SD of week between id groups", and so on."""
    if p.startswith("sd[") and ": " in p:
        factor, effect = p[3:-1].split(": ", 1)
        return f"SD of {effect} between {factor} groups"
    if p.startswith("cor[") and ": " in p:
        factor, pair = p[4:-1].split(": ", 1)
        return f"correlation of {pair.replace(', ', ' and ')} ({factor})"
    return {
        "sigma": "residual SD",
        "alpha": "negative binomial alpha",
        "shape": "gamma shape",
        "kappa": "beta precision",
        "lam": "inverse Gaussian shape",
    }.get(p, p)


def plot_hyperparameters(draws: pd.DataFrame, axes=None):
    """Posteriors of the group SDs, correlations and residual SD, with their priors.

    Each panel: a histogram of the posterior draws, the posterior mean (red line) and, when
    the table carries them (``draws.attrs["priors"]``, as
    :func:`hierarch.report.mixed.hyperparameter_draws` returns), the prior density (dashed),
    so that it shows how much the data moved each hyperparameter.

    Parameters
    ----------
    draws : DataFrame
        :func:`hierarch.report.mixed.hyperparameter_draws`.

    Returns
    -------
    ndarray of Axes
    """
    params = list(dict.fromkeys(draws["parameter"]))
    priors = draws.attrs.get("priors")
    if axes is None:
        _, axes = plt.subplots(
            1, len(params), figsize=(3.4 * len(params), 3.2), layout="constrained", squeeze=False
        )
        axes = axes[0]
    for i, (ax, p) in enumerate(zip(axes, params, strict=True)):
        v = draws.loc[draws["parameter"] == p, "value"].to_numpy()
        ax.hist(v, bins=50, density=True, color="C0", alpha=0.7, label="posterior")
        ax.axvline(v.mean(), color="C3", lw=1, label="posterior mean")
        if priors is not None and len(priors):
            pr = priors[priors["parameter"] == p]
            if len(pr):
                ax.plot(pr["value"], pr["density"], color="k", ls="--", lw=1, label="prior")
        ax.set_title(p, fontsize="small")
        ax.set_xlabel(_hyperparameter_label(p), fontsize="small")
        ax.set_yticks([])
        if i == 0:
            ax.set_ylabel("density")
            ax.legend(fontsize="x-small", frameon=False)
    return np.asarray(axes)


def plot_ppc(replicates: pd.DataFrame, ax: Axes | None = None, *, max_lines: int = 50) -> Axes:
    """Observed response distribution against posterior (or prior) predictive replicates.

    Parameters
    ----------
    replicates : DataFrame
        :func:`hierarch.report.mixed.ppc`, or a model's ``prior_predictive()``
        (``attrs["kind"] == "prior"``): then the axis spans the central 98% of the replicates
        and the data, however far the priors reach.
    """
    ax = _ax(ax)
    obs = replicates["observed"].to_numpy()
    reps = [c for c in replicates.columns if c.startswith("rep_")][:max_lines]
    kind = replicates.attrs.get("kind", "posterior")
    family = replicates.attrs.get("family")
    discrete = family in ("bernoulli", "binomial") or (
        family is not None and get_family(family).support == "count"
    )
    if discrete:
        top = int(np.quantile(replicates[reps + ["observed"]].to_numpy(), 0.995)) + 1
        bins = np.arange(-0.5, top + 1.5)
    elif kind == "prior":
        allv = replicates[reps].to_numpy()
        lo = min(np.quantile(allv, 0.01), obs.min())
        hi = max(np.quantile(allv, 0.99), obs.max())
        bins = np.linspace(lo, hi, 60)
    else:
        allv = replicates[reps + ["observed"]].to_numpy()
        bins = np.linspace(np.quantile(allv, 0.001), np.quantile(allv, 0.999), 40)
    centres = 0.5 * (bins[1:] + bins[:-1])
    for c in reps:
        h, _ = np.histogram(replicates[c], bins=bins, density=True)
        ax.plot(centres, h, color="C0", alpha=0.15, lw=0.8)
    h, _ = np.histogram(obs, bins=bins, density=True)
    ax.plot(centres, h, color="k", lw=2, label="observed")
    ax.plot([], [], color="C0", alpha=0.6, label=f"{len(reps)} {kind} predictive replicates")
    ax.set_xlabel("response")
    ax.set_ylabel("density")
    ax.set_title(f"{kind.capitalize()} predictive check")
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_ppc_groups(table: pd.DataFrame, ax: Axes | None = None) -> Axes:
    """Each group's observed statistic against the interval of its replicates.

    Parameters
    ----------
    table : DataFrame
        :func:`hierarch.report.mixed.ppc_groups`. Groups outside their interval are drawn in
        red.
    """
    ax = _ax(ax)
    y = np.arange(len(table))
    out = (table["observed"] < table["lower"]) | (table["observed"] > table["upper"])
    ax.hlines(y, table["lower"], table["upper"], color="C0", lw=2, alpha=0.6)
    ax.plot(table["replicated"], y, "|", color="C0", ms=8)
    ax.scatter(table["observed"], y, color=np.where(out, "C3", "k"), s=14, zorder=3)
    ax.set_yticks(y, [str(g) for g in table["group"]], fontsize="small")
    ax.set_ylabel(table.attrs.get("factor", "group"))
    stat = table.attrs.get("stat", "mean")
    ax.set_xlabel(f"{stat} of the group's response")
    pct = round(100 * table.attrs.get("prob", 0.95))
    ax.set_title(
        f"Posterior predictive check by group: {int(out.sum())} of {len(table)} outside {pct}%"
    )
    ax.scatter([], [], color="k", s=14, label="observed")
    ax.plot([], [], color="C0", lw=2, alpha=0.6, label=f"replicates, central {pct}%")
    ax.legend(fontsize="small", frameon=False, loc="best")
    return ax


def plot_category_probabilities(
    table: pd.DataFrame, ax: Axes | None = None, *, label: list[str] | None = None
) -> Axes:
    """Stacked bars of an ordinal model's category probabilities, one bar per row of the
    new data, darker for higher categories.

    Parameters
    ----------
    table : DataFrame
        :func:`hierarch.report.mixed.category_probabilities`.
    label : list of str, optional
        Columns of the new data that name each bar (default: all but the results').
    """
    ax = _ax(ax)
    results = {"row", "category", "mean", "lower", "upper"}
    label = label or [c for c in table.columns if c not in results]
    wide = table.pivot(index="row", columns="category", values="mean")
    cats = list(dict.fromkeys(table["category"]))
    wide = wide[cats]
    names = (
        table.drop_duplicates("row")
        .set_index("row")[label]
        .astype(str)
        .agg(", ".join, axis=1)
        .loc[wide.index]
    )
    colors = plt.cm.viridis(np.linspace(0.9, 0.1, len(cats)))
    left = np.zeros(len(wide))
    y = -np.arange(len(wide))  # the first row on top (also on axes sharing y)
    for c, color in zip(cats, colors, strict=True):
        ax.barh(y, wide[c], left=left, color=color, label=str(c), height=0.7)
        left += wide[c].to_numpy()
    ax.set_yticks(y, list(names))
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"probability ({table.attrs.get('kind', 'fixed')} prediction, mean)")
    ax.legend(
        title="category",
        fontsize="small",
        frameon=False,
        loc="center left",
        bbox_to_anchor=(1.0, 0.5),
    )
    return ax


def plot_sbc_ranks(histogram: pd.DataFrame, axes=None):
    """Rank histograms of a simulation-based calibration run, one panel per parameter, with
    the count expected under uniform ranks and its central 99% band.

    Parameters
    ----------
    histogram : DataFrame
        :func:`hierarch.report.sbc.rank_histogram` (``result.ranks``, ``result.L``).
    """
    import matplotlib.pyplot as plt

    cols = list(histogram.columns)
    if axes is None:
        ncol = min(3, len(cols))
        nrow = -(-len(cols) // ncol)
        _, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.6 * nrow), squeeze=False)
    flat = np.ravel(axes)
    lo, hi = histogram.attrs["band"]
    bins = np.arange(len(histogram))
    for ax, c in zip(flat, cols, strict=False):
        ax.axhspan(lo, hi, color="0.85", zorder=0)
        ax.axhline(histogram.attrs["expected"], color="0.4", lw=1)
        ax.bar(bins, histogram[c], width=0.9, color="C0")
        ax.set_title(c, fontsize="small")
        ax.set_xlabel("rank bin")
    for ax in flat[len(cols) :]:
        ax.set_visible(False)
    flat[0].set_ylabel("simulations")
    return axes


@dataclass
class ShrinkageAnimation:
    """The figure of the shrinkage animation and what draws each frame.

    Attributes
    ----------
    figure : matplotlib.figure.Figure
    animation : matplotlib.animation.FuncAnimation
    points : matplotlib.collections.PathCollection
        The groups' estimates; after ``update(i)`` their offsets are frame ``i``'s positions.
    update : callable
        ``update(i)`` draws frame ``i`` and returns the changed artists.
    """

    figure: Figure
    animation: FuncAnimation
    points: PathCollection
    update: Callable[[int], list]


def _limits(values: np.ndarray, keep: np.ndarray) -> tuple[float, float]:
    """Axis limits that hold every mixed-model estimate and most separate fits: as the seed
    001 demonstration, the most extreme separate fits may start outside the view."""
    lo = min(np.nanmin(keep), np.nanquantile(values, 0.03))
    hi = max(np.nanmax(keep), np.nanquantile(values, 0.97))
    pad = 0.08 * (hi - lo or 1.0)
    return lo - pad, hi + pad


def shrinkage_animation(frames: xr.Dataset, *, figsize=(6.0, 5.0)) -> ShrinkageAnimation:
    """The animation of :func:`hierarch.report.frames.shrinkage_frames`, not yet written.

    Two coefficients per group: a scatter of (first, second) coefficient, every group moving
    from its separate fit to its mixed-model estimate, point size by group size, the
    complete-pooling estimate as a black cross, grey trails behind each point and, for
    Bayesian fits, a faint cloud of posterior draws fading in.  One coefficient: the groups in
    rows (ordered by their separate fits), moving along the x axis to the mixed-model line.
    """
    from matplotlib.animation import FuncAnimation
    from matplotlib.collections import LineCollection

    pos = frames["position"].values
    start, end = pos[0], pos[-1]
    two_d = frames.sizes["coef"] >= 2
    n = frames["n"].values.astype(float)
    size = 14 + 70 * (n - n.min()) / max(np.ptp(n), 1.0) if np.ptp(n) > 0 else np.full(n.size, 30.0)
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    names = list(frames["coef"].values)
    scale = frames.attrs.get("scale", "link")
    if two_d:

        def xy(p):
            return p[:, :2]

        ax.set_xlim(*_limits(frames["unpooled"].values[:, 0], end[:, 0]))
        ax.set_ylim(*_limits(frames["unpooled"].values[:, 1], end[:, 1]))
        ax.set_xlabel(f"{names[0]} ({scale} scale)" if scale == "response" else names[0])
        ax.set_ylabel(names[1])
        centre = frames["complete"].values[:2]
    else:
        order = np.argsort(np.argsort(frames["unpooled"].values[:, 0]))  # rank of each group
        rows = order.astype(float)

        def xy(p):
            return np.column_stack([p[:, 0], rows])

        ax.set_xlim(*_limits(frames["unpooled"].values[:, 0], end[:, 0]))
        ax.set_ylim(-1, len(rows))
        ax.set_yticks([])
        ax.set_ylabel("groups, ordered by their separate estimates")
        ax.set_xlabel("estimate" + (" (proportion)" if scale == "response" else ""))
        centre = None
    cloud = None
    if "draws" in frames:
        d = frames["draws"].values  # (group, draw, coef)
        if two_d:
            cxy = d[:, :, :2].reshape(-1, 2)
        else:
            jitter = np.linspace(-0.3, 0.3, d.shape[1])
            cxy = np.column_stack([d[:, :, 0].ravel(), (rows[:, None] + jitter[None]).ravel()])
        cloud = ax.scatter(cxy[:, 0], cxy[:, 1], s=3, color="C1", alpha=0.0, lw=0, zorder=1)
    trails = LineCollection([], colors="0.6", linewidths=0.7, zorder=2)
    ax.add_collection(trails)
    points = ax.scatter(
        *xy(start).T, s=size, color="C0", alpha=0.75, edgecolor="white", linewidth=0.5, zorder=3
    )
    if centre is not None:
        ax.scatter(
            [centre[0]],
            [centre[1]],
            marker="X",
            s=160,
            color="k",
            zorder=4,
            label="complete pooling",
        )
    else:
        ax.axvline(
            float(frames["complete"].values[0]),
            color="k",
            lw=1.5,
            ls="--",
            label="complete pooling",
        )
    ax.legend(loc="upper right" if two_d else "lower right", fontsize="small", frameon=False)
    title = ax.set_title("")
    bayes = frames.attrs.get("method") == "bayes"
    target = "posterior means" if bayes else "mixed model"

    def update(i: int) -> list:
        p = frames["progress"].values[i]
        now = xy(pos[i])
        points.set_offsets(now)
        trails.set_segments(np.stack([xy(start), now], axis=1))
        title.set_text(f"separate fits \u2192 {target}: {p:4.0%} of the way")
        changed = [points, trails, title]
        if cloud is not None:
            cloud.set_alpha(0.3 * p)
            changed.append(cloud)
        return changed

    update(0)
    anim = FuncAnimation(fig, update, frames=frames.sizes["frame"], blit=False)
    return ShrinkageAnimation(fig, anim, points, update)


def animate_shrinkage(
    frames: xr.Dataset, path: str | Path, *, fps: int = 12, dpi: int = 80
) -> Path:
    """Write the shrinkage animation to a GIF (Pillow) or an MP4 (ffmpeg, where installed).

    Parameters
    ----------
    frames : xarray.Dataset
        :func:`hierarch.report.frames.shrinkage_frames`.
    path : str or Path
        Ends in ``.gif`` or ``.mp4``.
    fps, dpi : int
        Frames per second and resolution.

    Returns
    -------
    Path

    Examples
    --------
    >>> import hierarch, tempfile, pathlib
    >>> from hierarch.report.frames import shrinkage_frames
    >>> fit = hierarch.binomial_model("m", "n", "batch", hierarch.load_dataset("rats"),
    ...                               multilevel=True)
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rats.gif"
    >>> animate_shrinkage(shrinkage_frames(fit, n_frames=6), out, dpi=40).stat().st_size > 0
    True
    """
    from matplotlib import animation

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gif":
        writer = animation.PillowWriter(fps=fps)
    elif suffix == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise ValueError(
                f"writing {path.name} needs ffmpeg, which is not installed here; "
                "write a .gif instead (Pillow), or install ffmpeg"
            )
        writer = animation.FFMpegWriter(fps=fps)
    else:
        raise ValueError(f"the animation is written as .gif or .mp4, got {path.name}")
    path.parent.mkdir(parents=True, exist_ok=True)
    anim = shrinkage_animation(frames)
    try:
        anim.animation.save(path, writer=writer, dpi=dpi)
    finally:
        plt.close(anim.figure)
    return path
