"""Penalised quasi-likelihood (PQL) for GLMMs, as ``MASS::glmmPQL`` (Breslow and Clayton 1993).

Seed document 003 lists PQL first among the ways to fit a GLMM: the fastest and least
precise.  It replaces the GLMM by a sequence of weighted linear mixed models on the working
response of the family's IRLS step:

1. start from the GLM without random effects: linear predictor ``eta``, working response
   ``z = eta + (y - mu) / mu'(eta)`` and working weights ``w = mu'(eta)^2 / V(mu)`` (binomial:
   times the trials);
2. fit the LMM ``z ~ X beta + Z b`` by **maximum likelihood** with residual variance
   ``sigma^2 / w`` (glmmPQL: ``lme(..., weights = varFixed(~ 1 / w), method = "ML")``);
3. take its fitted ``eta = X beta + Z b`` and stop when it moved by less than
   ``sum((eta - eta_old)^2) < 1e-6 sum(eta^2)``, or after ``n_iter`` (10) fits; otherwise
   recompute ``z`` and ``w`` at the new ``eta`` and go to 2.

The steps, the start and the stopping rule are glmmPQL's, so the estimates agree with it
(``tests/freq/test_pql.py`` against ``tests/reference/make_pql_reference.R``).  The weighted
LMM is hierarch's ML twin on rows scaled by ``sqrt(w)``.  There is no likelihood: like
glmmPQL, no log-likelihood, AIC or likelihood-ratio test is reported, and ``sigma`` is the
residual SD of the working model (about 1 where the family's variance function fits).

A PQL fit is a teaching and comparison tool outside hierarch's fit protocol: it reports its
estimates (:meth:`PQLFit.fixed_effects`, :meth:`PQLFit.varcorr`, :meth:`PQLFit.ranef`), not
predictions or reports.  Use ``fit(method="laplace")``, ``"agq"`` or ``"bayes"`` for those.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.core.families import LAPLACE_FAMILIES, inverse_link_np
from hierarch.core.spec import ModelSpec
from hierarch.freq.laplace import glm_fit
from hierarch.freq.lmm import LMMFit, fit_lmm, varcorr_table

__all__ = ["PQLFit", "glmm_pql"]

#: glmmPQL's stopping rule: the fitted linear predictor moved by less than this share
_TOLERANCE = 1e-6


@dataclass
class PQLFit:
    """The result of :func:`glmm_pql`.

    Attributes
    ----------
    formula, family, link : str
    x_names : list of str
    beta : numpy.ndarray
        Fixed effects.
    vcov : numpy.ndarray
        Their covariance, from the final working LMM as glmmPQL's ``summary`` reports it
        (nlme scales the ML covariance by ``N / (N - p)``).
    sigma : float
        Residual SD of the working LMM.
    cov : list of numpy.ndarray
        Covariance of each random-effect block.
    iterations : int
        Working LMMs fitted.
    converged : bool
        Whether the stopping rule was met within ``n_iter`` fits.
    lmm : LMMFit
        The final working LMM (its response is the working response).
    """

    formula: str
    family: str
    link: str
    x_names: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    sigma: float
    cov: list[np.ndarray]
    iterations: int
    converged: bool
    lmm: LMMFit

    @property
    def method(self) -> str:
        return "pql"

    def fixed_effects(self, conf_level: float = 0.95) -> pd.DataFrame:
        """Estimates, SEs, Wald z tests and intervals of the fixed effects.  (glmmPQL prints
        t tests on nlme's containment degrees of freedom; the estimates and SEs are the same.)
        """
        se = np.sqrt(np.diag(self.vcov))
        z = self.beta / se
        q = stats.norm.ppf(0.5 + conf_level / 2)
        out = pd.DataFrame(
            {
                "estimate": self.beta,
                "se": se,
                "z": z,
                "p": 2 * stats.norm.sf(np.abs(z)),
                "lower": self.beta - q * se,
                "upper": self.beta + q * se,
            },
            index=pd.Index(self.x_names, name="coef"),
        )
        return out

    def varcorr(self) -> pd.DataFrame:
        """Random-effect SDs and correlations, then the working model's residual SD
        (lme4's ``as.data.frame(VarCorr(fit))`` layout)."""
        return varcorr_table(self.lmm.blocks, self.cov, self.sigma)

    def ranef(self) -> dict[str, pd.DataFrame]:
        """Each factor's random effects (conditional modes of the working LMM)."""
        return {
            b.factor: pd.DataFrame(r, index=pd.Index(b.levels, name=b.factor), columns=b.columns)
            for b, r in zip(self.lmm.blocks, self.lmm.ranef, strict=True)
        }

    def __str__(self) -> str:
        state = "converged" if self.converged else "NOT converged (raise n_iter)"
        lines = [
            f"Generalized linear mixed model fit by PQL ({self.family}, {self.link} link): "
            f"{self.formula}",
            f"  {self.iterations} working LMM fits, {state}; no likelihood (PQL has none)",
            "",
            "Random effects:",
            self.varcorr().to_string(index=False),
            "",
            "Fixed effects:",
            self.fixed_effects()[["estimate", "se", "z", "p"]].to_string(),
        ]
        return "\n".join(lines)


def _linear_predictor(pf, beta, ranef, offset):
    eta = pf.X @ beta + offset
    for b, r in zip(pf.blocks, ranef, strict=True):
        eta = eta + np.einsum("nk,nk->n", b.Z, r[b.codes])
    return eta


def glmm_pql(model, n_iter: int = 10) -> PQLFit:
    """Fit a GLMM by penalised quasi-likelihood, as ``MASS::glmmPQL``.

    Parameters
    ----------
    model : hierarch.Model or ModelSpec
        A formula model of a family with a Laplace twin (``hierarch.model(..., family=...)``).
    n_iter : int
        At most this many working LMMs (glmmPQL's ``niter``, default 10).

    Returns
    -------
    PQLFit

    Examples
    --------
    >>> import hierarch
    >>> from hierarch.freq.pql import glmm_pql
    >>> m = hierarch.model("incidence | trials(size) ~ C(period) + (1 | herd)",
    ...                    hierarch.load_dataset("cbpp"), family="binomial")
    >>> fit = glmm_pql(m)
    >>> round(float(fit.beta[0]), 4), fit.iterations
    (-1.3274, 4)
    """
    spec: ModelSpec = getattr(model, "spec", model)
    if int(n_iter) != n_iter or n_iter < 1:
        raise ValueError(f"n_iter must be a whole number of at least 1, got {n_iter}")
    if spec.family == "gaussian":
        raise ValueError(
            "PQL is for GLMMs; a Gaussian model with the identity link is fitted exactly "
            "by method='reml' or 'ml'"
        )
    if spec.family not in LAPLACE_FAMILIES:
        raise ValueError(f"PQL needs a family with a variance function; got {spec.family!r}")
    if spec.known_se is not None:
        raise ValueError("PQL is for GLMMs, not for the known-SE hierarchy")
    if spec.family == "student_t":
        raise ValueError(
            "PQL needs a family with a variance function; a Student-t response has none: fit "
            "it by the Laplace approximation (method='laplace')"
        )
    pf = spec.parsed
    if not pf.blocks:
        raise ValueError("the formula has no random effects; add a term like (1 | group)")
    fam = LAPLACE_FAMILIES[spec.family](spec.link)
    y = np.asarray(pf.y, float)
    n = np.asarray(spec.trials, float) if spec.family == "binomial" else np.ones(len(y))
    offset = np.zeros(len(y)) if pf.offset is None else np.asarray(pf.offset, float)
    unit = 1.0 if fam.dispersion else None  # the variance function: dispersion 1

    beta0, _ = glm_fit(
        y,
        pf.X,
        family=spec.family,
        link=spec.link,
        trials=spec.trials if spec.family == "binomial" else None,
        offset=pf.offset,
        dispersion=unit,
    )
    if not np.all(np.isfinite(beta0)):
        raise ValueError(
            "PQL starts from the GLM without random effects, which has no finite estimate "
            "here (complete separation or a response at its boundary)"
        )
    eta = pf.X @ beta0 + offset

    def working(eta):
        score, info = fam.score_info(y, n, eta, unit)
        return eta + score / info - offset, info

    z, w = working(eta)
    fit = None
    converged = False
    for it in range(1, int(n_iter) + 1):
        root = np.sqrt(w)
        scaled = dataclasses.replace(
            pf,
            y=root * z,
            X=root[:, None] * pf.X,
            blocks=[dataclasses.replace(b, Z=root[:, None] * b.Z) for b in pf.blocks],
            offset=None,
        )
        fit = fit_lmm(scaled, reml=False)
        eta_old = eta
        eta = _linear_predictor(pf, fit.beta, fit.ranef, offset)
        if np.sum((eta - eta_old) ** 2) < _TOLERANCE * np.sum(eta**2):
            converged = True
            break
        mu = inverse_link_np(spec.link, eta)
        if not np.all(np.isfinite(mu)):
            raise ValueError(f"PQL diverged at iteration {it}: the fitted means left the support")
        z, w = working(eta)
    assert fit is not None
    # the working LMM's random-effect blocks with the original design (for ranef labels)
    fit = dataclasses.replace(fit, blocks=pf.blocks)
    return PQLFit(
        formula=pf.formula,
        family=spec.family,
        link=spec.link,
        x_names=list(pf.x_names),
        beta=np.asarray(fit.beta),
        # nlme's summary of an ML fit: the fixed effects' covariance times N / (N - p)
        vcov=np.asarray(fit.vcov) * pf.n / (pf.n - len(pf.x_names)),
        sigma=float(fit.sigma),
        cov=[np.asarray(c) for c in fit.cov],
        iterations=it,
        converged=converged,
        lmm=fit,
    )
