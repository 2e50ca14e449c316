"""The exact marginal log-density of a Gaussian model with any number of grouping factors
(crossed, nested), through a sparse Cholesky factor: a PyTensor Op with its gradient.

With ``b = Lam v``, ``v ~ N(0, I)`` (``Lam``: q x q, block diagonal, the Cholesky factors of
the blocks' covariances repeated over their levels), ``M = Z'Z``, ``c = Z'r``,
``r = y - X beta`` and ``s = sigma^2``::

    A = Lam' M Lam + s I                    (CHOLMOD, ordering analysed once)
    w = A^-1 Lam' c,   Q = r'r - c' Lam w
    log p = -1/2 [n log 2 pi + (n - q) log s + log|A| + Q / s]

and the gradient (derived in the docstring of :class:`SparseMarginalLoglik`) needs, besides
solves with the factor, only the level blocks of ``A^-1``: Takahashi's selected inverse
(:meth:`hierarch.core.sparse.CholmodFactor.inverse_on`).  Only cross-products enter, so a
gradient costs one factorisation whatever the number of rows.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

from hierarch.core.sparse import CholmodPattern

__all__ = ["SparseMarginal", "SparseMarginalLoglik", "sparse_core"]

_LOG_2PI = float(np.log(2 * np.pi))


class SparseMarginal:
    """The marginal log-density and its gradient, in NumPy (the Op's ``perform``; also used by
    the tests against the dense algebra and finite differences).

    Parameters
    ----------
    stats : dict
        ``n``, ``yty``, ``Xty``, ``XtX``, ``Zty``, ``ZtX``, ``ZtZ`` (sparse, q x q).
    rows, cols : ndarray
        Position in ``Lam`` of each entry of the parameter vector ``lam``.
    level_start, level_size : ndarray
        For every effect (row of ``Lam``), the first index of its level block and the
        block's size: the level blocks of ``A^-1`` the gradient needs.
    """

    def __init__(self, stats, rows, cols, level_start, level_size):
        self._args = (stats, rows, cols, level_start, level_size)
        self.n = float(stats["n"])
        self.yty, self.Xty, self.XtX = float(stats["yty"]), stats["Xty"], stats["XtX"]
        self.Zty, self.ZtX = np.asarray(stats["Zty"]), np.asarray(stats["ZtX"])
        self.M = sparse.csc_matrix(stats["ZtZ"])
        self.q = self.M.shape[0]
        self.rows, self.cols = np.asarray(rows), np.asarray(cols)
        lam1 = sparse.csc_matrix((np.ones(len(rows)), (rows, cols)), shape=(self.q,) * 2)
        self.chol = CholmodPattern(lam1.T @ abs(self.M) @ lam1)
        self._eye = sparse.identity(self.q, format="csc")
        # the entries of A^-1 the gradient reads: the level blocks, grouped by block size k
        start, size = np.asarray(level_start), np.asarray(level_size)
        self._groups = []  # (k, heads, (ii, jj) into A^-1 in (head, a, c) order)
        for k in np.unique(size):
            heads = np.flatnonzero((size == k) & (start == np.arange(self.q)))
            a, c = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
            ii = (heads[:, None, None] + a[None]).ravel()
            jj = (heads[:, None, None] + c[None]).ravel()
            self._groups.append((int(k), heads, ii, jj))
        self._ii = np.concatenate([g[2] for g in self._groups])
        self._jj = np.concatenate([g[3] for g in self._groups])
        # each entry of lam: its group, its level block in the group, and (a, c) in the block
        self._lam_where = []
        for gi, (k, heads, _, _) in enumerate(self._groups):
            sel = np.flatnonzero(size[self.rows] == k)
            pos = np.searchsorted(heads, start[self.rows[sel]])
            self._lam_where.append(
                (gi, sel, pos, self.rows[sel] - heads[pos], self.cols[sel] - heads[pos])
            )

    def __reduce__(self):
        # the CHOLMOD analysis is not picklable: rebuilt from the statistics (samplers that
        # run chains in other processes, numba's object mode)
        return (SparseMarginal, self._args)

    def Lambda(self, lam):
        return sparse.csc_matrix((lam, (self.rows, self.cols)), shape=(self.q,) * 2)

    def factor(self, lam, s):
        Lam = self.Lambda(lam)
        return Lam, self.chol.factor(Lam.T @ self.M @ Lam + s * self._eye)

    def logp(self, beta, lam, sigma, grad: bool = True):
        """``log p(y | beta, lam, sigma)`` and, with ``grad``, its gradient (a tuple)."""
        s = float(sigma) ** 2
        Lam, f = self.factor(lam, s)
        c = self.Zty - self.ZtX @ beta
        Xtr = self.Xty - self.XtX @ beta
        rtr = self.yty - 2 * beta @ self.Xty + beta @ self.XtX @ beta
        v = Lam.T @ c
        w = f.solve(v)
        Q = rtr - v @ w
        value = -0.5 * (self.n * _LOG_2PI + (self.n - self.q) * np.log(s) + f.logdet() + Q / s)
        if not grad:
            return value
        b = Lam @ w
        g_beta = (Xtr - self.ZtX.T @ b) / s
        # level blocks of A^-1 (Takahashi) and of Lam^-1; d log|A| / d Lam[r, c] =
        # 2 (A^-1 Lam' M)[c, r], and A^-1 Lam' M = Lam^-1 - s A^-1 Lam^-1, whose level blocks
        # need only the level blocks of A^-1 (Lam is invertible: its diagonal holds SDs,
        # positive under the prior)
        Ainv_all = f.inverse_on(self._ii, self._jj)
        Lam_csr = Lam.tocsr()
        dlogdet = np.empty(len(self.rows))
        trAinv, off = 0.0, 0
        for (k, heads, ii, jj), (_, sel, pos, a, cc) in zip(
            self._groups, self._lam_where, strict=True
        ):
            m = len(heads) * k * k
            Ab = Ainv_all[off : off + m].reshape(len(heads), k, k)
            off += m
            trAinv += float(np.trace(Ab, axis1=1, axis2=2).sum())
            Tb = np.asarray(Lam_csr[ii, jj]).reshape(len(heads), k, k)
            Tinv = 1.0 / Tb if k == 1 else np.linalg.inv(Tb)
            K = Tinv - s * (Ab @ Tinv)
            dlogdet[sel] = 2 * K[pos, cc, a]
        g_s = -0.5 * ((self.n - self.q) / s + trAinv - Q / s**2 + w @ w / s)
        resid = c - self.M @ b
        dquad = -2 * w[self.cols] * resid[self.rows]  # d Q / d Lam[r, c]
        g_lam = -0.5 * (dlogdet + dquad / s)
        return value, g_beta, g_lam, 2 * float(sigma) * g_s


def sparse_core(spec) -> tuple[SparseMarginal, list[tuple[np.ndarray, np.ndarray]]]:
    """The :class:`SparseMarginal` of a spec with several grouping factors, and for each
    block the positions of its entries in the parameter vector ``lam``: ``lam`` holds block
    0's entries of ``spec._lambda_index()`` first, then block 1's, ..."""
    pf = spec.engine_parsed
    rows, cols, blk, ii, jj = spec._lambda_index()
    order = np.concatenate([np.flatnonzero(blk == bi) for bi in range(len(pf.blocks))])
    start, size, off = [], [], 0  # each effect's level block: first index and size
    for b in pf.blocks:
        start.append(np.repeat(off + np.arange(b.n_levels) * b.k, b.k))
        size.append(np.full(b.n_levels * b.k, b.k))
        off += b.n_levels * b.k
    core = SparseMarginal(
        spec._global_stats(dense=False),
        rows[order],
        cols[order],
        np.concatenate(start),
        np.concatenate(size),
    )
    return core, [(ii[blk == bi], jj[blk == bi]) for bi in range(len(pf.blocks))]


def _make_op():
    import pytensor.tensor as pt
    from pytensor.graph.basic import Apply
    from pytensor.graph.op import Op

    class SparseMarginalLoglik(Op):
        """PyTensor Op: inputs ``beta`` (p), ``lam`` (entries of ``Lam``), ``sigma``;
        outputs the log-density and its three gradients (the gradient of the first output
        is read off the others, so one factorisation serves both)."""

        def __init__(self, core: SparseMarginal):
            self.core = core

        def __eq__(self, other):
            return self is other

        def __hash__(self):
            return id(self)

        def make_node(self, beta, lam, sigma):
            beta = pt.as_tensor_variable(beta, dtype="float64")
            lam = pt.as_tensor_variable(lam, dtype="float64")
            sigma = pt.as_tensor_variable(sigma, dtype="float64")
            outs = [pt.dscalar(), pt.dvector(), pt.dvector(), pt.dscalar()]
            return Apply(self, [beta, lam, sigma], outs)

        def perform(self, node, inputs, outputs):
            beta, lam, sigma = inputs
            value, gb, gl, gs = self.core.logp(beta, lam, float(sigma))
            outputs[0][0] = np.asarray(value)
            outputs[1][0] = np.asarray(gb)
            outputs[2][0] = np.asarray(gl)
            outputs[3][0] = np.asarray(gs)

        def grad(self, inputs, output_grads):
            outs = self(*inputs)
            gz = output_grads[0]
            return [gz * outs[1], gz * outs[2], gz * outs[3]]

    return SparseMarginalLoglik


def SparseMarginalLoglik(core: SparseMarginal):  # noqa: N802 -- a class factory
    """The PyTensor Op for ``core`` (built lazily: PyTensor is imported on first use)."""
    global _OP
    try:
        cls = _OP
    except NameError:
        cls = _OP = _make_op()
    return cls(core)
