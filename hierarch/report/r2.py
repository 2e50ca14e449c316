"""R-squared of formula fits: Nakagawa and Schielzeth's for ML fits, Bayesian R2 for draws.

**Maximum-likelihood fits** (REML/ML, Laplace, AGQ): the marginal and conditional R2 of
Nakagawa and Schielzeth (2013), extended to random slopes by Johnson (2014), computed as
``performance::r2_nakagawa`` 0.10.2 / ``insight::get_variance`` 0.19.0 compute them
(``tests/reference/R2_FORMULAS.md`` states and checks every formula against them):

- ``var_fixed``: the sample variance (denominator ``n - 1``) of ``X beta_hat``;
- ``var_random``: per random-effect block, ``mean_i x_i' Sigma x_i`` with ``x_i`` the row's
  values of the block's terms taken from the fixed design (uncentred: a slope's variance
  counts at the covariate's raw values), summed over blocks; observation-level factors (one
  level per row) count as ``var_dispersion`` instead;
- ``var_distribution``: ``sigma^2`` (Gaussian), ``pi^2 / 3`` (binomial logit; 1 for probit,
  ``pi^2 / 6`` for cloglog), ``log(1 + 1 / mu)`` for the Poisson log link with ``mu`` the
  exponentiated intercept of the null model (the same random part, intercept only, refitted
  by Laplace), as insight 0.19.0 does;
- marginal ``var_fixed / total``, conditional ``(var_fixed + var_random) / total``, with
  ``total = var_fixed + var_random + var_distribution + var_dispersion``.

One deliberate difference: performance gives no conditional R2 for a singular fit (a
variance component at zero); here the zero variance simply counts as zero.

**Bayesian fits**: the Bayesian R2 of Gelman, Goodrich, Gabry and Vehtari (2019), as
rstanarm's and brms's ``bayes_R2``: per draw ``var(mu) / (var(mu) + var(y - mu))`` over rows,
with ``mu`` the fitted mean (counts for binomial rows with trials), the group effects included
(conditional) or not (marginal: ``re.form = NA``). Summarized by the posterior median and a
central interval.
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd

from hierarch.report.mixed import _draws, _is_bayes, _linear_predictor, _response_mean

__all__ = ["r2"]

_DISTRIBUTION = {
    ("binomial", "logit"): np.pi**2 / 3,
    ("binomial", "probit"): 1.0,
    ("binomial", "cloglog"): np.pi**2 / 6,
}


def _estimates(fit):
    est = fit.lmm if hasattr(fit, "lmm") else fit.glmm
    return est, [np.asarray(c, float) for c in est.cov]


def _poisson_null_mu(fit) -> float:
    """``exp`` of the intercept of the intercept-only model with the same random part (as
    insight's ``null_model``), refitted by Laplace."""
    from hierarch.freq.spec_fit import fit_spec

    model = fit.model
    pf = model.parsed
    null = copy.copy(model)
    null.parsed = dataclasses.replace(
        pf, X=np.ones((len(pf.y), 1)), x_names=["Intercept"], fixed_terms=["Intercept"]
    )
    res = fit_spec(null, "laplace", 1)
    return float(np.exp(res.beta[0]))


def _nakagawa(fit) -> pd.DataFrame:
    model = fit.model
    pf = model.parsed
    fam, link = model.family, model.link
    if fam == "gaussian" and link == "identity":
        kind = "gaussian"
    elif fam == "binomial" and (fam, link) in _DISTRIBUTION:
        kind = "binomial"
    elif fam == "poisson" and link == "log":
        kind = "poisson"
    else:
        raise ValueError(
            f"r2() of an ML fit covers the Gaussian (identity link), binomial (logit, probit, "
            f"cloglog) and Poisson (log link) families, as performance::r2_nakagawa's "
            f"reference values do; this fit is {fam} with the {link} link (fit it with "
            "method='bayes' for the Bayesian R2)"
        )
    est, covs = _estimates(fit)
    X = pf.X
    f = X @ np.asarray(est.beta, float)
    var_fixed = float(np.var(f, ddof=1)) if len(f) > 1 else 0.0
    var_random, var_disp = 0.0, 0.0
    names = list(pf.x_names)
    has_intercept = "Intercept" in names
    for blk, C in zip(pf.blocks, covs, strict=True):
        cols, keep = [], []
        for c, term in enumerate(blk.columns):
            if term in names:
                cols.append(X[:, names.index(term)])
                keep.append(c)
            elif term == "Intercept" and not has_intercept:
                cols.append(np.ones(len(f)))
                keep.append(c)
        if not cols:
            continue
        Xg = np.column_stack(cols)
        S = C[np.ix_(keep, keep)]
        v = float(np.mean(np.einsum("ia,ab,ib->i", Xg, S, Xg)))
        if blk.n_levels == len(f):  # insight: a factor with a level per row is dispersion
            var_disp += v
        else:
            var_random += v
    if kind == "gaussian":
        var_dist = float(est.sigma) ** 2
    elif kind == "binomial":
        var_dist = _DISTRIBUTION[(fam, link)]
    else:
        var_dist = float(np.log1p(1.0 / _poisson_null_mu(fit)))
    total = var_fixed + var_random + var_dist + var_disp
    out = pd.DataFrame(
        {
            "estimate": [var_fixed / total, (var_fixed + var_random) / total],
            "var_fixed": var_fixed,
            "var_random": var_random,
            "var_residual": var_dist + var_disp,
            "var_distribution": var_dist,
            "var_dispersion": var_disp,
        },
        index=pd.Index(["marginal", "conditional"], name="r2"),
    )
    out.attrs["method"] = "nakagawa"
    return out


def _bayes_r2(fit, prob: float) -> pd.DataFrame:
    model = fit.model
    pf = model.parsed
    y = np.asarray(pf.y, float)
    trials = model.trials if model.family == "binomial" else None
    eta, _ = _linear_predictor(fit)
    d = _draws(fit)
    eta_fixed = d.beta @ pf.X.T + pf.offset_or_zero
    rows = {}
    for name, e in (("marginal", eta_fixed), ("conditional", eta)):
        mu = _response_mean(fit, e)
        if trials is not None:
            mu = mu * np.asarray(trials, float)[None]
        var_mu = mu.var(axis=1, ddof=1)
        var_e = (y[None] - mu).var(axis=1, ddof=1)
        rows[name] = var_mu / (var_mu + var_e)
    a = (1 - prob) / 2
    out = pd.DataFrame(
        {
            "estimate": [float(np.median(v)) for v in rows.values()],
            "lower": [float(np.quantile(v, a)) for v in rows.values()],
            "upper": [float(np.quantile(v, 1 - a)) for v in rows.values()],
            "mean": [float(np.mean(v)) for v in rows.values()],
        },
        index=pd.Index(list(rows), name="r2"),
    )
    out.attrs["method"] = "bayes_R2"
    out.attrs["draws"] = rows
    return out


def r2(fit, prob: float | None = None) -> pd.DataFrame:
    """Marginal (fixed effects) and conditional (fixed and group effects) R-squared.

    Parameters
    ----------
    fit : a formula fit
        ML fits get Nakagawa and Schielzeth's R2 (as ``performance::r2_nakagawa``); Bayesian
        fits the Bayesian R2 of Gelman et al. (2019) (as ``rstanarm::bayes_R2``).
    prob : float, optional
        Bayesian fits: the central interval's probability (default: the fit's level).

    Returns
    -------
    pandas.DataFrame
        Rows ``marginal`` and ``conditional``; column ``estimate`` and, for ML fits, the
        variance components ``var_fixed``, ``var_random``, ``var_residual`` (=
        ``var_distribution + var_dispersion``), for Bayesian fits ``lower``, ``upper`` and
        ``mean`` (the draws in ``attrs["draws"]``).

    Examples
    --------
    >>> import hierarch
    >>> m = hierarch.model("Reaction ~ Days + (Days | Subject)",
    ...                    hierarch.load_dataset("sleepstudy"))
    >>> m.fit(method="reml").r2()["estimate"].round(4).tolist()
    [0.2787, 0.7992]
    """
    if _is_bayes(fit):
        return _bayes_r2(fit, fit.conf_level if prob is None else float(prob))
    if getattr(fit.model, "weights", None) is not None:
        raise ValueError(
            "r2() of an ML fit with prior weights is not defined here (performance::"
            "r2_nakagawa's residual variance assumes weight 1); fit it with method='bayes' "
            "for the Bayesian R2"
        )
    return _nakagawa(fit)
