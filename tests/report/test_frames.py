"""The frames of the shrinkage animation, checked frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

import hierarch
from hierarch import simulate
from hierarch.report.frames import shrinkage_frames
from hierarch.report.mixed import coefficient_draws


def _check_path(frames):
    """First frame = separate fits, last = mixed-model estimates, and every frame in between
    on the straight line from one to the other, in order."""
    pos = frames["position"].values
    un, part = frames["unpooled"].values, frames["partial"].values
    moves = frames["moves"].values
    p = frames["progress"].values
    assert p[0] == 0 and p[-1] == 1 and np.all(np.diff(p) >= 0)
    np.testing.assert_array_equal(pos[0][moves], un[moves])
    np.testing.assert_array_equal(pos[-1], part)
    np.testing.assert_array_equal(
        pos[:, ~moves], np.broadcast_to(part[~moves], pos[:, ~moves].shape)
    )
    start = np.where(moves[:, None], un, part)
    for f in range(pos.shape[0]):
        np.testing.assert_allclose(pos[f], start + p[f] * (part - start), rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", list(simulate.SLOPE_SCENARIOS))
def test_every_seed_scenario(name):
    df = simulate.random_slopes(**simulate.SLOPE_SCENARIOS[name])
    fit = hierarch.model("y ~ x + (x | cluster)", df).fit(method="reml")
    frames = shrinkage_frames(fit, n_frames=15)
    assert list(frames["coef"].values) == ["Intercept", "x"]
    assert frames.sizes == {"frame": 15, "group": 100, "coef": 2}
    _check_path(frames)
    table = fit.shrinkage()
    np.testing.assert_array_equal(frames["n"], table["n"])
    if name == "unbalanced":  # unequal sizes; clusters too small for a line stay put
        assert frames["n"].values.min() < frames["n"].values.max()


def test_rats_frames(rats_ml):
    frames = shrinkage_frames(rats_ml, n_frames=10)
    assert frames.attrs["scale"] == "response" and frames.sizes["coef"] == 1
    _check_path(frames)
    table = rats_ml.shrinkage()
    np.testing.assert_allclose(frames["unpooled"].values[:, 0], table["unpooled"])
    np.testing.assert_allclose(frames["partial"].values[:, 0], table["partial"])
    assert "draws" not in frames


def test_bayesian_frames_carry_posterior_draws(pigs_bayes, rats_bayes):
    frames = shrinkage_frames(pigs_bayes, n_draws=25, n_frames=8)
    _check_path(frames)
    assert frames["draws"].shape == (48, 25, 2)
    # the kept draws are draws of the coefficients whose posterior means the frames end at
    every = coefficient_draws(pigs_bayes)
    np.testing.assert_allclose(every.mean(axis=0), frames["partial"].values, atol=1e-10)
    kept = frames["draws"].values.transpose(1, 0, 2)
    assert all(any(np.array_equal(k, e) for e in every) for k in kept[:3])
    rats = shrinkage_frames(rats_bayes, n_draws=10, n_frames=5)
    _check_path(rats)
    assert rats["draws"].shape == (71, 10, 1)
    assert np.all((rats["draws"].values > 0) & (rats["draws"].values < 1))  # proportions


def test_bad_frame_arguments(rats_ml, pigs_reml):
    with pytest.raises(ValueError, match="n_frames must be a whole number of at least 2"):
        shrinkage_frames(rats_ml, n_frames=1)
    with pytest.raises(ValueError, match="n_draws must be"):
        shrinkage_frames(rats_ml, n_draws=-1)
    with pytest.raises(ValueError, match="no coefficient 'age'"):
        shrinkage_frames(pigs_reml, coefs=("Intercept", "age"))
    with pytest.raises(ValueError, match="needs a Bayesian fit"):
        coefficient_draws(pigs_reml)
