"""Maximum-likelihood GLMM with one scalar random intercept per group (Laplace or adaptive
Gauss-Hermite quadrature): a convenience front end to :func:`hierarch.freq.laplace.fit_glmm`
for the binomial hierarchy, returning the group SD ``tau`` and per-group vectors.

The model is ``y_i | b ~ F(g^-1(x_i' beta + b_{j[i]}))`` with ``b_j ~ N(0, tau^2)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hierarch.freq.laplace import GLMMFit, fit_glmm

__all__ = ["ScalarGLMMFit", "fit_scalar_glmm"]


@dataclass
class ScalarGLMMFit:
    """Result of :func:`fit_scalar_glmm`: the general :class:`GLMMFit` (``fit``; its
    attributes -- ``beta``, ``se``, ``vcov``, ``loglik``, ``aic``, ``notes``, ... -- are
    reachable here directly) seen as one random intercept per group.

    Attributes
    ----------
    tau : float
        Random-effect standard deviation (lme4's ``theta`` for a scalar effect).
    ranef : ndarray
        Conditional modes of the random effects ``b_j`` (link scale).
    condvar : ndarray
        Conditional variances of ``b_j`` (lme4's ``postVar``).
    """

    fit: GLMMFit

    def __getattr__(self, name: str):
        if name == "fit":  # not set yet (copy / unpickling)
            raise AttributeError(name)
        return getattr(self.fit, name)

    @property
    def tau(self) -> float:
        return float(self.fit.theta[0])

    @property
    def ranef(self) -> np.ndarray:
        return self.fit.ranef[0][:, 0]

    @property
    def condvar(self) -> np.ndarray:
        return self.fit.condvar[0][:, 0, 0]

    @property
    def n_groups(self) -> int:
        return len(self.ranef)


def fit_scalar_glmm(
    y,
    X,
    group,
    *,
    weights=None,
    offset=None,
    family: str = "binomial",
    n_agq: int = 1,
    tau_start: float = 1.0,
) -> ScalarGLMMFit:
    """Fit a GLMM with a single scalar random effect per group by maximum likelihood.

    Parameters
    ----------
    y : array_like
        Responses (successes for the binomial family, counts for Poisson).
    X : array_like, shape (n, p)
        Fixed-effect design matrix.
    group : array_like of int
        Group code ``0..J-1`` of every row.
    weights : array_like, optional
        Binomial trials (required for ``family="binomial"``); ignored for Poisson.
    offset : array_like, optional
        Known offset on the link scale.
    family : {"binomial", "poisson"}
        Response family with its canonical link.
    n_agq : int
        1 for the Laplace approximation, more for adaptive Gauss-Hermite quadrature, 0 for
        glmer's ``nAGQ = 0`` (the fixed effects estimated inside PIRLS).
    tau_start : float
        Starting value of the random-effect SD (lme4 starts at 1).

    Returns
    -------
    ScalarGLMMFit

    Examples
    --------
    >>> import numpy as np, hierarch
    >>> rats = hierarch.load_dataset("rats")
    >>> fit = fit_scalar_glmm(rats["m"].to_numpy(), np.ones((71, 1)),
    ...                       np.arange(71), weights=rats["n"].to_numpy())
    >>> round(fit.tau, 4)
    0.6646
    """
    if family not in ("binomial", "poisson"):
        raise ValueError(f"unknown family {family!r}; choose one of binomial, poisson")
    y = np.asarray(y, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    J = int(group.max()) + 1
    g = fit_glmm(
        y,
        X,
        [(np.ones((len(y), 1)), group, J)],
        family=family,
        trials=weights if family == "binomial" else None,
        offset=offset,
        n_agq=n_agq,
        theta_start=[tau_start],
    )
    return ScalarGLMMFit(g)
