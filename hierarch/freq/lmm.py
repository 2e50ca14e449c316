"""Linear mixed models by ML or REML: lme4's profiled deviance (Bates et al. 2015, J. Stat.
Softw. 67(1), section 3): per-group blocks for one grouping factor, CHOLMOD (sparse) for several.

Random effects are ``b = Lambda(theta) u`` with spherical ``u ~ N(0, sigma^2 I)``; for each
block of ``k`` correlated effects, ``Lambda`` repeats a lower-triangular ``k x k`` factor
``T`` over the block's levels, and ``theta`` holds ``T``'s lower triangle column by column
(lme4's order).  For given ``theta`` the penalised least-squares problem is solved through
the Cholesky factor ``L`` of ``Lambda' Z'Z Lambda + I`` and the profiled deviance is

* ML:   ``log|L|^2 + n (1 + log(2 pi r^2 / n))``
* REML: ``log|L|^2 + log|R_X|^2 + (n - p)(1 + log(2 pi r^2 / (n - p)))``

with ``r^2`` the penalised residual sum of squares.  Only cross-products enter, so the cost
per evaluation does not depend on the number of rows once ``Z'Z``, ``Z'X``, ... are formed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse

from hierarch.core.formula import ParsedFormula, REBlock
from hierarch.core.sparse import CholmodPattern
from hierarch.freq.boundary import escape_boundary
from hierarch.freq.diagnose import TRY_BAYES, check_optimum, singular_message

__all__ = ["LMMFit", "fit_lmm", "fit_lmm_statistics", "varcorr_table"]

_LOG_2PI = np.log(2 * np.pi)


def varcorr_table(blocks, covs, residual_sd: float | None = None) -> pd.DataFrame:
    """lme4's ``as.data.frame(VarCorr(fit))``: one row per SD (``var2`` NaN) and per
    correlation within a block, then the residual SD when there is one."""
    rows = []
    for b, C in zip(blocks, covs, strict=True):
        sd = np.sqrt(np.diag(C))
        for i, name in enumerate(b.columns):
            rows.append(
                {"group": b.factor, "var1": name, "var2": np.nan, "vcov": C[i, i], "sdcor": sd[i]}
            )
        for i in range(b.k):
            for j in range(i + 1, b.k):
                cor = C[i, j] / (sd[i] * sd[j]) if sd[i] > 0 and sd[j] > 0 else np.nan
                rows.append(
                    {
                        "group": b.factor,
                        "var1": b.columns[i],
                        "var2": b.columns[j],
                        "vcov": C[i, j],
                        "sdcor": cor,
                    }
                )
    if residual_sd is not None:
        rows.append(
            {
                "group": "Residual",
                "var1": np.nan,
                "var2": np.nan,
                "vcov": residual_sd**2,
                "sdcor": residual_sd,
            }
        )
    return pd.DataFrame(rows)


@dataclass
class LMMFit:
    """Result of :func:`fit_lmm`.

    Attributes
    ----------
    beta, se, vcov
        Fixed effects, their standard errors and covariance (named by ``x_names``).
    sigma
        Residual standard deviation.
    theta
        Relative covariance factor parameters (lme4's ``getME(fit, "theta")``).
    blocks
        The random-effect blocks; ``cov[i]`` is block ``i``'s covariance matrix.
    ranef
        Conditional modes (BLUPs) per block: arrays of shape (levels, k).
    condvar
        Conditional covariances per block: arrays of shape (levels, k, k).
    criterion
        REML criterion (REML fits) or deviance ``-2 loglik`` (ML fits).
    """

    method: str
    x_names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    sigma: float
    theta: np.ndarray
    blocks: list[REBlock]
    cov: list[np.ndarray]
    ranef: list[np.ndarray]
    condvar: list[np.ndarray]
    criterion: float
    n_obs: int
    converged: bool
    singular: bool
    notes: list[str] = field(default_factory=list)
    #: the cross-product problem the fit was made from (for the fixed-effect tests and the
    #: profiles of :mod:`hierarch.freq.inference` and :mod:`hierarch.freq.profile`)
    problem: object = field(default=None, repr=False, compare=False)
    #: what prior weights add to ``criterion`` (``-sum(log w)``: the density of the response,
    #: not of the rows scaled by ``sqrt(w)`` that ``problem`` holds); 0 without weights
    weights_term: float = 0.0

    @property
    def se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.vcov))

    @property
    def loglik(self) -> float:
        """Log-likelihood (the restricted one for REML fits, as lme4's ``logLik``)."""
        return -0.5 * self.criterion

    @property
    def n_params(self) -> int:
        return len(self.beta) + len(self.theta) + 1

    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * self.n_params

    @property
    def fixed_effects(self) -> pd.DataFrame:
        return pd.DataFrame({"estimate": self.beta, "se": self.se}, index=self.x_names)

    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(fit))``."""
        return varcorr_table(self.blocks, self.cov, residual_sd=self.sigma)

    def ranef_frame(self, i: int = 0) -> pd.DataFrame:
        """Conditional modes of block ``i`` as a DataFrame indexed by level."""
        b = self.blocks[i]
        return pd.DataFrame(
            self.ranef[i], index=pd.Index(b.levels, name=b.factor), columns=b.columns
        )


#: several grouping factors with up to this many effects in all are factored dense (LAPACK):
#: a deviance costs 0.3 ms there against CHOLMOD's 2 ms of bookkeeping (penicillin, pastes)
DENSE_MAX_Q = 300


class _LMM:
    def __init__(self, pf: ParsedFormula, reml: bool, algebra: str = "auto"):
        if algebra not in ("auto", "sparse", "dense", "blocks"):
            raise ValueError(
                f"algebra must be 'auto', 'sparse', 'dense' or 'blocks', not {algebra!r}"
            )
        self.pf, self.reml = pf, reml
        n = pf.n
        X, y = pf.X, pf.y
        self.XtX, self.Xty, self.yty = X.T @ X, X.T @ y, float(y @ y)
        self.n, self.p = n, X.shape[1]
        # theta layout: lower triangles, column-major within each block
        self.theta_index, self.lower = [], []
        for b in pf.blocks:
            idx = [(i, j) for j in range(b.k) for i in range(j, b.k)]
            self.theta_index.append(idx)
            self.lower += [0.0 if i == j else -np.inf for (i, j) in idx]
        self.n_theta = len(self.lower)
        self.single = len(pf.blocks) == 1 if algebra in ("auto", "blocks") else False
        if algebra == "auto" and not self.single:
            q = sum(b.n_levels * b.k for b in pf.blocks)
            algebra = "dense" if q <= DENSE_MAX_Q else "sparse"
        if algebra == "blocks" and not self.single:
            raise ValueError("algebra='blocks' needs a single grouping factor")
        self.sparse = False
        if self.single:
            # one grouping factor: per-group cross-products (sufficient statistics); every
            # later step costs O(J k^3), independent of the number of rows
            b = pf.blocks[0]
            J, k, g, Z = b.n_levels, b.k, b.codes, b.Z

            def gsum(w):
                return np.bincount(g, weights=w, minlength=J)

            self.ZtZ_g = np.stack(
                [np.stack([gsum(Z[:, a] * Z[:, c]) for c in range(k)], -1) for a in range(k)], 1
            )
            self.ZtX_g = np.stack(
                [np.stack([gsum(Z[:, a] * X[:, c]) for c in range(self.p)], -1) for a in range(k)],
                1,
            )
            self.Zty_g = np.stack([gsum(Z[:, a] * y) for a in range(k)], -1)
            self.offsets, self.q = [0], J * k
            return
        # several factors (crossed / nested): Z level-major within each block, sparse
        self.offsets = []
        off = 0
        rows, cols, tpos, zr, zc, zv = [], [], [], [], [], []
        pos = 0
        for b, idx in zip(pf.blocks, self.theta_index, strict=True):
            for c in range(b.k):
                zr.append(np.arange(n))
                zc.append(off + b.codes * b.k + c)
                zv.append(b.Z[:, c])
            self.offsets.append(off)
            for t, (i, j) in enumerate(idx):
                base = off + np.arange(b.n_levels) * b.k
                rows.append(base + i)
                cols.append(base + j)
                tpos.append(np.full(b.n_levels, pos + t))
            pos += len(idx)
            off += b.n_levels * b.k
        self.q = off
        self._lam_rows = np.concatenate(rows)
        self._lam_cols = np.concatenate(cols)
        self._lam_theta = np.concatenate(tpos)
        Z = sparse.csc_matrix(
            (np.concatenate(zv), (np.concatenate(zr), np.concatenate(zc))), shape=(n, self.q)
        )
        ZtZ = (Z.T @ Z).tocsc()
        self.ZtX, self.Zty = np.asarray(Z.T @ X), np.asarray(Z.T @ y).ravel()
        if algebra == "dense":
            self.sparse = False
            self.ZtZ = ZtZ.toarray()
            return
        # CHOLMOD: the pattern of Lambda' Z'Z Lambda + I for every theta (all structural
        # entries of Lambda nonzero), analysed once with a fill-reducing ordering (AMD)
        self.sparse = True
        self.ZtZ = ZtZ
        lam1 = sparse.csc_matrix(
            (np.ones(len(self._lam_rows)), (self._lam_rows, self._lam_cols)), shape=(self.q,) * 2
        )
        self.chol = CholmodPattern(lam1.T @ abs(ZtZ) @ lam1)
        self._eye = sparse.identity(self.q, format="csc")

    @classmethod
    def from_statistics(cls, st, reml: bool) -> _LMM:
        """The one-factor problem from :class:`hierarch.core.engines.GaussianStatistics`
        (no rows): the same arithmetic as from a parsed formula."""
        m = cls.__new__(cls)
        block = REBlock(
            factor=st.group,
            expr=" + ".join(st.z_names),
            columns=list(st.z_names),
            Z=None,
            codes=None,
            levels=list(st.levels),
        )
        m.pf = _StatsFormula(st.response, list(st.x_names), [block], st.n)
        m.reml = reml
        m.XtX, m.Xty, m.yty = st.XtX, st.Xty, float(st.yty)
        m.n, m.p = int(st.n), len(st.x_names)
        k = len(st.z_names)
        m.theta_index = [[(i, j) for j in range(k) for i in range(j, k)]]
        m.lower = [0.0 if i == j else -np.inf for (i, j) in m.theta_index[0]]
        m.n_theta = len(m.lower)
        m.single, m.sparse = True, False
        m.ZtZ_g, m.ZtX_g, m.Zty_g = st.ZtZ_g, st.ZtX_g, st.Zty_g
        m.offsets, m.q = [0], len(st.levels) * k
        return m

    def T_blocks(self, theta):
        Ts, pos = [], 0
        for b, idx in zip(self.pf.blocks, self.theta_index, strict=True):
            T = np.zeros((b.k, b.k))
            for i, j in idx:
                T[i, j] = theta[pos]
                pos += 1
            Ts.append(T)
        return Ts

    def Lambda(self, theta):
        vals = np.asarray(theta, float)[self._lam_theta]
        if self.sparse:
            return sparse.csc_matrix((vals, (self._lam_rows, self._lam_cols)), shape=(self.q,) * 2)
        lam = np.zeros((self.q, self.q))
        lam[self._lam_rows, self._lam_cols] = vals
        return lam

    def solve(self, theta):
        if self.single:
            return self._solve_single(theta)
        if self.sparse:
            return self._solve_sparse(theta)
        Lam = self.Lambda(theta)
        A = Lam.T @ self.ZtZ @ Lam + np.eye(self.q)
        L = linalg.cholesky(A, lower=True)
        cu = linalg.solve_triangular(L, Lam.T @ self.Zty, lower=True)
        RZX = linalg.solve_triangular(L, Lam.T @ self.ZtX, lower=True)
        out = self._fixed_step(cu, RZX, RZX.T @ RZX, RZX.T @ cu, cu @ cu)
        return {"Lam": Lam, "L": L, **out, "ldL2": 2 * np.sum(np.log(np.diag(L)))}

    def _fixed_step(self, cu, RZX, RZX_gram, RZX_cu, cu2):
        """The fixed effects given the random-effect half-solves (lme4's ``R_X``, ``beta`` and
        the penalised residual sum of squares), the same for every algebra."""
        RX = linalg.cholesky(self.XtX - RZX_gram, lower=False)
        cb = linalg.solve_triangular(RX, self.Xty - RZX_cu, trans="T", lower=False)
        beta = linalg.solve_triangular(RX, cb, lower=False)
        r2 = self.yty - cu2 - cb @ cb
        return {"cu": cu, "RZX": RZX, "RX": RX, "beta": beta, "r2": max(r2, 1e-300)}

    def _solve_sparse(self, theta):
        Lam = self.Lambda(theta)
        f = self.chol.factor(Lam.T @ self.ZtZ @ Lam + self._eye)
        cu = f.solve_L(Lam.T @ self.Zty)
        RZX = f.solve_L(np.asarray(Lam.T @ self.ZtX))
        out = self._fixed_step(cu, RZX, RZX.T @ RZX, RZX.T @ cu, cu @ cu)
        return {"Lam": Lam, "factor": f, **out, "ldL2": f.logdet()}

    def _solve_single(self, theta):
        T = self.T_blocks(theta)[0]
        k = T.shape[0]
        A = np.einsum("ba,jbc,cd->jad", T, self.ZtZ_g, T) + np.eye(k)
        L = np.linalg.cholesky(A)  # (J, k, k), lower
        cu = np.linalg.solve(L, np.einsum("ba,jb->ja", T, self.Zty_g)[..., None])[..., 0]
        RZX = np.linalg.solve(L, np.einsum("ba,jbp->jap", T, self.ZtX_g))  # (J, k, p)
        out = self._fixed_step(
            cu,
            RZX,
            np.einsum("jkp,jkq->pq", RZX, RZX),
            np.einsum("jkp,jk->p", RZX, cu),
            np.sum(cu**2),
        )
        ldL2 = 2 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)))
        return {"T": T, "L": L, **out, "ldL2": ldL2}

    def deviance(self, theta):
        try:
            s = self.solve(theta)
        except np.linalg.LinAlgError:
            # far out (very large theta) the fixed-effect cross-product X'X - RZX'RZX loses
            # its positive definiteness to rounding: no finite deviance there, so the
            # optimisers step back (issue 11: (x || g) on ordinary data)
            return np.inf
        ldL2 = s["ldL2"]
        if self.reml:
            ldRX2 = 2 * np.sum(np.log(np.abs(np.diag(s["RX"]))))
            nmp = self.n - self.p
            return ldL2 + ldRX2 + nmp * (1 + _LOG_2PI + np.log(s["r2"] / nmp))
        return ldL2 + self.n * (1 + _LOG_2PI + np.log(s["r2"] / self.n))


@dataclass
class _StatsFormula:
    """What a fit from statistics knows of its formula (no rows)."""

    response: str
    x_names: list[str]
    blocks: list[REBlock]
    n: int


def fit_lmm_statistics(st, reml: bool = True) -> LMMFit:
    """Fit a one-factor Gaussian mixed model by REML or ML from its sufficient statistics
    (:func:`hierarch.core.engines.gaussian_statistics`): the same optimiser and results as
    :func:`fit_lmm`, for data that stay in an engine.

    Examples
    --------
    >>> import hierarch
    >>> from hierarch.core.engines import gaussian_statistics
    >>> st = gaussian_statistics(hierarch.load_dataset("pigs"), "weight", ["Intercept", "week"],
    ...                          "id", ["Intercept", "week"])
    >>> fit = fit_lmm_statistics(st)
    >>> [round(float(b), 5) for b in fit.beta], round(float(fit.sigma), 4)
    ([19.35561, 6.2099], 1.2637)
    """
    return fit_lmm(None, reml=reml, _problem=_LMM.from_statistics(st, reml))


def conditional(m: _LMM, theta) -> dict:
    """Everything a fit reports at ``theta``: the solve's pieces, ``sigma2``, the fixed-effect
    covariance, the blocks' covariances, conditional modes and conditional covariances (the
    same quantities whichever algebra ``m`` uses)."""
    s = m.solve(theta)
    nmp = m.n - m.p if m.reml else m.n
    sigma2 = s["r2"] / nmp
    RXinv = linalg.solve_triangular(s["RX"], np.eye(m.p), lower=False)
    vcov = sigma2 * RXinv @ RXinv.T
    Ts = m.T_blocks(theta)
    covs, ranef, condvar = [], [], []
    if m.single:
        b, T = m.pf.blocks[0], Ts[0]
        resid = s["cu"] - np.einsum("jkp,p->jk", s["RZX"], s["beta"])
        u = np.linalg.solve(np.swapaxes(s["L"], 1, 2), resid[..., None])[..., 0]
        ranef.append(u @ T.T)
        # conditional covariance of b_j: sigma^2 T A_j^{-1} T' (lme4's condVar)
        Linv_T = np.linalg.solve(s["L"], np.broadcast_to(T.T, s["L"].shape))
        condvar.append(sigma2 * np.einsum("jak,jal->jkl", Linv_T, Linv_T))
        covs.append(sigma2 * T @ T.T)
    elif m.sparse:
        f = s["factor"]
        b_all = s["Lam"] @ f.solve_Lt(s["cu"] - s["RZX"] @ s["beta"])
        # condVar: the level blocks of sigma^2 Lambda A^-1 Lambda', from the selected inverse
        for b, T, off in zip(m.pf.blocks, Ts, m.offsets, strict=True):
            k, J = b.k, b.n_levels
            covs.append(sigma2 * T @ T.T)
            ranef.append(b_all[off : off + J * k].reshape(J, k))
            base = off + np.arange(J)[:, None, None] * k
            ii = np.broadcast_to(base + np.arange(k)[None, :, None], (J, k, k))
            jj = np.broadcast_to(base + np.arange(k)[None, None, :], (J, k, k))
            Ainv = f.inverse_on(ii.ravel(), jj.ravel()).reshape(J, k, k)
            condvar.append(sigma2 * np.einsum("ab,jbc,dc->jad", T, Ainv, T))
    else:
        u = linalg.solve_triangular(s["L"], s["cu"] - s["RZX"] @ s["beta"], trans="T", lower=True)
        b_all = s["Lam"] @ u
        # conditional covariance of b: sigma^2 Lambda A^{-1} Lambda'  (lme4's condVar, which
        # conditions on beta as well)
        Linv = linalg.solve_triangular(s["L"], np.eye(m.q), lower=True)
        LamLinvT = s["Lam"] @ Linv.T
        for b, T, off in zip(m.pf.blocks, Ts, m.offsets, strict=True):
            covs.append(sigma2 * T @ T.T)
            size = b.n_levels * b.k
            ranef.append(b_all[off : off + size].reshape(b.n_levels, b.k))
            M = LamLinvT[off : off + size].reshape(b.n_levels, b.k, m.q)
            condvar.append(sigma2 * np.einsum("jaq,jbq->jab", M, M))
    return {
        "solve": s,
        "sigma2": sigma2,
        "vcov": vcov,
        "Ts": Ts,
        "cov": covs,
        "ranef": ranef,
        "condvar": condvar,
    }


def fit_lmm(
    pf: ParsedFormula,
    reml: bool = True,
    theta_start=None,
    algebra: str = "auto",
    _problem: _LMM | None = None,
) -> LMMFit:
    """Fit a linear mixed model by REML (default) or ML.

    Parameters
    ----------
    pf : ParsedFormula
        From :func:`hierarch.core.formula.parse_formula`, with at least one random-effect block.
    reml : bool
        Restricted maximum likelihood (lme4's default) or maximum likelihood.
    theta_start : array_like, optional
        A start near the optimum (a bootstrap refit starts from the original estimate): one
        L-BFGS-B search from there, with the boundary check, instead of the five searches
        from lme4's start.
    algebra : {"auto", "sparse", "dense", "blocks"}
        How ``Lambda' Z'Z Lambda + I`` is factored: ``"blocks"`` (one grouping factor: a
        small Cholesky factor per group), ``"sparse"`` (CHOLMOD with a fill-reducing ordering,
        any number of factors, :mod:`hierarch.core.sparse`) or ``"dense"`` (LAPACK on the full
        ``q x q`` matrix; the reference the others are tested against).  ``"auto"``: blocks for
        one factor; several: dense up to ``DENSE_MAX_Q`` (300) effects, sparse above.

    Examples
    --------
    >>> import hierarch
    >>> from hierarch.core.formula import parse_formula
    >>> pf = parse_formula("weight ~ week + (week | id)", hierarch.load_dataset("pigs"))
    >>> fit = fit_lmm(pf)
    >>> [round(float(b), 5) for b in fit.beta], round(float(fit.sigma), 4)
    ([19.35561, 6.2099], 1.2637)
    """
    if _problem is not None:
        m = _problem
        pf = m.pf
    elif not pf.blocks:
        raise ValueError("the formula has no random effects; add a term like (1 | group)")
    else:
        m = _LMM(pf, reml, algebra)
    x0 = np.array([1.0 if lo == 0.0 else 0.0 for lo in m.lower])
    bounds = [(0.0, None) if lo == 0.0 else (None, None) for lo in m.lower]
    # Searches from lme4's start (theta = identity): L-BFGS-B can stop on the boundary at a
    # degenerate factor (a zero diagonal with the variance carried by an off-diagonal term),
    # Nelder-Mead and COBYQA escape that; the best result is then polished in turn.
    opts_lb = {"ftol": 1e-13, "gtol": 1e-9, "maxiter": 5000}
    opts_nm = {"xatol": 1e-8, "fatol": 1e-10, "maxfev": 3000}

    def lbfgs(x):
        with np.errstate(invalid="ignore"):  # inf - inf in finite differences next to an inf
            return optimize.minimize(
                m.deviance, x, method="L-BFGS-B", bounds=bounds, options=opts_lb
            )

    def nelder_mead(x):
        return optimize.minimize(
            m.deviance, x, method="Nelder-Mead", bounds=bounds, options=opts_nm
        )

    def cobyqa(x):
        return optimize.minimize(
            m.deviance,
            x,
            method="COBYQA",
            bounds=bounds,
            options={"f_target": -np.inf, "final_tr_radius": 1e-8, "maxfev": 5000},
        )

    if theta_start is not None:
        runs = [lbfgs(np.asarray(theta_start, float).reshape(m.n_theta))]
    elif all(b.k == 1 for b in pf.blocks):
        # scalar random effects only: the degenerate factors the other searches guard against
        # cannot occur (zeros are checked below), and one search by COBYQA (Powell's successor
        # of BOBYQA, lme4's optimiser) reaches two Nelder-Mead searches' optimum to ~1e-10 in
        # 60-90 evaluations (penicillin, pastes, InstEval), where L-BFGS-B on finite
        # differences stops 1e-6 to 1e-5 short
        runs = [cobyqa(x0)]
    else:
        # with COBYQA as a third search: on a singular fit L-BFGS-B and Nelder-Mead can both
        # end in a worse rank-one optimum (lmerTest's simulated seed004, Y ~ X + (X | Group):
        # zero intercept SD, REML criterion 0.08 above lme4's perfectly correlated optimum,
        # which COBYQA reaches from every start tried)
        runs = [lbfgs(x0), nelder_mead(x0), cobyqa(x0)]
        runs.append(nelder_mead(min(runs, key=lambda r: r.fun).x))
        runs.append(lbfgs(runs[-1].x))
    best = min(runs, key=lambda r: r.fun)
    # the deviance is even in each scalar theta: a stop at zero may be a false one
    diagonal = [i for i, lo in enumerate(m.lower) if lo == 0.0]
    for _ in range(5):
        start = escape_boundary(m.deviance, best.x, diagonal)
        if start is None:
            break
        again = min([lbfgs(start), nelder_mead(start)], key=lambda r: r.fun)
        if not again.fun < best.fun:
            break
        runs.append(again)
        best = again
    theta = best.x
    crit = m.deviance(theta)
    c = conditional(m, theta)
    s, sigma2, vcov, Ts = c["solve"], c["sigma2"], c["vcov"], c["Ts"]
    covs, ranef, condvar = c["cov"], c["ranef"], c["condvar"]
    singular = any(np.any(np.abs(np.diag(T)) < 1e-4) for T in Ts)
    notes = []
    if singular:
        notes.append(
            singular_message(pf.blocks, covs)
            or "boundary (singular) fit (as lme4's isSingular): " + TRY_BAYES
        )
    converged = bool(any(r.success for r in runs))
    if not converged:
        notes.append(
            f"the optimiser did not report convergence ({best.message}). What to try: center "
            "and scale the covariates, simplify the random effects."
        )
    if not singular and theta_start is None:  # (refits from a start skip the check)
        names = [
            f"{b.factor}: {b.columns[i]}"
            if i == j
            else f"{b.factor}: {b.columns[i]}~{b.columns[j]}"
            for b, idx in zip(pf.blocks, m.theta_index, strict=True)
            for (i, j) in idx
        ]
        notes += check_optimum(m.deviance, theta, names, list(m.lower))
    return LMMFit(
        method="reml" if reml else "ml",
        x_names=pf.x_names,
        beta=s["beta"],
        vcov=vcov,
        sigma=float(np.sqrt(sigma2)),
        theta=theta,
        blocks=pf.blocks,
        cov=covs,
        ranef=ranef,
        condvar=condvar,
        criterion=float(crit),
        n_obs=m.n,
        converged=converged,
        singular=singular,
        notes=notes,
        problem=m,
    )
