"""The numba functions of :class:`hierarch.bayes.kernels.GLMMKernel` (imported on first use, so
that importing hierarch does not import numba; at module level, so numba caches their machine
code on disk; a module of its own, as each kernel class: its C entry points compile when it is
imported)."""

from __future__ import annotations

import numba
import numpy as np

from hierarch.bayes._kernel_common import EXPAND_SIG, LOGP_SIG, _as_pointer, sd_prior


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
