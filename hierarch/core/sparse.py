"""Sparse Cholesky factors with a fixed pattern: CHOLMOD through cvxopt, and Takahashi's
selected inverse.

Why cvxopt: the mixed-model algebra needs a supernodal Cholesky factorisation whose
fill-reducing ordering (AMD) and symbolic analysis are computed once per model and reused for
every value of the variance parameters, the log-determinant, the triangular half-solves and
the factor itself (for the selected inverse).  scikit-sparse wraps CHOLMOD most directly but is
published only as a source package that needs SuiteSparse's headers and a compiler
(``libsuitesparse-dev``), which a fresh machine with Python and ``make`` does not have; cvxopt is
maintained, ships wheels that carry CHOLMOD, and exposes everything above (``symbolic``,
``numeric``, ``solve`` with the ``P``/``L``/``L'`` systems, ``diag`` and ``getfactor``).
cholespy also ships CHOLMOD but gives neither the log-determinant nor the factor.

The selected inverse (Takahashi, Fagan and Chen 1973; Rue and Martino 2007, section 2) gives the
entries of ``A^-1`` on the pattern of ``L + L'`` in ``O(sum_j |col_j|^2)`` without forming
``A^-1``: that is what the gradient of ``log|A|`` and the conditional variances of the random
effects need.
"""

from __future__ import annotations

import numba
import numpy as np
from cvxopt import cholmod, matrix, spmatrix
from scipy import sparse

__all__ = ["CholmodPattern", "CholmodFactor", "DenseFactor", "one_blas_thread"]

cholmod.options["supernodal"] = 2  # LL' (the default; diag() needs it)
cholmod.options["print"] = 0


class CholmodPattern:
    """The symbolic analysis of a symmetric positive definite matrix with a fixed pattern.

    Parameters
    ----------
    pattern : scipy.sparse matrix, shape (n, n)
        Any matrix whose nonzero positions cover every entry the matrices to be factored can
        have (only its lower triangle is used).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> A = sparse.csc_matrix(np.array([[4.0, 1, 0], [1, 5, 1], [0, 1, 6]]))
    >>> f = CholmodPattern(A).factor(A)
    >>> bool(np.isclose(f.logdet(), np.log(np.linalg.det(A.toarray()))))
    True
    >>> np.allclose(f.solve(np.ones(3)), np.linalg.solve(A.toarray(), np.ones(3)))
    True
    """

    def __init__(self, pattern):
        low = sparse.tril(sparse.csc_matrix(pattern), format="csc")
        low = (abs(low) + sparse.identity(low.shape[0], format="csc")).tocsc()
        low.sort_indices()
        n = low.shape[0]
        coo = low.tocoo()
        self.n = n
        self.rows, self.cols = coo.row.astype(np.int64), coo.col.astype(np.int64)
        # sorted keys (column-major, as the CSC order above) to place values by position
        self._keys = self.cols * n + self.rows
        self._I, self._J = matrix(self.rows), matrix(self.cols)
        self._F = cholmod.symbolic(self._spmatrix(np.ones(len(self.rows))), uplo="L")
        self._perm = None
        self._last = None

    def _spmatrix(self, values):
        return spmatrix(
            matrix(np.ascontiguousarray(values, float)), self._I, self._J, (self.n,) * 2
        )

    def values_of(self, A) -> np.ndarray:
        """The lower-triangle entries of ``A`` in the pattern's order (entries of the pattern
        that ``A`` does not store are zero; ``A`` must not have entries outside it)."""
        low = sparse.tril(A, format="csc")
        low.sum_duplicates()
        cached = self._last
        if (
            cached is not None
            and np.array_equal(cached[0], low.indptr)
            and np.array_equal(cached[1], low.indices)
        ):
            pos = cached[2]  # the same stored entries as last time (the usual case)
        else:
            cols = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(low.indptr))
            keys = cols * self.n + low.indices
            pos = np.searchsorted(self._keys, keys)
            inside = pos < len(self._keys)
            if not np.all(inside) or np.any(self._keys[pos[inside]] != keys[inside]):
                raise ValueError("the matrix has entries outside the factored pattern")
            if not np.all(inside):
                raise ValueError("the matrix has entries outside the factored pattern")
            self._last = (low.indptr.copy(), low.indices.copy(), pos)
        v = np.zeros(len(self._keys))
        v[pos] = low.data
        return v

    def factor(self, A) -> CholmodFactor:
        """Factor ``A`` (a scipy sparse matrix, or its values in the pattern's order).

        Raises ``numpy.linalg.LinAlgError`` when ``A`` is not positive definite.  The factor is
        valid until the next call (CHOLMOD refactors in place).
        """
        values = A if isinstance(A, np.ndarray) else self.values_of(A)
        M = self._spmatrix(values)
        try:
            cholmod.numeric(M, self._F)
        except ArithmeticError as err:
            raise np.linalg.LinAlgError(f"matrix not positive definite (column {err})") from None
        if self._perm is None:
            p = matrix(np.arange(self.n, dtype=float))
            cholmod.solve(self._F, p, sys=7)  # P x = x[perm]
            self._perm = np.asarray(p).ravel().astype(np.int64)
        return CholmodFactor(self, M, values)


class CholmodFactor:
    """``P A P' = L L'`` for one matrix of a :class:`CholmodPattern`."""

    def __init__(self, pattern: CholmodPattern, M, values):
        self._pat, self._M, self.values = pattern, M, values
        self._F = pattern._F

    def logdet(self) -> float:
        """``log |A|``."""
        return 2.0 * float(np.sum(np.log(np.asarray(cholmod.diag(self._F)).ravel())))

    def _sys(self, B, sys):
        B = np.asarray(B, float)
        vec = B.ndim == 1
        Bm = matrix(np.array(B.reshape(len(B), -1), order="F"))
        cholmod.solve(self._F, Bm, sys=sys)
        out = np.asarray(Bm)
        return out.ravel() if vec else out

    def solve(self, B) -> np.ndarray:
        """``A^-1 B``."""
        return self._sys(B, 0)

    def solve_L(self, B) -> np.ndarray:
        """``L^-1 P B`` (so that ``||L^-1 P b||^2 = b' A^-1 b``)."""
        return self._sys(self._sys(B, 7), 4)  # cvxopt's sys 7 solves P'x = b

    def solve_Lt(self, B) -> np.ndarray:
        """``P' L'^-1 B`` (the second half: ``A^-1 b = solve_Lt(solve_L(b))``)."""
        return self._sys(self._sys(B, 5), 8)

    def inverse_on(self, rows, cols) -> np.ndarray:
        """Entries ``(A^-1)[rows, cols]``, each of which must lie on the pattern of the factor
        ``L + L'`` (every entry of ``A``'s own pattern does): Takahashi's recursion."""
        pat = self._pat
        # a second factorisation with CHOLMOD's own ordering, as getfactor() turns the factor
        # it reads into a simplicial one that can no longer be refactored
        F2 = cholmod.symbolic(self._M, p=matrix(pat._perm.astype(np.int64)), uplo="L")
        cholmod.numeric(self._M, F2)
        p = matrix(np.arange(pat.n, dtype=float))
        cholmod.solve(F2, p, sys=7)
        perm = np.asarray(p).ravel().astype(np.int64)
        L = cholmod.getfactor(F2)
        colptr, rowind, vals = (np.asarray(a).ravel() for a in L.CCS)
        colptr, rowind = colptr.astype(np.int64), rowind.astype(np.int64)
        Lx = np.asarray(vals, float)
        t = _dense_tail(colptr)
        if t >= _DENSE_TAIL_MIN:  # the trailing dense block by LAPACK (BLAS-3, not lookups)
            from scipy.linalg import lapack

            n = pat.n
            L22 = _tail_to_dense(colptr, Lx, t)
            S22, info = lapack.dpotri(L22, lower=1)
            if info != 0:
                raise np.linalg.LinAlgError(f"dpotri failed (info {info})")
            Zx = _takahashi(colptr, rowind, Lx, n - t, S22)
        else:
            Zx = _takahashi(colptr, rowind, Lx, len(colptr) - 1, np.zeros((0, 0)))
        pinv = np.empty_like(perm)
        pinv[perm] = np.arange(pat.n)
        r, c = pinv[np.asarray(rows)], pinv[np.asarray(cols)]
        out = _lookup(colptr, rowind, Zx, np.maximum(r, c), np.minimum(r, c))
        if np.any(np.isnan(out)):
            raise ValueError("inverse_on: an entry outside the pattern of the factor")
        return out


_BLAS = None


def one_blas_thread():
    """A context in which BLAS/LAPACK use one thread: factors of a few hundred unknowns run
    2-3x faster so (OpenBLAS's thread pool costs more than it gains there; measured on 181
    unknowns: 0.19 ms against 0.55 ms).  Entering costs ~60 us, so wrap a whole evaluation."""
    global _BLAS
    if _BLAS is None:
        from threadpoolctl import ThreadpoolController

        _BLAS = ThreadpoolController()
    return _BLAS.limit(limits=1, user_api="blas")


class DenseFactor:
    """The same interface as :class:`CholmodFactor` through LAPACK, for small systems (a few
    hundred unknowns), where a dense factor costs less than CHOLMOD's bookkeeping."""

    def __init__(self, A):
        from scipy import linalg

        self._linalg = linalg
        A = A.toarray() if sparse.issparse(A) else np.asarray(A, float)
        try:
            self._L = linalg.cholesky(A, lower=True, check_finite=False)
        except linalg.LinAlgError as err:
            raise np.linalg.LinAlgError(f"matrix not positive definite ({err})") from None
        if not np.all(np.isfinite(np.diag(self._L))):  # LAPACK passes NaN through
            raise np.linalg.LinAlgError("matrix has non-finite entries")

    def logdet(self) -> float:
        return 2.0 * float(np.sum(np.log(np.diag(self._L))))

    def solve(self, B) -> np.ndarray:
        return self._linalg.cho_solve((self._L, True), np.asarray(B, float))

    def solve_L(self, B) -> np.ndarray:
        return self._linalg.solve_triangular(self._L, np.asarray(B, float), lower=True)

    def solve_Lt(self, B) -> np.ndarray:
        return self._linalg.solve_triangular(self._L, np.asarray(B, float), lower=True, trans="T")

    def inverse_on(self, rows, cols) -> np.ndarray:
        inv = self.solve(np.eye(self._L.shape[0]))
        return inv[np.asarray(rows), np.asarray(cols)]


@numba.njit(cache=True, nogil=True)
def _find(colptr, rowind, c, r):
    lo, hi = colptr[c], colptr[c + 1]
    while lo < hi:
        mid = (lo + hi) // 2
        if rowind[mid] < r:
            lo = mid + 1
        else:
            hi = mid
    if lo < colptr[c + 1] and rowind[lo] == r:
        return lo
    return -1


#: a trailing block of at least this many dense columns of ``L`` is inverted by LAPACK
_DENSE_TAIL_MIN = 32


def _dense_tail(colptr) -> int:
    """How many trailing columns of ``L`` are full below the diagonal (a dense block: crossed
    factors fill the Schur complement of the larger factor)."""
    lens = np.diff(colptr)
    n = len(lens)
    full = lens[::-1] == np.arange(1, n + 1)  # column n-1-i full when it has i+1 entries
    return int(n if full.all() else np.argmin(full))


@numba.njit(cache=True, nogil=True)
def _tail_to_dense(colptr, Lx, t):
    """The trailing ``t x t`` block of ``L`` (its columns are full: rows ``j..n-1``)."""
    n = len(colptr) - 1
    L22 = np.zeros((t, t))
    for jj in range(t):
        start = colptr[n - t + jj]
        for i in range(t - jj):
            L22[jj + i, jj] = Lx[start + i]
    return L22


@numba.njit(cache=True, nogil=True)
def _takahashi(colptr, rowind, Lx, n_sparse, S22):
    """``Sigma = (L L')^-1`` on the pattern of ``L`` (CSC, sorted rows, diagonal first).

    Columns ``n_sparse..n-1`` form a dense trailing block whose ``Sigma`` is given (``S22``,
    its lower triangle: ``(L22 L22')^-1``, as the bottom-right block of ``Sigma`` depends on
    ``L22`` alone); the recursion runs over the columns before it.

    Column ``j`` needs ``z = Sigma[S, S] L[S, j]`` over its off-diagonal rows ``S``; every
    ``Sigma[i, k]`` with ``i, k`` in ``S`` lies in column ``min(i, k)`` (the fill property), so
    walking the stored columns ``k`` of ``S`` and keeping the rows that are in ``S`` (a dense
    marker) gives ``z`` without searches.
    """
    n = len(colptr) - 1
    Zx = np.zeros_like(Lx)
    t = n - n_sparse
    for jj in range(t):
        start = colptr[n_sparse + jj]
        for i in range(t - jj):
            Zx[start + i] = S22[jj + i, jj]
    where = np.full(n, -1, dtype=np.int64)  # row -> position in the current column's S
    z = np.zeros(n)
    for j in range(n_sparse - 1, -1, -1):
        start, end = colptr[j], colptr[j + 1]
        ljj = Lx[start]
        m = end - start - 1
        for a in range(m):
            where[rowind[start + 1 + a]] = a
            z[a] = 0.0
        for b in range(m):
            k = rowind[start + 1 + b]
            lkj = Lx[start + 1 + b]
            if k >= n_sparse:
                # in the dense block: the rows r >= k of S (sorted, so a >= b) read from S22
                for a in range(b, m):
                    r = rowind[start + 1 + a]
                    v = S22[r - n_sparse, k - n_sparse]
                    z[a] += v * lkj
                    if a != b:
                        z[b] += v * Lx[start + 1 + a]
                continue
            # column k of Sigma: rows r >= k; Sigma[r, k] feeds z[r] (via L[k, j]) and, below
            # the diagonal, z[k] (via L[r, j])
            z[b] += Zx[colptr[k]] * lkj
            for t2 in range(colptr[k] + 1, colptr[k + 1]):
                a = where[rowind[t2]]
                if a >= 0:
                    z[a] += Zx[t2] * lkj
                    z[b] += Zx[t2] * Lx[start + 1 + a]
        s = 0.0
        for a in range(m):
            Zx[start + 1 + a] = -z[a] / ljj
            s += Lx[start + 1 + a] * Zx[start + 1 + a]
            where[rowind[start + 1 + a]] = -1
        Zx[start] = 1.0 / (ljj * ljj) - s / ljj
    return Zx


@numba.njit(cache=True, nogil=True)
def _lookup(colptr, rowind, Zx, rows, cols):
    out = np.empty(len(rows))
    for t in range(len(rows)):
        pos = _find(colptr, rowind, cols[t], rows[t])
        out[t] = Zx[pos] if pos >= 0 else np.nan
    return out
