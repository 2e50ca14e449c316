"""Centred or non-centred group effects, per block: the Bayesian engine's choice."""

from __future__ import annotations

import numpy as np

from hierarch.core.spec import ModelSpec, check_parameterization
from hierarch.freq.lmm import fit_lmm
from hierarch.freq.normal_means import fit_known_se

__all__ = ["choose"]


def glmm_auto_parameterization(spec: ModelSpec) -> dict[str, str]:
    """GLMMs: a group's information about its intercept is about ``sum_i w_i`` with the
    working weights ``w_i`` at the mean response (binomial ``n p (1 - p)``, Poisson ``mu``,
    others 1 per row); with a prior-scale SD of 0.5, ``alpha_j = 0.25 I_j / (1 + 0.25 I_j)``.
    Single-effect blocks sharing no column with another block are centred when the
    average alpha is at least 0.7 (e.g. 1,000 Bernoulli rows per group), else
    non-centred (e.g. cbpp's 15 herds)."""
    pf = spec.parsed
    y = pf.y
    if spec.family in ("bernoulli", "binomial"):
        n = spec.trials if spec.trials is not None else np.ones(pf.n)
        p = np.clip(y.sum() / n.sum(), 0.01, 0.99)
        w = n * p * (1 - p)
    elif spec.family_info.support == "count":  # Poisson, NB, zero-inflated, hurdle
        w = np.full(pf.n, max(float(y.mean()), 0.01))
    else:
        w = np.ones(pf.n)
    out = {}
    for bname, b in zip(spec.block_names, pf.blocks, strict=True):
        info = np.bincount(b.codes, weights=w, minlength=b.n_levels)
        alpha = float(np.mean(0.25 * info / (1 + 0.25 * info)))
        shared = any(set(b.columns) & set(o.columns) for o in pf.blocks if o is not b)
        out[bname] = "centred" if b.k == 1 and not shared and alpha >= 0.7 else "non-centred"
    return out


def choose(spec: ModelSpec, choice: str | dict[str, str]) -> dict[str, str]:
    """Centred or non-centred per block.

    ``"auto"`` fits the REML twin (fast) and computes each block's average pooling
    weight ``alpha = var_c / (var_c + sigma^2 / sum_i z_ic^2)`` over groups and effects:
    informative groups (``alpha >= 0.7``) are sampled centred, the rest non-centred
    (the funnel of weakly informed groups is what non-centring is for).  A block whose
    REML variance is at zero is always non-centred.  For now only single-effect blocks
    that share no column with another block (no crossed or nested partner) are centred:
    centred correlated blocks (an MvNormal per group) sampled an order of magnitude
    slower here, and centring two crossed factors leaves the intercept on a ridge.
    """
    if choice != "auto":  # an explicit choice, checked as the spec checks it
        return check_parameterization(choice, spec.block_names)
    if not spec.family_info.data_scale:  # (Student-t: its Gaussian twin's REML fit)
        return glmm_auto_parameterization(spec)
    if spec.known_se is not None:  # one random intercept: alpha_j = tau^2 W_j / (1 + tau^2 W_j)
        fit = fit_known_se(spec.parsed, spec.known_se, reml=True)
        b = spec.parsed.blocks[0]
        info = fit.tau**2 * np.bincount(b.codes, weights=spec.known_se**-2, minlength=b.n_levels)
        alpha = float(np.mean(info / (1 + info)))
        return {spec.block_names[0]: "centred" if fit.tau > 0 and alpha >= 0.7 else "non-centred"}
    lm = fit_lmm(spec.engine_parsed, reml=True)
    out = {}
    s2 = lm.sigma**2
    for bname, b, C in zip(spec.block_names, spec.parsed.blocks, lm.cov, strict=True):
        var = np.diag(C)
        zz = np.stack(
            [
                np.bincount(b.codes, weights=b.Z[:, c] ** 2, minlength=b.n_levels)
                for c in range(b.k)
            ],
            axis=1,
        )
        alpha = var[None, :] / (var[None, :] + s2 / np.maximum(zz, 1e-12))
        informative = np.all(var > 1e-8 * s2) and float(alpha.mean()) >= 0.7
        shared = any(set(b.columns) & set(o.columns) for o in spec.parsed.blocks if o is not b)
        out[bname] = "centred" if informative and b.k == 1 and not shared else "non-centred"
    return out
