"""The frequentist engine's entry point for a model spec: REML/ML for linear mixed models,
Laplace or adaptive Gauss-Hermite quadrature for GLMMs."""

from __future__ import annotations

import dataclasses

import numpy as np

from hierarch.core import validate
from hierarch.core.families import threshold_names
from hierarch.core.spec import ModelSpec
from hierarch.freq.laplace import LAPLACE_FAMILIES, GLMMFit, fit_glmm
from hierarch.freq.lmm import LMMFit, fit_lmm
from hierarch.freq.normal_means import fit_known_se

__all__ = ["ML_METHODS", "fit_spec"]

ML_METHODS = ("reml", "ml", "laplace", "agq")


def fit_spec(spec: ModelSpec, method: str, n_agq: int = 1, theta_start=None) -> LMMFit | GLMMFit:
    """Fit ``spec`` by ``method`` (one of :data:`ML_METHODS`).

    ``"reml"`` / ``"ml"``: Gaussian models with the identity link (a known offset moves the
    response); with known standard errors (``y | se(s) ~ 1 + (1 | g)``),
    :func:`hierarch.freq.normal_means.fit_known_se`.  ``"laplace"`` / ``"agq"``: the other
    families; ``"agq"`` (``n_agq`` points, 25 when fewer than 2 are asked for) needs a single
    scalar random effect; ``"laplace"`` with ``n_agq=0`` is glmer's ``nAGQ = 0`` (the fixed
    effects estimated inside PIRLS: fastest, least precise).  ``theta_start``: a start near
    the optimum (bootstrap refits).
    """
    pf = spec.parsed
    if method in ("reml", "ml"):
        if spec.family != "gaussian" or spec.link != "identity":
            raise ValueError(
                f"method {method!r} fits linear mixed models; for family "
                f"{spec.family!r} use method='laplace' or 'agq'"
            )
        if spec.known_se is not None:  # y | se(s) ~ 1 + (1 | g)
            return fit_known_se(pf, spec.known_se, reml=method == "reml")
        pf = spec.engine_parsed  # (prior weights: the rows scaled by sqrt(w))
        if pf.offset is not None:  # a known offset moves the response
            pf = dataclasses.replace(pf, y=pf.y - pf.offset)
        result = fit_lmm(pf, reml=method == "reml", theta_start=theta_start)
        if spec.weights is not None:  # the density of y, not of the scaled rows
            result.weights_term = -float(np.sum(np.log(spec.weights)))
            result.criterion += result.weights_term
        return result
    if method not in ("laplace", "agq"):
        raise ValueError(f"method must be one of {', '.join(ML_METHODS)}, got {method!r}")
    if spec.known_se is not None:
        raise ValueError(
            f"method {method!r} is for GLMMs; the known-SE hierarchy is fitted by 'reml' or 'ml'"
        )
    n_agq = validate.quadrature(method, n_agq)
    if n_agq > 1 and (len(pf.blocks) != 1 or pf.blocks[0].k != 1):
        raise ValueError(
            "adaptive quadrature (method='agq') needs a single scalar random effect; this "
            f"model has {sum(b.k for b in pf.blocks)} random-effect terms "
            f"({', '.join(spec.block_names)}): use method='laplace' or 'bayes'"
        )
    if spec.family not in LAPLACE_FAMILIES:
        raise ValueError(f"no Laplace twin for family {spec.family!r}")
    result = fit_glmm(
        pf.y,
        pf.X,
        [(b.Z, b.codes, b.n_levels) for b in pf.blocks],
        family=spec.family,
        link=spec.link,
        trials=spec.trials if spec.family == "binomial" else None,
        offset=pf.offset,
        n_agq=n_agq,
        theta_start=theta_start,
        block_names=pf.blocks,
    )
    if spec.categories is not None:  # the thresholds named by the categories
        names = threshold_names(spec.categories)
        result.family_params = dict(zip(names, result.family_params.values(), strict=True))
    return result
