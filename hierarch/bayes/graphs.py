"""PyMC graphs as functions of the spec: the plain model (:func:`build`), the model with
the group effects integrated out (:func:`build_marginal`), and the structure keys under which
their compiled samplers are reused."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np

from hierarch.bayes.kernels import crossed_kernel, glmm_kernel, kernels_enabled, lmm_kernel
from hierarch.bayes.sampling import model_key
from hierarch.core.families import get_family, inverse_link
from hierarch.core.priors import Prior
from hierarch.core.spec import ModelSpec

__all__ = ["build", "build_marginal", "cache_key"]


def _block_chol(spec, pm, bname: str, b):
    """Group-SD prior (and LKJ for correlated effects) of one block: returns the Cholesky
    factor of the block covariance and records ``sd_<block>`` / ``corr_<block>``."""
    pri = spec.priors
    sd_prior = pri[f"sd_{bname}"]
    if b.k == 1:
        sd = sd_prior.create(f"sd_{bname}", dims=spec.dim_effect(bname))
        return sd[None, :]  # 1 x 1
    # a vector of prior scales is applied outside the LKJ prior (the same distribution:
    # sd_c = scale_c * unit sd_c), which keeps nutpie's initial-point draws working
    scale = np.ones(b.k)
    if isinstance(sd_prior.params.get("sigma"), list):
        scale = np.asarray(sd_prior.params["sigma"])
        sd_prior = Prior(sd_prior.dist, **{**sd_prior.params, "sigma": 1.0})
    chol_u, corr, sd_u = pm.LKJCholeskyCov(
        f"chol_{bname}",
        n=b.k,
        eta=float(pri["lkj_eta"].params["value"]),
        sd_dist=sd_prior.dist_(shape=b.k),
        compute_corr=True,
    )
    pm.Deterministic(f"sd_{bname}", scale * sd_u, dims=spec.dim_effect(bname))
    pm.Deterministic(
        f"corr_{bname}", corr, dims=(spec.dim_effect(bname), spec.dim_effect(bname, bis=True))
    )
    return scale[:, None] * chol_u


def _coords(spec) -> dict[str, Any]:
    pf = spec.engine_parsed
    coords: dict[str, Any] = {spec.dim_obs: np.arange(pf.n), spec.dim_coef: pf.x_names}
    for bname, b in zip(spec.block_names, pf.blocks, strict=True):
        coords.setdefault(spec.dim_factor(b.factor), b.levels)
        coords[spec.dim_effect(bname)] = b.columns
        coords[spec.dim_effect(bname, bis=True)] = b.columns
    return coords


def _beta(spec, pm):
    pf, pri = spec.engine_parsed, spec.priors
    if all(pri[n].dist == "Normal" and set(pri[n].params) == {"mu", "sigma"} for n in pf.x_names):
        mus = np.array([pri[n].params["mu"] for n in pf.x_names])
        sds = np.array([pri[n].params["sigma"] for n in pf.x_names])
        return pm.Normal("beta", mu=mus, sigma=sds, dims=spec.dim_coef)
    beta = pm.math.stack([pri[n].create(f"beta_{n}") for n in pf.x_names])
    return pm.Deterministic("beta", beta, dims=spec.dim_coef)


def build_marginal_global(spec):
    """Several grouping factors: ``y ~ N(X beta, sigma^2 I + Z Lam Lam' Z')`` through the
    Woodbury identity on whole-data cross-products: with ``A = sigma^2 I + Lam'Z'Z Lam``
    (q x q, one dense Cholesky per gradient), ``log|V| = (n - q) log sigma^2 + log|A|``
    and ``r'V^-1 r = (r'r - |chol(A)^-1 Lam' Z'r|^2) / sigma^2``."""
    import pymc as pm
    import pytensor.tensor as pt

    pf = spec.engine_parsed
    q = spec.n_group_effects
    rows, cols, blk, ii, jj = spec._lambda_index()
    if spec._sparse_marginal:
        return _build_marginal_sparse(spec)
    st = spec._global_stats()
    spec._marginal_digest = _digest(st)
    with pm.Model(coords=_coords(spec)) as m:
        beta = _beta(spec, pm)
        chols = [
            _block_chol(spec, pm, bn, b) for bn, b in zip(spec.block_names, pf.blocks, strict=True)
        ]
        if all(b.k == 1 for b in pf.blocks):
            # scalar blocks only: Lambda is diagonal, Lam' M Lam = M * lam lam'
            lam = pt.concatenate(
                [pt.repeat(c[0, 0], b.n_levels) for c, b in zip(chols, pf.blocks, strict=True)]
            )
            Lam = None
        else:
            vals = pt.concatenate(
                [chols[bi][ii[blk == bi], jj[blk == bi]] for bi in range(len(chols))]
            )
            order = np.concatenate([np.flatnonzero(blk == bi) for bi in range(len(chols))])
            Lam = pt.zeros((q, q))
            Lam = pt.set_subtensor(Lam[rows[order], cols[order]], vals)
        sigma = spec.priors["sigma"].create("sigma")
        s2 = sigma**2
        rtr = st["yty"] - 2 * pt.dot(st["Xty"], beta) + pt.dot(beta, pt.dot(st["XtX"], beta))
        Ztr = st["Zty"] - pt.dot(st["ZtX"], beta)
        if Lam is None:
            A = st["ZtZ"] * pt.outer(lam, lam) + s2 * pt.eye(q)
            v = lam * Ztr
        else:
            A = pt.dot(Lam.T, pt.dot(st["ZtZ"], Lam)) + s2 * pt.eye(q)
            v = pt.dot(Lam.T, Ztr)
        C = pt.linalg.cholesky(A)
        w = pt.linalg.solve_triangular(C, v, lower=True)
        quad = (rtr - pt.sum(w**2)) / s2
        logdet = (st["n"] - q) * pt.log(s2) + 2 * pt.sum(pt.log(pt.diag(C)))
        pm.Potential("marginal_loglik", -0.5 * (st["n"] * np.log(2 * np.pi) + logdet + quad))
    return m


def _build_marginal_sparse(spec):
    """Several grouping factors with more than ``MAX_MARGINAL_Q`` group effects: the marginal
    log-density through CHOLMOD, as one Op with its gradient
    (:mod:`hierarch.bayes.sparse_marginal`)."""
    import pymc as pm
    import pytensor.tensor as pt

    from hierarch.bayes.sparse_marginal import SparseMarginalLoglik, sparse_core

    pf = spec.engine_parsed
    core, entries = sparse_core(spec)
    spec._marginal_digest = None  # the statistics live in the Op: no cached compilation
    with pm.Model(coords=_coords(spec)) as m:
        beta = _beta(spec, pm)
        chols = [
            _block_chol(spec, pm, bn, b) for bn, b in zip(spec.block_names, pf.blocks, strict=True)
        ]
        lam = pt.concatenate([c[i, j] for c, (i, j) in zip(chols, entries, strict=True)])
        sigma = spec.priors["sigma"].create("sigma")
        loglik = SparseMarginalLoglik(core)(beta, lam, sigma)[0]
        pm.Potential("marginal_loglik", loglik)
    # random intercepts only: the fixed effects integrated out as well, through one dense
    # Schur complement per gradient (hierarch.bayes.kernels.CrossedKernel)
    m._hierarch_kernel = crossed_kernel(spec, m) if kernels_enabled() else None
    return m


def build_marginal(spec):
    """Build the PyMC model with the group effects integrated out analytically.

    For one grouping factor, ``y_j ~ N(X_j beta, sigma^2 I + Z_j Sigma Z_j')`` per group,
    evaluated from per-group cross-products (so the cost per gradient does not depend on
    the number of rows): with ``Sigma = L L'`` and ``A_j = sigma^2 I + L' Z_j'Z_j L``,
    ``log|V_j| = (n_j - k) log sigma^2 + log|A_j|`` and
    ``r_j' V_j^{-1} r_j = (r_j'r_j - |chol(A_j)^{-1} L' Z_j' r_j|^2) / sigma^2``.
    The group effects are drawn afterwards from their exact conditional posterior
    (:func:`draw_group_effects`).
    """
    import pymc as pm
    import pytensor.tensor as pt

    if not spec.can_marginalize:
        raise ValueError(
            "exact marginalization needs a Gaussian model (identity link) without known "
            "standard errors; use the plain model (marginalize=False)"
        )
    if not spec._single_factor:
        return build_marginal_global(spec)
    pf = spec.engine_parsed
    st = spec._group_stats()
    K = sum(b.k for b in pf.blocks)
    # r_j' r_j enters the log-likelihood summed over groups, so its statistics are summed
    # once; per group only Z_j'Z_j, Z_j'y and Z_j'X remain, stored column by column
    # (contiguous vectors: the per-group work is elementwise and fuses into a few loops)
    stats = {
        "yty": np.array(st["yty"].sum()),
        "Xty": st["Xty"].sum(axis=0),
        "XtX": st["XtX"].sum(axis=0),
    }
    for a in range(K):
        stats[f"Zty{a}"] = np.ascontiguousarray(st["Zty"][:, a])
        stats[f"ZtX{a}"] = np.ascontiguousarray(st["ZtX"][:, a, :])
        for c in range(a + 1):
            stats[f"ZtZ{a}{c}"] = np.ascontiguousarray(st["ZtZ"][:, a, c])
    n_total, J = float(st["n"].sum()), len(st["n"])
    # the statistics (like the prior values) are graph constants: PyTensor folds the
    # arithmetic on them and numba compiles the folded graph fast (pigs, with statistics
    # and priors as pm.Data: ~38 s instead of ~8 s); a refit on the same data reuses the
    # compiled model, new data compiles again (the cache key holds a digest of them).
    # Not so for many groups: there large constants make numba's compile slow (~17 s for
    # 10,000 groups) and keep it out of the on-disk cache (numba does not cache code
    # holding arrays over 1 MB), so the statistics are data
    as_data = J * K * (K + 1) // 2 > spec.STATS_AS_DATA
    spec._marginal_digest = None if as_data else _digest(stats)
    with pm.Model(coords=_coords(spec)) as m:
        if as_data:
            stats = {k: pm.Data(f"stat_{k}", v) for k, v in stats.items()}
        beta = _beta(spec, pm)
        chols = [
            _block_chol(spec, pm, bn, b) for bn, b in zip(spec.block_names, pf.blocks, strict=True)
        ]
        L = chols[0] if len(chols) == 1 else pt.linalg.block_diag(*chols)
        sigma = spec.priors["sigma"].create("sigma")
        s2 = sigma**2
        rtr = (
            stats["yty"] - 2 * pt.dot(stats["Xty"], beta) + pt.dot(beta, pt.dot(stats["XtX"], beta))
        )  # sum_j r_j' r_j
        Ztr = [stats[f"Zty{a}"] - pt.dot(stats[f"ZtX{a}"], beta) for a in range(K)]
        if K == 1:  # closed forms: elementwise ops compile and run fast in every backend
            l11 = L[0, 0]
            A = s2 + l11**2 * stats["ZtZ00"]
            w2 = l11**2 * Ztr[0] ** 2 / A
            logdetA = pt.log(A)
        elif K == 2:
            l11, l21, l22 = L[0, 0], L[1, 0], L[1, 1]
            z11, z12, z22 = stats["ZtZ00"], stats["ZtZ10"], stats["ZtZ11"]
            m11, m12 = z11 * l11 + z12 * l21, z12 * l22  # M = Z'Z L
            m21, m22 = z12 * l11 + z22 * l21, z22 * l22
            a11 = l11 * m11 + l21 * m21 + s2  # A = L' M + sigma^2 I
            a12 = l11 * m12 + l21 * m22
            a22 = l22 * m22 + s2
            c11 = pt.sqrt(a11)
            c21 = a12 / c11
            c22 = pt.sqrt(a22 - c21**2)
            v1 = l11 * Ztr[0] + l21 * Ztr[1]  # v = L' Z'r
            v2 = l22 * Ztr[1]
            w1 = v1 / c11
            w2 = w1**2 + ((v2 - c21 * w1) / c22) ** 2
            logdetA = 2 * (pt.log(c11) + pt.log(c22))
        else:
            ZtZ = pt.stack(
                [
                    pt.stack([stats[f"ZtZ{max(a, c)}{min(a, c)}"] for c in range(K)], -1)
                    for a in range(K)
                ],
                1,
            )  # (J, K, K)
            A = pt.matmul(pt.matmul(L.T, ZtZ), L) + s2 * pt.eye(K)
            C = pt.linalg.cholesky(A)
            v = pt.matmul(pt.stack(Ztr, -1), L)  # rows: (L' Z_j' r_j)'
            w = pt.linalg.solve_triangular(C, v[:, :, None], lower=True, b_ndim=2)[:, :, 0]
            w2 = (w**2).sum(axis=1)
            logdetA = 2 * pt.log(pt.diagonal(C, axis1=1, axis2=2)).sum(axis=1)
        quad = (rtr - w2.sum()) / s2
        logdet = (n_total - J * K) * pt.log(s2) + logdetA.sum()
        loglik = -0.5 * (n_total * np.log(2 * np.pi) + logdet + quad)
        pm.Potential("marginal_loglik", loglik)
    # the same log-density written by hand (no graph compilation), for the models it covers
    m._hierarch_kernel = lmm_kernel(spec, m) if kernels_enabled() else None
    return m


def build(spec, parameterization: dict[str, str]):
    """Build (do not sample) the PyMC model: group effects centred or non-centred per
    block (:attr:`parameterization`), LKJ-Cholesky correlated effects, coordinates
    ``obs``, ``coef`` and one per grouping factor."""
    import pymc as pm

    pf = spec.engine_parsed
    cells = spec.cells()
    obs = spec.dim_obs if cells is None else spec.dim_cell
    coords = _coords(spec)
    if cells is not None:
        coords[spec.dim_cell] = np.arange(len(cells["y"]))
    with pm.Model(coords=coords) as m:
        beta = _beta(spec, pm)
        if pf.x_names == ["Intercept"]:  # an intercept alone: no design matrix in the graph
            mu = beta[0]
        else:
            X = pm.Data("X", pf.X if cells is None else cells["X"], dims=(obs, spec.dim_coef))
            mu = X @ beta
        if pf.offset is not None:
            off = pf.offset if cells is None else cells["offset"]
            mu = mu + pm.Data("offset", off, dims=obs)
        centred_cols: set[str] = set()  # fixed columns already used as a centring mean
        for i, (bname, b) in enumerate(zip(spec.block_names, pf.blocks, strict=True)):
            codes_ = b.codes if cells is None else cells["codes"][i]
            # one row per level, in level order (a table of group counts or estimates): the
            # group effects line up with the rows, no indexing in the graph (faster to compile;
            # the missing data variable makes it another structure for the compiled cache)
            identity = len(codes_) == b.n_levels and np.array_equal(codes_, np.arange(b.n_levels))
            codes = None if identity else pm.Data(f"codes_{bname}", codes_, dims=obs)
            # a random intercept's Z is a column of ones: left out of the graph (a smaller
            # graph compiles faster); scalar blocks use elementwise products, not matmuls
            Zb = None
            if tuple(b.columns) != ("Intercept",):
                Zb = pm.Data(
                    f"Z_{bname}",
                    b.Z if cells is None else cells["Z"][i],
                    dims=(obs, spec.dim_effect(bname)),
                )
            dims = (spec.dim_factor(b.factor), spec.dim_effect(bname))
            chol = _block_chol(spec, pm, bname, b)
            if parameterization[bname] == "non-centred":
                z = pm.Normal(f"z_{bname}", 0.0, 1.0, dims=dims)
                zl = z * chol[0, 0] if b.k == 1 else z @ chol.T
                beff = pm.Deterministic(f"b_{bname}", zl, dims=dims)
            else:
                # centred: the group coefficients themselves, around the fixed effect of
                # the same column (once per column), so beta and the effects decouple
                loc = []
                for col in b.columns:
                    if col in pf.x_names and col not in centred_cols:
                        centred_cols.add(col)
                        loc.append(beta[pf.x_names.index(col)])
                    else:
                        loc.append(pm.math.constant(0.0))
                loc = pm.math.stack(loc)
                if b.k == 1:
                    c = pm.Normal(f"c_{bname}", mu=loc, sigma=chol[0], dims=dims)
                else:
                    c = pm.MvNormal(f"c_{bname}", mu=loc, chol=chol, dims=dims)
                beff = pm.Deterministic(f"b_{bname}", c - loc, dims=dims)
            rows = beff if codes is None else beff[codes]
            if Zb is None:
                # 1-d indexing: a simpler Op to compile
                mu = mu + (beff[:, 0] if codes is None else beff[:, 0][codes])
            elif b.k == 1:
                mu = mu + Zb[:, 0] * (beff[:, 0] if codes is None else beff[:, 0][codes])
            else:
                mu = mu + (Zb * rows).sum(axis=1)
        if spec.known_se is not None:  # y | se(s) ~ ...: the residual SDs are given
            sigma = pm.Data("se", spec.known_se, dims=obs)
            y = pm.Data("y_obs", pf.y, dims=obs)
            pm.Normal("y", mu=mu, sigma=sigma, observed=y, dims=obs)
        elif spec.family == "gaussian":
            sigma = spec.priors["sigma"].create("sigma")
            y = pm.Data("y_obs", pf.y, dims=obs)
            pm.Normal("y", mu=inverse_link(spec.link, mu), sigma=sigma, observed=y, dims=obs)
        elif cells is not None:
            binomial = get_family("binomial")
            y = pm.Data("y_obs", cells["y"], dims=obs)
            n = pm.Data("trials", cells["n"], dims=obs)
            binomial.likelihood(pm, spec.link, mu, y, n, spec.priors, dims=obs)
        else:
            y = pm.Data("y_obs", pf.y, dims=obs)
            n = None if spec.trials is None else pm.Data("trials", spec.trials, dims=obs)
            spec.family_info.likelihood(pm, spec.link, mu, y, n, spec.priors, dims=obs)
    # the same log-density written by hand (no graph compilation), for the models it covers
    m._hierarch_kernel = glmm_kernel(spec, parameterization, m) if kernels_enabled() else None
    return m


def _digest(stats: dict[str, Any]) -> str:
    """A digest of the marginal model's constant statistics (part of its cache key)."""

    h = hashlib.sha1()
    for k in sorted(stats):
        h.update(k.encode())
        h.update(np.ascontiguousarray(np.asarray(stats[k], dtype=float)).tobytes())
    return h.hexdigest()


def _structure(model: ModelSpec, parameterization: dict[str, str] | None) -> tuple:
    # a marginalized model has no group effects to centre (``parameterization`` None): its
    # parameterization (for Gaussian models a REML fit, seconds on a million rows) is not
    # asked for
    return (
        "mixed",
        model.formula,
        model.family,
        model.link,
        tuple(model.parsed.x_names),
        tuple((b.factor, tuple(b.columns)) for b in model.parsed.blocks),
        # prior values are constants of the graph: a refit with other priors compiles again
        tuple(sorted((k, repr(sorted(p.to_dict().items()))) for k, p in model.priors.items())),
        "marginalized" if parameterization is None else tuple(sorted(parameterization.items())),
    )


def cache_key(spec: ModelSpec, pm_model, parameterization: dict[str, str] | None) -> tuple:
    """Structure key for reusing a compiled model (:func:`hierarch.bayes.sampling.model_key`):
    ``parameterization`` is the plain model's (None for the marginalized model)."""
    marginal = "marginal_loglik" in pm_model.named_vars
    digest = getattr(spec, "_marginal_digest", None) if marginal else None
    return model_key(pm_model, (*_structure(spec, None if marginal else parameterization), digest))
