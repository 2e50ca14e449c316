"""Reporting for formula (normal) mixed models: shrinkage of group coefficients, pooling
weights, ICC, per-group coefficients and new-group predictions.

Every function takes a fit (``MixedMLFit`` or ``MixedBayesFit``) and returns a DataFrame.
Both kinds go through the same code: a frequentist fit supplies "draws" of its parameters
from their sampling distribution (``beta ~ N(beta_hat, vcov)``, variance components fixed
at their estimates), a Bayesian fit its posterior draws.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.core.families import (
    LAPLACE_FAMILIES,
    get_family,
    inverse_link_np,
    threshold_names,
)
from hierarch.freq.binomial import wilson_table
from hierarch.freq.laplace import glm_fit

__all__ = [
    "coefficient_draws",
    "coefficients",
    "compare",
    "hyperparameter_draws",
    "icc",
    "loo",
    "new_group",
    "pointwise_loglik",
    "category_probabilities",
    "predict",
    "ppc",
    "shrinkage",
]

_ML_DRAWS = 4000


@dataclass
class _Draws:
    beta: np.ndarray  # (S, p)
    sigma: np.ndarray  # (S,)
    chol: list[np.ndarray]  # per block (S, k, k): Cholesky factor of the block covariance
    ranef: list[np.ndarray] | None  # per block (S, J, k), Bayesian only


def _is_bayes(fit) -> bool:
    return getattr(fit, "method", None) == "bayes"


def _stack(da) -> np.ndarray:
    """Draws with chains and draws flattened into the first axis, under a dimension name
    that no grouping factor has (a factor may be called ``sample``, as penicillin's)."""
    name = "__sample__"
    while name in da.dims:
        name += "_"
    return da.stack({name: ("chain", "draw")}).transpose(name, ...).values


def _bootstrap_draws(fit, seed, n_boot: int, progressbar: bool) -> _Draws:
    """Draws of the fixed effects and variance components from ``n_boot`` parametric
    bootstrap refits of an ML fit (one draw per refit)."""
    from hierarch.freq.bootstrap import bootstrap_fits

    est = fit.lmm if hasattr(fit, "lmm") else fit.glmm
    fits, _ = bootstrap_fits(
        fit.model, est, fit.method, n_boot, seed, progressbar, getattr(est, "n_agq", 1)
    )
    # basic (reflected) bootstrap draws: a refit's error about the estimate, mirrored about
    # the estimate, is a draw of the estimate's error about the truth (Davison and Hinkley
    # 1997, section 5.2); the percentile draws themselves would carry the estimators'
    # downward bias of the SDs twice (tests/report/test_predict_coverage.py)
    beta = np.array([2 * est.beta - f.beta for f in fits])
    sigma = np.array(
        [max(2 * getattr(est, "sigma", 0.0) - getattr(f, "sigma", 0.0), 0.0) for f in fits]
    )
    chols = []
    for i in range(len(fit.model.parsed.blocks)):
        sd_hat = np.sqrt(np.clip(np.diag(est.cov[i]), 0, None))
        roots = []
        for f in fits:
            C = np.asarray(f.cov[i])
            sd = np.sqrt(np.clip(np.diag(C), 0, None))
            with np.errstate(divide="ignore", invalid="ignore"):
                R = np.where(np.outer(sd, sd) > 0, C / np.outer(sd, sd), 0.0)
            np.fill_diagonal(R, 1.0)
            sd_new = np.clip(2 * sd_hat - sd, 0, None)
            Cn = sd_new[:, None] * R * sd_new[None, :]
            w, V = np.linalg.eigh(Cn)
            roots.append(V * np.sqrt(np.clip(w, 0, None)))
        chols.append(np.array(roots))
    return _Draws(beta, sigma, chols, None)


def _draws(fit, seed: int | None = None, n_boot: int = 0, progressbar: bool = False) -> _Draws:
    if n_boot and not _is_bayes(fit):
        return _bootstrap_draws(fit, seed, n_boot, progressbar)
    if _is_bayes(fit):
        post = fit.idata.posterior
        chols = []
        for blk in fit.spec["blocks"]:
            name = blk["name"]
            sd = _stack(post[f"sd_{name}"])
            if f"corr_{name}" in post:
                corr = _stack(post[f"corr_{name}"])
                lc = np.linalg.cholesky(corr + 1e-12 * np.eye(corr.shape[-1]))
                chols.append(sd[:, :, None] * lc)
            else:
                chols.append(sd[:, :, None] * np.eye(sd.shape[1])[None])
        ranef = [_stack(post[f"b_{blk['name']}"]) for blk in fit.spec["blocks"]]
        beta = _stack(post["beta"])
        # GLMMs have no residual SD: zeros keep the (link-scale) arithmetic uniform
        sigma = _stack(post["sigma"]) if "sigma" in post else np.zeros(len(beta))
        return _Draws(beta, sigma, chols, ranef)
    lm = fit.ml
    rng = np.random.default_rng(seed if seed is not None else 0)
    beta = rng.multivariate_normal(lm.beta, lm.vcov, size=_ML_DRAWS, method="eigh")
    chols = []
    for C in lm.cov:
        w, V = np.linalg.eigh(C)
        root = V * np.sqrt(np.clip(w, 0, None))  # works for singular covariances too
        chols.append(np.broadcast_to(root, (_ML_DRAWS, *C.shape)))
    return _Draws(beta, np.full(_ML_DRAWS, lm.sigma), chols, None)


def _conditional_effect_draws(ml, i: int, codes: np.ndarray, S: int, rng) -> np.ndarray:
    """``S`` draws of block ``i``'s effects for the groups ``codes`` from ``N(b_hat_j,
    condVar_j)`` (an eigen-root, so a zero conditional variance works too): (S, m, k)."""
    mean = np.asarray(ml.ranef[i])[codes]  # (m, k)
    w, V = np.linalg.eigh(np.asarray(ml.condvar[i])[codes])  # (m, k), (m, k, k)
    root = V * np.sqrt(np.clip(w, 0, None))[:, None, :]
    e = rng.standard_normal((S, *mean.shape))
    return mean[None] + np.einsum("mab,smb->sma", root, e)


def _factor_blocks(model, factor: str | None):
    blocks = model.parsed.blocks
    factor = factor or blocks[0].factor
    idx = [i for i, b in enumerate(blocks) if b.factor == factor]
    if not idx:
        raise ValueError(
            f"no random effects by {factor!r}; factors: "
            f"{', '.join(dict.fromkeys(b.factor for b in blocks))}"
        )
    return factor, idx


def _interval(x: np.ndarray, level: float, axis: int = 0):
    a = (1 - level) / 2
    return np.quantile(x, [a, 1 - a], axis=axis)


def _check_scale(model, scale: str, what: str) -> bool:
    """True when results go to the response scale; checks that this is well defined."""
    if scale not in ("link", "response"):
        raise ValueError(f"scale must be 'link' or 'response', got {scale!r}")
    if scale == "link" or (model.link == "identity" and not _mean_needs_extra(model)):
        return False
    covariates = [n for n in model.parsed.x_names if n != "Intercept"]
    if covariates:
        raise ValueError(
            f"{what} on the response scale needs an intercept-only fixed part (a group's "
            f"mean response then does not depend on covariates); this model has "
            f"{', '.join(covariates)}: use scale='link' or predict()"
        )
    return True


def _mean_at(model, eta, extra):
    """The mean response at ``eta`` with the family's extra parameters at ``extra``
    (broadcasting against ``eta``): the inverse link, ``E[y]`` of a zero-inflated or hurdle
    count (its zero probability and size), the expected category of an ordinal response
    (its thresholds).  Increasing in ``eta`` for every family, so it maps interval ends."""
    if not _mean_needs_extra(model):
        return _mean(model.link, eta)
    return model.family_info.moments(model.link, np.asarray(eta, dtype=float), None, extra)[0]


def _plug_in_extra(fit):
    """The extra parameters at a point: the ML estimates, or the posterior means."""
    return _map_extra(lambda d: float(np.mean(d)), _dispersion(fit))


def _coef_value(draws_or_beta, x_names: list[str], name: str, shape):
    """A coefficient's fixed value: its estimate or draws, 0 for a column that is only in a
    random-effect term (lme4's ``coef()``)."""
    if name in x_names:
        return draws_or_beta[..., x_names.index(name)]
    return np.zeros(shape)


def _all_coef_names(pf) -> list[str]:
    """Every factor's random-only columns, then the fixed part's (as ``coef_names``)."""
    names: list[str] = []
    for b in pf.blocks:
        names += [c for c in pf.coef_names(b.factor) if c not in names and c not in pf.x_names]
    return names + list(pf.x_names)


def coefficient_draws(fit, factor: str | None = None, scale: str = "link") -> np.ndarray:
    """Posterior draws of every group's coefficients (fixed effect + the group's effect).

    Parameters
    ----------
    fit : MixedBayesFit
        A Bayesian fit (ML fits have no draws of the group effects: see :func:`coefficients`).
    factor : str, optional
        Grouping factor (default: the first).
    scale : {"link", "response"}
        As :func:`coefficients`.

    Returns
    -------
    numpy.ndarray
        Shape ``(draws, groups, coefficients)``, the coefficients in the order of
        ``model.parsed.coef_names(factor)`` (random-only columns, then the fixed part's) and
        the groups in the order of :func:`coefficients`.
    """
    if not _is_bayes(fit):
        raise ValueError("coefficient_draws() needs a Bayesian fit (fit(method='bayes'))")
    model = fit.model
    response = _check_scale(model, scale, "coefficient_draws()")
    factor, idx = _factor_blocks(model, factor)
    n_levels = model.parsed.blocks[idx[0]].n_levels
    d = _draws(fit)
    S = d.beta.shape[0]
    names = model.parsed.coef_names(factor)
    out = np.empty((S, n_levels, len(names)))
    for c, name in enumerate(names):
        fixed = _coef_value(d.beta, model.parsed.x_names, name, S)
        val = np.repeat(fixed[:, None], n_levels, axis=1)
        for i in idx:
            blk = model.parsed.blocks[i]
            if name in blk.columns:
                val = val + d.ranef[i][:, :, blk.columns.index(name)]
        out[:, :, c] = _response_mean(fit, val) if response else val
    return out


def coefficients(fit, factor: str | None = None, scale: str = "link") -> pd.DataFrame:
    """Per-group coefficients (fixed effect + the group's random effect) with intervals.

    Parameters
    ----------
    fit : MixedMLFit, GLMMMLFit or MixedBayesFit
    factor : str, optional
        Grouping factor (default: the first).
    scale : {"link", "response"}
        For GLMMs with an intercept-only fixed part (ordinal models: no covariates),
        ``"response"`` reports each group's mean response: ``g^-1`` of the coefficient (a
        probability, a rate, ...), ``E[y]`` with the zero probability for zero-inflated and
        hurdle counts, the expected category for ordinal responses.

    Returns
    -------
    pandas.DataFrame
        Long format: ``group``, ``coef``, ``estimate``, ``lower``, ``upper``; the
        coefficients are lme4's ``coef()`` columns (a random-effect column outside the fixed
        part, such as an ordinal model's random intercept, has fixed value 0).  For ML fits
        the estimate is lme4's ``coef()`` and the interval uses the conditional variance
        plus the fixed effect's variance, mapped to the response scale by the mean response
        with the family's extra parameters at their estimates; for Bayesian fits, posterior
        mean and central interval of the coefficient or of the mean response (each draw
        with its own extra parameters).

    Examples
    --------
    >>> import hierarch
    >>> wine = hierarch.load_dataset("wine")
    >>> fit = hierarch.model("rating ~ 1 + (1 | judge)", wine,
    ...                      family="cumulative").fit(method="laplace")
    >>> table = coefficients(fit, scale="response")  # each judge's expected rating
    >>> bool(table["estimate"].between(1, 5).all())
    True
    """
    model = fit.model
    response = _check_scale(model, scale, "coefficients()")
    factor, idx = _factor_blocks(model, factor)
    levels = model.parsed.blocks[idx[0]].levels
    x_names = model.parsed.x_names
    names = model.parsed.coef_names(factor)
    level = fit.conf_level
    rows = []
    if _is_bayes(fit):
        draws = coefficient_draws(fit, factor, scale)
        for c, name in enumerate(names):
            val = draws[:, :, c]
            lo, hi = _interval(val, level)
            rows.append(
                pd.DataFrame(
                    {
                        "group": levels,
                        "coef": name,
                        "estimate": val.mean(0),
                        "lower": lo,
                        "upper": hi,
                    }
                )
            )
    else:
        from scipy import stats

        z = stats.norm.ppf(0.5 + level / 2)
        lm = fit.ml
        extra = _dispersion(fit)
        for name in names:
            c = x_names.index(name) if name in x_names else None
            est = np.full(len(levels), 0.0 if c is None else lm.beta[c])
            var = np.full(len(levels), 0.0 if c is None else lm.vcov[c, c])
            for i in idx:
                blk = lm.blocks[i]
                if name in blk.columns:
                    k = blk.columns.index(name)
                    est = est + lm.ranef[i][:, k]
                    var = var + lm.condvar[i][:, k, k]
            lo, hi = est - z * np.sqrt(var), est + z * np.sqrt(var)
            if response:
                est, lo, hi = (_mean_at(model, v, extra) for v in (est, lo, hi))
            rows.append(
                pd.DataFrame(
                    {"group": levels, "coef": name, "estimate": est, "lower": lo, "upper": hi}
                )
            )
    out = pd.concat(rows, ignore_index=True)
    out.attrs["scale"] = "response" if response else "link"
    return out


def _dispersion(fit):
    """The family's extra parameter(s) as its Laplace pieces take them: ML estimate, or
    posterior draws (Bayes); a tuple where the family has more than one (Student-t's sigma
    and df)."""
    if fit.model.family_info.laplace is None:  # none, or gaussian's sigma
        return None
    if not _is_bayes(fit):
        return fit.glmm.phi
    draws = _split_vectors(
        [_stack(fit.idata.posterior[name]) for name in fit.model.family_info.extra]
    )
    return draws[0] if len(draws) == 1 else tuple(draws)


def _split_vectors(draws: list[np.ndarray]) -> list[np.ndarray]:
    """Draws of the extra parameters, a vector parameter (ordinal cutpoints: (draws, K-1))
    split into one array per element, as the family's pieces take them."""
    out = []
    for d in draws:
        out += [d[:, j] for j in range(d.shape[1])] if d.ndim == 2 else [d]
    return out


def _map_extra(f, extra):
    """``f`` applied to the one extra parameter or to each of a tuple of them."""
    if extra is None:
        return None
    return tuple(f(e) for e in extra) if isinstance(extra, tuple) else f(extra)


def _unpooled_fits(model, fit, codes, J, cols: list[int], X_full: np.ndarray):
    """Per-group separate fits (no pooling) of the coefficients ``cols`` and the
    complete-pooling fit of every coefficient, link scale.  Fixed coefficients outside
    ``cols`` (covariates without a random effect) are held at their complete-pooling values
    in the separate fits, so each group's intercept (or line) is adjusted for them as the
    mixed model's is; so are the family's extra parameters (at their estimates or posterior
    means: an ordinal model's thresholds, with ``X_full``'s intercept column their shift).
    ``X_full`` is the fixed design with any random-only column the separate fits need."""
    pf = model.parsed
    p = X_full.shape[1]
    rest = [c for c in range(p) if c not in cols]
    unpooled = np.full((J, len(cols)), np.nan)
    Xg = X_full[:, cols]
    if model.family == "gaussian":  # least squares (weighted, with prior weights)
        sw = 1.0 / np.broadcast_to(model.row_sd_scale, (pf.n,))
        y = pf.y - pf.offset_or_zero
        complete = np.linalg.lstsq(X_full * sw[:, None], y * sw, rcond=None)[0]
        y = (y - X_full[:, rest] @ complete[rest]) * sw
        Xg = Xg * sw[:, None]
        for j in range(J):
            rows = codes == j
            if np.linalg.matrix_rank(Xg[rows]) == len(cols):
                unpooled[j] = np.linalg.lstsq(Xg[rows], y[rows], rcond=None)[0]
        return unpooled, complete
    disp = _plug_in_extra(fit)
    trials = model.trials if model.family == "binomial" else None

    def one(rows, X, off):
        beta, ok = glm_fit(
            pf.y[rows],
            X[rows],
            family=model.family,
            link=model.link,
            trials=None if trials is None else trials[rows],
            offset=off[rows],
            dispersion=disp,
        )
        return beta if ok else np.full(X.shape[1], np.nan)

    complete = one(np.ones(pf.n, dtype=bool), X_full, pf.offset_or_zero)
    off = pf.offset_or_zero + X_full[:, rest] @ complete[rest]
    for j in range(J):
        rows = codes == j
        if np.linalg.matrix_rank(Xg[rows]) == len(cols):
            unpooled[j] = one(rows, Xg, off)
    return unpooled, complete


def _pooling_weights(fit, blk) -> np.ndarray:
    """Per group ``alpha_j = tau^2 W_j / (1 + tau^2 W_j)``: the weight of the group's own data
    in its partially pooled intercept, with ``W_j`` the information of the group's rows about
    the intercept (``n_j / sigma^2`` for a Gaussian response, the summed GLM working weights at
    the group's estimate otherwise); at the estimates for ML fits, averaged over posterior
    draws for Bayesian fits."""
    from scipy import sparse

    model = fit.model
    pf = model.parsed
    J = blk.n_levels
    if _is_bayes(fit):  # up to 400 evenly spaced posterior draws
        d = _draws(fit)
        S = d.beta.shape[0]
        idx = np.linspace(0, S - 1, min(S, 400)).round().astype(int)
        beta, tau2, sigma = d.beta[idx], d.chol[0][idx, 0, 0] ** 2, d.sigma[idx]
        b = d.ranef[0][idx][:, :, 0]
        disp = _map_extra(lambda d: d[idx][:, None], _dispersion(fit))
    else:  # the estimates
        ml = fit.ml
        beta, tau2, sigma = ml.beta[None], np.array([ml.cov[0][0, 0]]), np.array([ml.sigma])
        b = ml.ranef[0][None, :, 0]
        disp = _dispersion(fit)
    G = sparse.csr_matrix((np.ones(pf.n), (np.arange(pf.n), blk.codes)), shape=(pf.n, J))
    if model.family == "gaussian":
        w = 1.0 / np.broadcast_to(model.row_sd_scale, (pf.n,)) ** 2  # prior weights, or 1
        W = (G.T @ w)[None, :] / sigma[:, None] ** 2
    else:
        eta = beta @ pf.X.T + pf.offset_or_zero + b[:, blk.codes]
        fam = LAPLACE_FAMILIES[model.family](model.link)
        n = model.trials if model.family == "binomial" else np.ones(pf.n)
        _, info = fam.score_info(pf.y[None, :], n[None, :], eta, disp)
        W = np.asarray((G.T @ np.asarray(info).T).T)
    alpha = tau2[:, None] * W / (1.0 + tau2[:, None] * W)
    return alpha.mean(axis=0)


def _fraction_moved(unpooled: np.ndarray, partial: np.ndarray, grand) -> np.ndarray:
    """``(unpooled - partial) / (unpooled - grand mean)``: 0 = no pooling, 1 = complete
    pooling; NaN where the group's own estimate is the grand mean (or not finite)."""
    dist = unpooled - grand
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = (unpooled - partial) / dist
    return np.where(np.abs(dist) > 1e-12, frac, np.nan)


def shrinkage(fit, factor: str | None = None, scale: str = "link") -> pd.DataFrame:
    """Per group: separate fit (no pooling), partial pooling and complete pooling.

    The separate fits regress the response on the fixed-effect design within each group
    (least squares for Gaussian models, a GLM by maximum likelihood otherwise: group means,
    per-group lines, a group's log-odds), with any fixed covariate that has no random effect
    by the factor held at its complete-pooling value; complete pooling is the same regression
    on all rows;
    partial pooling is the mixed model's per-group coefficients (:func:`coefficients`).  For a
    random intercept alone, every hierarchy's shrinkage table has the same two measures:
    ``alpha``, the pooling weight (the weight of the group's own data, ``tau^2 / (tau^2 +
    sigma^2 / n_j)`` for a Gaussian response, with the GLM working weights in place of
    ``n_j / sigma^2`` otherwise; posterior mean for Bayesian fits), and ``fraction_moved``,
    the fraction of the distance from the group's own estimate to the ``grand_mean`` (the
    fixed intercept on the table's scale) that the partially pooled estimate moved.  For a
    Gaussian random intercept ``fraction_moved = 1 - alpha`` exactly; for a GLMM on the
    response scale the two differ somewhat.

    Parameters
    ----------
    fit : MixedMLFit, GLMMMLFit or MixedBayesFit
    factor : str, optional
        Grouping factor (default: the first).
    scale : {"link", "response"}
        GLMMs with an intercept-only fixed part can be reported on the response scale
        (probabilities, rates; ``E[y]`` of zero-inflated and hurdle counts; the expected
        category of an ordinal response): every column is the mean response at its
        link-scale value, with the family's extra parameters at their estimates (Bayesian
        fits: posterior means), except that Bayesian partial-pooling estimates and the
        grand mean are posterior means of the mean response, each draw with its own.
        Binomial and Bernoulli models then also give each group's Wilson score interval
        (``unpooled_lower``, ``unpooled_upper``), as :func:`hierarch.shrinkage`.
        Ordinal models have no intercept: a group's coefficient is its shift of the
        thresholds (``Intercept``, fixed value 0); its separate fit holds the thresholds
        and any covariate at the mixed model's and complete-pooling values, as for a
        zero-inflated model's zero probability.

    Returns
    -------
    pandas.DataFrame
        ``group``, ``n`` (rows; trials for binomial models), then per coefficient
        ``unpooled``, ``partial`` (with ``_lower`` and ``_upper``) and ``complete`` (suffixed
        ``_<coef>`` when there are several); NaN where a group's separate fit has no finite
        estimate on the link scale (e.g. 0 successes: log-odds minus infinity).

    Examples
    --------
    >>> import hierarch
    >>> m = hierarch.model("m | trials(n) ~ 1 + (1 | batch)", hierarch.load_dataset("rats"),
    ...                    family="binomial")
    >>> table = shrinkage(m.fit(method="laplace"), scale="response")
    >>> round(float(table["complete"].iloc[0]), 4)
    0.1535
    """
    model = fit.model
    pf = model.parsed
    response = _check_scale(model, scale, "shrinkage()")
    factor, idx = _factor_blocks(model, factor)
    effect_cols = [c for i in idx for c in pf.blocks[i].columns]
    x_names, X_full = list(pf.x_names), pf.X
    if pf.dropped_intercept is not None and "Intercept" in effect_cols:
        # ordinal: the group's shift of the thresholds, fixed value 0 in the mixed model
        x_names, X_full = ["Intercept", *x_names], np.column_stack([np.ones(pf.n), pf.X])
    if not set(effect_cols) <= set(x_names) or len(set(effect_cols)) != len(effect_cols):
        raise ValueError(
            "shrinkage() sets per-group separate regressions beside the mixed model, so every "
            f"random-effect column by {factor!r} ({', '.join(effect_cols)}) must also be in "
            f"the fixed part ({', '.join(pf.x_names)})"
        )
    cols = [x_names.index(c) for c in effect_cols]
    blk = pf.blocks[idx[0]]
    J = blk.n_levels
    if model.family == "binomial":
        n = np.bincount(blk.codes, weights=model.trials, minlength=J).astype(int)
    else:
        n = np.bincount(blk.codes, minlength=J)
    with np.errstate(divide="ignore", invalid="ignore"):
        unpooled, complete = _unpooled_fits(model, fit, blk.codes, J, cols, X_full)
    if not response:
        unpooled[~np.isfinite(unpooled)] = np.nan
    coefs = coefficients(fit, factor, scale=scale)
    extra = _plug_in_extra(fit)
    single = len(cols) == 1
    out = pd.DataFrame({"group": blk.levels, "n": n})
    for c, (name, k) in enumerate(zip(effect_cols, cols, strict=True)):
        sfx = "" if single else f"_{name}"
        part = coefs[coefs["coef"] == name].reset_index(drop=True)
        un, co = unpooled[:, c], complete[k]
        if response:
            un, co = _mean_at(model, un, extra), float(_mean_at(model, co, extra))
        out[f"unpooled{sfx}"] = un
        if response and model.family in ("binomial", "bernoulli"):
            succ = np.bincount(blk.codes, weights=pf.y, minlength=J)
            w = wilson_table(
                pd.DataFrame({"group": blk.levels, "successes": succ, "trials": n}),
                fit.conf_level,
            )
            out["unpooled_lower"], out["unpooled_upper"] = (
                w["lower"].to_numpy(),
                w["upper"].to_numpy(),
            )
        out[f"partial{sfx}"] = part["estimate"].to_numpy()
        out[f"partial{sfx}_lower"] = part["lower"].to_numpy()
        out[f"partial{sfx}_upper"] = part["upper"].to_numpy()
        out[f"complete{sfx}"] = co
    if effect_cols == ["Intercept"] and len(pf.blocks) == 1:
        beta = _draws(fit).beta if _is_bayes(fit) else fit.ml.beta[None, :]
        b0 = _coef_value(beta, pf.x_names, "Intercept", beta.shape[0])
        out["grand_mean"] = float(np.mean(_response_mean(fit, b0) if response else b0))
        out["alpha"] = _pooling_weights(fit, blk)
        out["fraction_moved"] = _fraction_moved(
            out["unpooled"].to_numpy(float), out["partial"].to_numpy(float), out["grand_mean"]
        )
    out.attrs["scale"] = "response" if response else "link"
    if response:
        out.attrs["quantity"] = _response_label(model)
    return out


def _response_label(model) -> str:
    """What a response-scale estimate is, for axis labels."""
    if model.family in ("binomial", "bernoulli"):
        return "probability"
    if model.family_info.support == "ordinal":
        return "expected category"
    if model.family_info.support == "count" or _mean_needs_extra(model):
        return "mean count"
    return "mean response"


def icc(fit) -> pd.DataFrame:
    """Intra-class correlation per grouping factor, for random-intercept models:
    ``tau_f^2 / (sum of the intercept variances + residual variance)``.

    The residual variance is ``sigma^2`` for Gaussian models; for GLMMs it is the family's
    latent-scale variance (:meth:`hierarch.core.families.Family.latent_variance`, after
    Nakagawa, Johnson and Schielzeth 2017): ``pi^2 / 3`` for a logit binomial model, so the
    ICC is that of the latent logistic variable.  One row per factor: ``group``, ``icc``
    (Bayesian: the posterior mean, with ``sd``, ``lower``, ``upper``).
    """
    model = fit.model
    blocks = model.parsed.blocks
    if any(b.columns != ["Intercept"] for b in blocks):
        raise ValueError(
            "the ICC is defined here for random-intercept models only "
            "(with random slopes the ICC depends on the predictor values)"
        )
    d = _draws(fit)
    var = np.stack([c[:, 0, 0] ** 2 for c in d.chol], axis=1)
    if model.family == "gaussian":
        resid = d.sigma**2
    else:
        if "Intercept" not in model.parsed.x_names:
            raise ValueError("the latent-scale ICC of a GLMM needs a fixed intercept")
        j = model.parsed.x_names.index("Intercept")
        eta0 = d.beta[:, j] if _is_bayes(fit) else np.full(len(var), fit.ml.beta[j])
        size = None
        if model.family == "negative_binomial":  # the size (PyMC's alpha, lme4's theta)
            size = np.broadcast_to(_dispersion(fit), eta0.shape)
        resid = model.family_info.latent_variance(model.link, eta0, var.sum(1), size)
    total = var.sum(1) + resid
    rows = []
    for i, b in enumerate(blocks):
        x = var[:, i] / total
        if _is_bayes(fit):
            lo, hi = _interval(x, fit.conf_level)
            rows.append(
                {"group": b.factor, "icc": x.mean(), "sd": x.std(ddof=1), "lower": lo, "upper": hi}
            )
        else:
            rows.append({"group": b.factor, "icc": float(x[0])})
    return pd.DataFrame(rows)


def new_group(
    fit,
    newdata: pd.DataFrame | None = None,
    prob: float | None = None,
    random_seed: int | None = None,
    scale: str = "link",
) -> pd.DataFrame:
    """Predictions for a group not in the data.

    Without ``newdata``: the predictive distribution of a new group's coefficients (fixed
    effects plus a random effect drawn from the estimated population), columns ``mean``,
    ``median``, ``lower``, ``upper``.  ML fits give the plug-in interval
    ``beta_hat +/- z * tau`` (as lme4 users and the binomial hierarchy report it; exact, no
    simulation); Bayesian fits integrate over the posterior (one new group per draw, seeded by
    ``random_seed``, default the fit's seed).  The rows are lme4's ``coef()`` columns (an
    ordinal model's random intercept, the shift of its thresholds, has fixed value 0).  With
    ``scale="response"`` (GLMMs with an intercept-only fixed part; ordinal models without
    covariates) the intercept is reported as a new group's mean response, e.g. a new batch's
    probability, a new site's ``E[y]`` with the zero probability of a zero-inflated count, a
    new judge's expected category (ML fits: the family's extra parameters at their
    estimates; Bayesian fits: each draw's own).

    With ``newdata`` (rows of predictor values): the new group's mean line with its band
    (``fit``, ``fit_lower``, ``fit_upper``) and, for Gaussian models, the prediction interval
    of a new observation (``pred_lower``, ``pred_upper``), e.g. a new pig's weight curve;
    ML fits draw ``beta ~ N(beta_hat, vcov)`` here, with the variance components at their
    estimates.  ``scale="response"`` reports the mean response of each draw (a new group's
    mean count, probability, ``E[y]``, expected category ...): ``fit`` is then the mean of
    the transformed draws.
    """
    model = fit.model
    pf = model.parsed
    level = float(prob or fit.conf_level)
    seed = random_seed
    if seed is None and _is_bayes(fit):
        seed = fit.spec["sampler"]["random_seed"]
    if newdata is None:
        response = _check_scale(model, scale, "new_group()")
        a = (1 - level) / 2
        rows = []
        if not _is_bayes(fit):
            from scipy import stats

            lm = fit.ml
            extra = _dispersion(fit)
            z = stats.norm.ppf(1 - a)
            nodes, weights = np.polynomial.hermite_e.hermegauss(60)
            for name in _all_coef_names(pf):
                m = float(_coef_value(lm.beta, pf.x_names, name, ()))
                var = sum(
                    C[blk.columns.index(name), blk.columns.index(name)]
                    for blk, C in zip(pf.blocks, lm.cov, strict=True)
                    if name in blk.columns
                )
                sd = float(np.sqrt(var))
                vals = [m, m, m - z * sd, m + z * sd]
                if response:
                    mu = _mean_at(model, m + sd * nodes, extra)
                    mean = float((mu * weights).sum() / weights.sum())
                    vals = [mean, *(_mean_at(model, np.array(vals[1:]), extra))]
                rows.append(
                    dict(
                        zip(
                            ["coef", "mean", "median", "lower", "upper"], [name, *vals], strict=True
                        )
                    )
                )
        else:
            rng = np.random.default_rng(seed)
            d = _draws(fit, seed)
            S = d.beta.shape[0]
            b_new = [
                np.einsum("sij,sj->si", L, rng.standard_normal((S, L.shape[-1]))) for L in d.chol
            ]
            for name in _all_coef_names(pf):
                val = _coef_value(d.beta, pf.x_names, name, S).copy()
                for i, blk in enumerate(pf.blocks):
                    if name in blk.columns:
                        val = val + b_new[i][:, blk.columns.index(name)]
                if response:
                    val = _response_mean(fit, val)
                lo, hi = _interval(val, level)
                rows.append(
                    {
                        "coef": name,
                        "mean": val.mean(),
                        "median": np.median(val),
                        "lower": lo,
                        "upper": hi,
                    }
                )
        out = pd.DataFrame(rows).set_index("coef")
        out.attrs["scale"] = "response" if response else "link"
    else:
        rng = np.random.default_rng(seed)
        d = _draws(fit, seed)
        S = d.beta.shape[0]
        b_new = [np.einsum("sij,sj->si", L, rng.standard_normal((S, L.shape[-1]))) for L in d.chol]
        X = pf.new_X(newdata)
        mu = d.beta @ X.T + pf.new_offset(newdata)
        for i, blk in enumerate(pf.blocks):
            mu = mu + b_new[i] @ blk.new_Z(newdata).T
        if scale not in ("link", "response"):
            raise ValueError(f"scale must be 'link' or 'response', got {scale!r}")
        if scale == "response":  # the new group's mean response at each draw
            mu = _response_mean(fit, mu)
        flo, fhi = _interval(mu, level)
        out = newdata.reset_index(drop=True).copy()
        out["fit"], out["fit_lower"], out["fit_upper"] = mu.mean(0), flo, fhi
        out.attrs["scale"] = scale
        if model.family == "gaussian":
            y = mu + d.sigma[:, None] * rng.standard_normal(mu.shape)
            plo, phi = _interval(y, level)
            out["pred_lower"], out["pred_upper"] = plo, phi
    out.attrs["prob"] = level
    return out


#: SciPy's densities of the priors a hyperparameter usually has (no PyTensor compile per
#: plot); other distributions fall back to PyMC through Prior.density
_SCIPY_PRIORS = {
    "HalfNormal": lambda x, p: stats.halfnorm.pdf(x, scale=p["sigma"]),
    "HalfCauchy": lambda x, p: stats.halfcauchy.pdf(x, scale=p["beta"]),
    "Exponential": lambda x, p: stats.expon.pdf(x, scale=1 / p["lam"]),
    "HalfStudentT": lambda x, p: 2 * stats.t.pdf(x, p["nu"], scale=p["sigma"]) * (x >= 0),
    "Gamma": lambda x, p: stats.gamma.pdf(x, p["alpha"], scale=1 / p["beta"]),
    "LogNormal": lambda x, p: stats.lognorm.pdf(x, p["sigma"], scale=np.exp(p["mu"])),
}


def _prior_density(prior, x: np.ndarray, index: int | None = None) -> np.ndarray:
    params = {
        k: (v[index] if isinstance(v, list) and index is not None else v)
        for k, v in prior.params.items()
    }
    if prior.dist in _SCIPY_PRIORS and set(params) <= {"sigma", "beta", "lam", "nu", "alpha", "mu"}:
        try:
            return np.asarray(_SCIPY_PRIORS[prior.dist](x, params), dtype=float)
        except KeyError:  # another parameterization (e.g. Gamma by mu and sigma)
            pass
    return type(prior)(prior.dist, **params).density(x)


def _hyperparameter_priors(fit, parts) -> pd.DataFrame:
    """Each hyperparameter's prior density on a grid over its posterior's range."""
    rows = []
    for label, values, prior, index, kind in parts:
        if prior is None:
            continue
        if kind == "cor":
            x = np.linspace(-0.995, 0.995, 200)
            # the LKJ(eta) marginal of one correlation in a k x k matrix: Beta(a, a) on (-1, 1)
            # with a = eta - 1 + k / 2 (Lewandowski, Kurowicka and Joe 2009)
            a = prior.params["value"] - 1 + index / 2
            dens = stats.beta.pdf((x + 1) / 2, a, a) / 2
        else:
            hi = float(np.quantile(values, 0.995)) * 1.15
            x = np.linspace(hi / 400, hi, 200)
            dens = _prior_density(prior, x, index)
        rows.append(pd.DataFrame({"parameter": label, "value": x, "density": dens}))
    if not rows:
        return pd.DataFrame(columns=["parameter", "value", "density"])
    return pd.concat(rows, ignore_index=True)


def hyperparameter_draws(fit) -> pd.DataFrame:
    """Posterior draws of the group SDs, correlations and residual SD, in long format.

    Returns
    -------
    pandas.DataFrame
        Columns ``parameter`` (e.g. ``sd[id: week]``, ``cor[id: Intercept, week]``,
        ``sigma``) and ``value``; one row per draw and parameter.  ``attrs["priors"]`` holds
        each parameter's prior density on a grid over its posterior's range (columns
        ``parameter``, ``value``, ``density``; a correlation's is the LKJ prior's marginal),
        which :func:`hierarch.plots.plot_hyperparameters` draws beside the posterior.
    """
    if not _is_bayes(fit):
        raise ValueError("hyperparameter_draws() needs a Bayesian fit (method='bayes')")
    post = fit.idata.posterior
    priors = fit.model.priors
    parts = []  # (label, draws, prior, index within a vector prior / matrix size, kind)
    for blk in fit.spec["blocks"]:
        name, cols = blk["name"], blk["columns"]
        sd = _stack(post[f"sd_{name}"])
        for c, col in enumerate(cols):
            parts.append(
                (f"sd[{blk['factor']}: {col}]", sd[:, c], priors.get(f"sd_{name}"), c, "sd")
            )
        if f"corr_{name}" in post:
            corr = _stack(post[f"corr_{name}"])
            for i in range(len(cols)):
                for j in range(i + 1, len(cols)):
                    parts.append(
                        (
                            f"cor[{blk['factor']}: {cols[i]}, {cols[j]}]",
                            corr[:, i, j],
                            priors.get("lkj_eta"),
                            len(cols),
                            "cor",
                        )
                    )
    for extra in fit.model.family_info.extra:  # residual SD or family parameter
        parts.append((extra, _stack(post[extra]), priors.get(extra), None, "extra"))
    out = pd.concat(
        [pd.DataFrame({"parameter": p[0], "value": p[1]}) for p in parts], ignore_index=True
    )
    out.attrs["priors"] = _hyperparameter_priors(fit, parts)
    return out


def _linear_predictor(fit, S: int | None = None, seed: int | None = None):
    """Posterior draws of the linear predictor of every row: (draws, rows)."""
    pf = fit.model.parsed
    d = _draws(fit)
    idx = np.arange(d.beta.shape[0])
    if S is not None and S < len(idx):
        idx = np.linspace(0, len(idx) - 1, S).round().astype(int)  # evenly thinned
    eta = d.beta[idx] @ pf.X.T + pf.offset_or_zero
    for i, b in enumerate(pf.blocks):
        eta = eta + np.einsum("sne,ne->sn", d.ranef[i][idx][:, b.codes, :], b.Z)
    return eta, idx


def _extra(fit, idx):
    """Draws of the family's extra parameter (residual SD, NB alpha, gamma shape, beta
    kappa) for the draws ``idx``, as a column against the rows; None when there is none."""
    names = fit.model.family_info.extra
    if not names:
        return None
    draws = _split_vectors([_stack(fit.idata.posterior[name])[idx] for name in names])
    draws = tuple(d[:, None] for d in draws)
    if fit.model.family == "gaussian":  # each row's residual SD (prior weights: sigma/sqrt(w))
        return draws[0] * fit.model.row_sd_scale
    return draws[0] if len(draws) == 1 else draws


def _mean(link: str, eta: np.ndarray) -> np.ndarray:
    return inverse_link_np(link, eta)


def _mean_needs_extra(model) -> bool:
    """Whether the mean response depends on the family's extra parameters, not on ``eta``
    alone (zero-inflated and hurdle counts, ordinal categories)."""
    fam = model.family_info
    return fam.support == "ordinal" or "zi" in fam.extra or "hu" in fam.extra


def _response_mean(fit, eta: np.ndarray) -> np.ndarray:
    """The mean response at draws of the linear predictor ``eta`` (draws first): the
    inverse link, or for zero-inflated / hurdle counts ``E[y]`` with their zero
    probability and for ordinal responses the expected category ``sum_k k P(Y = k)``, with
    the extra parameters' draws (Bayes) or estimates (ML) beside each draw."""
    model = fit.model
    if not _mean_needs_extra(model):
        return _mean(model.link, eta)
    extra = _dispersion(fit)
    shape = (eta.shape[0],) + (1,) * (eta.ndim - 1)

    def aligned(e):
        e = np.asarray(e, dtype=float)
        return e.reshape(shape) if e.ndim else e

    return _mean_at(model, eta, _map_extra(aligned, extra))


#: posterior draws (evenly spaced) behind a Bayesian fit's fitted values and residuals
_MOMENT_DRAWS = 200


def _conditional_moments(fit):
    """Per row: the conditional mean and variance of the response (binomial: of the count)
    at the estimates (ML) or for ``_MOMENT_DRAWS`` posterior draws (Bayes: (draws, rows));
    with known standard errors the variance is theirs."""
    model = fit.model
    pf = model.parsed
    trials = model.trials if model.family == "binomial" else None
    known = getattr(model, "known_se", None)
    if _is_bayes(fit):
        eta, idx = _linear_predictor(fit, _MOMENT_DRAWS)
        extra = _extra(fit, idx) if known is None else known
    else:
        ml = fit.ml
        eta = pf.X @ ml.beta + pf.offset_or_zero
        for b, u in zip(pf.blocks, ml.ranef, strict=True):
            eta = eta + np.sum(b.Z * np.asarray(u)[b.codes], axis=1)
        if known is not None:
            extra = known
        elif model.family == "gaussian":
            extra = ml.sigma * np.broadcast_to(model.row_sd_scale, (pf.n,))
        else:
            extra = _dispersion(fit)
    return model.family_info.moments(model.link, eta, trials, extra)


def fitted_values(fit) -> pd.Series:
    """The fitted mean of every row, conditional on the estimated group effects (lme4's
    ``fitted()``: for a binomial response the probability, not the count); a Bayesian fit's
    is the posterior mean of it.

    Examples
    --------
    >>> import hierarch
    >>> fit = hierarch.model("Reaction ~ Days + (Days | Subject)",
    ...                      hierarch.load_dataset("sleepstudy")).fit(method="reml")
    >>> round(float(hierarch.report.mixed.fitted_values(fit).iloc[0]), 2)
    253.66
    """
    mean, _ = _conditional_moments(fit)
    if fit.model.family == "binomial":
        mean = mean / fit.model.trials
    if mean.ndim == 2:
        mean = mean.mean(axis=0)
    return pd.Series(mean, index=fit.model.data.index, name="fitted")


def residuals(fit, type: str = "pearson") -> pd.Series:  # noqa: A002 -- lme4's argument
    """Residuals of every row, conditional on the estimated group effects.

    ``type="response"``: the response minus :func:`fitted_values` (binomial: the observed
    proportion minus the fitted probability, as lme4). ``type="pearson"``: divided by the
    response's conditional SD, the family's variance at the fitted mean with the estimated
    residual SD or dispersion in it, which is lme4's ``residuals(fit, "pearson", scaled =
    TRUE)``, the quantity its ``summary()`` prints as "Scaled residuals"; with known standard
    errors, divided by them. A Bayesian fit's residuals are the posterior means of the same
    quantities (over 200 evenly spaced draws).
    """
    if type not in ("response", "pearson"):
        raise ValueError(f"type must be 'response' or 'pearson', got {type!r}")
    model = fit.model
    y = model.parsed.y
    mean, var = _conditional_moments(fit)
    if type == "response":
        r = y - mean
        if model.family == "binomial":
            r = r / model.trials
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            r = (y - mean) / np.sqrt(var)
    if r.ndim == 2:
        r = r.mean(axis=0)
    return pd.Series(r, index=model.data.index, name=f"{type}_residual")


def residual_quantiles(fit) -> pd.Series:
    """Min, quartiles and max of the Pearson residuals (lme4's "Scaled residuals")."""
    r = residuals(fit, "pearson").to_numpy()
    q = np.quantile(r[np.isfinite(r)], [0, 0.25, 0.5, 0.75, 1])
    return pd.Series(q, index=["Min", "1Q", "Median", "3Q", "Max"], name="scaled_residual")


def fixed_effect_correlation(fit) -> pd.DataFrame:
    """The correlation matrix of the fixed-effect estimates (lme4's "Correlation of Fixed
    Effects"; a Bayesian fit's is the posterior correlation)."""
    names = list(fit.model.parsed.x_names)
    if _is_bayes(fit):
        C = np.corrcoef(_draws(fit).beta, rowvar=False).reshape(len(names), len(names))
    else:
        V = np.asarray(fit.ml.vcov, float)
        sd = np.sqrt(np.diag(V))
        C = V / np.outer(sd, sd)
    return pd.DataFrame(C, index=pd.Index(names, name="coef"), columns=names)


def ppc(fit, n_draws: int = 200, random_seed: int | None = None) -> pd.DataFrame:
    """Posterior predictive replicates of the response (conditional on the fitted groups).

    Returns
    -------
    pandas.DataFrame
        One column per replicate (``rep_0`` ...) and ``observed``, one row per data row; for
        a plot see :func:`hierarch.plots.plot_ppc`.
    """
    if not _is_bayes(fit):
        raise ValueError("ppc() needs a Bayesian fit")
    model = fit.model
    eta, idx = _linear_predictor(fit, n_draws)
    rng = np.random.default_rng(
        random_seed if random_seed is not None else fit.spec["sampler"]["random_seed"]
    )
    fam = model.family
    rep = model.family_info.rvs(
        rng, model.link, eta, model.trials if fam == "binomial" else None, _extra(fit, idx)
    )
    out = pd.DataFrame(rep.T, columns=[f"rep_{i}" for i in range(rep.shape[0])])
    out["observed"] = model.parsed.y
    out.attrs["family"] = fam
    out.attrs["kind"] = "posterior"
    return out


_GROUP_STATS = {
    "mean": lambda v, g, J: np.bincount(g, v, J) / np.bincount(g, minlength=J),
    "sd": lambda v, g, J: np.sqrt(
        np.clip(
            np.bincount(g, v**2, J) / np.bincount(g, minlength=J)
            - (np.bincount(g, v, J) / np.bincount(g, minlength=J)) ** 2,
            0,
            None,
        )
    ),
    "max": lambda v, g, J: np.array([v[g == j].max() for j in range(J)]),
    "min": lambda v, g, J: np.array([v[g == j].min() for j in range(J)]),
}


def ppc_groups(
    fit,
    factor: str | None = None,
    stat: str = "mean",
    n_draws: int = 200,
    prob: float | None = None,
    random_seed: int | None = None,
) -> pd.DataFrame:
    """Posterior predictive check per group: a statistic of each group's rows, observed
    against its replicates.

    Parameters
    ----------
    fit : MixedBayesFit
        A Bayesian fit.
    factor : str, optional
        Grouping factor (default: the first).
    stat : {"mean", "sd", "max", "min"}
        The statistic of a group's response values (``sd`` with denominator ``n``).
    n_draws : int
        Replicated data sets (:func:`ppc`).
    prob : float, optional
        Central interval of the replicated statistic (default: the fit's level).

    Returns
    -------
    DataFrame
        One row per group: ``group``, ``n``, ``observed``, ``replicated`` (mean of the
        replicates), ``lower``, ``upper`` and ``p`` (the posterior predictive p-value
        ``P(T_rep >= T_obs)``; near 0 or 1, the model misses that group). ``attrs``: ``stat``,
        ``factor``. Drawn by :func:`hierarch.plots.plot_ppc_groups`.
    """
    if stat not in _GROUP_STATS:
        raise ValueError(f"stat must be one of {', '.join(_GROUP_STATS)}, got {stat!r}")
    model = fit.model
    factor, idx = _factor_blocks(model, factor)
    blk = model.parsed.blocks[idx[0]]
    reps = ppc(fit, n_draws, random_seed)
    J, codes = blk.n_levels, blk.codes
    f = _GROUP_STATS[stat]
    obs = f(reps["observed"].to_numpy(float), codes, J)
    cols = [c for c in reps.columns if c.startswith("rep_")]
    rep = np.array([f(reps[c].to_numpy(float), codes, J) for c in cols])  # (draws, J)
    level = fit.conf_level if prob is None else float(prob)
    lo, hi = _interval(rep, level)
    out = pd.DataFrame(
        {
            "group": blk.levels,
            "n": np.bincount(codes, minlength=J),
            "observed": obs,
            "replicated": rep.mean(0),
            "lower": lo,
            "upper": hi,
            "p": (rep >= obs[None]).mean(0),
        }
    )
    out.attrs.update(stat=stat, factor=factor, prob=level)
    return out


def pointwise_loglik(fit) -> np.ndarray:
    """Log-likelihood of every row for every posterior draw, (chain, draw, row), conditional on
    the group effects (so LOO leaves out single rows, not whole groups)."""
    model = fit.model
    eta, idx = _linear_predictor(fit)
    trials = model.trials if model.family == "binomial" else None
    ll = model.family_info.logpdf(model.parsed.y, model.link, eta, trials, _extra(fit, idx))
    post = fit.idata.posterior
    return ll.reshape(post.sizes["chain"], post.sizes["draw"], -1)


def loo(fit):
    """PSIS-LOO (ArviZ) from :func:`pointwise_loglik`; ArviZ warns when Pareto k is high,
    and the warning is shown to the user."""
    import arviz as az
    import xarray as xr

    ll = pointwise_loglik(fit)
    idata = fit.idata.copy()
    ds = xr.Dataset(
        {"y": (("chain", "draw", "obs"), ll)},
        coords={"chain": fit.idata.posterior["chain"], "draw": fit.idata.posterior["draw"]},
    )
    if "log_likelihood" in idata.groups():
        del idata["log_likelihood"]
    idata.add_groups(log_likelihood=ds)
    return az.loo(idata, pointwise=True)


def _eta_draws(fit, newdata, kind, random_seed, n_integrate, n_boot, progressbar):
    """Draws of the linear predictor of new rows for :func:`predict`: (draws, rows), or
    (draws, n_integrate, rows) for ``kind="population"`` (new groups' effects drawn)."""
    kinds = ("conditional", "new_group", "population", "fixed")
    if kind not in kinds:
        raise ValueError(f"kind must be one of {', '.join(kinds)}, got {kind!r}")
    if n_boot and _is_bayes(fit):
        raise ValueError("n_boot is for maximum-likelihood fits; a Bayesian fit uses its posterior")
    model = fit.model
    pf = model.parsed
    seed = random_seed
    if seed is None:
        seed = fit.spec["sampler"]["random_seed"] if _is_bayes(fit) else 0
    d = _draws(fit, seed, n_boot, progressbar)
    rng = np.random.default_rng(seed)
    eta = d.beta @ pf.new_X(newdata).T + pf.new_offset(newdata)  # (S, m)
    Zs = [b.new_Z(newdata) for b in pf.blocks]
    S = eta.shape[0]
    if kind == "conditional":
        for i, b in enumerate(pf.blocks):
            cols = [c.strip() for c in b.factor.split(":")]
            missing = [c for c in cols if c not in newdata.columns]
            if missing:
                raise ValueError(
                    f"conditional predictions need the grouping column(s) {missing} in newdata"
                )
            key = newdata[cols[0]].astype(str) if len(cols) > 1 else newdata[cols[0]]
            for c in cols[1:]:
                key = key + ":" + newdata[c].astype(str)
            lookup = {lv: j for j, lv in enumerate(b.levels)}
            unknown = [v for v in key if v not in lookup]
            if unknown:
                raise ValueError(
                    f"levels {sorted(set(map(str, unknown)))[:10]} of {b.factor!r} "
                    "were not in the fitted data: use kind='new_group'"
                )
            codes = np.array([lookup[v] for v in key])
            if d.ranef is None:  # ML: the fitted groups' effects from their conditional law
                b = _conditional_effect_draws(fit.ml, i, codes, S, rng)
            else:
                b = d.ranef[i][:, codes, :]
            eta = eta + np.einsum("sme,me->sm", b, Zs[i])
    elif kind == "new_group":
        for i, L in enumerate(d.chol):
            b_new = np.einsum("sij,sj->si", L, rng.standard_normal((S, L.shape[-1])))
            eta = eta + b_new @ Zs[i].T
    elif kind == "population":
        K = n_integrate
        extra = np.zeros((S, K, eta.shape[1]))
        for i, L in enumerate(d.chol):
            b_new = np.einsum("sij,skj->ski", L, rng.standard_normal((S, K, L.shape[-1])))
            extra += np.einsum("ske,me->skm", b_new, Zs[i])
        eta = eta[:, None, :] + extra
    return eta


def category_probabilities(
    fit,
    newdata: pd.DataFrame,
    kind: str = "fixed",
    prob: float | None = None,
    random_seed: int | None = None,
    n_integrate: int = 200,
) -> pd.DataFrame:
    """The probability of every category of an ordinal response for new rows, with
    intervals (the ordinal counterpart of :func:`predict`, with its ``kind``).

    Returns
    -------
    DataFrame
        One row per row of ``newdata`` and category: ``newdata``'s columns, ``row`` (its
        position), ``category``, ``mean``, ``lower``, ``upper`` (central interval at
        ``prob``: over the posterior, or for ML fits over plug-in draws of the coefficients
        with the thresholds at their estimates).

    Examples
    --------
    >>> import hierarch
    >>> wine = hierarch.load_dataset("wine")
    >>> fit = hierarch.model("rating ~ temp + contact + (1 | judge)", wine,
    ...                      family="cumulative").fit(method="laplace")
    >>> p = category_probabilities(fit, wine.head(1))
    >>> round(float(p["mean"].sum()), 6)
    1.0
    """
    model = fit.model
    if model.family_info.support != "ordinal":
        raise ValueError(
            f"category_probabilities() is for ordinal models; this one is {model.family}: "
            "use predict()"
        )
    eta = _eta_draws(fit, newdata, kind, random_seed, n_integrate, 0, False)
    cuts = _dispersion(fit)
    shape = (eta.shape[0],) + (1,) * (eta.ndim - 1)
    cuts = tuple(np.asarray(c, float).reshape(shape) if np.ndim(c) else c for c in cuts)
    P = LAPLACE_FAMILIES["cumulative"](model.link).probabilities(eta, cuts)
    if kind == "population":
        P = P.mean(axis=1)
    lo, hi = _interval(np.moveaxis(P, -1, 1).reshape(P.shape[0], -1), float(prob or fit.conf_level))
    K = P.shape[-1]
    base = newdata.reset_index(drop=True)
    out = base.loc[np.repeat(np.arange(len(base)), K)].reset_index(drop=True)
    out["row"] = np.repeat(np.arange(len(base)), K)
    out["category"] = list(model.categories) * len(base)
    out["mean"] = P.mean(axis=0).reshape(-1)
    # (the interval arrays are in category-major order: put them in row-major order)
    out["lower"] = lo.reshape(K, len(base)).T.reshape(-1)
    out["upper"] = hi.reshape(K, len(base)).T.reshape(-1)
    out.attrs["kind"] = kind
    return out


def predict(
    fit,
    newdata: pd.DataFrame,
    kind: str = "conditional",
    prob: float | None = None,
    random_seed: int | None = None,
    n_integrate: int = 200,
    n_boot: int = 0,
    scale: str = "response",
    progressbar: bool = True,
) -> pd.DataFrame:
    """Predicted mean response for new rows, with intervals.

    Bayesian fits integrate over the posterior.  Maximum-likelihood fits (REML/ML, Laplace,
    AGQ) give plug-in intervals in the spirit of merTools' ``predictInterval``: draws of
    ``beta ~ N(beta_hat, vcov)`` and of each fitted group's effects from their conditional
    distribution ``N(b_hat_j, condVar_j)``, with the variance components held at their
    estimates.  With ``n_boot > 0`` the fixed effects and the variance components come from
    ``n_boot`` parametric-bootstrap refits instead (lme4's ``bootMer`` with ``use.u =
    FALSE``; one draw per refit, reflected about the estimate -- the basic bootstrap -- so
    the SDs' downward bias is not carried twice), so the intervals carry the uncertainty of
    the variance components too -- what matters for ``new_group`` and ``population``
    predictions; the fitted groups' effects still come from their conditional distribution
    at the estimates.

    Parameters
    ----------
    newdata : DataFrame
        Predictor values (and, for ``kind="conditional"``, the grouping columns).
    kind : {"conditional", "new_group", "population", "fixed"}
        ``conditional``: for the fitted groups named in ``newdata``; ``new_group``: for a group
        drawn from the population (one draw per posterior draw); ``population``: averaged over
        the population of groups (the random effects integrated out by Monte Carlo,
        ``n_integrate`` per draw), which under a non-identity link differs from ``fixed``:
        the fixed effects alone (random effects set to 0).
    random_seed : int, optional
        Seed of the draws (default: the fit's seed): reproducible.
    n_boot : int
        ML fits: parametric-bootstrap refits for the draws (0: plug-in draws).
    scale : {"response", "link"}
        The mean response (zero-inflated and hurdle counts: ``E[y]`` with the zero
        probability; ordinal responses: the expected category), or the linear predictor
        (for ``population`` the link of the population-averaged mean).

    Returns
    -------
    DataFrame
        ``newdata`` with ``mean``, ``lower``, ``upper`` (central interval at ``prob``).
    """
    if scale not in ("response", "link"):
        raise ValueError(f"scale must be 'response' or 'link', got {scale!r}")
    model = fit.model
    if kind == "population" and scale == "link" and _mean_needs_extra(model):
        raise ValueError(
            f"a {model.family} model's population-averaged mean has no link scale (its "
            "mean is not the inverse link of the linear predictor): use scale='response'"
        )
    eta = _eta_draws(fit, newdata, kind, random_seed, n_integrate, n_boot, progressbar)
    if kind != "population":
        mu = eta if scale == "link" else _response_mean(fit, eta)
    else:
        mu = _response_mean(fit, eta).mean(axis=1)
        if scale == "link":
            from hierarch.core.families import link_np

            mu = link_np(model.link, mu)
    lo, hi = _interval(mu, float(prob or fit.conf_level))
    out = newdata.reset_index(drop=True).copy()
    out["mean"], out["lower"], out["upper"] = mu.mean(0), lo, hi
    out.attrs["kind"] = kind
    out.attrs["scale"] = scale
    out.attrs["draws"] = "bootstrap" if n_boot else ("posterior" if _is_bayes(fit) else "plug-in")
    return out


def _posterior_quantities(bayes_fit) -> dict[str, np.ndarray]:
    """Draws of every quantity of :func:`compare`'s rows, by row label."""
    post = bayes_fit.idata.posterior
    out = {}
    beta = _stack(post["beta"])
    for c, name in enumerate(bayes_fit.spec["x_names"]):
        out[name] = beta[:, c]
    for blk in bayes_fit.spec["blocks"]:
        sd = _stack(post[f"sd_{blk['name']}"])
        for c, col in enumerate(blk["columns"]):
            out[f"sd[{blk['factor']}: {col}]"] = sd[:, c]
        if f"corr_{blk['name']}" in post:
            corr = _stack(post[f"corr_{blk['name']}"])
            cols = blk["columns"]
            for i in range(len(cols)):
                for j in range(i + 1, len(cols)):
                    out[f"cor[{blk['factor']}: {cols[i]}, {cols[j]}]"] = corr[:, i, j]
    if "sigma" in post:
        out["sigma"] = _stack(post["sigma"]).ravel()
    out.update(_extra_draws(bayes_fit))
    return out


def _extra_draws(bayes_fit) -> dict[str, np.ndarray]:
    """Draws of the family's extra parameters under the Laplace twin's names (negative
    binomial ``k`` for ``alpha``, Student-t ``df`` for ``nu``, ordinal ``1|2``, ... for the
    cutpoints)."""
    fam = get_family(bayes_fit.spec["family"])
    if fam.laplace is None:
        return {}
    post = bayes_fit.idata.posterior
    draws = _split_vectors([_stack(post[name]) for name in fam.extra])
    if fam.support == "ordinal":
        names = threshold_names(bayes_fit.model.categories)
    else:
        names = fam.laplace(bayes_fit.spec["link"]).names
    return dict(zip(names, (d.ravel() for d in draws), strict=True))


def compare(ml_fit, bayes_fit) -> pd.DataFrame:
    """Frequentist (REML/ML, Laplace, AGQ) and Bayesian estimates of a formula model side
    by side.

    Returns
    -------
    DataFrame
        One row per quantity (fixed effects, group SDs, correlations, residual SD or the
        family's dispersion parameter): the frequentist ``estimate`` with its interval
        ``ml_lower``, ``ml_upper`` at the ML fit's ``conf_level`` (the profile interval of
        lme4's ``confint`` for SDs, correlations and sigma; Wald for the fixed effects, whose
        profile intervals ``ml_fit.confint()`` gives; NaN where there is none), and the
        posterior ``mean``, ``lower``,
        ``upper`` (central interval), ``median`` and highest-density interval
        ``hdi_lower``, ``hdi_upper`` (at the Bayesian fit's ``conf_level``).
    """
    if _is_bayes(ml_fit) or not _is_bayes(bayes_fit):
        raise ValueError("compare(ml_fit, bayes_fit): the REML/ML fit first, then the Bayesian")
    try:  # profile intervals for the variance parameters, Wald for the fixed effects
        ci = ml_fit.confint(parm="theta_")
        wald = ml_fit.confint("wald")
        fixed = list(ml_fit.model.parsed.x_names)
        ci.loc[fixed, ["lower", "upper"]] = wald.loc[fixed, ["lower", "upper"]]
    except (ValueError, np.linalg.LinAlgError):  # no profile (known SEs)
        ci = None
    draws = _posterior_quantities(bayes_fit)
    prob = float(bayes_fit.conf_level)
    wald_extra = {}  # the family's extra parameters: Wald intervals on the log scale
    if not hasattr(ml_fit, "lmm"):
        tab = ml_fit.dispersion()
        if "lower" in tab:
            wald_extra = {r.parameter: (r.lower, r.upper) for r in tab.itertuples()}

    def row(quantity, estimate, post):
        x = draws.get(quantity)
        if x is not None:
            import arviz as az

            hl, hu = az.hdi(np.asarray(x, float), hdi_prob=prob)
            med = float(np.median(x))
        else:
            hl = hu = med = np.nan
        have = ci is not None and quantity in ci.index
        lo, hi = (ci.loc[quantity, "lower"], ci.loc[quantity, "upper"]) if have else (np.nan,) * 2
        if not have and quantity in wald_extra:
            lo, hi = wald_extra[quantity]
        return {
            "quantity": quantity,
            "estimate": estimate,
            "ml_lower": lo,
            "ml_upper": hi,
            "mean": post["estimate"],
            "lower": post["lower"],
            "upper": post["upper"],
            "median": med,
            "hdi_lower": hl,
            "hdi_upper": hu,
        }

    fe_ml, fe_b = ml_fit.fixed_effects(), bayes_fit.fixed_effects()
    rows = [row(c, fe_ml.loc[c, "estimate"], fe_b.loc[c]) for c in fe_ml.index]
    sd_ml, sd_b = ml_fit.group_sds(), bayes_fit.group_sds()
    for (_, a), (_, b) in zip(sd_ml.iterrows(), sd_b.iterrows(), strict=True):
        rows.append(row(f"sd[{a['group']}: {a['effect']}]", a["estimate"], b))
    cor_ml, cor_b = ml_fit.correlations(), bayes_fit.correlations()
    for (_, a), (_, b) in zip(cor_ml.iterrows(), cor_b.iterrows(), strict=False):
        rows.append(row(f"cor[{a['group']}: {a['var1']}, {a['var2']}]", a["estimate"], b))
    if hasattr(ml_fit, "lmm"):
        sigma = ml_fit.sigma().loc["sigma", "estimate"]
        rows.append(row("sigma", sigma, bayes_fit._summ("sigma").iloc[0]))
    elif hasattr(ml_fit, "glmm"):  # the family's extra parameters, as the Laplace twin names them
        g = ml_fit.glmm
        ml_values = dict([g.dispersion] if g.dispersion else []) | g.family_params
        a = (1 - float(bayes_fit.conf_level)) / 2
        for name, x in _extra_draws(bayes_fit).items():
            lo, hi = np.quantile(x, [a, 1 - a])
            post = {"estimate": float(np.mean(x)), "lower": lo, "upper": hi}
            rows.append(row(name, ml_values[name], post))
    return pd.DataFrame(rows).set_index("quantity")


def compare_groups(ml_fit, bayes_fit, factor: str | None = None) -> pd.DataFrame:
    """Per group and effect: the BLUP (conditional mode) with its conditional SD beside the
    posterior mean and SD of the same group effect (link scale).

    Returns
    -------
    DataFrame
        Columns ``group`` (the factor), ``level``, ``effect``, ``blup``, ``blup_sd``,
        ``posterior_mean``, ``posterior_sd`` and ``shrink_ratio`` (posterior mean / BLUP,
        NaN for a BLUP of 0), one row per level and effect of ``factor`` (default: the
        first grouping factor).
    """
    if _is_bayes(ml_fit) or not _is_bayes(bayes_fit):
        raise ValueError("compare_groups(ml_fit, bayes_fit): the ML fit first, then the Bayesian")
    ra, rb = ml_fit.ranef(), bayes_fit.ranef()
    blocks = ml_fit.model.parsed.blocks
    factor = factor or blocks[0].factor
    rows = []
    for name, b in zip(ml_fit.model.block_names, blocks, strict=True):
        if b.factor != factor:
            continue
        a, p = ra[name], rb[name]
        for col in b.columns:
            blup = a[col].to_numpy()
            pm = p[col].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(blup != 0, pm / blup, np.nan)
            rows.append(
                pd.DataFrame(
                    {
                        "group": factor,
                        "level": a.index.to_numpy(),
                        "effect": col,
                        "blup": blup,
                        "blup_sd": a[f"se_{col}"].to_numpy(),
                        "posterior_mean": pm,
                        "posterior_sd": p[f"sd_{col}"].to_numpy(),
                        "shrink_ratio": ratio,
                    }
                )
            )
    if not rows:
        raise ValueError(f"no grouping factor {factor!r} in this model")
    return pd.concat(rows, ignore_index=True)
