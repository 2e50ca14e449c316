"""Exact conditional draws of Gaussian group effects given the sampled fixed effects and
variance parameters (the second half of the marginalized sampler)."""

from __future__ import annotations

import numpy as np
import xarray as xr

__all__ = ["add_group_effects"]


def add_group_effects(spec, idata, seed: int | None, chunk: int = 250, kernel=None) -> None:
    """Draw the group effects from their exact conditional posterior, draw by draw:
    ``b_j | beta, sigma, Sigma, y ~ N(L A_j^{-1} L' Z_j' r_j, sigma^2 L A_j^{-1} L')``.

    When the sampler integrated the fixed effects out as well (the posterior has no
    ``beta``: :class:`hierarch.bayes.kernels.CrossedKernel`, given as ``kernel``), the fixed
    and group effects are drawn jointly from their conditional posterior."""

    pf = spec.engine_parsed
    if not spec._single_factor:
        return add_group_effects_global(spec, idata, seed, chunk, kernel)
    st = spec._group_stats()
    post = idata.posterior
    nc, nd = post.sizes["chain"], post.sizes["draw"]
    S = nc * nd

    def flat(name):
        v = post[name].values
        return v.reshape(S, *v.shape[2:])

    beta, sigma = flat("beta"), flat("sigma")
    chols = _chol_draws(spec, post, S)
    K = sum(b.k for b in pf.blocks)
    Lfull = np.zeros((S, K, K))
    off = 0
    for C in chols:
        k = C.shape[-1]
        Lfull[:, off : off + k, off : off + k] = C
        off += k
    rng = np.random.default_rng(seed)
    J = pf.blocks[0].n_levels
    b_all = np.empty((S, J, K))
    for lo in range(0, S, chunk):
        sl = slice(lo, min(S, lo + chunk))
        Ztr = st["Zty"][None] - np.einsum("jkp,sp->sjk", st["ZtX"], beta[sl])
        if K <= 2:  # closed forms, elementwise over (draw, group): no batched linalg
            e = rng.standard_normal((sl.stop - sl.start, J, K))
            b_all[sl] = _conditional_draw_small(Lfull[sl], sigma[sl], st["ZtZ"], Ztr, e)
            continue
        L = Lfull[sl][:, None]  # (s, 1, K, K)
        s2 = (sigma[sl] ** 2)[:, None, None, None]
        A = np.swapaxes(L, -1, -2) @ st["ZtZ"][None] @ L + s2 * np.eye(K)
        Ainv = np.linalg.inv(A)
        M = L @ Ainv @ np.swapaxes(L, -1, -2)  # (s, J, K, K)
        mean = np.einsum("sjab,sjb->sja", M, Ztr)
        cov = s2 * M
        root = np.linalg.cholesky(cov + 1e-12 * np.eye(K))
        b_all[sl] = mean + np.einsum("sjab,sjb->sja", root, rng.standard_normal(mean.shape))
    off = 0
    for bname, b in zip(spec.block_names, pf.blocks, strict=True):
        vals = b_all[:, :, off : off + b.k].reshape(nc, nd, J, b.k)
        off += b.k
        post[f"b_{bname}"] = xr.DataArray(
            vals,
            dims=("chain", "draw", spec.dim_factor(b.factor), spec.dim_effect(bname)),
            coords={spec.dim_factor(b.factor): b.levels, spec.dim_effect(bname): b.columns},
        )
    idata.posterior = post


def _chol_draws(spec, post, S):
    pf = spec.engine_parsed
    chols = []
    for bname, b in zip(spec.block_names, pf.blocks, strict=True):
        v = post[f"sd_{bname}"].values
        sd = v.reshape(S, *v.shape[2:])
        if b.k == 1:
            chols.append(sd[:, :, None])
        else:
            c = post[f"corr_{bname}"].values
            corr = c.reshape(S, *c.shape[2:])
            chols.append(sd[:, :, None] * np.linalg.cholesky(corr))
    return chols


def add_group_effects_global(spec, idata, seed: int | None, chunk: int = 100, kernel=None) -> None:
    """Several factors: ``b | beta, sigma, Sigma, y ~ N(Lam A^-1 Lam' Z'r,
    sigma^2 Lam A^-1 Lam')`` with ``A = sigma^2 I + Lam' Z'Z Lam`` (q x q), per draw."""

    pf = spec.engine_parsed
    post = idata.posterior
    nc, nd = post.sizes["chain"], post.sizes["draw"]
    S = nc * nd
    sigma = post["sigma"].values.reshape(S)
    chols = _chol_draws(spec, post, S)
    rng = np.random.default_rng(seed)
    if "beta" not in post:
        # the fixed effects were integrated out too (hierarch.bayes.kernels.CrossedKernel):
        # fixed and group effects drawn jointly from their conditional posterior
        if kernel is None:
            raise ValueError("the fixed effects were integrated out, but no kernel was given")
        sds = np.column_stack([C[:, 0, 0] for C in chols])
        beta, b_all = kernel.draws(sds, sigma, rng)
        post["beta"] = xr.DataArray(
            beta.reshape(nc, nd, -1),
            dims=("chain", "draw", spec.dim_coef),
            coords={spec.dim_coef: pf.x_names},
        )
    elif spec._sparse_marginal:
        beta = post["beta"].values.reshape(S, -1)
        b_all = _draws_sparse(spec, beta, sigma, chols, rng)
    else:
        beta = post["beta"].values.reshape(S, -1)
        b_all = _draws_dense(spec, beta, sigma, chols, rng, chunk)
    off = 0
    for bname, b in zip(spec.block_names, pf.blocks, strict=True):
        size = b.n_levels * b.k
        vals = b_all[:, off : off + size].reshape(nc, nd, b.n_levels, b.k)
        off += size
        post[f"b_{bname}"] = xr.DataArray(
            vals,
            dims=("chain", "draw", spec.dim_factor(b.factor), spec.dim_effect(bname)),
            coords={spec.dim_factor(b.factor): b.levels, spec.dim_effect(bname): b.columns},
        )
    idata.posterior = post


def _draws_sparse(spec, beta, sigma, chols, rng):
    """One CHOLMOD factor per draw: ``u = A^-1 Lam'Z'r + sigma P'L'^-1 e``, ``b = Lam u``."""
    from hierarch.bayes.sparse_marginal import sparse_core

    core, entries = sparse_core(spec)
    S, q = len(sigma), core.q
    b_all = np.empty((S, q))
    for t in range(S):
        lam = np.concatenate([C[t][i, j] for C, (i, j) in zip(chols, entries, strict=True)])
        Lam, f = core.factor(lam, sigma[t] ** 2)
        w = f.solve(Lam.T @ (core.Zty - core.ZtX @ beta[t]))
        b_all[t] = Lam @ (w + sigma[t] * f.solve_Lt(rng.standard_normal(q)))
    return b_all


def _draws_dense(spec, beta, sigma, chols, rng, chunk):
    st = spec._global_stats()
    rows, cols, blk, ii, jj = spec._lambda_index()
    q = spec.n_group_effects
    S = len(sigma)
    b_all = np.empty((S, q))
    for lo in range(0, S, chunk):
        sl = np.arange(lo, min(S, lo + chunk))
        Lam = np.zeros((len(sl), q, q))
        for bi, C in enumerate(chols):
            sel = blk == bi
            Lam[:, rows[sel], cols[sel]] = C[sl][:, ii[sel], jj[sel]]
        s2 = sigma[sl] ** 2
        A = np.swapaxes(Lam, 1, 2) @ st["ZtZ"][None] @ Lam + s2[:, None, None] * np.eye(q)
        Ztr = st["Zty"][None] - beta[sl] @ st["ZtX"].T  # (s, q)
        v = np.einsum("sab,sa->sb", Lam, Ztr)  # Lam' Z'r
        Ca = np.linalg.cholesky(A)
        # mean = Lam A^-1 v ; draw = mean + sigma * Lam C^-T e
        w = np.linalg.solve(Ca, v[..., None])
        m = np.linalg.solve(np.swapaxes(Ca, 1, 2), w)[..., 0]
        e = rng.standard_normal((len(sl), q, 1))
        d = np.linalg.solve(np.swapaxes(Ca, 1, 2), e)[..., 0]
        b_all[sl] = np.einsum("sab,sb->sa", Lam, m + sigma[sl][:, None] * d)
    return b_all


def _conditional_draw_small(L, sigma, ZtZ, Ztr, e):
    """Exact conditional draws of 1 or 2 group effects per group, elementwise.

    With ``A = L' Z'Z L + sigma^2 I = C C'`` (Cholesky, written out for 1 x 1 and 2 x 2):
    ``b = L (A^-1 L' Z'r + sigma C'^-1 e)``, i.e. mean ``L A^-1 L' Z'r`` and covariance
    ``sigma^2 L A^-1 L'``.  ``L``: (s, K, K); ``sigma``: (s,); ``ZtZ``: (J, K, K); ``Ztr``,
    ``e``: (s, J, K)."""
    s2 = (sigma**2)[:, None]
    sig = sigma[:, None]
    if L.shape[-1] == 1:
        l11 = L[:, 0, 0][:, None]
        a = l11**2 * ZtZ[None, :, 0, 0] + s2
        u = l11 * Ztr[..., 0] / a + sig * e[..., 0] / np.sqrt(a)
        return (l11 * u)[..., None]
    l11, l21, l22 = (L[:, i, j][:, None] for i, j in ((0, 0), (1, 0), (1, 1)))
    z11, z12, z22 = (ZtZ[None, :, i, j] for i, j in ((0, 0), (0, 1), (1, 1)))
    m11, m12 = z11 * l11 + z12 * l21, z12 * l22
    m21, m22 = z12 * l11 + z22 * l21, z22 * l22
    a11 = l11 * m11 + l21 * m21 + s2
    a12 = l11 * m12 + l21 * m22
    a22 = l22 * m22 + s2
    c11 = np.sqrt(a11)
    c21 = a12 / c11
    c22 = np.sqrt(a22 - c21**2)
    v1 = l11 * Ztr[..., 0] + l21 * Ztr[..., 1]
    v2 = l22 * Ztr[..., 1]
    w1 = v1 / c11
    w2 = (v2 - c21 * w1) / c22
    u2 = w2 / c22 + sig * e[..., 1] / c22
    u1 = (w1 + sig * e[..., 0] - c21 * u2) / c11
    out = np.empty(Ztr.shape)
    out[..., 0] = l11 * u1
    out[..., 1] = l21 * u1 + l22 * u2
    return out
