"""Likelihood-ratio comparison of nested maximum-likelihood fits, as lme4's
``anova(m0, m1, ...)``, with the chi-bar-square p-value for a variance component tested on
its boundary (Self and Liang 1987; Stram and Lee 1994) and pbkrtest's parametric-bootstrap
LRT (``PBmodcomp``)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.freq.bootstrap import bootstrap, refit
from hierarch.freq.spec_fit import fit_spec

__all__ = ["ModelComparison", "anova", "chibar_p"]


class ModelComparison(pd.DataFrame):
    """The table of :func:`anova`: a DataFrame whose printout ends with its notes (which fits
    were refitted by ML, what the chi-bar-square and bootstrap columns mean)."""

    _metadata = ["notes"]

    @property
    def _constructor(self):
        return ModelComparison

    def __repr__(self) -> str:
        body = super().__repr__()
        notes = getattr(self, "notes", None) or []
        return body + "".join(f"\nNote: {n}" for n in notes)

    __str__ = __repr__


def chibar_p(lr: float, df: int) -> float:
    """p-value of a likelihood-ratio statistic ``lr`` for adding one random effect (its
    variance, and ``df - 1`` covariances with the effects already in its block) under the
    50:50 mixture of chi-square distributions with ``df - 1`` and ``df`` degrees of freedom
    (Self and Liang 1987, case 5 of Stram and Lee 1994; chi-square with 0 df is a point mass
    at 0).

    Examples
    --------
    >>> round(chibar_p(3.84, 1), 4)   # half the naive p-value 0.05
    0.025
    """
    lr = max(float(lr), 0.0)
    low = (1.0 if lr <= 0 else 0.0) if df - 1 == 0 else float(stats.chi2.sf(lr, df - 1))
    return 0.5 * low + 0.5 * float(stats.chi2.sf(lr, df))


def _engine(fit):
    if getattr(fit, "method", None) == "bayes":
        raise ValueError(
            "hierarch.anova compares maximum-likelihood fits (fit(method='reml'|'ml'|"
            "'laplace'|'agq')); Bayesian fits are compared by LOO (fit.loo())"
        )
    if hasattr(fit, "lmm"):
        return fit.lmm
    if hasattr(fit, "glmm"):
        return fit.glmm
    raise TypeError(f"hierarch.anova takes formula-model fits, got {type(fit).__name__}")


def _n_re(model) -> int:
    return sum(b.k for b in model.parsed.blocks)


def anova(
    *fits,
    n_boot: int = 0,
    random_seed: int | None = None,
    progressbar: bool = True,
) -> ModelComparison:
    """Compare nested fits of one data set by likelihood-ratio tests (lme4's ``anova``).

    Parameters
    ----------
    *fits
        Two or more maximum-likelihood fits (REML fits are refitted by ML first, as lme4
        does, and the table says so), of the same response on the same rows.
    n_boot : int
        With ``n > 0``, a parametric-bootstrap LRT for each consecutive pair (pbkrtest's
        ``PBmodcomp``): ``n`` data sets simulated from the smaller model's ML fit, both models
        refitted by ML, ``p_boot = (1 + #{LR* >= LR}) / (1 + n_ok)`` (``n_ok`` the refits
        that succeeded); seeded by ``random_seed``, with a progress bar.

    Returns
    -------
    ModelComparison
        A DataFrame indexed by ``model`` (the formulas, in order of the number of
        parameters): ``npar``, ``AIC``, ``BIC``, ``logLik``, ``deviance``, ``Chisq``, ``Df``,
        ``p``; ``p_chibar`` where the larger model adds one random effect to the smaller one
        (same fixed effects): the 50:50 chi-bar-square p-value (:func:`chibar_p`), which is
        the right reference for a variance tested on its boundary (the naive ``p`` is
        conservative); ``p_boot`` with ``n_boot``.

    Examples
    --------
    >>> import hierarch
    >>> sleep = hierarch.load_dataset("sleepstudy")
    >>> m0 = hierarch.model("Reaction ~ Days + (1 | Subject)", sleep).fit(method="reml")
    >>> m1 = hierarch.model("Reaction ~ Days + (Days | Subject)", sleep).fit(method="reml")
    >>> round(float(hierarch.anova(m0, m1)["Chisq"].iloc[1]), 2)
    42.14
    """
    if len(fits) < 2:
        raise ValueError("hierarch.anova needs two or more fits to compare")
    rows, notes, refitted = [], [], []
    n_obs, response = None, None
    entries = []
    for f in fits:
        est = _engine(f)
        model = f.model
        pf = model.parsed
        if n_obs is None:
            n_obs, response = pf.n, pf.y
        elif pf.n != n_obs or not np.array_equal(pf.y, response):
            raise ValueError(
                "hierarch.anova compares fits of the same response on the same rows; "
                f"{model.formula!r} has {pf.n} rows or another response"
            )
        if f.method == "reml":
            est = fit_spec(model, "ml")
            refitted.append(model.formula)
        entries.append((model, est, f.method if f.method != "reml" else "ml"))
    entries.sort(key=lambda e: e[1].n_params)
    names = [m.formula for m, _, _ in entries]
    if len(set(names)) < len(names):
        names = [f"{i + 1}: {n}" for i, n in enumerate(names)]
    prev = None
    for (model, est, _), name in zip(entries, names, strict=True):
        ll, k = float(est.loglik), int(est.n_params)
        row = {
            "model": name,
            "npar": k,
            "AIC": -2 * ll + 2 * k,
            "BIC": -2 * ll + np.log(n_obs) * k,
            "logLik": ll,
            "deviance": -2 * ll,
            "Chisq": np.nan,
            "Df": np.nan,
            "p": np.nan,
            "p_chibar": np.nan,
        }
        if prev is not None:
            pm, pe, _ = prev
            lr = max(2 * (ll - float(pe.loglik)), 0.0)
            df = k - int(pe.n_params)
            row["Chisq"], row["Df"] = lr, df
            row["p"] = float(stats.chi2.sf(lr, df)) if df > 0 else np.nan
            same_fixed = list(pm.parsed.x_names) == list(model.parsed.x_names)
            if same_fixed and df >= 1 and _n_re(model) - _n_re(pm) == 1:
                row["p_chibar"] = chibar_p(lr, df)
        rows.append(row)
        prev = (model, est, None)
    table = ModelComparison(pd.DataFrame(rows).set_index("model"))
    if refitted:
        notes.append(
            "REML fits refitted by ML for the comparison (as lme4): " + "; ".join(refitted)
        )
    if table["p_chibar"].notna().any():
        notes.append(
            "p_chibar: a random effect's variance tested on its boundary (0); the reference is "
            "a 50:50 mixture of chi-square(Df - 1) and chi-square(Df) (Self and Liang 1987), "
            "and the naive p is conservative"
        )
    else:
        table = table.drop(columns="p_chibar")
    if n_boot:
        pb = [np.nan]
        for (m0, e0, meth0), (m1, e1, meth1) in zip(entries[:-1], entries[1:], strict=True):
            lr_obs = max(2 * (float(e1.loglik) - float(e0.loglik)), 0.0)
            n_agq0, n_agq1 = getattr(e0, "n_agq", 1), getattr(e1, "n_agq", 1)

            def lrt(y, m0=m0, m1=m1, e0=e0, e1=e1, meth0=meth0, meth1=meth1, a0=n_agq0, a1=n_agq1):
                r0 = refit(m0, y, meth0, a0, theta_start=e0.theta)
                r1 = refit(m1, y, meth1, a1, theta_start=e1.theta)
                return np.array([2 * (float(r1.loglik) - float(r0.loglik))])

            draws, failed = bootstrap(
                m0, e0, lrt, n_boot, random_seed, progressbar, "Bootstrap LRT"
            )
            lr_sim = np.clip(draws[:, 0], 0.0, None)
            pb.append((1 + np.sum(lr_sim >= lr_obs - 1e-8)) / (1 + len(lr_sim)))
            if failed:
                notes.append(f"bootstrap: {failed} of {n_boot} refits failed and were dropped")
        table["p_boot"] = pb
        notes.append(
            f"p_boot: parametric bootstrap LRT ({n_boot} simulations from the smaller "
            f"model, seed {random_seed}); its resolution is 1 / (1 + {n_boot})"
        )
    table.notes = notes
    return table
