"""Tests of fixed effects in linear mixed models, as lmerTest gives them: t tests and F tests
of contrasts ``L beta = 0`` with Satterthwaite's denominator degrees of freedom, lmerTest's
type III ``anova`` table, and Kenward and Roger's (1997) adjusted covariance and degrees of
freedom (pbkrtest).

Satterthwaite (lmerTest; Kuznetsova et al. 2017, J. Stat. Softw. 82(13), section 3)
--------------------------------------------------------------------------------
With the variance parameters ``varpar = (theta, sigma)``, the covariance of the fixed effects
is ``C(varpar) = sigma^2 (R_X' R_X)^{-1}`` and the (restricted) deviance is

    ``d(varpar) = log|L|^2 + r^2(theta) / sigma^2 + n log(2 pi sigma^2)``
    ``[ + log|R_X|^2 - p log(2 pi sigma^2) for REML ]``

-- both from the same cross-products as the fit (:class:`hierarch.freq.lmm._LMM`), so the
cost does not grow with the number of rows once they are formed, and a single grouping
factor stays block diagonal (no n x n and no q x q matrix).  ``A = 2 H^{-1}`` (``H`` the
Hessian of ``d`` at the estimates) is the asymptotic covariance of ``varpar``, ``J_i =
dC/dvarpar_i``.  For one contrast ``l``, ``nu = 2 (l'Cl)^2 / (g' A g)`` with ``g_i = l' J_i
l``.  For ``q`` rows, ``L C L'`` is diagonalised, each eigen-direction gets its own ``nu_m``
and the F statistic's denominator df is ``2E / (E - q)`` with ``E = sum nu_m / (nu_m - 2)``
(lmerTest's ``contestMD``).  The derivatives are central differences refined by Richardson
extrapolation (as numDeriv, which lmerTest uses, but from larger first steps: see
:func:`_steps`).

Kenward-Roger (Kenward and Roger 1997; Halekoh and Hojsgaard 2014, pbkrtest)
---------------------------------------------------------------------------
With ``V = sum_i s_i G_i`` linear in the variance and covariance components ``s`` (pbkrtest's
parameterization: for each random-effect block, each entry of its covariance matrix, and the
residual variance), ``Phi = (X'V^{-1}X)^{-1}``, ``P_i = -X'V^{-1}G_iV^{-1}X``, ``Q_ij =
X'V^{-1}G_iV^{-1}G_jV^{-1}X``, the information ``I_ij = tr(V^-1 G_i V^-1 G_j)/2 - tr(Phi
Q_ij) + tr(Phi P_i Phi P_j)/2`` of the REML likelihood and ``W = I^{-1}``, the adjusted
covariance is ``Phi_A = Phi + 2 Phi (sum_ij W_ij (Q_ij - P_i Phi P_j)) Phi`` and the F
statistic is scaled and referred to an F distribution with the moment-matched df of
Kenward and Roger's paper.  Every ``V^{-1}`` product is formed from cross-products through
``V^{-1} = (I - Z K Z') / sigma^2``, ``K = Lambda (Lambda'Z'Z Lambda + I)^{-1} Lambda'`` (q x
q: dense for several grouping factors).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

__all__ = [
    "DDF_METHODS",
    "FixedEffectTests",
    "contrast_test",
    "kenward_roger",
    "satterthwaite",
]

_LOG_2PI = np.log(2 * np.pi)
DDF_METHODS = ("satterthwaite", "kenward-roger")


# --------------------------------------------------------------------------- derivatives
def _steps(x: np.ndarray, d: float = 0.1, floor: float = 0.01) -> np.ndarray:
    """First steps of the differences: 10 % of each value (at least 0.01).  The deviance is
    formed from cross-products (``y'y - ...``), which cancel to about 1e-10 of its value, so
    small steps drown in rounding; Richardson's extrapolation removes the truncation error of
    large ones instead (checked: the df of pigs and sleepstudy agree to 1e-5 relative for
    first steps of 5 % to 20 %)."""
    return d * np.maximum(np.abs(x), floor / d)


def _richardson(values: list[np.ndarray]) -> np.ndarray:
    """Richardson extrapolation of central differences with steps h, h/2, h/4, ...
    (their error is a series in h^2)."""
    table = [np.asarray(v, float) for v in values]
    m = 1
    while len(table) > 1:
        f = 4.0**m
        table = [(f * table[i + 1] - table[i]) / (f - 1) for i in range(len(table) - 1)]
        m += 1
    return table[0]


def jacobian(f, x: np.ndarray, r: int = 4) -> np.ndarray:
    """d f / d x_i for a vector- or matrix-valued ``f``: shape ``(len(x), *f(x).shape)``."""
    x = np.asarray(x, float)
    h0 = _steps(x)
    out = []
    for i in range(len(x)):
        ests = []
        for k in range(r):
            e = np.zeros_like(x)
            e[i] = h0[i] / 2**k
            ests.append((np.asarray(f(x + e)) - np.asarray(f(x - e))) / (2 * e[i]))
        out.append(_richardson(ests))
    return np.array(out)


def hessian(f, x: np.ndarray, r: int = 4) -> np.ndarray:
    """The Hessian of a scalar ``f`` by central second differences with Richardson
    extrapolation."""
    x = np.asarray(x, float)
    k = len(x)
    h0 = _steps(x)
    f0 = float(f(x))
    H = np.empty((k, k))
    for i in range(k):
        for j in range(i + 1):
            ests = []
            for s in range(r):
                hi, hj = h0[i] / 2**s, h0[j] / 2**s
                ei = np.zeros(k)
                ei[i] = hi
                if i == j:
                    ests.append((f(x + ei) - 2 * f0 + f(x - ei)) / hi**2)
                else:
                    ej = np.zeros(k)
                    ej[j] = hj
                    ests.append(
                        (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej))
                        / (4 * hi * hj)
                    )
            H[i, j] = H[j, i] = _richardson(ests)
    return H


# --------------------------------------------------------------------------- Satterthwaite
@dataclass
class FixedEffectTests:
    """What the tests of one fit need: the estimates, the covariance of the fixed effects and,
    for Satterthwaite, the covariance ``A`` of the variance parameters and the derivatives
    ``jac[i] = dC/dvarpar_i``; for Kenward-Roger, the adjusted covariance and the pieces of
    its df."""

    method: str
    beta: np.ndarray
    vcov: np.ndarray
    A: np.ndarray | None = None
    jac: np.ndarray | None = None
    kr: dict | None = None
    note: str | None = None


def _varpar_functions(problem):
    """The deviance and the fixed-effect covariance as functions of ``(theta, sigma)``."""
    n, p, reml = problem.n, problem.p, problem.reml

    def deviance(vp):
        theta, sigma = vp[:-1], vp[-1]
        s2 = sigma**2
        s = problem.solve(theta)
        dev = s["ldL2"] + s["r2"] / s2 + n * (_LOG_2PI + np.log(s2))
        if reml:
            dev += 2 * np.sum(np.log(np.abs(np.diag(s["RX"])))) - p * (_LOG_2PI + np.log(s2))
        return float(dev)

    def vcov(vp):
        theta, sigma = vp[:-1], vp[-1]
        RX = problem.solve(theta)["RX"]
        RXinv = linalg.solve_triangular(RX, np.eye(p), lower=False)
        return sigma**2 * RXinv @ RXinv.T

    return deviance, vcov


def satterthwaite(problem, theta: np.ndarray, sigma: float) -> FixedEffectTests:
    """The pieces of Satterthwaite's df at the estimates ``(theta, sigma)`` of a fit made by
    :class:`hierarch.freq.lmm._LMM` ``problem`` (REML or ML, as the fit)."""
    deviance, vcov = _varpar_functions(problem)
    vp = np.concatenate([np.asarray(theta, float), [float(sigma)]])
    H = hessian(deviance, vp)
    note = None
    try:
        eig = np.linalg.eigvalsh(H)
        if np.min(eig) <= 1e-8 * max(1.0, np.max(np.abs(eig))):
            raise np.linalg.LinAlgError
        A = 2 * np.linalg.inv(H)
    except np.linalg.LinAlgError:
        A = 2 * np.linalg.pinv(H)
        note = (
            "the Hessian of the deviance in the variance parameters is not positive definite "
            "(a singular fit or a variance on its boundary): the Satterthwaite df are unreliable"
        )
    jac = jacobian(vcov, vp)
    return FixedEffectTests(
        "satterthwaite", problem.solve(theta)["beta"], vcov(vp), A=A, jac=jac, note=note
    )


def _ddf_F(nu: np.ndarray) -> float:
    """lmerTest's ``get_Fstat_ddf``: the denominator df of an F statistic from the df of its
    ``q`` independent t statistics."""
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < 1e-8):
        return float(np.mean(nu))
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


def contrast_test(tests: FixedEffectTests, L) -> dict:
    """Test ``L beta = 0``.

    One row: ``estimate`` (``l'beta``), ``se``, ``df``, ``t`` and ``p`` (two-sided); several
    rows: ``F``, ``num_df``, ``den_df`` and ``p``, plus ``sum_sq`` and ``mean_sq`` filled in
    by the caller (they need sigma).

    Examples
    --------
    >>> import hierarch
    >>> fit = hierarch.model("weight ~ week + (week | id)",
    ...                      hierarch.load_dataset("pigs")).fit(method="reml")
    >>> tests = satterthwaite(fit.lmm.problem, fit.lmm.theta, fit.lmm.sigma)
    >>> round(contrast_test(tests, [0, 1])["df"], 2)
    47.0
    """
    L = np.atleast_2d(np.asarray(L, float))
    if L.shape[1] != len(tests.beta):
        raise ValueError(
            f"the contrast has {L.shape[1]} columns; the model has {len(tests.beta)} fixed effects"
        )
    if tests.method == "kenward-roger":
        return _kr_test(tests, L)
    C = tests.vcov
    est = L @ tests.beta
    if L.shape[0] == 1:
        row = L[0]
        var = float(row @ C @ row)
        g = np.array([row @ J @ row for J in tests.jac])
        df = 2 * var**2 / float(g @ tests.A @ g)
        t = float(est[0] / np.sqrt(var))
        return {
            "estimate": float(est[0]),
            "se": float(np.sqrt(var)),
            "df": df,
            "t": t,
            "p": float(2 * stats.t.sf(abs(t), df)),
        }
    d, P = np.linalg.eigh(L @ C @ L.T)
    order = np.argsort(d)[::-1]
    d, P = d[order], P[:, order]
    pos = d > max(np.finfo(float).eps ** 0.5 * d[0], 0)
    q = int(pos.sum())
    PtL = (P.T @ L)[:q]
    t2 = (PtL @ tests.beta) ** 2 / d[:q]
    F = float(np.sum(t2) / q)
    nu = np.empty(q)
    for m in range(q):
        g = np.array([PtL[m] @ J @ PtL[m] for J in tests.jac])
        nu[m] = 2 * d[m] ** 2 / float(g @ tests.A @ g)
    den = _ddf_F(nu)
    return {"F": F, "num_df": q, "den_df": den, "p": float(stats.f.sf(F, q, den))}


# --------------------------------------------------------------------------- Kenward-Roger
def _components(problem, theta, sigma):
    """The variance and covariance components ``s`` and the q x q matrices ``D_i`` with
    ``G_i = Z D_i Z'`` (the residual component, ``G = I``, comes last with ``D = None``)."""
    blocks = problem.pf.blocks
    comps, Ds = [], []
    Ts = problem.T_blocks(theta)
    offs = problem.offsets if not problem.single else [0]
    for b, T, off in zip(blocks, Ts, offs, strict=True):
        S = sigma**2 * T @ T.T
        for a in range(b.k):
            for c in range(a, b.k):
                E = np.zeros((b.k, b.k))
                E[a, c] = E[c, a] = 1.0
                comps.append(S[a, c])
                Ds.append((off, b.n_levels, E))
    comps.append(sigma**2)
    Ds.append(None)
    return np.array(comps), Ds


def kenward_roger(problem, theta: np.ndarray, sigma: float) -> FixedEffectTests:
    """Kenward-Roger's adjusted covariance of the fixed effects and the pieces of its df, at
    the REML estimates, from cross-products (see the module docstring)."""
    if not problem.reml:
        raise ValueError("Kenward-Roger's method is defined for REML fits: fit with method='reml'")
    pf = problem.pf
    X, n = pf.X, problem.n
    # dense Z (level-major within each block) and the cross-products
    zs = []
    for b in pf.blocks:
        Zb = np.zeros((n, b.n_levels * b.k))
        for c in range(b.k):
            Zb[np.arange(n), b.codes * b.k + c] = b.Z[:, c]
        zs.append(Zb)
    Z = np.hstack(zs)
    q = Z.shape[1]
    offsets = np.cumsum([0] + [z.shape[1] for z in zs])[:-1]
    ZtZ, ZtX, XtX = Z.T @ Z, Z.T @ X, X.T @ X
    lam = np.zeros((q, q))
    for b, T, off in zip(pf.blocks, problem.T_blocks(theta), offsets, strict=True):
        for j in range(b.n_levels):
            sl = slice(off + j * b.k, off + (j + 1) * b.k)
            lam[sl, sl] = T
    A = lam.T @ ZtZ @ lam + np.eye(q)
    K = lam @ linalg.cho_solve(linalg.cho_factor(A), lam.T)  # Lambda A^-1 Lambda'
    s2 = sigma**2
    # V^-1 = (I - Z K Z') / s2 ;  M = Z'V^-1Z, N = Z'V^-1X, X'V^-1X
    M = (ZtZ - ZtZ @ K @ ZtZ) / s2
    N = (ZtX - ZtZ @ K @ ZtX) / s2
    XVX = (XtX - ZtX.T @ K @ ZtX) / s2
    # second powers: Z'V^-2Z, Z'V^-2X, X'V^-2X, and tr(V^-2) = sum of squares of V^-1
    ZV2Z = (ZtZ - 2 * ZtZ @ K @ ZtZ + ZtZ @ K @ ZtZ @ K @ ZtZ) / s2**2
    ZV2X = (ZtX - 2 * ZtZ @ K @ ZtX + ZtZ @ K @ ZtZ @ K @ ZtX) / s2**2
    XV2X = (XtX - 2 * ZtX.T @ K @ ZtX + ZtX.T @ K @ ZtZ @ K @ ZtX) / s2**2
    KZ = K @ ZtZ
    trV2 = (n - 2 * np.trace(KZ) + np.sum(KZ * KZ.T)) / s2**2
    comps, Ds = _components(problem, theta, sigma)
    m = len(comps)

    def D_full(spec):
        off, J, E = spec
        k = E.shape[0]
        D = np.zeros((q, q))
        for j in range(J):
            sl = slice(off + j * k, off + (j + 1) * k)
            D[sl, sl] = E
        return D

    Dm = [None if s is None else D_full(s) for s in Ds]
    Phi = np.linalg.inv(XVX)
    # P_i = -X'V^-1 G_i V^-1 X ; for G = Z D Z': -N' D N ; for G = I: -X'V^-2X
    P = [-(N.T @ D @ N) if D is not None else -XV2X for D in Dm]
    # X'V^-1 G_i V^-1 G_j V^-1 X
    XV2Z = ZV2X.T

    def Q(i, j):
        Di, Dj = Dm[i], Dm[j]
        if Di is not None and Dj is not None:
            return N.T @ Di @ M @ Dj @ N
        if Di is None and Dj is not None:
            return XV2Z @ Dj @ N
        if Di is not None and Dj is None:
            return N.T @ Di @ ZV2X
        # X'V^-3X
        XV3X = (
            XtX
            - 3 * ZtX.T @ K @ ZtX
            + 3 * ZtX.T @ K @ ZtZ @ K @ ZtX
            - ZtX.T @ K @ ZtZ @ K @ ZtZ @ K @ ZtX
        ) / s2**3
        return XV3X

    def trVGVG(i, j):
        Di, Dj = Dm[i], Dm[j]
        if Di is not None and Dj is not None:
            return float(np.sum((Di @ M) * (Dj @ M).T))
        if Di is None and Dj is not None:
            return float(np.sum(Dj * ZV2Z))
        if Di is not None and Dj is None:
            return float(np.sum(Di * ZV2Z))
        return float(trV2)

    Qm = [[Q(i, j) for j in range(m)] for i in range(m)]
    info = np.empty((m, m))
    for i in range(m):
        for j in range(i + 1):
            v = (
                0.5 * trVGVG(i, j)
                - np.trace(Phi @ Qm[i][j])
                + 0.5 * np.trace(Phi @ P[i] @ Phi @ P[j])
            )
            info[i, j] = info[j, i] = v
    W = np.linalg.inv(info)
    U = sum(W[i, j] * (Qm[i][j] - P[i] @ Phi @ P[j]) for i in range(m) for j in range(m))
    PhiA = Phi + 2 * Phi @ U @ Phi
    beta = problem.solve(theta)["beta"]
    kr = {"Phi": Phi, "P": P, "W": W}
    return FixedEffectTests("kenward-roger", beta, PhiA, kr=kr)


def _kr_test(tests: FixedEffectTests, L: np.ndarray) -> dict:
    """Kenward and Roger's (1997) scaled F test of ``L beta = 0`` (pbkrtest's ``KRmodcomp``)."""
    kr = tests.kr
    Phi, P, W = kr["Phi"], kr["P"], kr["W"]
    ell = L.shape[0]
    est = L @ tests.beta
    Theta = L.T @ np.linalg.solve(L @ Phi @ L.T, L)
    m = len(P)
    A1 = A2 = 0.0
    TPhi = [Theta @ Phi @ P[i] @ Phi for i in range(m)]
    for i in range(m):
        for j in range(m):
            A1 += W[i, j] * np.trace(TPhi[i]) * np.trace(TPhi[j])
            A2 += W[i, j] * np.trace(TPhi[i] @ TPhi[j])
    B = (A1 + 6 * A2) / (2 * ell)
    g = ((ell + 1) * A1 - (ell + 4) * A2) / ((ell + 2) * A2)
    c1 = g / (3 * ell + 2 * (1 - g))
    c2 = (ell - g) / (3 * ell + 2 * (1 - g))
    c3 = (ell + 2 - g) / (3 * ell + 2 * (1 - g))
    Estar = 1 / (1 - A2 / ell)
    Vstar = 2 / ell * (1 + c1 * B) / ((1 - c2 * B) ** 2 * (1 - c3 * B))
    rho = Vstar / (2 * Estar**2)
    df2 = 4 + (ell + 2) / (ell * rho - 1)
    lam = df2 / (Estar * (df2 - 2))
    Fw = float(est @ np.linalg.solve(L @ tests.vcov @ L.T, est)) / ell
    Fs = lam * Fw
    if ell == 1:
        se = float(np.sqrt(L[0] @ tests.vcov @ L[0]))
        t = float(est[0] / se)
        return {
            "estimate": float(est[0]),
            "se": se,
            "df": float(df2),
            "t": t,
            "p": float(2 * stats.t.sf(abs(t), df2)),
            "F_scaled": Fs,
        }
    return {
        "F": Fs,
        "num_df": ell,
        "den_df": float(df2),
        "p": float(stats.f.sf(Fs, ell, df2)),
        "F_unscaled": Fw,
        "scale": float(lam),
    }
