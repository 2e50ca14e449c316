"""Maximum-likelihood GLMM with one scalar random effect per group: Laplace and adaptive
Gauss-Hermite quadrature (AGQ), following the formulation of lme4's ``glmer``.

The model is

.. math::

    y_i \\mid u \\sim F(g^{-1}(x_i^\\top\\beta + \\theta u_{j[i]})), \\qquad u_j \\sim N(0, 1),

with the random effect on the "spherical" scale ``u`` (lme4's parameterization); the
between-group SD is ``tau = theta`` and the random effects are ``b = theta * u``.

For given ``(theta, beta)`` the conditional modes ``u_hat`` are found by a vectorised Newton
iteration (the per-group log-posterior is concave for canonical links).  The log-likelihood
is approximated, group by group, by

* Laplace (``n_agq=1``): ``h_j(u_hat) - log(L_j)`` with ``L_j^2 = 1 + theta^2 * W_j``;
* AGQ (``n_agq=k``): ``log(s_j / sqrt(2 pi) * sum_k w_k exp(h_j(u_hat + s_j z_k) + z_k^2/2))``
  with ``s_j = 1/L_j`` and Gauss-Hermite (probabilists') nodes ``z_k`` and weights ``w_k``,

where ``h_j(u) = sum_i log p(y_i | u) - u^2/2``.  As in lme4's second optimisation stage,
``(theta, beta)`` are optimised jointly over this approximate deviance.  Standard errors of
``beta`` come, as lme4's default ``vcov()`` for GLMMs, from the finite-difference Hessian of
the deviance in ``(theta, beta)``; the conditional (``theta`` fixed) version is also kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

__all__ = ["ScalarGLMMFit", "fit_scalar_glmm"]

_LOG_2PI = np.log(2.0 * np.pi)


class _Binomial:
    """Binomial family with logit link; ``weights`` are the numbers of trials."""

    name = "binomial"

    @staticmethod
    def loglik(y, n, eta):
        # y*eta - n*log(1+exp(eta)), numerically stable; constant added separately
        return y * eta - n * np.logaddexp(0.0, eta)

    @staticmethod
    def derivs(y, n, eta):
        p = special.expit(eta)
        return y - n * p, n * p * (1.0 - p)  # first derivative, minus second derivative

    @staticmethod
    def constant(y, n):
        return special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)

    @staticmethod
    def start_eta(y, n):
        p = (y + 0.5) / (n + 1.0)
        return np.log(p / (1 - p))


class _Poisson:
    """Poisson family with log link; ``weights`` are exposures (offset = log exposure)."""

    name = "poisson"

    @staticmethod
    def loglik(y, n, eta):
        return y * eta - np.exp(eta)

    @staticmethod
    def derivs(y, n, eta):
        mu = np.exp(eta)
        return y - mu, mu

    @staticmethod
    def constant(y, n):
        return -special.gammaln(y + 1)

    @staticmethod
    def start_eta(y, n):
        return np.log(y + 0.5)


_FAMILIES = {"binomial": _Binomial, "poisson": _Poisson}


@dataclass
class ScalarGLMMFit:
    """Result of :func:`fit_scalar_glmm` (all arrays in group / coefficient order).

    Attributes
    ----------
    beta : ndarray
        Fixed effects (link scale).
    tau : float
        Random-effect standard deviation (lme4's ``theta`` for a scalar effect).
    vcov : ndarray
        Covariance of ``beta`` from the finite-difference Hessian of the deviance in
        ``(tau, beta)`` (lme4's default for GLMMs).
    vcov_conditional : ndarray
        Covariance of ``beta`` treating ``tau`` as known (lme4's ``use.hessian = FALSE``).
    ranef : ndarray
        Conditional modes of the random effects ``b_j`` (link scale).
    condvar : ndarray
        Conditional variances of ``b_j`` (lme4's ``postVar``).
    loglik : float
        Approximate log-likelihood (binomial coefficients included, as in lme4).
    """

    family: str
    n_agq: int
    beta: np.ndarray
    tau: float
    vcov: np.ndarray
    vcov_conditional: np.ndarray
    ranef: np.ndarray
    condvar: np.ndarray
    loglik: float
    n_obs: int
    n_groups: int
    converged: bool
    message: str
    singular: bool
    hessian_ok: bool
    notes: list[str] = field(default_factory=list)

    @property
    def se(self) -> np.ndarray:
        """Standard errors of ``beta``."""
        return np.sqrt(np.diag(self.vcov))

    @property
    def n_params(self) -> int:
        return len(self.beta) + 1

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def deviance(self) -> float:
        """``-2 * loglik``."""
        return -2.0 * self.loglik


class _Problem:
    """The data of one fit and the approximate deviance as a function of ``(tau, beta)``."""

    def __init__(self, family, y, weights, X, group, n_groups, offset, n_agq):
        self.fam = family
        self.y = y
        self.w = weights
        self.X = X
        self.g = group
        self.J = n_groups
        self.offset = offset
        self.n_agq = n_agq
        self.const = float(np.sum(family.constant(y, weights)))
        if n_agq > 1:
            z, wts = np.polynomial.hermite_e.hermegauss(n_agq)
            self.z, self.logw = z, np.log(wts)
        self._u_start = np.zeros(n_groups)

    def _gsum(self, v):
        return np.bincount(self.g, weights=v, minlength=self.J)

    def modes(self, theta, beta, tol=1e-11, max_iter=100):
        """Conditional modes of u and ``-d2 h/du2`` (= L_j^2) for every group."""
        base = self.X @ beta + self.offset
        u = self._u_start.copy()
        h_old = None
        for _ in range(max_iter):
            eta = base + theta * u[self.g]
            d1, nd2 = self.fam.derivs(self.y, self.w, eta)
            grad = theta * self._gsum(d1) - u
            curv = theta**2 * self._gsum(nd2) + 1.0
            step = grad / curv
            # step-halving guard on the (concave) group objectives
            if h_old is None:
                h_old = self._h(theta, base, u)
            t = 1.0
            for _ in range(30):
                u_new = u + t * step
                h_new = self._h(theta, base, u_new)
                if np.all(h_new >= h_old - 1e-12 * (1 + np.abs(h_old))):
                    break
                bad = h_new < h_old - 1e-12 * (1 + np.abs(h_old))
                step = np.where(bad, step * 0.5, step)
            u, h_old = u_new, h_new
            if np.max(np.abs(t * step)) < tol:
                break
        eta = base + theta * u[self.g]
        _, nd2 = self.fam.derivs(self.y, self.w, eta)
        L2 = theta**2 * self._gsum(nd2) + 1.0
        self._u_start = u
        return u, L2

    def _h(self, theta, base, u):
        eta = base + theta * u[self.g]
        return self._gsum(self.fam.loglik(self.y, self.w, eta)) - 0.5 * u**2

    def loglik(self, theta, beta):
        theta = abs(theta)
        u, L2 = self.modes(theta, beta)
        base = self.X @ beta + self.offset
        if self.n_agq == 1:
            per_group = self._h(theta, base, u) - 0.5 * np.log(L2)
        else:
            s = 1.0 / np.sqrt(L2)
            # nodes: groups x K
            uk = u[:, None] + s[:, None] * self.z[None, :]
            eta = base[:, None] + theta * uk[self.g, :]
            ll = self.fam.loglik(self.y[:, None], self.w[:, None], eta)
            hk = np.stack([self._gsum(ll[:, k]) for k in range(ll.shape[1])], axis=1)
            hk = hk - 0.5 * uk**2 + 0.5 * self.z[None, :] ** 2 + self.logw[None, :]
            per_group = np.log(s) - 0.5 * _LOG_2PI + special.logsumexp(hk, axis=1)
        return float(np.sum(per_group)) + self.const

    def deviance(self, params):
        return -2.0 * self.loglik(params[0], params[1:])


def _num_hessian(f, x, rel_step=1e-4):
    """Central finite-difference Hessian (as lme4's ``deriv12`` with ``delta = 1e-4``)."""
    k = len(x)
    h = rel_step * np.maximum(1.0, np.abs(x))
    H = np.empty((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = h[i]
        H[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = h[j]
            H[i, j] = H[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * h[i] * h[j])
    return H


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
        1 for the Laplace approximation, more for adaptive Gauss-Hermite quadrature.
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
    if family not in _FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(_FAMILIES)}")
    if int(n_agq) != n_agq or n_agq < 1:
        raise ValueError(f"n_agq must be a positive integer, got {n_agq!r}")
    fam = _FAMILIES[family]
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    group = np.asarray(group, dtype=np.int64)
    n = len(y)
    if X.ndim != 2 or X.shape[0] != n:
        raise ValueError(f"X must have shape ({n}, p), got {X.shape}")
    J = int(group.max()) + 1
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    prob = _Problem(fam, y, w, X, group, J, off, int(n_agq))

    # Starting beta: least squares on the empirical link-transformed responses.
    beta0 = np.linalg.lstsq(X, fam.start_eta(y, w) - off, rcond=None)[0]
    x0 = np.concatenate([[tau_start], beta0])
    bounds = [(0.0, None)] + [(None, None)] * X.shape[1]
    res = optimize.minimize(
        prob.deviance,
        x0,
        method="L-BFGS-B",
        bounds=bounds,
        options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 2000},
    )
    # Polish with Nelder-Mead (derivative free, as lme4's bobyqa/Nelder-Mead stage).
    res2 = optimize.minimize(
        lambda p: prob.deviance(np.concatenate([[abs(p[0])], p[1:]])),
        res.x,
        method="Nelder-Mead",
        options={"xatol": 1e-9, "fatol": 1e-12, "maxiter": 20000, "maxfev": 20000},
    )
    best = res2 if res2.fun <= res.fun else res
    xhat = best.x.copy()
    xhat[0] = abs(xhat[0])
    converged = bool(res.success or res2.success)
    message = str(best.message)

    theta, beta = float(xhat[0]), xhat[1:]
    loglik = prob.loglik(theta, beta)
    u, L2 = prob.modes(theta, beta)
    notes: list[str] = []
    singular = theta < 1e-4
    if singular:
        notes.append(
            "boundary (singular) fit: the between-group SD is estimated at zero; the data show "
            "no variation between groups beyond binomial noise"
        )

    # Conditional vcov (tau known): inverse Schur complement of the joint (u, beta) Hessian.
    eta = X @ beta + off + theta * u[group]
    _, wt = fam.derivs(y, w, eta)
    XtWX = X.T @ (wt[:, None] * X)
    ZtWX = (
        np.stack(
            [np.bincount(group, weights=wt * X[:, k], minlength=J) for k in range(X.shape[1])],
            axis=1,
        )
        * theta
    )
    schur = XtWX - ZtWX.T @ (ZtWX / L2[:, None])
    vcov_cond = np.linalg.inv(schur)

    # Default vcov: finite-difference Hessian of the deviance in (tau, beta).
    hessian_ok = False
    vcov = vcov_cond
    if not singular:
        H = _num_hessian(prob.deviance, xhat)
        try:
            Hinv = np.linalg.inv(H)
            if np.all(np.linalg.eigvalsh(H) > 0):
                vcov = 2.0 * Hinv[1:, 1:]
                hessian_ok = True
        except np.linalg.LinAlgError:
            pass
        if not hessian_ok:
            notes.append(
                "the finite-difference Hessian of the deviance is not positive definite; "
                "standard errors treat tau as known"
            )
    if not converged:
        notes.append(f"the optimiser did not report convergence: {message}")

    return ScalarGLMMFit(
        family=family,
        n_agq=int(n_agq),
        beta=beta,
        tau=theta,
        vcov=vcov,
        vcov_conditional=vcov_cond,
        ranef=theta * u,
        condvar=theta**2 / L2,
        loglik=loglik,
        n_obs=n,
        n_groups=J,
        converged=converged,
        message=message,
        singular=singular,
        hessian_ok=hessian_ok,
        notes=notes,
    )
