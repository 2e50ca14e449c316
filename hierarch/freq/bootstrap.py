"""Simulation from a maximum-likelihood fit and the parametric bootstrap (lme4's
``simulate`` and ``bootMer``, pbkrtest's ``PBmodcomp``).

A replicate draws new group effects from the estimated population (``use_u=False``, lme4's
default) or keeps the conditional modes (``use_u=True``), adds the fixed part and the offset,
and draws responses from the family (:meth:`hierarch.core.families.Family.rvs`).  Refits
reuse the parsed design: only the response changes, so a replicate costs one optimisation.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable

import numpy as np

from hierarch.core.spec import ModelSpec
from hierarch.freq.spec_fit import fit_spec

__all__ = ["bootstrap", "bootstrap_fits", "progress", "refit", "simulate_responses"]


def _extra(spec: ModelSpec, est):
    if spec.family == "gaussian":
        return est.sigma * spec.row_sd_scale  # each row's (prior weights: sigma / sqrt(w))
    return getattr(est, "phi", None)  # the family's extra parameter(s), if any


def linear_predictors(spec: ModelSpec, est, n: int, rng, use_u: bool = False) -> np.ndarray:
    """``n`` draws of the linear predictor of the fitted rows, shape ``(n, N)``."""
    if spec.known_se is not None:
        raise ValueError("simulation from a known-SE fit is not available yet")
    pf = spec.parsed
    eta = np.broadcast_to(pf.X @ est.beta + pf.offset_or_zero, (n, pf.n)).copy()
    for i, b in enumerate(pf.blocks):
        if use_u:
            u = np.broadcast_to(np.asarray(est.ranef[i]), (n, b.n_levels, b.k))
        else:
            w, V = np.linalg.eigh(np.asarray(est.cov[i]))
            root = V * np.sqrt(np.clip(w, 0, None))
            u = rng.standard_normal((n, b.n_levels, b.k)) @ root.T
        eta += np.einsum("snk,nk->sn", u[:, b.codes, :], b.Z)
    return eta


def simulate_responses(spec: ModelSpec, est, n: int, seed=None, use_u: bool = False) -> np.ndarray:
    """``n`` simulated response vectors from the fit ``est`` of ``spec``, shape ``(n, N)``
    (binomial: successes out of the model's trials)."""
    rng = np.random.default_rng(seed)
    eta = linear_predictors(spec, est, n, rng, use_u)
    fam = spec.family_info
    return fam.rvs(rng, spec.link, eta, trials=spec.trials, extra=_extra(spec, est)).astype(float)


def refit(spec: ModelSpec, y: np.ndarray, method: str, n_agq: int = 1, theta_start=None):
    """Fit ``spec`` again with the response ``y`` (the same design and grouping), from
    ``theta_start`` when given (the original estimate: a refit then costs one search)."""
    new = copy.copy(spec)
    new.parsed = dataclasses.replace(spec.parsed, y=np.asarray(y, float))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit_spec(new, method, n_agq, theta_start=theta_start)


def progress(iterable, total: int, label: str, show: bool):
    """A progress bar (rich's, which PyMC uses too) when ``show``."""
    if not show:
        return iterable
    from rich.progress import track

    return track(iterable, total=total, description=label, transient=True)


def bootstrap(
    spec: ModelSpec,
    est,
    statistic: Callable[[np.ndarray], np.ndarray],
    n: int,
    seed=None,
    progressbar: bool = True,
    label: str = "Parametric bootstrap",
) -> tuple[np.ndarray, int]:
    """``statistic(y)`` for ``n`` responses simulated from ``est`` (population draws of the
    group effects).  Returns the stacked values of the replicates whose statistic could be
    computed (finite) and the number that failed."""
    if int(n) != n or n < 1:
        raise ValueError(
            f"the number of bootstrap replicates must be a positive integer, got {n!r}"
        )
    ys = simulate_responses(spec, est, int(n), seed)
    out, failed = [], 0
    for y in progress(ys, len(ys), label, progressbar):
        try:
            value = np.asarray(statistic(y), float)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            failed += 1
            continue
        if np.all(np.isfinite(value)):
            out.append(value)
        else:
            failed += 1
    if not out:
        raise RuntimeError(f"none of the {n} bootstrap refits succeeded")
    return np.array(out), failed


def bootstrap_fits(
    spec: ModelSpec, est, method: str, n: int, seed=None, progressbar: bool = True, n_agq: int = 1
) -> tuple[list, int]:
    """``n`` parametric-bootstrap refits of ``spec`` by ``method`` (responses simulated
    from ``est``): the engine results that succeeded and the number that failed."""
    fits: list = []

    def keep(y):
        fits.append(refit(spec, y, method, n_agq, theta_start=est.theta))
        return np.zeros(1)

    _, failed = bootstrap(spec, est, keep, n, seed, progressbar, "Bootstrap refits")
    return fits, failed
