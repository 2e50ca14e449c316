"""Cross-validation of Bayesian formula fits: leave-one-group-out and model comparison.

Leave-one-group-out (LOGO) asks how well a model predicts a *new* group's data, the question a
hierarchical model is built for (brms #1607; the peers answer it with K refits). Here it needs
no refit. The draws of the full posterior are importance-weighted by ``1 / p(y_j | phi)``, with
``phi`` every parameter except group ``j``'s effects, and the weights Pareto-smoothed (PSIS,
Vehtari, Gelman and Gabry 2017) by ArviZ:

- **Gaussian models** (identity link): ``p(y_j | phi)`` is the exact marginal likelihood of the
  group, its effects integrated out, ``y_j ~ N(mu_j, sigma^2 I + Z_j Sigma Z_j')`` (Woodbury's
  identity, so a group of thousands of rows costs no more than its cross-products). The
  weights are then as well behaved as in the leave-one-row-out case.
- **Other families, one scalar effect per group** (``(1 | g)``, the common GLMM): the group's
  effect integrated out by adaptive Gauss-Hermite quadrature (``N_AGQ`` nodes around the
  mode of each draw's integrand, found by Newton's method with the family's Laplace pieces),
  per draw and group: the integrated weights, as for Gaussian models.
- **Otherwise** (several effects per group): ``p(y_j | b_j, phi)``, the group's likelihood
  given its drawn effects, the joint posterior draws of ``(b_j, phi)`` being the proposal.
  Valid, but the weights are heavy tailed when a group's data are informative about its own
  effects.

A Pareto k above 0.7 is reported as a :class:`ParetoKWarning` naming the groups.

Other grouping factors' effects stay at their posterior draws: the left-out group is new for
its own factor only (a new pig, not a new pig in a new week).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import xarray as xr

from hierarch.report.mixed import (
    _draws,
    _factor_blocks,
    _is_bayes,
    _split_vectors,
    _stack,
    pointwise_loglik,
)

__all__ = ["ParetoKWarning", "group_loglik", "logo", "loo_compare"]

#: the Pareto k above which the importance-sampling estimate is not to be trusted
K_THRESHOLD = 0.7


class ParetoKWarning(UserWarning):
    """The importance-sampling estimate of leave-one-out or leave-one-group-out is unreliable
    for some rows or groups (Pareto k above 0.7): the message names them and what to do."""


def _gaussian_marginal(fit, idx: list[int], chunk_cells: int = 20_000_000) -> np.ndarray:
    """``log p(y_j | phi)`` of every group ``j`` of the factor whose blocks are ``idx``, with
    its effects integrated out: (draws, groups)."""
    model = fit.model
    pf = model.parsed
    d = _draws(fit)
    S = d.beta.shape[0]
    blocks = [pf.blocks[i] for i in idx]
    codes = blocks[0].codes
    J = blocks[0].n_levels
    Z = np.concatenate([b.Z for b in blocks], axis=1)  # (n, K)
    K = Z.shape[1]
    # the factor's covariance root, block-diagonal over its blocks: (S, K, K)
    L = np.zeros((S, K, K))
    at = 0
    for i in idx:
        k = d.chol[i].shape[-1]
        L[:, at : at + k, at : at + k] = d.chol[i]
        at += k
    n_j = np.bincount(codes, minlength=J).astype(float)
    ZtZ = np.zeros((J, K, K))
    np.add.at(ZtZ, codes, Z[:, :, None] * Z[:, None, :])
    ind = np.zeros((J, len(codes)))  # group indicator: sums over rows as a product
    ind[codes, np.arange(len(codes))] = 1.0
    out = np.empty((S, J))
    step = max(1, chunk_cells // max(len(codes), 1))
    others = [i for i in range(len(pf.blocks)) if i not in idx]
    for lo in range(0, S, step):
        s = slice(lo, min(S, lo + step))
        mean = d.beta[s] @ pf.X.T + pf.offset_or_zero  # (s, n)
        for i in others:
            b = pf.blocks[i]
            mean = mean + np.einsum("sne,ne->sn", d.ranef[i][s][:, b.codes, :], b.Z)
        r = pf.y[None, :] - mean
        rr = (r**2) @ ind.T  # (s, J)
        Zr = np.einsum("sn,nk,jn->sjk", r, Z, ind, optimize=True)  # (s, J, K)
        sig2 = (d.sigma[s] ** 2)[:, None, None]  # (s, 1, 1)
        Ls = L[s][:, None]  # (s, 1, K, K)
        WtW = np.swapaxes(Ls, -1, -2) @ ZtZ[None] @ Ls  # (s, J, K, K)
        M = np.eye(K) + WtW / sig2[..., None]
        Wr = np.einsum("sjba,sjb->sja", np.broadcast_to(Ls, WtW.shape), Zr)  # L' Z' r
        C = np.linalg.cholesky(M)
        v = np.linalg.solve(C, Wr[..., None])[..., 0]  # C^{-1} W'r
        logdet = n_j[None] * np.log(sig2[..., 0]) + 2 * np.log(
            np.diagonal(C, axis1=-2, axis2=-1)
        ).sum(-1)
        quad = (rr - (v**2).sum(-1) / sig2[..., 0]) / sig2[..., 0]
        out[s] = -0.5 * (n_j[None] * np.log(2 * np.pi) + logdet + quad)
    return out


#: quadrature nodes per group and draw for the non-Gaussian integrated group likelihood
N_AGQ = 15


def _agq_marginal(fit, i: int, chunk_cells: int = 5_000_000) -> np.ndarray:
    """``log p(y_j | phi)`` of every group of the scalar block ``i`` of a non-Gaussian model,
    its effect integrated out by adaptive Gauss-Hermite quadrature: (draws, groups)."""
    from hierarch.core.families import LAPLACE_FAMILIES

    model = fit.model
    pf = model.parsed
    blk = pf.blocks[i]
    fam = LAPLACE_FAMILIES[model.family](model.link)
    d = _draws(fit)
    S, J, n = d.beta.shape[0], blk.n_levels, len(pf.y)
    codes, z_col = blk.codes, blk.Z[:, 0]
    y = np.asarray(pf.y, float)
    trials = np.asarray(model.trials, float) if model.trials is not None else np.ones(n)
    names = model.family_info.extra
    phi_all = _split_vectors([_stack(fit.idata.posterior[name]) for name in names])
    ind = np.zeros((n, J))
    ind[np.arange(n), codes] = 1.0
    x, w = np.polynomial.hermite_e.hermegauss(N_AGQ)  # weights against exp(-t^2 / 2)
    out = np.empty((S, J))
    step = max(1, chunk_cells // (n * N_AGQ))
    for lo in range(0, S, step):
        s = slice(lo, min(S, lo + step))
        rest = d.beta[s] @ pf.X.T + pf.offset_or_zero  # (s, n)
        for k, b in enumerate(pf.blocks):
            if k != i:
                rest = rest + np.einsum("sne,ne->sn", d.ranef[k][s][:, b.codes, :], b.Z)
        sd = d.chol[i][s][:, 0, 0][:, None]  # (s, 1)
        phis = [p[s][:, None] for p in phi_all]
        phi = None if not phis else phis[0] if len(phis) == 1 else tuple(phis)
        scale = sd * z_col[None]  # d eta / d z, per row
        z = np.zeros((rest.shape[0], J))
        # the mode of the log integrand: Newton's method where it is log-concave in z,
        # Fisher scoring where the family's observed information can be negative (Student-t)
        # (steps capped at 2 prior SDs: a flat likelihood, e.g. an ordinal group with all its
        # ratings in one end category, would otherwise send z where its terms underflow)
        newton = fam.log_concave
        for _ in range(50 if newton else 100):
            eta = rest + scale * z[:, codes]
            score, info = fam.score_info(y, trials, eta, phi, observed=newton)
            g = (score * scale) @ ind - z
            h = np.maximum((info * scale**2) @ ind + 1.0, 1e-12)
            dz = np.clip(g / h, -2.0, 2.0)
            z = z + dz
            if np.max(np.abs(dz)) < 1e-10:
                break
        eta = rest + scale * z[:, codes]
        _, info = fam.score_info(y, trials, eta, phi, observed=True)
        h = (info * scale**2) @ ind + 1.0
        if np.any(h < 1e-6):  # curvature at the mode not positive: the expected one there
            _, expected = fam.score_info(y, trials, eta, phi)
            h = np.where(h < 1e-6, (expected * scale**2) @ ind + 1.0, h)
        terms = []
        for xk, wk in zip(x, w, strict=True):
            zk = z + xk / np.sqrt(h)
            ll = fam.loglik(y, trials, rest + scale * zk[:, codes], phi) @ ind  # (s, J)
            terms.append(ll - 0.5 * zk**2 - 0.5 * np.log(2 * np.pi) + 0.5 * xk**2 + np.log(wk))
        out[s] = np.logaddexp.reduce(np.stack(terms), axis=0) - 0.5 * np.log(h)
    return out


def group_loglik(fit, factor: str | None = None) -> tuple[np.ndarray, list, str]:
    """Log-likelihood of every group of ``factor`` for every posterior draw.

    Parameters
    ----------
    fit : MixedBayesFit
        A Bayesian fit of a formula model.
    factor : str, optional
        Grouping factor (default: the first).

    Returns
    -------
    (numpy.ndarray, list, str)
        The values, shape ``(chain, draw, group)``; the group labels; and how the group's
        effects were treated: ``"integrated"`` (exact for Gaussian models, adaptive
        quadrature for a scalar effect of another family) or ``"conditional"`` (the
        likelihood given the drawn effects).
    """
    if not _is_bayes(fit):
        raise ValueError("leave-one-group-out needs a Bayesian fit (fit(method='bayes'))")
    model = fit.model
    if getattr(model, "weights", None) is not None:
        raise ValueError(
            "leave-one-group-out with prior weights is not available yet; loo() (row-wise) is"
        )
    factor, idx = _factor_blocks(model, factor)
    blk = model.parsed.blocks[idx[0]]
    post = fit.idata.posterior
    shape = (post.sizes["chain"], post.sizes["draw"], blk.n_levels)
    if model.family == "gaussian" and model.link == "identity":
        ll = _gaussian_marginal(fit, idx)
        how = "integrated"
    elif (
        len(idx) == 1
        and blk.k == 1
        and model.family_info.laplace is not None
        and model.family != "gaussian"
    ):
        ll = _agq_marginal(fit, idx[0])
        how = "integrated"
    else:
        rows = pointwise_loglik(fit).reshape(-1, len(blk.codes))
        ll = np.zeros((rows.shape[0], blk.n_levels))
        np.add.at(ll.T, blk.codes, rows.T)
        how = "conditional"
    return ll.reshape(shape), list(blk.levels), how


def _psis(ll: np.ndarray, labels: list, dim: str):
    """ArviZ's PSIS-LOO of a (chain, draw, unit) log-likelihood array; its own Pareto k
    warning is replaced by the caller's, which names the units."""
    import arviz as az

    ds = xr.Dataset(
        {"y": (("chain", "draw", dim), ll)},
        coords={dim: [str(v) for v in labels]},
    )
    idata = az.InferenceData(log_likelihood=ds)
    # ArviZ wants a posterior group only for its sizes; the log-likelihood carries them
    idata.add_groups(posterior=xr.Dataset({"_": (("chain", "draw"), ll[..., 0])}))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*Pareto", category=UserWarning)
        return az.loo(idata, pointwise=True, var_name="y")


def logo(fit, factor: str | None = None):
    """Leave-one-group-out cross-validation without refits (PSIS over groups).

    Parameters
    ----------
    fit : MixedBayesFit
        A Bayesian fit of a formula model.
    factor : str, optional
        The grouping factor whose groups are left out one at a time (default: the first).

    Returns
    -------
    arviz.ELPDData
        As :func:`arviz.loo`: ``elpd_loo`` (the expected log predictive density of a new
        group's data, summed over groups), ``p_loo``, ``se``, the per-group ``loo_i`` and
        ``pareto_k`` (indexed by ``group``), ``attrs``-style fields ``factor`` and
        ``method`` (``"integrated"`` or ``"conditional"``, see the module docstring).

    Warns
    -----
    ParetoKWarning
        When some group's Pareto k exceeds 0.7, naming the groups.

    Examples
    --------
    >>> import hierarch
    >>> m = hierarch.model("weight ~ week + (week | id)", hierarch.load_dataset("pigs"))
    >>> fit = m.fit(method="bayes", draws=300, tune=300, chains=2, random_seed=1,
    ...             progressbar=False)  # doctest: +SKIP
    >>> cv = fit.logo()  # doctest: +SKIP
    >>> cv.method, cv.loo_i.sizes["group"]  # doctest: +SKIP
    ('integrated', 48)
    """
    factor, _ = _factor_blocks(fit.model, factor)
    ll, labels, how = group_loglik(fit, factor)
    res = _psis(ll, labels, "group")
    res["factor"] = factor
    res["method"] = how
    res["loo_scale"] = "log"
    k = np.asarray(res.pareto_k)
    bad = [labels[i] for i in np.flatnonzero(k > K_THRESHOLD)]
    if bad:
        shown = ", ".join(str(b) for b in bad[:10]) + (" ..." if len(bad) > 10 else "")
        advice = (
            "the groups' likelihoods given their own drawn effects make heavy-tailed weights; "
            "refit without those groups to check them (exact LOGO), or compare models by "
            "row-wise LOO"
            if how == "conditional"
            else "those groups are influential even with their effects integrated out; refit "
            "without them to check (exact LOGO)"
        )
        warnings.warn(
            f"leave-one-group-out by {factor!r}: Pareto k > {K_THRESHOLD} for {len(bad)} of "
            f"{len(labels)} groups ({shown}), so their estimates are unreliable: {advice}",
            ParetoKWarning,
            stacklevel=3,
        )
    return res


def _named(fits) -> dict:
    if isinstance(fits, Mapping):
        named = dict(fits)
    elif isinstance(fits, Sequence) and not isinstance(fits, str):
        named = {}
        for i, f in enumerate(fits):
            name = getattr(getattr(f, "model", None), "formula", None) or f"model_{i + 1}"
            named[name if name not in named else f"{name} [{i + 1}]"] = f
    else:
        raise TypeError("loo_compare() takes a dict {name: fit} or a list of fits")
    if len(named) < 2:
        raise ValueError(f"loo_compare() needs at least two fits, got {len(named)}")
    return named


def _same_data(named: dict) -> None:
    first_name, first = next(iter(named.items()))
    for name, f in named.items():
        y0, y = first.model.parsed.y, f.model.parsed.y
        if y.shape != y0.shape or not np.array_equal(y, y0):
            raise ValueError(
                f"loo_compare(): {name!r} and {first_name!r} were not fitted to the same "
                f"response values ({y.shape[0]} and {y0.shape[0]} rows): LOO compares models "
                "of the same data"
            )
    for name, f in named.items():
        if not _is_bayes(f):
            raise ValueError(
                f"loo_compare(): {name!r} is a {getattr(f, 'method', type(f).__name__)} fit; "
                "LOO needs Bayesian fits (fit(method='bayes'))"
            )


def loo_compare(fits, by: str | None = None, scale: str = "log"):
    """Compare Bayesian fits of the same data by PSIS-LOO (ArviZ's ``compare``).

    Parameters
    ----------
    fits : dict or list
        ``{name: fit}``, or a list of fits (named by their formulas).
    by : str, optional
        ``None``: leave one row out (:meth:`loo`); a grouping factor's name: leave one group
        of it out (:func:`logo`), which every fit must have.
    scale : {"log", "negative_log", "deviance"}
        As :func:`arviz.compare`.

    Returns
    -------
    pandas.DataFrame
        ArviZ's comparison table, best model first: ``elpd_loo``, ``p_loo``, ``elpd_diff``,
        ``weight``, ``se``, ``dse``, ``warning``, ``scale`` (``elpd_loo`` is the sum over
        groups when ``by`` is given).

    Examples
    --------
    >>> import hierarch
    >>> pigs = hierarch.load_dataset("pigs")
    >>> kw = dict(draws=300, tune=300, chains=2, random_seed=1, progressbar=False)
    >>> a = hierarch.model("weight ~ week + (1 | id)", pigs).fit(**kw)  # doctest: +SKIP
    >>> b = hierarch.model("weight ~ week + (week | id)", pigs).fit(**kw)  # doctest: +SKIP
    >>> hierarch.loo_compare({"intercepts": a, "slopes": b}, by="id").index[0]  # doctest: +SKIP
    'slopes'
    """
    import arviz as az

    named = _named(fits)
    _same_data(named)
    if by is None:
        elpd = {}
        for name, f in named.items():
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*Pareto", category=UserWarning)
                elpd[name] = f.loo()
            _warn_rows(name, elpd[name])
    else:
        for name, f in named.items():
            factors = [b.factor for b in f.model.parsed.blocks]
            if by not in factors:
                raise ValueError(
                    f"loo_compare(by={by!r}): {name!r} has no random effects by {by!r} "
                    f"(its factors: {', '.join(dict.fromkeys(factors))})"
                )
        elpd = {name: logo(f, by) for name, f in named.items()}
    if scale not in ("log", "negative_log", "deviance"):
        raise ValueError(f"scale must be 'log', 'negative_log' or 'deviance', got {scale!r}")
    table = az.compare(elpd, scale=scale)
    table.attrs["by"] = by or "row"
    return table


def _warn_rows(name: str, res) -> None:
    k = np.asarray(res.pareto_k)
    bad = np.flatnonzero(k > K_THRESHOLD)
    if len(bad):
        shown = ", ".join(str(i) for i in bad[:10]) + (" ..." if len(bad) > 10 else "")
        warnings.warn(
            f"LOO of {name!r}: Pareto k > {K_THRESHOLD} for {len(bad)} of {len(k)} rows "
            f"(positions {shown}), so their estimates are unreliable: look at those rows, or "
            "compare by leave-one-group-out (by=<factor>), whose Gaussian form integrates each "
            "group's effects out",
            ParetoKWarning,
            stacklevel=3,
        )
