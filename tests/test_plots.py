"""Plots draw what the reporting functions returned and hand back the Axes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.axes import Axes

from hierarch import plots


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_plot_shrinkage(rats_ml):
    table = rats_ml.shrinkage()
    ax = plots.plot_shrinkage(table)
    assert isinstance(ax, Axes)
    # one line per group plus the grand-mean line; two scatter layers sized by n
    assert len(ax.lines) == len(table) + 1
    assert len(ax.collections) == 2
    sizes = ax.collections[0].get_sizes()
    assert sizes.argmin() == table["n"].to_numpy().argmin()
    assert ax.lines[-1].get_ydata()[0] == pytest.approx(table["grand_mean"].iloc[0])


def test_plot_population_with_new_group_interval(rats_bayes):
    pop, ng = rats_bayes.population(), rats_bayes.new_group()
    _, ax = plt.subplots()
    out = plots.plot_population(pop, ng, ax=ax)
    assert out is ax
    np.testing.assert_allclose(ax.lines[0].get_ydata(), pop["density"])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("interval for a new group" in s for s in labels)
    assert "pointwise band" in labels


def test_plot_tau_draws_posterior_and_prior(rats_bayes):
    summary = rats_bayes.tau()
    ax = plots.plot_tau(summary)
    prior_line = ax.lines[0]
    np.testing.assert_allclose(prior_line.get_ydata(), summary.prior_density["density"])
    assert len(ax.patches) == 60  # histogram bars
    assert ax.lines[1].get_xdata()[0] == pytest.approx(summary.mean)


def test_mixed_plots(pigs_reml, pigs_bayes):
    from hierarch.report import mixed as report_mixed

    t = pigs_reml.shrinkage()
    ax = plots.plot_shrinkage_2d(t)
    assert len(ax.collections) == 4  # arrows + separate fits + partial pooling + complete
    np.testing.assert_allclose(ax.collections[2].get_offsets()[:, 0], t["partial_Intercept"])
    ax = plots.plot_group_lines(t, np.arange(1, 10), groups=[1, 2, 3])
    assert len([ln for ln in ax.lines if len(ln.get_xdata()) == 9]) == 3 * 2 + 1
    coefs = pigs_reml.coefficients()
    ax = plots.plot_caterpillar(coefs, "week")
    assert len(ax.lines[0].get_xdata()) == 48
    assert np.all(np.diff(ax.lines[0].get_xdata()) >= 0)  # sorted
    axes = plots.plot_hyperparameters(report_mixed.hyperparameter_draws(pigs_bayes))
    assert [a.get_title() for a in axes] == [
        "sd[id: Intercept]",
        "sd[id: week]",
        "cor[id: Intercept, week]",
        "sigma",
    ]


def test_plot_shrinkage_takes_a_glmm_table(rats):
    import hierarch

    fit = hierarch.model("m | trials(n) ~ 1 + (1 | batch)", rats, family="binomial").fit(
        method="laplace"
    )
    table = fit.shrinkage(scale="response")
    ax = plots.plot_shrinkage(table)
    assert ax.get_ylabel() == "estimated probability"
    # every random-intercept table has the grand mean (the fixed intercept) to shrink toward
    assert "grand mean" in ax.get_title()
    (line,) = [ln for ln in ax.lines if ln.get_label().startswith("grand mean")]
    assert line.get_ydata()[0] == pytest.approx(table["grand_mean"].iloc[0])
    # the partially pooled points are the table's
    np.testing.assert_allclose(ax.collections[1].get_offsets()[:, 1], table["partial"])
    assert plots.plot_shrinkage(fit.shrinkage()).get_ylabel() == "estimate (link scale)"
    plt.close("all")


def test_shrinkage_animation_draws_each_frame(pigs_reml, rats_bayes, tmp_path):
    # the drawn points are the frames' positions, frame by frame (first: separate fits; last:
    # mixed-model estimates), and the written GIF has every frame
    from PIL import Image

    from hierarch.report.frames import shrinkage_frames

    frames = shrinkage_frames(pigs_reml, n_frames=6)
    anim = plots.shrinkage_animation(frames)
    for i in range(6):
        anim.update(i)
        np.testing.assert_allclose(anim.points.get_offsets(), frames["position"].values[i])
    np.testing.assert_allclose(anim.points.get_offsets(), frames["partial"].values)
    anim.update(0)
    np.testing.assert_allclose(anim.points.get_offsets(), frames["unpooled"].values)
    plt.close(anim.figure)

    one_d = shrinkage_frames(rats_bayes, n_frames=5, n_draws=8)
    anim = plots.shrinkage_animation(one_d)
    anim.update(4)
    np.testing.assert_allclose(anim.points.get_offsets()[:, 0], one_d["partial"].values[:, 0])
    plt.close(anim.figure)
    path = plots.animate_shrinkage(one_d, tmp_path / "rats.gif", dpi=30)
    with Image.open(path) as gif:
        assert gif.n_frames == 5


def test_animation_file_types(tmp_path, rats_ml):
    from matplotlib import animation

    from hierarch.report.frames import shrinkage_frames

    frames = shrinkage_frames(rats_ml, n_frames=3)
    with pytest.raises(ValueError, match=r"written as \.gif or \.mp4"):
        plots.animate_shrinkage(frames, tmp_path / "a.png")
    if animation.writers.is_available("ffmpeg"):
        assert plots.animate_shrinkage(frames, tmp_path / "a.mp4", dpi=30).stat().st_size > 0
    else:
        with pytest.raises(ValueError, match="needs ffmpeg"):
            plots.animate_shrinkage(frames, tmp_path / "a.mp4")


def test_hyperparameter_plot_draws_the_priors(pigs_bayes):
    # each panel: the posterior histogram, its mean and the prior density (dashed), labelled;
    # the densities are the model's priors (HalfNormal SDs: SciPy's density exactly; the LKJ
    # marginal of the correlation integrates to 1 over (-1, 1), to 1e-3 on the grid)
    from scipy import stats

    from hierarch.report.mixed import hyperparameter_draws

    draws = hyperparameter_draws(pigs_bayes)
    priors = draws.attrs["priors"]
    assert set(priors["parameter"]) == set(draws["parameter"])
    sd = priors[priors["parameter"] == "sd[id: week]"]
    scale = pigs_bayes.model.priors["sd_id"].params["sigma"][1]
    np.testing.assert_allclose(sd["density"], stats.halfnorm.pdf(sd["value"], scale=scale))
    cor = priors[priors["parameter"].str.startswith("cor")]
    assert np.trapezoid(cor["density"], cor["value"]) == pytest.approx(1.0, abs=1e-3)
    axes = plots.plot_hyperparameters(draws)
    for ax in axes:
        assert any(line.get_linestyle() == "--" for line in ax.lines)
        assert ax.get_xlabel()
    assert axes[1].get_xlabel() == "SD of week between id groups"


def test_plot_category_probabilities():
    import pandas as pd

    import hierarch

    wine = hierarch.load_dataset("wine")
    fit = hierarch.model("rating ~ temp + contact + (1 | judge)", wine, family="cumulative").fit(
        method="laplace"
    )
    new = pd.DataFrame({"temp": ["cold", "warm"], "contact": ["no", "yes"]})
    table = fit.category_probabilities(new)
    ax = plots.plot_category_probabilities(table)
    assert isinstance(ax, Axes)
    # one bar per row and category, stacked to 1; the rows named by their predictors
    assert len(ax.patches) == 2 * 5
    ends = [p.get_x() + p.get_width() for p in ax.patches[-2:]]
    np.testing.assert_allclose(ends, 1.0, atol=1e-12)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cold, no", "warm, yes"]
