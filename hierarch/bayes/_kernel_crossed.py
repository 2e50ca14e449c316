"""The numba functions of :class:`hierarch.bayes.kernels.CrossedKernel` (a module of their
own: its C entry points compile when it is imported, and with an empty numba cache that takes
tens of seconds, which the other kernels' models must not pay for)."""

from __future__ import annotations

import numba
import numba.extending
import numpy as np

from hierarch.bayes._kernel_common import EXPAND_SIG, LOGP_SIG, _as_pointer, sd_prior

_T = numba.types


# ------------------------- Gaussian models with several grouping factors, all integrated out
# y = W u + e with u = (beta, b), W = [X Z], prior u ~ N(m, P^-1) (P: the fixed effects'
# prior precisions, 1 / tau_k^2 for the levels of factor k), e ~ N(0, s I).  With
# H = W'W / s + P and h = W'y / s + P m, the marginal log-likelihood is
#   -n/2 log(2 pi s) + 1/2 log|P| - 1/2 log|H| - 1/2 (y'y / s + m'P m - h'H^-1 h).
# The factor with most levels ("e") has a diagonal block of H (each row has one level): it is
# eliminated first and the rest ("R": the fixed effects and the other factors' levels) forms a
# dense Schur complement S = H_RR - H_Re H_ee^-1 H_eR, so |H| = |H_ee| |S|.


@numba.extending.intrinsic
def _fortran_call(typingctx, fn, a1, a2, a3, a4, a5, a6):
    """Call the Fortran routine at address ``fn`` with up to six pointer arguments (LAPACK's
    ``dpotrf``/``dtrtri`` from SciPy's ``cython_lapack``; the address is data, read from the
    model's table, so the machine code stays cacheable).  Unused trailing arguments are
    passed and ignored."""
    from llvmlite import ir
    from numba.core import cgutils

    def codegen(cgctx, builder, sig, args):
        fnty = ir.FunctionType(ir.VoidType(), [cgutils.voidptr_t] * 6)
        fptr = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(fptr, list(args[1:]))
        return cgctx.get_dummy_value()

    return _T.void(fn, a1, a2, a3, a4, a5, a6), codegen


def lapack_addresses() -> np.ndarray:
    """The addresses of SciPy's ``dpotrf``, ``dtrtri`` and ``strtri`` (this process's)."""
    from numba.extending import get_cython_function_address as addr

    mod = "scipy.linalg.cython_lapack"
    names = ("dpotrf", "dtrtri", "strtri")
    return np.array([addr(mod, name) for name in names], dtype=np.uint64)


@numba.njit(cache=True, nogil=True)
def _chol_lower_inplace(A, lapack):
    """LAPACK ``dpotrf('L')`` on the C-ordered symmetric ``A``: afterwards ``A[j, i]``
    (``j <= i``) holds ``L[i, j]`` of ``A = L L'`` (Fortran's column-major lower factor read
    in C order).  Returns LAPACK's ``info`` (0: positive definite)."""
    n = A.shape[0]
    ints = np.array([n, n, 0], dtype=np.int32)
    chars = np.array([ord("L"), ord("N")], dtype=np.uint8)
    _fortran_call(lapack[0], _as_pointer(chars.ctypes.data), _as_pointer(ints.ctypes.data),
                  _as_pointer(A.ctypes.data), _as_pointer(ints[1:].ctypes.data),
                  _as_pointer(ints[2:].ctypes.data), _as_pointer(ints[2:].ctypes.data))  # fmt: skip
    return ints[2]


@numba.njit(cache=True, nogil=True)
def _tri_inv_inplace(A, lapack):
    """LAPACK ``dtrtri('L', 'N')`` (``strtri`` for a float32 ``A``) on the factor left by
    :func:`_chol_lower_inplace`: afterwards ``A[a, r]`` (``a <= r``) holds ``(L^-1)[r, a]``."""
    n = A.shape[0]
    ints = np.array([n, n, 0], dtype=np.int32)
    chars = np.array([ord("L"), ord("N")], dtype=np.uint8)
    routine = lapack[2] if A.itemsize == 4 else lapack[1]
    _fortran_call(routine, _as_pointer(chars.ctypes.data), _as_pointer(chars[1:].ctypes.data),
                  _as_pointer(ints.ctypes.data), _as_pointer(A.ctypes.data),
                  _as_pointer(ints[1:].ctypes.data), _as_pointer(ints[2:].ctypes.data))  # fmt: skip
    return ints[2]


#: columns of a dense matrix per pass of the crossed kernel's sparse loops (128 x 3000 doubles:
#: 3 MB at most, in cache)
_CHUNK = 128


@numba.njit(cache=True, nogil=True)
def _crossed_system(x, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk, pprec, pmean, e,
                    pcnt, pstart, pidx, pval):  # fmt: skip
    """``S`` (its upper triangle), ``g`` (the Schur system of ``mu_R``), ``h_e`` (diagonal
    of ``H_ee``), ``s`` and the SDs at ``x`` (log SDs of the blocks, then log sigma).

    ``S -= sum_i w_i c_i c_i'`` with ``w_i = 1 / (s^2 h_i)``: ``h_i`` depends on level i only
    through its count, so the products ``c_i c_i'`` are summed once per count (``pval`` at
    flat positions ``pidx`` of the upper triangle, count class ``k`` from ``pstart[k]``, of
    count ``pcnt[k]``): at InstEval size 1.1 million terms instead of 2.0 million."""
    B = x.shape[0] - 1
    s = np.exp(2.0 * x[B])
    tau = np.exp(x[:B])
    nR = Wty.shape[0]
    S = WtW / s
    g = Wty / s
    for a in range(nR):
        if rblk[a] < 0:
            S[a, a] += pprec[a]
            g[a] += pprec[a] * pmean[a]
        else:
            S[a, a] += 1.0 / tau[rblk[a]] ** 2
    he = cnt / s + 1.0 / tau[e] ** 2
    Je = cnt.shape[0]
    for i in range(Je):
        wi = 1.0 / (s * s * he[i])
        for t1 in range(colptr[i], colptr[i + 1]):
            g[rowidx[t1]] -= cval[t1] * wi * zey[i]
    flat = S.ravel()
    for k in range(pcnt.shape[0]):
        wk = 1.0 / (s * s * (pcnt[k] / s + 1.0 / tau[e] ** 2))
        for t in range(pstart[k], pstart[k + 1]):
            flat[pidx[t]] -= wk * pval[t]
    return S, g, he, s, tau


@numba.njit(cache=True, nogil=True)
def _forward(F, b):
    """``L^-1 b`` with the factor ``F`` of :func:`_chol_lower_inplace`
    (``F[j, i] = L[i, j]``, rows of ``F`` contiguous)."""
    n = b.shape[0]
    w = b.copy()
    for j in range(n):  # L w = b, column by column of L (rows of F)
        w[j] /= F[j, j]
        for i in range(j + 1, n):
            w[i] -= F[j, i] * w[j]
    return w


@numba.njit(cache=True, nogil=True)
def _backward(F, w):
    """``L'^-1 w``."""
    n = w.shape[0]
    v = w.copy()
    for i in range(n - 1, -1, -1):
        acc = v[i]
        for j in range(i + 1, n):
            acc -= F[i, j] * v[j]
        v[i] = acc / F[i, i]
    return v


@numba.njit(cache=True, nogil=True)
def _inverse_traces(Lt, cv, colptr, rowidx, lapack):
    """From the factor left by :func:`_chol_lower_inplace` (overwritten; float64 or float32,
    ``cv`` the values of the levels' columns ``c_i`` in the same type): the diagonal of
    ``S^-1`` and ``|L^-1 c_i|^2`` for every level i of factor e (empty arrays when the
    triangular inverse fails)."""
    nR = Lt.shape[0]
    Je = colptr.shape[0] - 1
    if _tri_inv_inplace(Lt, lapack) != 0:
        return np.zeros(0), np.zeros(0)
    # Lt[a, r] = (L^-1)[r, a] for a <= r
    dinv = np.zeros(nR)
    for a in range(nR):
        for b in range(a, nR):
            dinv[a] += Lt[a, b] ** 2
    # |L^-1 c_i|^2 for every level i of factor e, by chunks of columns of Lt that stay in
    # cache: (L^-1 c_i)[r] = sum_a Lt[a, r] c_i[a] over the rows a <= r of c_i
    # (the strict lower triangle of Lt zeroed, so that every row slice is a fixed-length loop)
    for a in range(nR):
        Lt[a, :a] = 0.0
    ysq = np.zeros(Je)
    yc = np.empty(_CHUNK, dtype=Lt.dtype)
    for r0 in range(0, nR, _CHUNK):
        r1 = min(r0 + _CHUNK, nR)
        m = r1 - r0
        for i in range(Je):
            yc[:m] = 0.0
            for t in range(colptr[i], colptr[i + 1]):
                a = rowidx[t]
                if a >= r1:
                    break
                ca = cv[t]
                row = Lt[a, r0:r1]
                for r in range(m):
                    yc[r] += row[r] * ca
            acc = 0.0
            for r in range(m):
                acc += yc[r] * yc[r]
            ysq[i] += acc
    return dinv, ysq


@numba.njit(cache=True, nogil=True)
def crossed_logp(x, grad, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk, pprec, pmean, e,
                 lapack, pcnt, pstart, pidx, pval, J, n_total, yty, sd_kind, sd_a, sd_b,
                 sig_kind, sig_a, sig_b, fast=False):  # fmt: skip
    """Log posterior density of the variance parameters (up to a constant) with every
    group effect and the fixed effects integrated out; its gradient into ``grad``.

    ``fast``: the traces of ``H^-1`` (the gradient only) from the inverse of the float64
    Cholesky factor taken in single precision (LAPACK ``strtri``; at InstEval size 30 % less
    time per gradient, relative error of the gradient ~1e-6).  The value is always in double
    precision; NUTS stays exact with such a gradient, as with any gradient field of the
    position alone (leapfrog steps stay volume-preserving and reversible, and the trajectory's
    points are weighted by the exact density), only its efficiency could suffer.  The
    sampler's C entry point uses it; the mode and Hessian of
    :meth:`~hierarch.bayes.kernels.CrossedKernel.precondition` do not.

    ``x``: the blocks' log SDs, then log sigma.  The gradient (envelope theorem, with
    ``mu = H^-1 h`` the conditional posterior mean of ``u`` and ``tr_k`` the trace of
    ``H^-1`` over factor k's levels):
    ``d/d log tau_k = -J_k + (tr_k + |mu_k|^2) / tau_k^2`` and
    ``d/d log sigma = -n + dim(u) - tr(H^-1 P) + |y - W mu|^2 / s``."""
    B = x.shape[0] - 1
    nR = Wty.shape[0]
    Je = cnt.shape[0]
    S, g, he, s, tau = _crossed_system(x, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk,
                                       pprec, pmean, e, pcnt, pstart, pidx, pval)  # fmt: skip
    if _chol_lower_inplace(S, lapack) != 0:
        return -np.inf
    logdet = 0.0
    for a in range(nR):
        logdet += 2.0 * np.log(S[a, a])
    for i in range(Je):
        logdet += np.log(he[i])
    muR = _backward(S, _forward(S, g))
    mue = np.empty(Je)
    for i in range(Je):
        acc = zey[i]
        for t in range(colptr[i], colptr[i + 1]):
            acc -= cval[t] * muR[rowidx[t]]
        mue[i] = acc / (s * he[i])
    # h'mu and |y - W mu|^2 from the cross-products
    hmu, mPm, logP = 0.0, 0.0, 0.0
    for a in range(nR):
        hR = Wty[a] / s
        if rblk[a] < 0:
            hR += pprec[a] * pmean[a]
            mPm += pprec[a] * pmean[a] ** 2
            logP += np.log(pprec[a])
        hmu += hR * muR[a]
    for i in range(Je):
        hmu += zey[i] / s * mue[i]
    for k in range(B):
        logP -= 2.0 * J[k] * np.log(tau[k])
    WtWmu = np.dot(WtW, muR)
    quadW = 0.0
    for a in range(nR):
        quadW += muR[a] * WtWmu[a] - 2.0 * muR[a] * Wty[a]
    for i in range(Je):
        cm = 0.0
        for t in range(colptr[i], colptr[i + 1]):
            cm += cval[t] * muR[rowidx[t]]
        quadW += cnt[i] * mue[i] ** 2 + 2.0 * mue[i] * cm - 2.0 * mue[i] * zey[i]
    rss = yty + quadW
    lp = -0.5 * (n_total * np.log(2.0 * np.pi * s) - logP + logdet + yty / s + mPm - hmu)
    # traces of H^-1: the R block from S^-1's diagonal, factor e's via
    # (H^-1)_ee = H_ee^-1 + H_ee^-1 H_eR S^-1 H_Re H_ee^-1
    if fast:
        dinv, ysq = _inverse_traces(S.astype(np.float32), cval.astype(np.float32), colptr,
                                    rowidx, lapack)  # fmt: skip
    else:
        dinv, ysq = _inverse_traces(S, cval, colptr, rowidx, lapack)
    if dinv.shape[0] == 0:
        return -np.inf
    tr = np.zeros(B)
    msq = np.zeros(B)
    trP = 0.0
    for a in range(nR):
        if rblk[a] < 0:
            trP += pprec[a] * dinv[a]
        else:
            tr[rblk[a]] += dinv[a]
            msq[rblk[a]] += muR[a] ** 2
    for i in range(Je):
        tr[e] += 1.0 / he[i] + ysq[i] / (s * he[i]) ** 2
        msq[e] += mue[i] ** 2
    dim = nR + Je
    for k in range(B):
        trP += tr[k] / tau[k] ** 2
        grad[k] = -J[k] + (tr[k] + msq[k]) / tau[k] ** 2
    grad[B] = -n_total + dim - trP + rss / s
    # priors of the SDs and of sigma, with the Jacobians of the log scale
    for k in range(B):
        lpp, dlp = sd_prior(sd_kind[k], sd_a[k], sd_b[k], tau[k])
        lp += lpp + x[k]
        grad[k] += tau[k] * dlp + 1.0
    sig = np.sqrt(s)
    lpp, dlp = sd_prior(sig_kind, sig_a, sig_b, sig)
    lp += lpp + x[B]
    grad[B] += sig * dlp + 1.0
    return lp


@numba.njit(cache=True, nogil=True)
def crossed_draw(x, zR, ze, out_R, out_e, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk,
                 pprec, pmean, e, lapack, pcnt, pstart, pidx, pval):  # fmt: skip
    """One draw of ``u = (beta, b)`` from its exact conditional posterior given the variance
    parameters ``x``: ``u_R = mu_R + L'^-1 zR`` (``S = L L'``), then each level of factor e
    given ``u_R``: ``N((z_e'y / s - H_eR u_R / s... ) / h_e, 1 / h_e)``; standard normal
    ``zR``, ``ze``."""
    S, g, he, s, tau = _crossed_system(x, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk,
                                       pprec, pmean, e, pcnt, pstart, pidx, pval)  # fmt: skip
    if _chol_lower_inplace(S, lapack) != 0:
        out_R[:] = np.nan
        out_e[:] = np.nan
        return
    w = _forward(S, g)
    for a in range(w.shape[0]):
        w[a] += zR[a]
    uR = _backward(S, w)
    out_R[:] = uR
    for i in range(cnt.shape[0]):
        acc = zey[i]
        for t in range(colptr[i], colptr[i + 1]):
            acc -= cval[t] * uR[rowidx[t]]
        out_e[i] = acc / (s * he[i]) + ze[i] / np.sqrt(he[i])


@numba.njit(cache=True)
def _crossed_unpack(user_data):
    t = numba.carray(user_data, (32,), np.uint64)
    Je, nR, B, nnz, e, n_dim = int(t[0]), int(t[1]), int(t[2]), int(t[3]), int(t[4]), int(t[5])
    K, npairs = int(t[28]), int(t[29])
    cnt = numba.carray(_as_pointer(t[6]), (Je,), np.float64)
    zey = numba.carray(_as_pointer(t[7]), (Je,), np.float64)
    colptr = numba.carray(_as_pointer(t[8]), (Je + 1,), np.int64)
    rowidx = numba.carray(_as_pointer(t[9]), (nnz,), np.int64)
    cval = numba.carray(_as_pointer(t[10]), (nnz,), np.float64)
    WtW = numba.carray(_as_pointer(t[11]), (nR, nR), np.float64)
    Wty = numba.carray(_as_pointer(t[12]), (nR,), np.float64)
    rblk = numba.carray(_as_pointer(t[13]), (nR,), np.int64)
    pprec = numba.carray(_as_pointer(t[14]), (nR,), np.float64)
    pmean = numba.carray(_as_pointer(t[15]), (nR,), np.float64)
    J = numba.carray(_as_pointer(t[16]), (B,), np.int64)
    reals = numba.carray(_as_pointer(t[17]), (5,), np.float64)
    sd_kind = numba.carray(_as_pointer(t[18]), (B,), np.int64)
    sd_a = numba.carray(_as_pointer(t[19]), (B,), np.float64)
    sd_b = numba.carray(_as_pointer(t[20]), (B,), np.float64)
    lapack = numba.carray(_as_pointer(t[21]), (3,), np.uint64)
    pcnt = numba.carray(_as_pointer(t[24]), (K,), np.float64)
    pstart = numba.carray(_as_pointer(t[25]), (K + 1,), np.int64)
    pidx = numba.carray(_as_pointer(t[26]), (npairs,), np.int64)
    pval = numba.carray(_as_pointer(t[27]), (npairs,), np.float64)
    return (cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk, pprec, pmean, e, lapack, pcnt,
            pstart, pidx, pval, J, reals[0], reals[1], sd_kind, sd_a, sd_b, int(reals[2]),
            reals[3], reals[4], n_dim)  # fmt: skip


@numba.njit(cache=True, nogil=True)
def _crossed_guarded(x, out, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk, pprec, pmean, e,
                     lapack, pcnt, pstart, pidx, pval, J, n_total, yty, sd_kind, sd_a, sd_b,
                     sig_kind, sig_a, sig_b, fast):  # fmt: skip
    """``crossed_logp``, with a failed factorisation (a numerically indefinite ``S`` at an
    extreme point) reported as a non-finite value instead of an exception."""
    try:
        return crossed_logp(x, out, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk, pprec,
                            pmean, e, lapack, pcnt, pstart, pidx, pval, J, n_total, yty,
                            sd_kind, sd_a, sd_b, sig_kind, sig_a, sig_b, fast)  # fmt: skip
    except Exception:  # noqa: BLE001 -- no exceptions cross a C entry point
        return -np.inf


@numba.njit(cache=True)
def _crossed_affine(user_data, n_dim):
    """The sampler's coordinates ``x`` map to the log SDs and log sigma as
    ``theta = shift + C x`` (:meth:`hierarch.bayes.kernels.CrossedKernel.precondition`)."""
    t = numba.carray(user_data, (32,), np.uint64)
    shift = numba.carray(_as_pointer(t[22]), (n_dim,), np.float64)
    C = numba.carray(_as_pointer(t[23]), (n_dim, n_dim), np.float64)
    return shift, C


@numba.cfunc(LOGP_SIG, cache=True, nogil=True)
def crossed_logp_c(dim, x_, out_, logp_, user_data):
    (cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk, pprec, pmean, e, lapack, pcnt, pstart, pidx,
     pval, J, n_total, yty, sd_kind, sd_a, sd_b, sig_kind, sig_a, sig_b,
     n_dim) = _crossed_unpack(user_data)  # fmt: skip
    if dim != n_dim:
        return -1
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_dim,))
    shift, C = _crossed_affine(user_data, n_dim)
    theta = shift + np.dot(C, x)
    g = np.empty(n_dim)
    val = _crossed_guarded(theta, g, cnt, zey, colptr, rowidx, cval, WtW, Wty, rblk, pprec,
                           pmean, e, lapack, pcnt, pstart, pidx, pval, J, n_total, yty, sd_kind,
                           sd_a, sd_b, sig_kind, sig_a, sig_b, True)  # fmt: skip
    out[:] = np.dot(C.T, g)  # x = C^-1 (theta - shift): an affine map, constant Jacobian
    logp_[0] = val
    if not np.isfinite(val):
        return 4
    for k in range(n_dim):
        if not np.isfinite(out[k]):
            return 3
    return 0


@numba.cfunc(EXPAND_SIG, cache=True, nogil=True)
def crossed_expand_c(dim, n_expanded, x_, out_, user_data):
    """The stored variables: each block's SD, then sigma."""
    n_dim = int(numba.carray(user_data, (32,), np.uint64)[5])
    if dim != n_dim or n_expanded != n_dim:  # each block's SD, then sigma
        return -1
    x = numba.carray(x_, (n_dim,))
    out = numba.carray(out_, (n_dim,))
    shift, C = _crossed_affine(user_data, n_dim)
    theta = shift + np.dot(C, x)
    for k in range(n_dim):
        out[k] = np.exp(theta[k])
    return 0
