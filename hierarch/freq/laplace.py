"""Maximum-likelihood GLMMs with any random-effect structure: the Laplace approximation (and
adaptive Gauss-Hermite quadrature for one scalar random effect), as in lme4's ``glmer``.

The model is

.. math::

    y_i \\mid u \\sim F\\bigl(g^{-1}(\\eta_i)\\bigr), \\qquad
    \\eta = X\\beta + o + Z\\Lambda(\\theta)u, \\qquad u \\sim N(0, I),

with ``Lambda`` block diagonal: for every block of ``k`` correlated effects (one ``(expr | g)``
term) it repeats a lower-triangular ``k x k`` factor ``T`` over the levels of ``g``; ``theta``
holds ``T``'s lower triangle column by column (lme4's ``getME(fit, "theta")``).  The random
effects are ``b = Lambda u`` with covariance ``T T'`` per level.

For given parameters the conditional mode ``u_hat`` comes from penalised iteratively
re-weighted least squares (Newton or Fisher scoring with step halving) on
``l(u) = log p(y | u) - |u|^2 / 2``; with ``H = Lambda'Z' W Z Lambda + I`` at the mode,

* Laplace: ``log L = l(u_hat) - log|H| / 2``;
* AGQ (one scalar effect per group, ``n_agq > 1``): the Laplace term of each group is replaced
  by ``k``-point Gauss-Hermite quadrature centred at the group's mode and scaled by
  ``1 / sqrt(H_jj)``.

``W`` is the Fisher (expected) information for binomial, Bernoulli, Poisson and negative
binomial responses -- lme4's PIRLS weights, so non-canonical links (probit, cloglog, NB log)
reproduce ``glmer`` -- and the observed information for gamma and beta responses, as glmmTMB
(TMB's Laplace uses the exact Hessian).  For canonical links the two coincide.  Families
with a dispersion parameter (negative binomial ``k``: ``Var = mu + mu^2 / k``; gamma shape;
beta precision) have it estimated jointly on the log scale.

As lme4, the optimisation runs in two stages: first ``theta`` (and the dispersion) with
``beta`` estimated inside PIRLS (lme4's ``nAGQ = 0``), then all parameters jointly.  The
covariance of ``beta`` is, as lme4's default ``vcov()``, twice the inverse of the
finite-difference Hessian of the deviance in ``(theta, beta)`` (the negative binomial
dispersion held at its estimate, as ``glmer.nb``; the gamma and beta dispersion included,
as glmmTMB).  PIRLS takes Newton steps where the observed information is positive (the
same modes, fewer steps for non-canonical links).  ``Lambda'Z'WZ Lambda + I`` is formed from
the pairs of nonzeros per row in one ``bincount`` and factored by LAPACK (up to 300
unknowns, on one BLAS thread) or CHOLMOD (above, the ordering analysed once), which keeps
crossed and nested designs with thousands of levels cheap.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, sparse, special

from hierarch.core.families import LAPLACE_FAMILIES, _link, get_family, link_np
from hierarch.core.sparse import CholmodPattern, DenseFactor, one_blas_thread
from hierarch.freq.boundary import escape_boundary
from hierarch.freq.diagnose import TRY_BAYES, check_optimum, singular_message

__all__ = ["GLMMFit", "LAPLACE_FAMILIES", "fit_glmm", "glm_fit"]

_LOG_2PI = np.log(2.0 * np.pi)
_EPS = 1e-12


# ----------------------------------------------------------------------------- result
@dataclass
class GLMMFit:
    """Result of :func:`fit_glmm`.

    Attributes
    ----------
    beta, vcov
        Fixed effects (link scale) and their covariance (lme4's Hessian-based default).
    vcov_conditional
        Covariance of ``beta`` with ``theta`` (and the dispersion) treated as known.
    theta
        Relative covariance factor parameters, lme4's order.
    cov
        Covariance matrix of each block's random effects (``T T'``).
    dispersion
        ``(name, value)`` of the family's dispersion parameter, or ``None``.
    family_params
        The family's other parameters by name (Student-t: ``{"df": ...}``, glmmTMB's
        ``family_params``); empty for the others.
    ranef, condvar
        Conditional modes per block, shape (levels, k), and their conditional covariances,
        shape (levels, k, k) (lme4's ``condVar``).
    loglik
        Approximate log-likelihood (constants included, as lme4's Laplace ``logLik``).
    """

    family: str
    link: str
    n_agq: int
    beta: np.ndarray
    vcov: np.ndarray
    vcov_conditional: np.ndarray
    theta: np.ndarray
    cov: list[np.ndarray]
    dispersion: tuple[str, float] | None
    family_params: dict[str, float]
    ranef: list[np.ndarray]
    condvar: list[np.ndarray]
    loglik: float
    n_obs: int
    converged: bool
    singular: bool
    hessian_ok: bool
    message: str
    notes: list[str] = field(default_factory=list)
    #: covariance of the dispersion and family parameters (in that order) on the
    #: optimiser's scale (log; logit for probabilities; the first threshold and the logs of
    #: the gaps for ordinal thresholds), from the same Hessian as ``vcov`` where it includes
    #: them (gamma, beta, inverse Gaussian, Student-t, zero-inflated, hurdle and ordinal
    #: families: glmmTMB's sdreport, clmm's vcov); None otherwise
    phi_cov: np.ndarray | None = None
    #: the Laplace problem the fit was made from (for profiles and refits)
    problem: object = field(default=None, repr=False, compare=False)

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def n_params(self) -> int:
        return (
            len(self.beta)
            + len(self.theta)
            + (self.dispersion is not None)
            + len(self.family_params)
        )

    @property
    def phi(self):
        """The family's extra parameters as its Laplace pieces take them: ``None``, the one
        value, or a tuple of values (dispersion first)."""
        values = [self.dispersion[1]] if self.dispersion else []
        values += list(self.family_params.values())
        if not values:
            return None
        return values[0] if len(values) == 1 else tuple(values)

    @property
    def phi_se(self) -> np.ndarray | None:
        """Standard errors of the extra parameters on the optimiser's scale (see
        ``phi_cov``)."""
        return None if self.phi_cov is None else np.sqrt(np.diag(self.phi_cov))

    @property
    def aic(self) -> float:
        return -2.0 * self.loglik + 2.0 * self.n_params

    @property
    def bic(self) -> float:
        return -2.0 * self.loglik + np.log(self.n_obs) * self.n_params

    @property
    def deviance(self) -> float:
        return -2.0 * self.loglik


# ----------------------------------------------------------------------------- problem
#: up to this many unknowns in a PIRLS step a dense LAPACK factor beats CHOLMOD's bookkeeping
#: (the GLMM reference cases: 10-100 unknowns, 25 % faster dense)
_DENSE_MAX = 300


class _Problem:
    def __init__(self, fam, y, n, X, blocks, offset, n_agq):
        self.fam, self.y, self.n, self.X, self.offset = fam, y, n, X, offset
        self.blocks = blocks  # list of (Z (n,k), codes, J)
        self.n_agq = n_agq
        self.observed = fam.observed
        self.n_phi = len(fam.names)
        N, p = X.shape
        self.N, self.p = N, p
        self.theta_index, lower = [], []
        rows, cols, self.offsets = [], [], []
        off = 0
        for Z, codes, J in blocks:
            k = Z.shape[1]
            idx = [(i, j) for j in range(k) for i in range(j, k)]
            self.theta_index.append(idx)
            lower += [0.0 if i == j else -np.inf for (i, j) in idx]
            for c in range(k):
                rows.append(np.arange(N))
                cols.append(off + codes * k + c)
            self.offsets.append(off)
            off += J * k
        self.q = off
        self.lower = np.array(lower)
        self.n_theta = len(lower)
        rows, cols = np.concatenate(rows), np.concatenate(cols)
        proto = sparse.csr_matrix(
            (np.arange(1, len(rows) + 1, dtype=float), (rows, cols)), shape=(N, self.q)
        )
        self._perm = proto.data.astype(np.int64) - 1
        self._proto = proto
        self._Xs = sparse.csr_matrix(X)
        self._chol: dict = {}
        self._u = np.zeros(self.q)
        self._beta_inner = None
        self.scalar_single = len(blocks) == 1 and blocks[0][0].shape[1] == 1
        if n_agq > 1:
            z, w = np.polynomial.hermite_e.hermegauss(n_agq)
            self.gh_z, self.gh_logw = z, np.log(w)

    # -- pieces
    def T_blocks(self, theta):
        Ts, pos = [], 0
        for (Z, _, _), idx in zip(self.blocks, self.theta_index, strict=True):
            k = Z.shape[1]
            T = np.zeros((k, k))
            for i, j in idx:
                T[i, j] = theta[pos]
                pos += 1
            Ts.append(T)
        return Ts

    def ZL(self, theta):
        data = np.concatenate(
            [
                (Z @ T).T.ravel()
                for (Z, _, _), T in zip(self.blocks, self.T_blocks(theta), strict=True)
            ]
        )
        M = self._proto.copy()
        M.data = data[self._perm]
        return M

    #: above this many pairs of nonzeros (summed over rows) a PIRLS step forms ``A'WA`` with
    #: SciPy's sparse products instead of one ``bincount``: the pairs take four integer
    #: arrays (128 MB at this size), and at such sizes SciPy's overhead no longer matters
    _MAX_PAIRS = 4_000_000

    def _design(self, ZL, free: bool):
        """``A = Z Lambda`` or, for the free-beta stage, ``[Z Lambda, X]`` with a layout fixed
        per problem (so the pairs of :meth:`_pairs` stay valid)."""
        if not free:
            return ZL
        lay = getattr(self, "_free_layout", None)
        if lay is None:
            nz = self._proto.nnz
            xs = self._Xs.copy()
            xs.data = np.arange(nz + 1, nz + xs.nnz + 1, dtype=float)
            proto = self._proto.copy()
            proto.data = np.arange(1, nz + 1, dtype=float)
            both = sparse.hstack([proto, xs]).tocsr()
            lay = self._free_layout = (
                both.data.astype(np.int64) - 1,
                both.indices.copy(),
                both.indptr.copy(),
            )
        order, indices, indptr = lay
        data = np.concatenate([ZL.data, self._Xs.data])[order]
        return sparse.csr_matrix((data, indices, indptr), shape=(self.N, self.q + self.p))

    def _pairs(self, A, free: bool):
        """Every pair of nonzeros in a row of ``A`` (positions in its ``data`` and the row)
        with where their product lands in ``A'WA``: a flat index of the dense ``m x m`` array
        (dense path) or a position in the CHOLMOD pattern's values (lower triangle; sparse
        path), so a PIRLS step forms ``A'WA`` with one weighted ``bincount`` (SciPy's sparse
        products and conversions cost ~1 ms each, more than the factor itself here).  None
        when the pairs would take too much memory."""
        cache = self.__dict__.setdefault("_pair_cache", {})
        if free not in cache:
            ptr, idx = A.indptr, A.indices.astype(np.int64)
            r = np.diff(ptr)  # nonzeros per row
            rr = r * r
            if rr.sum() > self._MAX_PAIRS:
                cache[free] = None
                return None
            rows = np.repeat(np.arange(self.N), rr)
            off = np.arange(rr.sum()) - np.repeat(np.cumsum(rr) - rr, rr)  # pair within row
            kk, starts = np.repeat(r, rr), np.repeat(ptr[:-1], rr)
            a, b = starts + off // kk, starts + off % kk
            m = A.shape[1]
            diag = np.arange(self.q)
            if m <= _DENSE_MAX:
                cache[free] = (a, b, rows, idx[a] * m + idx[b], diag * m + diag, None)
            else:
                pat = self._pattern(free)
                low = idx[a] >= idx[b]
                a, b, rows = a[low], b[low], rows[low]
                pos = np.searchsorted(pat._keys, idx[b] * m + idx[a])  # column-major keys
                dpos = np.searchsorted(pat._keys, diag * m + diag)
                cache[free] = (a, b, rows, pos, dpos, len(pat._keys))
        return cache[free]

    def _pattern(self, free: bool):
        pat = self._chol.get(free)
        if pat is None:
            struct = abs(self._proto)
            if free:
                struct = sparse.hstack([struct, sparse.csr_matrix(self.X != 0, dtype=float)])
            struct = struct.tocsc()
            pat = self._chol[free] = CholmodPattern(struct.T @ struct)
        return pat

    def _factor(self, A, W, free: bool):
        """Cholesky factor of ``A' W A + P`` (``A`` from :meth:`_design`; ``P`` the identity
        on the ``u`` block, zero on ``beta``): LAPACK up to ``_DENSE_MAX`` unknowns, CHOLMOD
        above, with the pattern analysed once per problem."""
        m = A.shape[1]
        pairs = self._pairs(A, free)
        if pairs is not None:
            a, b, rows, where, diag, n_vals = pairs
            d = A.data
            w = W[rows] * d[a] * d[b]
            if n_vals is None:
                H = np.bincount(where, weights=w, minlength=m * m)
                H[diag] += 1.0
                return DenseFactor(H.reshape(m, m))
            vals = np.bincount(where, weights=w, minlength=n_vals)
            vals[diag] += 1.0
            return self._pattern(free).factor(vals)
        pen = np.concatenate([np.ones(self.q), np.zeros(m - self.q)])
        H = (A.T @ sparse.diags(W) @ A).tocsc() + sparse.diags(pen).tocsc()
        if m <= _DENSE_MAX:
            return DenseFactor(H)
        return self._pattern(free).factor(H)

    def _blas(self):
        """One BLAS thread for the dense path (see :func:`one_blas_thread`)."""
        return one_blas_thread() if self.q + self.p <= _DENSE_MAX else contextlib.nullcontext()

    def pirls(self, theta, beta, phi, free_beta=False, tol=1e-10, max_iter=200):
        """Conditional modes (and, with ``free_beta``, beta) by penalised Fisher scoring."""
        with self._blas():
            return self._pirls(theta, beta, phi, free_beta, tol, max_iter)

    def _pirls(self, theta, beta, phi, free_beta, tol, max_iter):
        fam, y, n = self.fam, self.y, self.n
        ZL = self.ZL(theta)
        q, p = self.q, self.p
        if free_beta:
            A = self._design(ZL, True)
            pen_diag = np.concatenate([np.ones(q), np.zeros(p)])
            beta = self._beta_inner if self._beta_inner is not None else beta
            x = np.concatenate([self._u, beta])
            base = self.offset
        else:
            A = ZL
            pen_diag = np.ones(q)
            x = self._u.copy()
            base = self.X @ beta + self.offset

        def objective(x):
            eta = base + A @ x
            return float(np.sum(fam.loglik(y, n, eta, phi))) - 0.5 * float(np.sum(x[:q] ** 2)), eta

        obj, eta = objective(x)
        if not np.isfinite(obj):
            x = np.zeros_like(x)
            if free_beta:
                x[q:] = beta
            obj, eta = objective(x)
        converged = False
        for _ in range(max_iter):
            # Newton steps (the observed information) wherever the penalised system they give
            # is positive definite: the same mode as Fisher scoring, reached quadratically for
            # non-canonical links (negative binomial: 3-4 steps instead of 12) and exactly
            # enough for finite-difference Hessians where rows carry negative information
            # (Student-t tails); Fisher scoring elsewhere
            s, W = fam.score_info(y, n, eta, phi, observed=True)
            lu = None
            if not np.all(W > 0):
                try:
                    lu = self._factor(A, W, free_beta) if np.all(np.isfinite(W)) else None
                except np.linalg.LinAlgError:
                    lu = None
                if lu is None:
                    s, W = fam.score_info(y, n, eta, phi)
            grad = A.T @ s - pen_diag * x
            if lu is None:
                lu = self._factor(A, W, free_beta)
            step = lu.solve(grad)
            if np.max(np.abs(step)) < tol:
                converged = True
                break
            t = 1.0
            for _ in range(50):
                new_obj, new_eta = objective(x + t * step)
                if np.isfinite(new_obj) and new_obj >= obj - 1e-12 * (1.0 + abs(obj)):
                    break
                t *= 0.5
            else:
                break
            x = x + t * step
            obj, eta = new_obj, new_eta
            if t * np.max(np.abs(step)) < tol:
                converged = True
                break
        self._u = x[:q].copy()
        if free_beta:
            self._beta_inner = x[q:].copy()
        return x, obj, eta, ZL, converged

    def loglik(self, theta, beta, phi, free_beta=False):
        with self._blas():
            return self._loglik(theta, beta, phi, free_beta)

    def _loglik(self, theta, beta, phi, free_beta):
        try:
            x, obj, eta, ZL, _ = self.pirls(theta, beta, phi, free_beta=free_beta)
            _, W = self.fam.score_info(self.y, self.n, eta, phi, observed=self.observed)
            if not (np.isfinite(obj) and np.all(np.isfinite(W))):
                return -np.inf
            if self.n_agq > 1 and not free_beta:
                return self._agq(theta, beta, phi, x, ZL, W)
            lu = self._factor(ZL, W, False)
        except (np.linalg.LinAlgError, FloatingPointError):  # singular, far from the optimum
            self._u = np.zeros(self.q)
            return -np.inf
        return obj - 0.5 * lu.logdet()

    def _agq(self, theta, beta, phi, u, ZL, W):
        Z, codes, J = self.blocks[0]
        zt = Z[:, 0] * theta[0]
        L2 = np.bincount(codes, weights=W * zt**2, minlength=J) + 1.0
        s = 1.0 / np.sqrt(L2)
        base = self.X @ beta + self.offset
        hk = np.empty((J, self.n_agq))
        for k, (z, lw) in enumerate(zip(self.gh_z, self.gh_logw, strict=True)):
            uk = u + s * z
            ll = self.fam.loglik(self.y, self.n, base + zt * uk[codes], phi)
            hk[:, k] = np.bincount(codes, weights=ll, minlength=J) - 0.5 * uk**2 + 0.5 * z**2 + lw
        per_group = np.log(s) - 0.5 * _LOG_2PI + special.logsumexp(hk, axis=1)
        return float(np.sum(per_group))

    def beta_information(self, theta, beta, phi):
        """Information of ``beta`` with ``theta`` known: the Schur complement
        ``X'WX - X'WZL H^-1 L'Z'WX`` at the conditional modes (and the pieces reused)."""
        u, _, eta, ZL, ok = self.pirls(theta, beta, phi)
        _, W = self.fam.score_info(self.y, self.n, eta, phi, observed=self.observed)
        lu = self._factor(ZL, W, False)
        X = self.X
        ZtWX = np.asarray(ZL.T @ (W[:, None] * X))
        S = X.T @ (W[:, None] * X) - ZtWX.T @ lu.solve(ZtWX)
        return S, u, eta, ZL, W, lu, ok

    def split(self, x, with_beta=True):
        theta = x[: self.n_theta]
        beta = x[self.n_theta : self.n_theta + self.p] if with_beta else None
        rest = x[self.n_theta + (self.p if with_beta else 0) :]
        phi = self.fam.from_free(rest[: self.n_phi]) if self.n_phi else None
        return theta, beta, phi


def _as_tuple(phi) -> tuple:
    return tuple(phi) if isinstance(phi, tuple | list | np.ndarray) else (phi,)


def _minimize_off_boundary(run, f, x0, diagonal, max_escapes=5):
    """``run(x0)``, then, while a random-effect SD stopped on zero is a false stop (the
    deviance falls as it moves off zero: :func:`~hierarch.freq.boundary.escape_boundary`),
    ``run`` again from the better point."""
    best = run(x0)
    for _ in range(max_escapes):
        start = escape_boundary(f, best.x, diagonal)
        if start is None:
            break
        again = run(start)
        if not again.fun < best.fun:
            break
        best = again
    return best


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


def _glm_start(fam, y, n, X, offset, phi0=None):
    """Fixed-effect start: a few IRLS steps of the GLM without random effects."""
    if X.shape[1] == 0:  # no fixed effects (an ordinal model without covariates)
        return np.zeros(0)
    eta = fam.start_eta(y, n)
    beta = np.linalg.lstsq(X, eta - offset, rcond=None)[0]
    phi = phi0 if phi0 is not None else fam.unit_phi
    for _ in range(50):
        eta = X @ beta + offset
        s, W = fam.score_info(y, n, eta, phi)
        W = np.maximum(W, 1e-10)
        try:
            step = np.linalg.solve(X.T @ (W[:, None] * X), X.T @ s)
        except np.linalg.LinAlgError:
            break
        t = 1.0
        ll = np.sum(fam.loglik(y, n, eta, phi))
        while t > 1e-4:
            new = beta + t * step
            if np.sum(fam.loglik(y, n, X @ new + offset, phi)) >= ll - 1e-10:
                break
            t *= 0.5
        beta = beta + t * step
        if np.max(np.abs(t * step)) < 1e-8:
            break
    return beta


def glm_fit(
    y, X, *, family: str, link: str, trials=None, offset=None, dispersion=None
) -> tuple[np.ndarray, bool]:
    """Maximum-likelihood GLM without random effects (IRLS; the dispersion, if the family has
    one, held at ``dispersion``).  Returns ``(beta, converged)``; ``beta`` is not finite
    when the MLE is on the boundary (all zeros, separation)."""
    fam = LAPLACE_FAMILIES[family](link)
    y = np.asarray(y, float)
    X = np.asarray(X, float)
    n = np.ones(len(y)) if trials is None else np.asarray(trials, float)
    off = np.zeros(len(y)) if offset is None else np.asarray(offset, float)
    intercept_only = X.shape[1] == 1 and np.allclose(X, 1.0) and np.allclose(off, 0.0)
    if intercept_only and fam.mean_is_sample_mean:
        # intercept only: the MLE of the mean is the sample mean (proportion for binomial)

        mean = float(np.sum(y) / np.sum(n))
        with np.errstate(divide="ignore"):
            return np.array([link_np(link, mean)]), True
    phi = dispersion if fam.names else None
    beta = _glm_start(fam, y, n, X, off, phi)
    s, _ = fam.score_info(y, n, X @ beta + off, phi)
    converged = bool(np.all(np.isfinite(beta)) and np.max(np.abs(X.T @ s)) < 1e-6 * len(y))
    return beta, converged


def fit_glmm(
    y,
    X,
    blocks,
    *,
    family: str = "binomial",
    link: str | None = None,
    trials=None,
    offset=None,
    n_agq: int = 1,
    theta_start=None,
    block_names=None,
) -> GLMMFit:
    """Fit a GLMM by maximum likelihood (Laplace, or AGQ for one scalar random effect).

    Parameters
    ----------
    y : array_like
        Responses (successes for binomial, 0/1 for Bernoulli, counts, positive values for
        gamma, values in (0, 1) for beta).
    X : array_like, shape (n, p)
        Fixed-effect design.
    blocks : list of (Z, codes, n_levels)
        One entry per random-effect term ``(expr | g)``: the term's design ``Z`` (n, k), the
        level code ``0..J-1`` of each row and the number of levels ``J``.
    family : str
        ``binomial``, ``bernoulli``, ``poisson``, ``negative_binomial``, ``gamma`` or ``beta``.
    link : str, optional
        The link; the family's canonical link by default.
    trials : array_like, optional
        Binomial trials.
    offset : array_like, optional
        Known offset on the link scale (e.g. log exposure).
    n_agq : int
        1 for Laplace; more for adaptive Gauss-Hermite quadrature with that many nodes (one
        scalar random effect only); 0 for glmer's ``nAGQ = 0``: only the first stage, the
        fixed effects estimated inside PIRLS and their covariance with the variance
        parameters held known (as lme4, which has no Hessian there).
    theta_start : array_like, optional
        Start of ``theta`` (default as lme4: 1 on the diagonals, 0 elsewhere).
    block_names : list, optional
        The parsed blocks (``factor``, ``columns``, ``k``), to name them in the notes.

    Returns
    -------
    GLMMFit

    Examples
    --------
    >>> import numpy as np, hierarch
    >>> cbpp = hierarch.load_dataset("cbpp")
    >>> X = np.column_stack([np.ones(len(cbpp))] +
    ...                     [(cbpp["period"] == k).to_numpy(float) for k in (2, 3, 4)])
    >>> herd = cbpp["herd"].to_numpy() - 1
    >>> fit = fit_glmm(cbpp["incidence"].to_numpy(), X, [(np.ones((56, 1)), herd, 15)],
    ...                trials=cbpp["size"].to_numpy())
    >>> round(float(np.sqrt(fit.cov[0][0, 0])), 3)
    0.642
    """
    if family not in LAPLACE_FAMILIES:
        raise ValueError(f"unknown family {family!r}; choose one of {', '.join(LAPLACE_FAMILIES)}")

    link = get_family(family).check_link(link)
    fam = LAPLACE_FAMILIES[family](link).for_response(np.asarray(y, dtype=float))
    if int(n_agq) != n_agq or n_agq < 0:
        raise ValueError(f"n_agq must be a non-negative integer, got {n_agq!r}")
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    N = len(y)
    if X.ndim != 2 or X.shape[0] != N:
        raise ValueError(f"X must have shape ({N}, p), got {X.shape}")
    blocks = [
        (np.asarray(Z, float).reshape(N, -1), np.asarray(c, np.int64), int(J)) for Z, c, J in blocks
    ]
    if not blocks:
        raise ValueError("a GLMM needs at least one random-effect term")
    if n_agq > 1 and not (len(blocks) == 1 and blocks[0][0].shape[1] == 1):
        raise ValueError(
            "adaptive quadrature (n_agq > 1) needs a single scalar random effect; this model "
            f"has {sum(Z.shape[1] for Z, _, _ in blocks)} random-effect terms: use the Laplace "
            "approximation (n_agq = 1)"
        )
    n = np.ones(N) if trials is None else np.asarray(trials, dtype=float)
    off = np.zeros(N) if offset is None else np.asarray(offset, dtype=float)
    prob = _Problem(fam, y, n, X, blocks, off, int(n_agq))
    p, nt = X.shape[1], prob.n_theta
    has_phi = prob.n_phi > 0

    beta0 = _glm_start(fam, y, n, X, off)
    mu0 = _link(link, X @ beta0 + off)[0]
    phi0 = fam.start_phi(y, n, mu0) if has_phi else None
    if has_phi:
        beta0 = _glm_start(fam, y, n, X, off, phi0)
    theta0 = np.array([1.0 if lo == 0 else 0.0 for lo in prob.lower])
    if theta_start is not None:
        theta0 = np.asarray(theta_start, dtype=float).reshape(nt)
    prob._beta_inner = beta0.copy()

    bounds_theta = [(0.0, None) if lo == 0 else (None, None) for lo in prob.lower]
    bounds_phi = fam.free_bounds()

    # Stage 1 (lme4's nAGQ = 0): theta (and dispersion), beta inside PIRLS.
    def dev1(x):
        theta, _, phi = prob.split(x, with_beta=False)
        val = -2.0 * prob.loglik(theta, beta0, phi, free_beta=True)
        return val if np.isfinite(val) else 1e100

    x1 = np.concatenate([theta0, fam.to_free(phi0) if has_phi else []])
    diagonal = [i for i, lo in enumerate(prob.lower) if lo == 0]

    def stage1(x):
        return optimize.minimize(
            dev1,
            x,
            method="L-BFGS-B",
            jac="3-point",
            bounds=bounds_theta + bounds_phi,
            options={"ftol": 1e-12, "gtol": 1e-7, "maxiter": 500},
        )

    r1 = _minimize_off_boundary(stage1, dev1, x1, diagonal)
    theta1, _, phi1 = prob.split(r1.x, with_beta=False)
    prob.pirls(theta1, beta0, phi1, free_beta=True)
    beta1 = prob._beta_inner.copy()

    # Stage 2: everything jointly over the Laplace (or AGQ) deviance.
    def dev2(x):
        theta, beta, phi = prob.split(x)
        val = -2.0 * prob.loglik(theta, beta, phi)
        return val if np.isfinite(val) else 1e100

    # The optimiser works on whitened fixed effects, beta = beta1 + C delta with C C' the
    # stage-1 covariance of beta: unit steps are about one standard error in every
    # direction, whatever the scale of the covariates.
    try:
        S1 = prob.beta_information(theta1, beta1, phi1)[0]
        C = np.linalg.cholesky(np.linalg.inv(S1))
    except np.linalg.LinAlgError:
        C = np.eye(p)

    def to_natural(z):
        return np.concatenate([z[:nt], beta1 + C @ z[nt : nt + p], z[nt + p :]])

    def dev2w(z):
        return dev2(to_natural(z))

    bounds = bounds_theta + [(None, None)] * p + bounds_phi
    x2 = np.concatenate([r1.x[:nt], np.zeros(p), r1.x[nt:]])

    def stage2(x):
        best = optimize.minimize(
            dev2w,
            x,
            method="L-BFGS-B",
            jac="3-point",
            bounds=bounds,
            options={"ftol": 1e-13, "gtol": 1e-8, "maxiter": 2000},
        )
        for _ in range(3):  # restart until no further progress (resets the quasi-Newton memory)
            again = optimize.minimize(
                dev2w,
                best.x,
                method="L-BFGS-B",
                jac="3-point",
                bounds=bounds,
                options={"ftol": 1e-14, "gtol": 1e-9, "maxiter": 2000},
            )
            improved = again.fun < best.fun - 1e-9
            if again.fun <= best.fun:
                best = again
            if not improved:
                break
        return best

    if n_agq == 0:  # glmer's nAGQ = 0: the first stage's estimates are the fit
        best = r1
        xhat = np.concatenate([r1.x[:nt], beta1, r1.x[nt:]])
    else:
        best = _minimize_off_boundary(stage2, dev2w, x2, diagonal)
        xhat = to_natural(best.x)
    theta, beta, phi = prob.split(xhat)
    converged = bool(best.success)
    notes: list[str] = []
    loglik = prob.loglik(theta, beta, phi)
    u, _, eta, ZL, pirls_ok = prob.pirls(theta, beta, phi)
    if not pirls_ok:
        notes.append("the conditional modes (PIRLS) did not converge at the estimates")

    # Conditional modes and variances per block: b = T u_j, Var = T (H^-1)_jj T'.
    S, u, eta, ZL, W, lu, _ = prob.beta_information(theta, beta, phi)
    Ts = prob.T_blocks(theta)
    ranef, condvar, cov = [], [], []
    for (Z, _, J), T, off0 in zip(blocks, Ts, prob.offsets, strict=True):
        k = Z.shape[1]
        ub = u[off0 : off0 + J * k].reshape(J, k)
        ranef.append(ub @ T.T)
        # the level blocks of H^-1, from the selected inverse
        base = off0 + np.arange(J)[:, None, None] * k
        ii = np.broadcast_to(base + np.arange(k)[None, :, None], (J, k, k))
        jj = np.broadcast_to(base + np.arange(k)[None, None, :], (J, k, k))
        Hinv = lu.inverse_on(ii.ravel(), jj.ravel()).reshape(J, k, k)
        condvar.append(np.einsum("ab,jbc,dc->jad", T, Hinv, T))
        cov.append(T @ T.T)

    # Fixed-effect covariance given theta: inverse Schur complement of the (u, beta) system.
    vcov_cond = np.linalg.inv(S)

    singular = any(np.any(np.abs(np.diag(T)) < 1e-4) for T in Ts)
    if singular:
        from types import SimpleNamespace

        named = [
            SimpleNamespace(
                factor=f"grouping factor {i + 1}",
                columns=[f"effect {c + 1}" for c in range(Z.shape[1])],
                k=Z.shape[1],
            )
            for i, (Z, _, _) in enumerate(blocks)
        ]
        notes.append(
            singular_message(block_names or named, cov)
            or "boundary (singular) fit (as lme4's isSingular): " + TRY_BAYES
        )
    elif theta_start is None and n_agq > 0:  # (refits from a start skip the optimum check)
        names = [f"theta[{i}]" for i in range(nt)] + [f"beta[{j}]" for j in range(p)]
        names += ["dispersion"] * (len(xhat) - nt - p)
        lower = list(prob.lower) + [None] * (len(xhat) - nt)
        notes += check_optimum(dev2, xhat, names, [0.0 if lo == 0 else None for lo in lower])
    hessian_ok = False
    vcov = vcov_cond
    phi_cov = None
    if not singular and n_agq > 0:
        if fam.observed:  # gamma / beta (glmmTMB): the dispersion is in the Hessian too
            H = _num_hessian(dev2, xhat)
        else:  # glmer / glmer.nb: the NB dispersion is held at its estimate
            phi_fixed = xhat[nt + p :]
            H = _num_hessian(lambda z: dev2(np.concatenate([z, phi_fixed])), xhat[: nt + p])
        try:
            if np.all(np.linalg.eigvalsh(H) > 0):
                cov_all = 2.0 * np.linalg.inv(H)
                vcov = cov_all[nt : nt + p, nt : nt + p]
                if fam.observed and prob.n_phi:
                    phi_cov = cov_all[nt + p :, nt + p :]
                hessian_ok = True
        except np.linalg.LinAlgError:
            pass
        if not hessian_ok:
            notes.append(
                "the finite-difference Hessian of the deviance is not positive definite; "
                "standard errors treat the variance parameters as known"
            )
    if not converged:
        notes.append(
            f"the optimiser did not report convergence ({best.message}); check the estimates. "
            "What to try: center and scale the covariates, simplify the random effects."
        )
    return GLMMFit(
        family=family,
        link=link,
        n_agq=int(n_agq),
        beta=beta,
        vcov=vcov,
        vcov_conditional=vcov_cond,
        theta=np.asarray(theta, float),
        cov=cov,
        dispersion=(fam.dispersion, _as_tuple(phi)[0]) if fam.dispersion else None,
        family_params=dict(
            zip(
                fam.names[1:] if fam.dispersion else fam.names,
                _as_tuple(phi)[1:] if fam.dispersion else _as_tuple(phi),
                strict=True,
            )
        )
        if has_phi
        else {},
        ranef=ranef,
        condvar=condvar,
        loglik=float(loglik),
        n_obs=N,
        converged=converged,
        singular=singular,
        hessian_ok=hessian_ok,
        message=str(best.message),
        notes=notes,
        phi_cov=phi_cov,
        problem=prob,
    )
