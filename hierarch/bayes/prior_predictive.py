"""Prior predictive draws of a formula model: data sets simulated from the priors alone."""

from __future__ import annotations

import logging
import warnings

import numpy as np


def prior_predictive(spec, parameterization: dict[str, str], draws: int, seed: int | None):
    """``draws`` replicates of the response from the priors (PyMC's
    ``sample_prior_predictive`` on the plain graph: every group effect drawn too).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The replicates, shape ``(draws, n)``, and the observed response they replicate (the
        rows, or the cells of alike rows when the graph aggregates binomial rows).
    """
    import pymc as pm

    from hierarch.bayes.graphs import build

    model = build(spec, parameterization)
    log = logging.getLogger("pymc")
    level = log.level
    log.setLevel(logging.WARNING)  # PyMC's "Sampling: [...]" note: nothing for the user to do
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            idata = pm.sample_prior_predictive(
                draws=draws, model=model, random_seed=seed, var_names=["y"]
            )
    finally:
        log.setLevel(level)
    rep = idata.prior_predictive["y"].values.reshape(draws, -1)
    if spec.weights is not None:  # the graph holds the rows scaled by sqrt(w)
        rep = rep * spec.row_sd_scale
    cells = spec.cells()
    observed = np.asarray(spec.parsed.y if cells is None else cells["y"], float)
    return rep, observed
