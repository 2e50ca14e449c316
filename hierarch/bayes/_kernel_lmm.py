"""The numba functions of :class:`hierarch.bayes.kernels.LMMKernel` (one-factor Gaussian models,
group effects integrated out; a module of its own, as each kernel class: its C entry points
compile when it is imported)."""

from __future__ import annotations

import numba
import numpy as np

from hierarch.bayes._kernel_common import EXPAND_SIG, LOGP_SIG, _as_pointer, sd_prior


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
