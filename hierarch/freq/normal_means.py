"""ML and REML for the known-standard-error hierarchy ``y | se(s) ~ 1 + (1 | g)``:
``y_i = X_i beta + b_g[i] + e_i`` with ``b_g ~ N(0, tau^2)`` and ``e_i ~ N(0, s_i^2)``, the
``s_i`` known (meta-analysis, "eight schools"; metafor's ``rma`` with one row per group).

Per group ``j`` the covariance is ``V_j = D_j + tau^2 1 1'`` with ``D_j = diag(s_i^2)``; its
inverse and determinant are closed forms (Sherman-Morrison), ``V_j^{-1} = D_j^{-1} - c_j w_j
w_j'`` with ``w_j = D_j^{-1} 1``, ``W_j = 1' w_j`` and ``c_j = tau^2 / (1 + tau^2 W_j)``, and
``log|V_j| = log|D_j| + log(1 + tau^2 W_j)``, so the likelihood profiled over ``beta`` costs
O(n p^2) per value of tau, optimised over ``tau`` on ``[0, .)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize

from hierarch.core.formula import ParsedFormula
from hierarch.freq.lmm import LMMFit, varcorr_table

__all__ = ["KnownSEFit", "fit_known_se"]


@dataclass
class KnownSEFit(LMMFit):
    """An :class:`~hierarch.freq.lmm.LMMFit` whose residual SDs are the known standard
    errors (``sigma`` is NaN: there is no residual SD to estimate)."""

    def varcorr(self):
        return varcorr_table(self.blocks, self.cov)

    @property
    def n_params(self) -> int:
        return len(self.beta) + 1

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.cov[0][0, 0]))


def _profile(tau, y, X, d, codes, J, reml):
    """(log-likelihood, beta, X'V^-1X, r, c_j, w'r per group) at ``tau``."""
    w = 1.0 / d
    W = np.bincount(codes, weights=w, minlength=J)
    c = tau**2 / (1.0 + tau**2 * W)
    Xw = np.stack(
        [np.bincount(codes, weights=w * X[:, k], minlength=J) for k in range(X.shape[1])], 1
    )
    yw = np.bincount(codes, weights=w * y, minlength=J)
    XtVX = (X * w[:, None]).T @ X - (Xw * c[:, None]).T @ Xw
    XtVy = (X * w[:, None]).T @ y - (Xw * c[:, None]).T @ yw
    beta = np.linalg.solve(XtVX, XtVy)
    r = y - X @ beta
    rw = np.bincount(codes, weights=w * r, minlength=J)
    quad = np.sum(w * r**2) - np.sum(c * rw**2)
    logdet = np.sum(np.log(d)) + np.sum(np.log1p(tau**2 * W))
    ll = -0.5 * (len(y) * np.log(2 * np.pi) + logdet + quad)
    if reml:
        p = X.shape[1]
        ll += -0.5 * np.linalg.slogdet(XtVX)[1] + 0.5 * p * np.log(2 * np.pi)
    return ll, beta, XtVX, c, rw, W


def fit_known_se(pf: ParsedFormula, se: np.ndarray, reml: bool = True) -> KnownSEFit:
    """Fit the known-SE hierarchy of ``pf`` (one random intercept) by REML or ML.

    Returns a :class:`KnownSEFit`: ``beta`` and its covariance ``(X'V^-1 X)^-1``, the group
    SD in ``cov[0]``, the conditional modes ``b_j = c_j w_j'r_j`` and their conditional
    variances ``tau^2 / (1 + tau^2 W_j)`` (given beta, as lme4's ``condVar``), and the
    (restricted) log-likelihood as ``-criterion / 2``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from hierarch.core.formula import parse_formula
    >>> d = pd.DataFrame({"y": [28., 8, -3, 7, -1, 1, 18, 12], "g": list("ABCDEFGH")})
    >>> s = np.array([15., 10, 16, 11, 9, 11, 10, 18])
    >>> fit = fit_known_se(parse_formula("y ~ 1 + (1 | g)", d), s, reml=False)
    >>> round(fit.tau, 3), round(float(fit.beta[0]), 2)
    (0.0, 7.69)
    """
    block = pf.blocks[0]
    y, X = pf.y - pf.offset_or_zero, pf.X
    d = np.asarray(se, dtype=float) ** 2
    codes, J = block.codes, block.n_levels

    def nll(t):
        return -_profile(t, y, X, d, codes, J, reml)[0]

    upper = 10 * (np.ptp(y) + np.sqrt(d.max()))
    res = optimize.minimize_scalar(
        nll, bounds=(0.0, upper), method="bounded", options={"xatol": 1e-10}
    )
    tau = float(res.x)
    notes = []
    if nll(0.0) <= res.fun + 1e-9:  # the boundary is (numerically) as good
        tau = 0.0
        notes.append(
            "boundary (singular) fit: tau is estimated at zero; the estimates vary no more "
            "than their standard errors explain"
        )
    ll, beta, XtVX, c, rw, W = _profile(tau, y, X, d, codes, J, reml)
    return KnownSEFit(
        method="reml" if reml else "ml",
        x_names=list(pf.x_names),
        beta=beta,
        vcov=np.linalg.inv(XtVX),
        sigma=float("nan"),
        theta=np.array([tau]),
        blocks=[block],
        cov=[np.array([[tau**2]])],
        ranef=[(c * rw)[:, None]],
        condvar=[(tau**2 / (1.0 + tau**2 * W))[:, None, None]],
        criterion=-2.0 * ll,
        n_obs=pf.n,
        converged=True,
        singular=tau == 0.0,
        notes=notes,
    )
