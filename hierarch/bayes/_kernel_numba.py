"""The numba functions of :mod:`hierarch.bayes.kernels` (imported on first use, so that
importing hierarch does not import numba; at module level, so numba caches their machine
code on disk)."""

from __future__ import annotations

import numba
import numba.extending
import numpy as np


@numba.njit(cache=True, nogil=True)
def sd_prior(kind, a, b, s):
    """Log-density of a group SD ``s`` (up to a constant) and its derivative."""
    if kind == 0:  # half-normal(sigma = a)
        return -0.5 * (s / a) ** 2, -s / a**2
    if kind == 1:  # exponential(lam = a)
        return -a * s, -a
    if kind == 2:  # half-Cauchy(beta = a)
        return -np.log1p((s / a) ** 2), -2.0 * s / (a**2 + s**2)
    # half-Student-t(nu = a, sigma = b)
    return -0.5 * (a + 1.0) * np.log1p((s / b) ** 2 / a), -(a + 1.0) * s / (a * b**2 + s**2)


@numba.njit(cache=True, nogil=True)
def effects(x, starts, J, centred, loc_col, out):
    """The group effects ``b`` of every block into ``out`` (blocks one after another):
    ``sd z`` (non-centred) or ``c - loc`` (centred)."""
    pos = 0
    for blk in range(starts.shape[0]):
        u0 = starts[blk] + 1
        s = np.exp(x[starts[blk]])
        loc = x[loc_col[blk]] if loc_col[blk] >= 0 else 0.0
        for j in range(J[blk]):
            out[pos + j] = x[u0 + j] - loc if centred[blk] else s * x[u0 + j]
        pos += J[blk]


@numba.njit(cache=True, nogil=True)
def logp(x, grad, X, off, y, n, codes, starts, J, centred, loc_col, beta_mu, beta_sd,
         sd_kind, sd_a, sd_b, family):  # fmt: skip
    """Log posterior density (up to a constant) at ``x``; its gradient into ``grad``.

    ``x`` = beta, then per block its log SD and its ``J`` effects (z or c) from
    ``starts[block]``; ``codes[block, row]`` the level of each row."""
    N, p = X.shape
    B = codes.shape[0]
    grad[:] = 0.0
    lp = 0.0
    for k in range(p):
        d = (x[k] - beta_mu[k]) / beta_sd[k]
        lp -= 0.5 * d * d
        grad[k] -= d / beta_sd[k]
    total = 0
    for blk in range(B):
        total += J[blk]
    b = np.empty(total)
    effects(x, starts, J, centred, loc_col, b)
    geta = np.empty(N)
    for i in range(N):
        e = off[i]
        for k in range(p):
            e += X[i, k] * x[k]
        pos = 0
        for blk in range(B):
            e += b[pos + codes[blk, i]]
            pos += J[blk]
        if family == 0:  # binomial, logit link: y eta - n log(1 + e^eta)
            sp = e + np.log1p(np.exp(-e)) if e > 0 else np.log1p(np.exp(e))
            lp += y[i] * e - n[i] * sp
            geta[i] = y[i] - n[i] / (1.0 + np.exp(-e))
        else:  # Poisson, log link: y eta - e^eta
            mu = np.exp(e)
            lp += y[i] * e - mu
            geta[i] = y[i] - mu
        for k in range(p):
            grad[k] += X[i, k] * geta[i]
    for blk in range(B):
        ls = x[starts[blk]]
        s = np.exp(ls)
        u0 = starts[blk] + 1
        G = np.zeros(J[blk])
        for i in range(N):
            G[codes[blk, i]] += geta[i]
        gls = 0.0
        lc = loc_col[blk]
        if centred[blk]:  # c_j ~ N(loc, s), b_j = c_j - loc
            loc = x[lc] if lc >= 0 else 0.0
            for j in range(J[blk]):
                d = (x[u0 + j] - loc) / s
                lp += -0.5 * d * d - ls
                grad[u0 + j] += G[j] - d / s
                gls += d * d - 1.0
                if lc >= 0:  # loc enters the prior of c_j and, as -loc, each row's eta
                    grad[lc] += d / s - G[j]
        else:  # z_j ~ N(0, 1), b_j = s z_j
            for j in range(J[blk]):
                z = x[u0 + j]
                lp -= 0.5 * z * z
                grad[u0 + j] += s * G[j] - z
                gls += s * z * G[j]
        lpp, dlp = sd_prior(sd_kind[blk], sd_a[blk], sd_b[blk], s)
        lp += lpp + ls  # the prior of s and the Jacobian of s = exp(ls)
        grad[starts[blk]] += gls + s * dlp + 1.0
    return lp


# ---------------------------------------------------------------- C-callable entry points
# nutpie calls these from its own threads, without Python or the GIL (as it calls the
# functions it compiles for PyMC models).  ``user_data`` points to a uint64 table of the
# data's addresses and sizes (:data:`hierarch.bayes.kernels.TABLE`); nothing in the machine
# code depends on the model, so it is compiled once per machine.

_T = numba.types
LOGP_SIG = _T.int64(_T.uint64, _T.CPointer(_T.double), _T.CPointer(_T.double),
                    _T.CPointer(_T.double), _T.voidptr)  # fmt: skip
EXPAND_SIG = _T.int64(_T.uint64, _T.uint64, _T.CPointer(_T.double), _T.CPointer(_T.double),
                      _T.voidptr)  # fmt: skip


@numba.extending.intrinsic
def _as_pointer(typingctx, src):
    """A void pointer from an address (numba's documented extension API)."""
    from numba.core import cgutils

    def codegen(cgctx, builder, sig, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return _T.voidptr(src), codegen


@numba.njit(cache=True)
def _unpack(user_data):
    t = numba.carray(user_data, (20,), np.uint64)
    N, p, B = int(t[0]), int(t[1]), int(t[2])
    X = numba.carray(_as_pointer(t[3]), (N, p), np.float64)
    off = numba.carray(_as_pointer(t[4]), (N,), np.float64)
    y = numba.carray(_as_pointer(t[5]), (N,), np.float64)
    n = numba.carray(_as_pointer(t[6]), (N,), np.float64)
    codes = numba.carray(_as_pointer(t[7]), (B, N), np.int64)
    starts = numba.carray(_as_pointer(t[8]), (B,), np.int64)
    J = numba.carray(_as_pointer(t[9]), (B,), np.int64)
    centred = numba.carray(_as_pointer(t[10]), (B,), np.int64)
    loc_col = numba.carray(_as_pointer(t[11]), (B,), np.int64)
    beta_mu = numba.carray(_as_pointer(t[12]), (p,), np.float64)
    beta_sd = numba.carray(_as_pointer(t[13]), (p,), np.float64)
    sd_kind = numba.carray(_as_pointer(t[14]), (B,), np.int64)
    sd_a = numba.carray(_as_pointer(t[15]), (B,), np.float64)
    sd_b = numba.carray(_as_pointer(t[16]), (B,), np.float64)
    family = int(t[17])
    n_dim = int(t[18])
    return (X, off, y, n, codes, starts, J, centred, loc_col, beta_mu, beta_sd, sd_kind,
            sd_a, sd_b, family, n_dim)  # fmt: skip


@numba.cfunc(LOGP_SIG, cache=True, nogil=True)
def logp_c(dim, x_, out_, logp_, user_data):
    (X, off, y, n, codes, starts, J, centred, loc_col, beta_mu, beta_sd, sd_kind, sd_a,
     sd_b, family, n_dim) = _unpack(user_data)  # fmt: skip
    if dim != n_dim:
        return -1
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_dim,))
    val = logp(x, out, X, off, y, n, codes, starts, J, centred != 0, loc_col, beta_mu,
               beta_sd, sd_kind, sd_a, sd_b, family)  # fmt: skip
    logp_[0] = val
    for k in range(n_dim):  # nutpie's codes: 3 a non-finite gradient, 4 a non-finite value
        if not np.isfinite(out[k]):
            return 3
    if not np.isfinite(val):
        return 4
    return 0


@numba.cfunc(EXPAND_SIG, cache=True, nogil=True)
def expand_c(dim, n_expanded, x_, out_, user_data):
    """Every stored variable, flattened in the order beta, then per block sd, z or c, b."""
    (X, off, y, n, codes, starts, J, centred, loc_col, beta_mu, beta_sd, sd_kind, sd_a,
     sd_b, family, n_dim) = _unpack(user_data)  # fmt: skip
    if dim != n_dim:
        return -1
    x = numba.carray(x_, (n_dim,))
    p = X.shape[1]
    total = 0
    for blk in range(J.shape[0]):
        total += J[blk]
    if n_expanded != p + J.shape[0] + 2 * total:
        return -1
    out = numba.carray(out_, (n_expanded,))
    b = np.empty(total)
    effects(x, starts, J, centred != 0, loc_col, b)
    for k in range(p):
        out[k] = x[k]
    pos, bpos = p, 0
    for blk in range(J.shape[0]):
        u0 = starts[blk] + 1
        out[pos] = np.exp(x[starts[blk]])
        pos += 1
        for j in range(J[blk]):
            out[pos + j] = x[u0 + j]
        pos += J[blk]
        for j in range(J[blk]):
            out[pos + j] = b[bpos + j]
        pos += J[blk]
        bpos += J[blk]
    return 0


# ------------------------------------------- Gaussian models, group effects integrated out
@numba.njit(cache=True, nogil=True)
def lmm_logp(x, grad, yty, Xty, XtX, ZtZ, Zty, ZtX, n_total, K, beta_mu, beta_sd, sc,
             sd_kind, sd_a, sd_b, sig_kind, sig_a, sig_b, eta_lkj):  # fmt: skip
    """Log posterior density (up to a constant) of a one-factor Gaussian model with its
    group effects integrated out (:func:`hierarch.bayes.graphs.build_marginal`), K = 1 or 2
    effects per group, and its gradient into ``grad``.

    ``x`` = beta, then the log group SD (K = 1) or the LKJ Cholesky factor's packed
    unconstrained values ``log L00, L10, log L11`` (K = 2, PyMC's ``LKJCholeskyCov`` with
    its ``sd_dist`` at unit scale and the prior scales ``sc`` outside), then log sigma."""
    p = Xty.shape[0]
    J = ZtZ.shape[0]
    grad[:] = 0.0
    lp = 0.0
    for k in range(p):
        d = (x[k] - beta_mu[k]) / beta_sd[k]
        lp -= 0.5 * d * d
        grad[k] -= d / beta_sd[k]
    # the group covariance's Cholesky factor L = [[l11, 0], [l21, l22]] and its prior
    g_var = np.zeros(3)  # d lp / d (the unconstrained variance parameters)
    if K == 1:
        ls = x[p]
        l11 = np.exp(ls)
        l21 = 0.0
        l22 = 0.0
        lpp, dlp = sd_prior(sd_kind, sd_a, sd_b, l11)
        lp += lpp + ls
        g_var[0] = l11 * dlp + 1.0
        t = x[p + 1]
    else:
        a, c, dd = x[p], x[p + 1], x[p + 2]
        L00, L11 = np.exp(a), np.exp(dd)
        v2 = c * c + L11 * L11
        sd2 = np.sqrt(v2)
        lsd2 = 0.5 * np.log(v2)
        lp1, d1 = sd_prior(sd_kind, sd_a, sd_b, L00)
        lp2, d2 = sd_prior(sd_kind, sd_a, sd_b, sd2)
        e2 = 2.0 * eta_lkj - 2.0
        # sd prior, LKJ density of the correlation, the Jacobian from (sd, corr) to the
        # factor, the log transform of the diagonal
        lp += lp1 + lp2 + e2 * (dd - lsd2) + (dd - 2.0 * lsd2) + a + dd
        g_var[0] = d1 * L00 + 1.0
        g_var[1] = d2 * c / sd2 - 2.0 * eta_lkj * c / v2
        g_var[2] = d2 * L11 * L11 / sd2 + e2 * (1.0 - L11 * L11 / v2) + 2.0 - 2.0 * L11 * L11 / v2
        l11, l21, l22 = sc[0] * L00, sc[1] * c, sc[1] * L11
        t = x[p + 3]
    sigma = np.exp(t)
    s2 = sigma * sigma
    lpp, dlp = sd_prior(sig_kind, sig_a, sig_b, sigma)
    lp += lpp + t
    g_t = sigma * dlp + 1.0
    # the marginal likelihood: sum_j [log|A_j| - v_j' A_j^-1 v_j / s2] + global terms
    rtr = yty
    for k in range(p):
        rtr -= 2.0 * Xty[k] * x[k]
        for m in range(p):
            rtr += x[k] * XtX[k, m] * x[m]
    F = 0.0
    gL = np.zeros(3)  # d F / d (l11, l21, l22)
    g_s2 = 0.0
    gb = np.zeros(p)
    r = np.zeros(2)
    for j in range(J):
        for a_ in range(K):
            r[a_] = Zty[j, a_]
            for k in range(p):
                r[a_] -= ZtX[j, a_, k] * x[k]
        if K == 1:
            z = ZtZ[j, 0, 0]
            A = s2 + l11 * l11 * z
            q = l11 * r[0] / A
            w2 = l11 * r[0] * q
            F += np.log(A) - w2 / s2
            gL[0] += 2.0 * z * l11 / A - 2.0 * (r[0] - z * l11 * q) * q / s2
            g_s2 += 1.0 / A + w2 / (s2 * s2) + q * q / s2
            for k in range(p):
                gb[k] += 2.0 / s2 * ZtX[j, 0, k] * l11 * q
        else:
            m00, m01, m11 = ZtZ[j, 0, 0], ZtZ[j, 0, 1], ZtZ[j, 1, 1]
            ML00 = m00 * l11 + m01 * l21  # M L
            ML01 = m01 * l22
            ML10 = m01 * l11 + m11 * l21
            ML11 = m11 * l22
            A00 = l11 * ML00 + l21 * ML10 + s2  # L' M L + s2 I
            A01 = l11 * ML01 + l21 * ML11
            A11 = l22 * ML11 + s2
            det = A00 * A11 - A01 * A01
            I00, I01, I11 = A11 / det, -A01 / det, A00 / det
            v0 = l11 * r[0] + l21 * r[1]
            v1 = l22 * r[1]
            q0 = I00 * v0 + I01 * v1
            q1 = I01 * v0 + I11 * v1
            w2 = v0 * q0 + v1 * q1
            F += np.log(det) - w2 / s2
            # d F / d L = 2 M L A^-1 - 2 (r - M L q) q' / s2, on the lower triangle
            e0 = r[0] - (ML00 * q0 + ML01 * q1)
            e1 = r[1] - (ML10 * q0 + ML11 * q1)
            gL[0] += 2.0 * (ML00 * I00 + ML01 * I01) - 2.0 * e0 * q0 / s2
            gL[1] += 2.0 * (ML10 * I00 + ML11 * I01) - 2.0 * e1 * q0 / s2
            gL[2] += 2.0 * (ML10 * I01 + ML11 * I11) - 2.0 * e1 * q1 / s2
            g_s2 += I00 + I11 + w2 / (s2 * s2) + (q0 * q0 + q1 * q1) / s2
            Lq0 = l11 * q0
            Lq1 = l21 * q0 + l22 * q1
            for k in range(p):
                gb[k] += 2.0 / s2 * (ZtX[j, 0, k] * Lq0 + ZtX[j, 1, k] * Lq1)
    nq = n_total - J * K
    lp += -0.5 * (n_total * np.log(2.0 * np.pi) + F + nq * np.log(s2) + rtr / s2)
    for k in range(p):
        d_rtr = -2.0 * Xty[k]
        for m in range(p):
            d_rtr += 2.0 * XtX[k, m] * x[m]
        grad[k] += -0.5 * (gb[k] + d_rtr / s2)
    g_s2 += nq / s2 - rtr / (s2 * s2)
    grad_t = g_t - 0.5 * g_s2 * 2.0 * s2
    if K == 1:
        grad[p] += g_var[0] - 0.5 * gL[0] * l11
        grad[p + 1] += grad_t
    else:
        grad[p] += g_var[0] - 0.5 * gL[0] * l11
        grad[p + 1] += g_var[1] - 0.5 * gL[1] * sc[1]
        grad[p + 2] += g_var[2] - 0.5 * gL[2] * l22
        grad[p + 3] += grad_t
    return lp


@numba.njit(cache=True)
def _lmm_unpack(user_data):
    t = numba.carray(user_data, (24,), np.uint64)
    p, J, K = int(t[0]), int(t[1]), int(t[2])
    yty = numba.carray(_as_pointer(t[3]), (1,), np.float64)[0]
    Xty = numba.carray(_as_pointer(t[4]), (p,), np.float64)
    XtX = numba.carray(_as_pointer(t[5]), (p, p), np.float64)
    ZtZ = numba.carray(_as_pointer(t[6]), (J, K, K), np.float64)
    Zty = numba.carray(_as_pointer(t[7]), (J, K), np.float64)
    ZtX = numba.carray(_as_pointer(t[8]), (J, K, p), np.float64)
    reals = numba.carray(_as_pointer(t[9]), (9,), np.float64)
    beta_mu = numba.carray(_as_pointer(t[10]), (p,), np.float64)
    beta_sd = numba.carray(_as_pointer(t[11]), (p,), np.float64)
    sc = numba.carray(_as_pointer(t[12]), (2,), np.float64)
    n_dim = int(t[13])
    return (yty, Xty, XtX, ZtZ, Zty, ZtX, reals[0], K, beta_mu, beta_sd, sc, int(reals[1]),
            reals[2], reals[3], int(reals[4]), reals[5], reals[6], reals[7], n_dim)  # fmt: skip


@numba.cfunc(LOGP_SIG, cache=True, nogil=True)
def lmm_logp_c(dim, x_, out_, logp_, user_data):
    (yty, Xty, XtX, ZtZ, Zty, ZtX, n_total, K, beta_mu, beta_sd, sc, sd_kind, sd_a, sd_b,
     sig_kind, sig_a, sig_b, eta_lkj, n_dim) = _lmm_unpack(user_data)  # fmt: skip
    if dim != n_dim:
        return -1
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_dim,))
    val = lmm_logp(x, out, yty, Xty, XtX, ZtZ, Zty, ZtX, n_total, K, beta_mu, beta_sd, sc,
                   sd_kind, sd_a, sd_b, sig_kind, sig_a, sig_b, eta_lkj)  # fmt: skip
    logp_[0] = val
    for k in range(n_dim):
        if not np.isfinite(out[k]):
            return 3
    if not np.isfinite(val):
        return 4
    return 0


@numba.njit(cache=True, nogil=True)
def lmm_expand(x, p, K, sc, out):
    """The stored variables, flattened: beta; K = 1: sd, sigma; K = 2: the packed unit
    factor (chol_), its correlation (chol__corr) and SDs (chol__stds), sd, corr, sigma."""
    for k in range(p):
        out[k] = x[k]
    if K == 1:
        out[p] = np.exp(x[p])
        out[p + 1] = np.exp(x[p + 1])
        return
    L00, c, L11 = np.exp(x[p]), x[p + 1], np.exp(x[p + 2])
    sd2 = np.sqrt(c * c + L11 * L11)
    rho = c / sd2
    vals = (L00, c, L11, 1.0, rho, rho, 1.0, L00, sd2, sc[0] * L00, sc[1] * sd2,
            1.0, rho, rho, 1.0, np.exp(x[p + 3]))  # fmt: skip
    for i in range(16):
        out[p + i] = vals[i]


@numba.cfunc(EXPAND_SIG, cache=True, nogil=True)
def lmm_expand_c(dim, n_expanded, x_, out_, user_data):
    (yty, Xty, XtX, ZtZ, Zty, ZtX, n_total, K, beta_mu, beta_sd, sc, sd_kind, sd_a, sd_b,
     sig_kind, sig_a, sig_b, eta_lkj, n_dim) = _lmm_unpack(user_data)  # fmt: skip
    p = Xty.shape[0]
    if dim != n_dim or n_expanded != p + (2 if K == 1 else 16):
        return -1
    lmm_expand(numba.carray(x_, (n_dim,)), p, K, sc, numba.carray(out_, (n_expanded,)))
    return 0
