"""Fits of formula models: the REML/ML twin (:class:`MixedMLFit`), the Laplace/AGQ twin
(:class:`GLMMMLFit`) and the Bayesian fit (:class:`MixedBayesFit`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr
from scipy import stats

from hierarch.core.families import get_family, scale_label, threshold_names
from hierarch.core.formula import ParsedFormula
from hierarch.core.priors import Prior
from hierarch.core.spec import ModelSpec, is_observation_level, unique_factors
from hierarch.core.splines import user_name
from hierarch.fits.base import BayesFit, MLFitSave, column_array, column_values
from hierarch.freq.bootstrap import bootstrap, refit, simulate_responses
from hierarch.freq.inference import (
    DDF_METHODS,
    FixedEffectTests,
    contrast_test,
    kenward_roger,
    satterthwaite,
)
from hierarch.freq.lmm import LMMFit, varcorr_table
from hierarch.freq.profile import profile_glmm, profile_lmm
from hierarch.report import crossval
from hierarch.report import mixed as report_mixed
from hierarch.report.r2 import r2 as _r2
from hierarch.report.tau import TauSummary, tau_from_draws, tau_from_estimate

__all__ = ["GLMMMLFit", "MixedBayesFit", "MixedMLFit"]


def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


class _MixedReports:
    """Reporting methods shared by the ML and the Bayesian fits (pure functions in
    :mod:`hierarch.report.mixed`)."""

    def ppc(self, n_draws: int = 200, random_seed: int | None = None) -> pd.DataFrame:
        """Posterior predictive replicates (see :func:`report_mixed.ppc`)."""
        return report_mixed.ppc(self, n_draws, random_seed)

    def ppc_groups(
        self,
        factor: str | None = None,
        stat: str = "mean",
        n_draws: int = 200,
        prob: float | None = None,
        random_seed: int | None = None,
    ) -> pd.DataFrame:
        """Posterior predictive check per group (see :func:`report_mixed.ppc_groups`)."""
        return report_mixed.ppc_groups(self, factor, stat, n_draws, prob, random_seed)

    def fitted(self) -> pd.Series:
        """Fitted mean of every row given the group effects (lme4's ``fitted()``; see
        :func:`report_mixed.fitted_values`)."""
        return report_mixed.fitted_values(self)

    def residuals(self, type: str = "pearson") -> pd.Series:  # noqa: A002 -- lme4's name
        """Pearson (lme4's scaled) or response residuals of every row (see
        :func:`report_mixed.residuals`)."""
        return report_mixed.residuals(self, type)

    def fixed_effect_correlation(self) -> pd.DataFrame:
        """Correlation matrix of the fixed-effect estimates (lme4's "Correlation of Fixed
        Effects"; see :func:`report_mixed.fixed_effect_correlation`)."""
        return report_mixed.fixed_effect_correlation(self)

    def predict(
        self,
        newdata: pd.DataFrame,
        kind: str = "conditional",
        prob: float | None = None,
        random_seed: int | None = None,
        n_boot: int = 0,
        scale: str = "response",
        progressbar: bool = True,
    ) -> pd.DataFrame:
        """Predictions for new rows (see :func:`report_mixed.predict`)."""
        return report_mixed.predict(
            self,
            newdata,
            kind,
            prob,
            random_seed,
            n_boot=n_boot,
            scale=scale,
            progressbar=progressbar,
        )

    def category_probabilities(
        self,
        newdata: pd.DataFrame,
        kind: str = "fixed",
        prob: float | None = None,
        random_seed: int | None = None,
    ) -> pd.DataFrame:
        """Ordinal models: the probability of each category for new rows (see
        :func:`report_mixed.category_probabilities`)."""
        return report_mixed.category_probabilities(self, newdata, kind, prob, random_seed)

    def loo(self):
        """PSIS-LOO via ArviZ (see :func:`report_mixed.loo`)."""
        return report_mixed.loo(self)

    def r2(self, prob: float | None = None) -> pd.DataFrame:
        """Marginal and conditional R-squared: Nakagawa and Schielzeth's for ML fits, the
        Bayesian R2 for Bayesian fits (see :func:`hierarch.report.r2.r2`)."""
        return _r2(self, prob)

    def coefficients(self, factor: str | None = None, scale: str = "link") -> pd.DataFrame:
        """Per-group coefficients with intervals (see :func:`report_mixed.coefficients`)."""
        return report_mixed.coefficients(self, factor, scale)

    def shrinkage(self, factor: str | None = None, scale: str = "link") -> pd.DataFrame:
        """No / partial / complete pooling per group (see :func:`report_mixed.shrinkage`)."""
        return report_mixed.shrinkage(self, factor, scale)

    def new_group(
        self,
        newdata: pd.DataFrame | None = None,
        prob: float | None = None,
        random_seed: int | None = None,
        scale: str = "link",
    ) -> pd.DataFrame:
        """Predictions for a new group (see :func:`report_mixed.new_group`)."""
        return report_mixed.new_group(self, newdata, prob, random_seed, scale)


def _check_ddf(ddf: str) -> str:
    key = str(ddf).lower().replace("_", "-").replace(" ", "-")
    key = {"kr": "kenward-roger", "kenwardroger": "kenward-roger"}.get(key, key)
    if key not in DDF_METHODS:
        raise ValueError(
            f"ddf must be 'satterthwaite' (lmerTest's default) or 'kenward-roger', got {ddf!r}"
        )
    return key


def fixed_terms(pf: ParsedFormula) -> dict[str, list[int]]:
    """The columns of each fixed-effect term but the intercept, for type III tests; a clear
    error for a term contained in an interaction (its test would depend on the coding)."""
    design = pf.fixed_design
    slices = getattr(design, "slices", None) or {}
    terms = getattr(design, "terms", {}) or {}
    out, variables = {}, {}
    for inner, sl in slices.items():
        if inner == "Intercept":
            continue
        name = user_name(inner)  # bs(x, df=4), not the transform's internal name
        out[name] = list(range(sl.start, sl.stop))
        variables[name] = set(getattr(terms.get(inner), "var_names", {name}))
    for name, v in variables.items():
        inside = [o for o, w in variables.items() if o != name and v < w]
        if inside:
            raise ValueError(
                f"term {name!r} is contained in {', '.join(repr(o) for o in inside)}: its type "
                "III test depends on how the factors are coded, so hierarch does not give it; "
                "test contrasts with fit.contrast(L), or compare the models with and without "
                "the term by hierarch.anova(m0, m1)"
            )
    return out


def _no_sigma(family: str) -> str:
    return (
        f"a {family} model has no residual SD: its variance follows from the mean (the "
        "family's dispersion parameter, if any, is reported by dispersion() and in the summary)"
    )


def _intercept_block(model: ModelSpec, factor: str | None) -> tuple[int, int, str]:
    """(block index, column index, block name) of the random intercept by ``factor`` (default:
    the first grouping factor): the between-group SD that ``tau()`` reports."""
    blocks = model.parsed.blocks
    factor = factor or blocks[0].factor
    for i, b in enumerate(blocks):
        if b.factor == factor and "Intercept" in b.columns:
            return i, b.columns.index("Intercept"), model.block_names[i]
    factors = ", ".join(dict.fromkeys(b.factor for b in blocks))
    raise ValueError(
        f"tau() is the SD of a random intercept, and this model has none by {factor!r} "
        f"(grouping factors: {factors}); see group_sds() for every SD"
    )


def _ml_tau(fit, factor: str | None) -> TauSummary:
    i, c, _ = _intercept_block(fit.model, factor)
    sd = float(np.sqrt(fit.ml.cov[i][c, c]))
    block = fit.model.parsed.blocks[i]
    extra = {}
    prof = fit._variance_profile()
    if prof is not None:
        key = (block.factor, block.columns[c], None)
        k = prof.names.index(key)
        trace = prof.traces[key]
        extra = {
            "interval": (prof.lower[k], prof.upper[k]),
            "conf_level": prof.level,
            "profile": pd.DataFrame(
                {
                    "tau": trace[:, 0],
                    "zeta": trace[:, 1],
                    "likelihood": np.exp(-(trace[:, 1] ** 2) / 2),
                }
            ),
        }
    return tau_from_estimate(
        sd, fit.method, scale=scale_label(fit.model.link), group=block.factor, **extra
    )


def _label(name) -> str:
    """A parameter's row label: ``sd[group: effect]``, ``cor[group: a, b]``, ``sigma`` or the
    fixed effect's name (the labels of :func:`hierarch.compare`)."""
    if len(name) == 4:
        return name[0]
    group, v1, v2 = name
    if group == "Residual":
        return "sigma"
    return f"sd[{group}: {v1}]" if v2 is None else f"cor[{group}: {v2}, {v1}]"


def _residual_lines(fit) -> list[str]:
    """lme4's "Scaled residuals" block of a printed summary."""
    q = report_mixed.residual_quantiles(fit)
    head = " ".join(f"{k:>8}" for k in q.index)
    return ["Scaled residuals:", head, " ".join(f"{v:8.4f}" for v in q.to_numpy()), ""]


def _correlation_lines(fit) -> list[str]:
    """lme4's "Correlation of Fixed Effects" block (lower triangle; none for one effect)."""
    C = report_mixed.fixed_effect_correlation(fit)
    names = list(C.index)
    if len(names) < 2:
        return []
    short = [n if len(n) <= 6 else n[:6] for n in names]
    width = max(len(n) for n in names[1:])
    lines = [
        "",
        "Correlation of Fixed Effects:",
        " " * width + " " + " ".join(f"{s:>6}" for s in short[:-1]),
    ]
    for i in range(1, len(names)):
        vals = " ".join(f"{C.iloc[i, j]:6.3f}" for j in range(i))
        lines.append(f"{names[i]:<{width}} {vals}")
    return lines


class _MLInference:
    """Intervals of a maximum-likelihood fit: ``confint()`` (profile, Wald, bootstrap) and
    the profile intervals that ``group_sds()`` and ``tau()`` carry."""

    def is_singular(self, tol: float = 1e-4) -> bool:
        """Whether the fit is on the boundary, as lme4's ``isSingular(fit, tol)``: a diagonal
        element of a block's relative covariance factor ``theta`` below ``tol`` (an SD of 0,
        or a correlation of +/-1)."""
        theta, pos = np.asarray(self.ml_theta, float), 0
        for b in self.model.parsed.blocks:
            for j in range(b.k):
                for i in range(j, b.k):
                    if i == j and theta[pos] < tol:
                        return True
                    pos += 1
        return False

    def _profile(self, level: float, which: str = "all"):
        cache = self.__dict__.setdefault("_profile_cache", {})
        key = (float(level), which)
        if key not in cache:
            full = cache.get((float(level), "all"))
            if full is not None:
                return full
            cache[key] = self._compute_profile(float(level), which)
        return cache[key]

    def _compute_profile(self, level: float, which: str):
        if hasattr(self, "lmm"):
            if self.lmm.problem is None:
                return None
            return profile_lmm(self.lmm, level, which)
        pf = self.model.parsed
        return profile_glmm(self.glmm, pf.blocks, pf.x_names, level, which)

    def _variance_profile(self):
        """The profiles of the variance parameters at ``conf_level`` (None where none)."""
        try:
            return self._profile(self.conf_level, "sd_")
        except (ValueError, np.linalg.LinAlgError):
            return None

    def _parameter_vector(self, est) -> tuple[list[str], np.ndarray]:
        """Labels and values of every parameter of an engine result (for the bootstrap)."""
        blocks = self.model.parsed.blocks
        names, vals = [], []
        for b, C in zip(blocks, est.cov, strict=True):
            sd = np.sqrt(np.clip(np.diag(C), 0, None))
            for c, col in enumerate(b.columns):
                names.append(_label((b.factor, col, None)))
                vals.append(sd[c])
            for j in range(b.k):
                for i in range(j + 1, b.k):
                    names.append(_label((b.factor, b.columns[i], b.columns[j])))
                    ok = sd[i] > 0 and sd[j] > 0
                    vals.append(C[i, j] / (sd[i] * sd[j]) if ok else 0.0)
        if hasattr(self, "lmm"):
            names.append("sigma")
            vals.append(est.sigma)
        names += list(self.model.parsed.x_names)
        vals += list(est.beta)
        return names, np.array(vals, float)

    def confint(
        self,
        method: str = "profile",
        level: float | None = None,
        n_boot: int = 500,
        random_seed: int | None = None,
        progressbar: bool = True,
        parm: str = "all",
    ) -> pd.DataFrame:
        """Confidence intervals for every parameter, as lme4's ``confint(fit)``.

        Parameters
        ----------
        method : {"profile", "wald", "boot"}
            ``profile`` (lme4's default): the profile likelihood, inverted at the chi-square
            cut-off (:mod:`hierarch.freq.profile`; the ML deviance, REML fits included, as
            lme4); ``wald``: ``estimate +/- z se`` for the fixed effects (NaN for the
            variance parameters, as lme4); ``boot``: percentiles of ``n_boot`` parametric
            bootstrap refits by the fit's own method (lme4's ``bootMer`` with
            ``use.u = FALSE``), seeded by ``random_seed``, with a progress bar.
        level : float, optional
            The confidence level (default: the fit's ``conf_level``).
        parm : {"all", "theta_", "beta_"}
            Profile the variance parameters, the fixed effects or both (lme4's ``parm``);
            the rows not profiled are NaN.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``parameter`` (``sd[group: effect]``, ``cor[group: a, b]``,
            ``sigma``, then the fixed effects): ``estimate``, ``lower``, ``upper``.  A
            bootstrap table says in ``attrs["n_failed"]`` how many refits failed.

        Examples
        --------
        >>> import hierarch
        >>> fit = hierarch.model("weight ~ week + (1 | id)",
        ...                      hierarch.load_dataset("pigs")).fit(method="reml")
        >>> fit.confint().round(3).loc["sd[id: Intercept]"].tolist()
        [3.891, 3.167, 4.797]
        """
        level = float(self.conf_level if level is None else level)
        if not 0 < level < 1:
            raise ValueError(f"level must be between 0 and 1, got {level!r}")
        names, est = self._parameter_vector(self.ml if hasattr(self, "lmm") else self.glmm)
        out = pd.DataFrame({"estimate": est}, index=pd.Index(names, name="parameter"))
        key = str(method).lower()
        if key == "profile":
            if parm not in ("all", "theta_", "beta_"):
                raise ValueError(f"parm must be 'all', 'theta_' or 'beta_', got {parm!r}")
            prof = self._profile(level, parm)
            if prof is None:
                raise ValueError("profile intervals are not available for the known-SE hierarchy")
            got = {
                _label(n): (lo, hi)
                for n, lo, hi in zip(prof.names, prof.lower, prof.upper, strict=True)
            }
            out["lower"] = [got.get(n, (np.nan, np.nan))[0] for n in names]
            out["upper"] = [got.get(n, (np.nan, np.nan))[1] for n in names]
        elif key == "wald":
            z = _z(level)
            p = len(self.model.parsed.x_names)
            se = np.full(len(names), np.nan)
            se[-p:] = np.sqrt(np.diag(self.ml.vcov))
            out["lower"], out["upper"] = est - z * se, est + z * se
        elif key == "boot":
            est_obj = self.lmm if hasattr(self, "lmm") else self.glmm
            method_fit = self.method
            n_agq = getattr(est_obj, "n_agq", 1)

            def statistic(y):
                new = refit(self.model, y, method_fit, n_agq, theta_start=est_obj.theta)
                return self._parameter_vector(new)[1]

            draws, failed = bootstrap(
                self.model,
                est_obj,
                statistic,
                n_boot,
                random_seed,
                progressbar,
                "Bootstrap refits",
            )
            a = (1 - level) / 2
            out["lower"] = np.quantile(draws, a, axis=0)
            out["upper"] = np.quantile(draws, 1 - a, axis=0)
            out.attrs["n_failed"] = failed
            out.attrs["n_boot"] = int(n_boot)
        else:
            raise ValueError(f"method must be 'profile', 'wald' or 'boot', got {method!r}")
        out.attrs["method"] = key
        out.attrs["level"] = level
        return out

    def simulate(self, n: int = 1, seed: int | None = None, use_u: bool = False) -> pd.DataFrame:
        """Responses simulated from the fitted model, as lme4's ``simulate(fit, nsim, seed)``.

        Parameters
        ----------
        n : int
            Number of simulated data sets.
        seed : int, optional
            Seed (numpy's generator): the same seed gives the same responses.
        use_u : bool
            Keep the fitted groups' conditional modes (lme4's ``use.u = TRUE``) instead of
            drawing new group effects from the estimated population (the default).

        Returns
        -------
        pandas.DataFrame
            One row per fitted row, columns ``sim_1`` ... ``sim_n`` (binomial: successes).

        Examples
        --------
        >>> import hierarch
        >>> fit = hierarch.model("weight ~ week + (1 | id)",
        ...                      hierarch.load_dataset("pigs")).fit(method="reml")
        >>> fit.simulate(3, seed=1).shape
        (432, 3)
        """
        if int(n) != n or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        est = self.lmm if hasattr(self, "lmm") else self.glmm
        y = simulate_responses(self.model, est, int(n), seed, use_u)
        return pd.DataFrame(y.T, columns=[f"sim_{i + 1}" for i in range(int(n))])

    def _sd_intervals(self, table: pd.DataFrame) -> pd.DataFrame:
        """``lower``/``upper`` profile columns for a ``group_sds()`` table."""
        prof = self._variance_profile()
        if prof is None:
            return table
        got = {
            (n[0], n[1]): (lo, hi)
            for n, lo, hi in zip(prof.names, prof.lower, prof.upper, strict=True)
            if len(n) == 3 and n[2] is None
        }
        table["lower"] = [
            got.get((g, e), (np.nan, np.nan))[0]
            for g, e in zip(table["group"], table["effect"], strict=True)
        ]
        table["upper"] = [
            got.get((g, e), (np.nan, np.nan))[1]
            for g, e in zip(table["group"], table["effect"], strict=True)
        ]
        table.attrs["interval"] = f"{100 * self.conf_level:g}% profile"
        return table


def ml_fit(model: ModelSpec, result, conf_level: float = 0.95):
    """The fit object of a frequentist-engine result: REML/ML or Laplace/AGQ."""
    if isinstance(result, LMMFit):
        return MixedMLFit(model, result, conf_level)
    return GLMMMLFit(model, result, conf_level)


class MixedMLFit(MLFitSave, _MLInference, _MixedReports):
    """A REML/ML fit of a formula model (the frequentist twin)."""

    method_label = {"reml": "REML", "ml": "maximum likelihood"}

    def __init__(self, model: ModelSpec, lmm: LMMFit, conf_level: float = 0.95) -> None:
        self.model = model
        self.lmm = lmm
        self.conf_level = conf_level

    @property
    def method(self) -> str:
        return self.lmm.method

    def _check_values(self) -> dict[str, float]:
        return {"loglik": float(self.lmm.loglik), "sigma": float(self.lmm.sigma)}

    @property
    def ml(self) -> LMMFit:
        """The estimates in the form the shared reporting functions read."""
        return self.lmm

    @property
    def ml_theta(self) -> np.ndarray:
        """lme4's ``theta`` (the covariance factors relative to sigma)."""
        return self.lmm.theta

    def _tests(self, ddf: str) -> FixedEffectTests | None:
        """The pieces of the fixed-effect tests by ``ddf`` (computed once per fit); ``None``
        for the known-SE hierarchy, whose tests are z tests."""
        ddf = _check_ddf(ddf)
        if self.lmm.problem is None:
            return None
        cache = self.__dict__.setdefault("_tests_cache", {})
        if ddf not in cache:
            lm = self.lmm
            make = satterthwaite if ddf == "satterthwaite" else kenward_roger
            cache[ddf] = make(lm.problem, lm.theta, lm.sigma)
        return cache[ddf]

    def fixed_effects(self, ddf: str = "satterthwaite") -> pd.DataFrame:
        """Estimates, standard errors, t tests and Wald intervals of the fixed effects.

        Parameters
        ----------
        ddf : {"satterthwaite", "kenward-roger"}
            The denominator degrees of freedom of the t tests: Satterthwaite's (lmerTest's
            default) or Kenward and Roger's (pbkrtest; REML fits; ``se`` is then the
            adjusted standard error, as lmerTest reports it).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``coef``: ``estimate``, ``se``, ``df``, ``t``, ``p`` (two-sided) and
            the Wald interval ``lower``, ``upper`` at ``conf_level`` (lme4's
            ``confint(method="Wald")``; see :meth:`confint` for profile intervals).  With
            known standard errors (``y | se(s) ~ ...``) the tests are z tests: ``df`` is
            infinite.

        Examples
        --------
        >>> import hierarch
        >>> fit = hierarch.model("weight ~ week + (week | id)",
        ...                      hierarch.load_dataset("pigs")).fit(method="reml")
        >>> fit.fixed_effects()[["estimate", "df"]].round(2)  # doctest: +NORMALIZE_WHITESPACE
                   estimate    df
        coef
        Intercept     19.36  47.0
        week           6.21  47.0
        """
        z = _z(self.conf_level)
        fe = self.lmm.fixed_effects
        tests = self._tests(ddf)
        if tests is None:
            fe["df"] = np.inf
            fe["t"] = fe["estimate"] / fe["se"]
            fe["p"] = 2 * stats.norm.sf(np.abs(fe["t"]))
        else:
            rows = [contrast_test(tests, row) for row in np.eye(len(fe))]
            fe["se"] = [r["se"] for r in rows]
            fe["df"] = [r["df"] for r in rows]
            fe["t"] = [r["t"] for r in rows]
            fe["p"] = [r["p"] for r in rows]
        fe["lower"] = fe["estimate"] - z * self.lmm.se
        fe["upper"] = fe["estimate"] + z * self.lmm.se
        fe.index.name = "coef"
        return fe

    def contrast(self, L, ddf: str = "satterthwaite", joint: bool = True) -> pd.DataFrame:
        """Test ``L beta = 0`` (lmerTest's ``contest``).

        Parameters
        ----------
        L : array_like
            One contrast (a vector as long as the fixed effects) or a matrix of them, or a
            dict ``{coef: weight}``.
        ddf : {"satterthwaite", "kenward-roger"}
            As in :meth:`fixed_effects`.
        joint : bool
            One F test of all rows together (``sum_sq``, ``mean_sq``, ``num_df``, ``den_df``,
            ``F``, ``p``), or a t test per row (``estimate``, ``se``, ``df``, ``t``, ``p``).

        Examples
        --------
        >>> import hierarch
        >>> fit = hierarch.model("weight ~ week + (week | id)",
        ...                      hierarch.load_dataset("pigs")).fit(method="reml")
        >>> round(float(fit.contrast({"week": 1}, joint=False)["t"].iloc[0]), 2)
        67.47
        """
        L = self._contrast_matrix(L)
        tests = self._tests(ddf)
        if tests is None:
            raise ValueError("contrast tests need an estimated residual SD; this fit has known SEs")
        if not joint:
            return pd.DataFrame([contrast_test(tests, row) for row in L]).iloc[:, :5]
        return pd.DataFrame([self._f_row(tests, L)])

    def _contrast_matrix(self, L) -> np.ndarray:
        names = self.lmm.x_names
        if isinstance(L, dict):
            unknown = [k for k in L if k not in names]
            if unknown:
                raise ValueError(
                    f"contrast names {unknown} are not fixed effects; they are {names}"
                )
            L = [L.get(n, 0.0) for n in names]
        L = np.atleast_2d(np.asarray(L, dtype=float))
        if L.shape[1] != len(names) or not np.all(np.isfinite(L)):
            raise ValueError(
                f"a contrast needs {len(names)} finite weights, one per fixed effect "
                f"({', '.join(names)}); got shape {L.shape}"
            )
        return L

    def _f_row(self, tests, L) -> dict:
        res = contrast_test(tests, L)
        if "F" not in res:  # one row: F = t^2 with (1, df)
            res = {"F": res["t"] ** 2, "num_df": 1, "den_df": res["df"], "p": res["p"]}
        mean_sq = res["F"] * self.lmm.sigma**2
        return {
            "sum_sq": mean_sq * res["num_df"],
            "mean_sq": mean_sq,
            "num_df": res["num_df"],
            "den_df": res["den_df"],
            "F": res["F"],
            "p": res["p"],
        }

    def anova(self, ddf: str = "satterthwaite") -> pd.DataFrame:
        """F tests of each fixed-effect term: lmerTest's type III ``anova(fit)`` table.

        A term's hypothesis is that all its coefficients are zero, tested by
        :meth:`contrast`; the intercept is not tested.  For a term contained in an
        interaction (``f`` in ``f * x``) that hypothesis depends on the coding of the factors,
        and lmerTest's type III test does not: such tables are refused (use
        :meth:`contrast`, or compare the models with ``hierarch.anova(m0, m1)``).

        Returns
        -------
        pandas.DataFrame
            Indexed by ``term``: ``sum_sq``, ``mean_sq``, ``num_df``, ``den_df``, ``F``, ``p``.

        Examples
        --------
        >>> import hierarch
        >>> fit = hierarch.model("Reaction ~ Days + (Days | Subject)",
        ...                      hierarch.load_dataset("sleepstudy")).fit(method="reml")
        >>> round(float(fit.anova()["den_df"].iloc[0]), 2)
        17.0
        """
        tests = self._tests(ddf)
        if tests is None:
            raise ValueError("F tests need an estimated residual SD; this fit has known SEs")
        rows = {}
        for term, cols in fixed_terms(self.model.parsed).items():
            L = np.zeros((len(cols), len(self.lmm.x_names)))
            L[np.arange(len(cols)), cols] = 1.0
            rows[term] = self._f_row(tests, L)
        cols = ["sum_sq", "mean_sq", "num_df", "den_df", "F", "p"]
        return pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("term")

    def varcorr(self) -> pd.DataFrame:
        """Variance components: SDs and correlations (as lme4's ``VarCorr``)."""
        return self.lmm.varcorr()

    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes (BLUPs) by block, with conditional SDs (``se_<effect>``)."""
        out = {}
        for i, name in enumerate(self.model.block_names):
            df = self.lmm.ranef_frame(i)
            cv = self.lmm.condvar[i]
            for c, col in enumerate(df.columns.copy()):
                df[f"se_{col}"] = np.sqrt(cv[:, c, c])
            out[name] = df
        return out

    def coef(self) -> dict[str, pd.DataFrame]:
        """Per-group coefficients: fixed effect + conditional mode (lme4's ``coef``)."""
        return _coef_table(
            self.model,
            {i: self.lmm.ranef[i] for i in range(len(self.model.block_names))},
            dict(zip(self.lmm.x_names, self.lmm.beta, strict=True)),
        )

    def group_sds(self) -> pd.DataFrame:
        """Estimated group SDs, one row per block and effect (the Bayesian fit's columns:
        ``group``, ``effect``, ``kind``, ``estimate``, with ``lower``/``upper`` the profile
        interval at ``conf_level``, as :meth:`confint`)."""
        return self._sd_intervals(
            pd.DataFrame(
                _sd_rows(
                    self.model,
                    [lambda c, C=C: {"estimate": float(np.sqrt(C[c, c]))} for C in self.lmm.cov],
                )
            )
        )

    def correlations(self) -> pd.DataFrame:
        """Estimated correlations of correlated group effects (NaN when a variance is 0)."""
        vc = self.varcorr()
        cor = vc[vc["var2"].notna()]
        return cor.rename(columns={"sdcor": "estimate"})[["group", "var1", "var2", "estimate"]]

    def tau(self, factor: str | None = None) -> TauSummary:
        """The SD of the random intercept by ``factor`` (default: the first factor)."""
        return _ml_tau(self, factor)

    def sigma(self) -> pd.DataFrame:
        """Estimated residual SD: one row ``sigma``, column ``estimate`` (the Bayesian fit's
        table has the same row and column)."""
        return pd.DataFrame({"estimate": [float(self.lmm.sigma)]}, index=["sigma"])

    def icc(self) -> pd.DataFrame:
        """Intra-class correlation per grouping factor, random-intercept models
        (:func:`hierarch.report.mixed.icc`): ``tau_f^2 / (sum tau^2 + sigma^2)``."""
        return report_mixed.icc(self)

    def __str__(self) -> str:
        lm = self.lmm
        crit = "REML criterion" if lm.method == "reml" else "deviance (-2 log-likelihood)"
        tests = "" if lm.problem is None else ". t tests use Satterthwaite's method"
        lines = [
            f"Linear mixed model fit by {self.method_label[lm.method]}{tests}",
            f"Formula: {self.model.formula}",
            f"{crit}: {lm.criterion:.4f}   log-likelihood: {lm.loglik:.4f}   AIC: {lm.aic:.2f}",
            "",
        ]
        if lm.problem is not None:
            lines += _residual_lines(self)
        lines += ["Random effects:"]
        lines += _random_effect_lines(self.varcorr(), self.model.parsed, lm.n_obs)
        fe = self.fixed_effects()
        if lm.problem is None:  # known SEs: z tests
            fe = fe.rename(columns={"t": "z"})
        lines += ["", "Fixed effects:", format_coef_table(fe)]
        lines += _correlation_lines(self)
        lines += [f"Note: {n}" for n in lm.notes]
        return "\n".join(lines)

    __repr__ = __str__


def format_p(p: float) -> str:
    """A p-value as R's ``format.pval`` prints it in a coefficient table (3 significant
    digits, ``< 2e-16`` below machine precision)."""
    if not np.isfinite(p):
        return "NA"
    if p < 2.2e-16:
        return "<2e-16"
    return f"{p:.3g}" if p >= 1e-4 else f"{p:.2e}"


def format_coef_table(fe: pd.DataFrame) -> str:
    """The fixed-effect table of a printed summary in lmerTest's / lme4's layout: Estimate,
    Std. Error, (df,) t or z value and the p-value, then the Wald interval."""
    stat = "t" if "t" in fe.columns else "z"
    out = pd.DataFrame(index=fe.index.rename(None))
    out["Estimate"] = fe["estimate"].map(lambda v: f"{v:.5g}")
    out["Std. Error"] = fe["se"].map(lambda v: f"{v:.4g}")
    if "df" in fe.columns and np.all(np.isfinite(fe["df"])):
        out["df"] = fe["df"].map(lambda v: f"{v:.2f}")
    out[f"{stat} value"] = fe[stat].map(lambda v: f"{v:.3f}")
    out[f"Pr(>|{stat}|)"] = fe["p"].map(format_p)
    out["lower"] = fe["lower"].map(lambda v: f"{v:.5g}")
    out["upper"] = fe["upper"].map(lambda v: f"{v:.5g}")
    return out.to_string()


def _random_effect_lines(vc: pd.DataFrame, pf: ParsedFormula, n_obs: int, extra=()) -> list[str]:
    """The random-effects part of a printed ML summary (as lme4's): SDs, correlations, the
    residual SD or family parameter, and the numbers of observations and groups."""
    lines = []
    for _, r in vc.iterrows():
        if r["group"] == "Residual":
            lines.append(f"  {'Residual':<14s}{'':<14s} SD {r['sdcor']:.4f}")
        elif pd.isna(r["var2"]):
            blk = next(b for b in pf.blocks if b.factor == r["group"])
            tag = "  (overdispersion)" if is_observation_level(blk, pf) else ""
            lines.append(f"  {r['group']:<14s}{r['var1']:<14s} SD {r['sdcor']:.4f}{tag}")
        else:
            value = (
                f"{r['sdcor']:.3f}" if np.isfinite(r["sdcor"]) else "undefined (a variance is zero)"
            )
            lines.append(
                f"  {r['group']:<14s}{'cor(' + r['var1'] + ', ' + r['var2'] + ')':<14s}    {value}"
            )
    lines += [f"  {e}" for e in extra]
    ng = ", ".join(f"{b.factor}, {b.n_levels}" for b in unique_factors(pf.blocks))
    lines.append(f"Number of obs: {n_obs}; groups: {ng}")
    return lines


def _coef_table(
    model: ModelSpec, ranef: dict[int, np.ndarray], beta: dict[str, float]
) -> dict[str, pd.DataFrame]:
    """Per factor: fixed effects plus the factor's random effects on the matching columns
    (lme4's ``coef()``: a random-effect column outside the fixed part has fixed value 0)."""
    out: dict[str, pd.DataFrame] = {}
    for b in unique_factors(model.parsed.blocks):
        df = pd.DataFrame(index=pd.Index(b.levels, name=b.factor))
        for name in model.parsed.coef_names(b.factor):  # random-only columns: fixed value 0
            df[name] = beta.get(name, 0.0)
        for i, blk in enumerate(model.parsed.blocks):
            if blk.factor != b.factor:
                continue
            for c, col in enumerate(blk.columns):
                if col in df.columns:
                    df[col] = df[col] + ranef[i][:, c]
        out[b.factor] = df
    return out


_DATA_PREFIX = "data__"


def store_data(idata, data: pd.DataFrame, columns) -> None:
    """Keep the columns the formula uses in ``constant_data`` (so a saved fit can be re-read
    and reported on without the original DataFrame)."""

    arrays = {f"{_DATA_PREFIX}{col}": column_array(data[col], "obs") for col in columns}
    ds = xr.Dataset(arrays, coords={"obs": np.arange(len(data))})
    if "constant_data" in idata.groups():
        idata.constant_data = idata.constant_data.assign(ds.data_vars)
    else:
        idata.add_groups(constant_data=ds)


class MixedBayesFit(_MixedReports, BayesFit):
    """A Bayesian formula-model fit: InferenceData plus spec."""

    model_name = "mixed"
    _model: ModelSpec | None = None

    @property
    def data(self) -> pd.DataFrame:
        """The data the model was fitted to (read back from the InferenceData)."""
        cd = self.idata.constant_data
        cols = [v for v in cd.data_vars if str(v).startswith(_DATA_PREFIX)]
        return pd.DataFrame({str(c)[len(_DATA_PREFIX) :]: column_values(cd[c]) for c in cols})

    @property
    def model(self) -> ModelSpec:
        """The :class:`ModelSpec` (rebuilt after loading from the stored data, with the fitted
        priors, parameterization and aggregation)."""
        if self._model is None:
            par = self.spec.get("parameterization")
            self._model = ModelSpec(
                self.spec["formula"],
                self.data,
                family=self.spec["family"],
                priors=self.spec.get("priors"),  # the fitted priors, not the defaults
                parameterization=par if isinstance(par, dict) else "auto",
                link=self.spec.get("link"),
                trials=self.spec.get("trials"),
                aggregate=self.spec.get("aggregate", True),
                weights=self.spec.get("weights"),
            )
        return self._model

    @property
    def block_names(self) -> list[str]:
        return [b["name"] for b in self.spec["blocks"]]

    def logo(self, factor: str | None = None):
        """Leave-one-group-out cross-validation without refits (see
        :func:`hierarch.report.crossval.logo`)."""
        return crossval.logo(self, factor)

    def dispersion(self) -> pd.DataFrame:
        """Posterior mean, SD and central interval of the family's extra parameters other
        than a Gaussian residual SD (negative binomial ``alpha``, gamma ``shape``, beta
        ``kappa``, inverse Gaussian ``lam``, Student-t ``sigma`` and ``nu``, zero-inflated
        ``zi`` / hurdle ``hu``, ordinal thresholds named ``1|2``, ... as ``clmm``), one row
        each, indexed by ``parameter``; empty when there are none."""
        frames = []
        for extra in get_family(self.spec["family"]).extra:
            if extra == "sigma" and self.spec["family"] == "gaussian":
                continue
            df = self._summ(extra)
            if extra == "cutpoints":
                df.index = threshold_names(self.model.categories)
            else:
                df.index = [extra]
            frames.append(df)
        out = (
            pd.concat(frames)
            if frames
            else pd.DataFrame(columns=["estimate", "sd", "lower", "upper"])
        )
        out.index.name = "parameter"
        return out

    def _check_names(self) -> list[str]:
        names = ["beta", *get_family(self.spec["family"]).extra]
        for n in self.block_names:
            names += [f"sd_{n}", f"corr_{n}", f"z_{n}", f"c_{n}"]
        return [v for v in names if v in self.idata.posterior]

    def _summ(self, var: str) -> pd.DataFrame:
        a = (1 - self.conf_level) / 2
        da = self.idata.posterior[var]
        q = da.quantile([a, 1 - a], dim=("chain", "draw"))
        df = pd.DataFrame(
            {
                "estimate": da.mean(("chain", "draw")).values.ravel(),
                "sd": da.std(("chain", "draw")).values.ravel(),
                "lower": q.isel(quantile=0).values.ravel(),
                "upper": q.isel(quantile=1).values.ravel(),
            }
        )
        return df

    def fixed_effects(self) -> pd.DataFrame:
        """Posterior mean, SD and central interval of each fixed effect."""
        df = self._summ("beta")
        df.index = pd.Index(self.spec["x_names"], name="coef")
        return df

    def group_sds(self) -> pd.DataFrame:
        """Posterior summaries of the group SDs, one row per block and effect; ``kind`` marks
        an observation-level effect (one level per row) as ``overdispersion``."""
        model = self.model
        rows = []
        for blk, b in zip(self.spec["blocks"], model.parsed.blocks, strict=True):
            df = self._summ(f"sd_{blk['name']}")
            df.insert(
                0, "kind", "overdispersion" if is_observation_level(b, model.parsed) else "group"
            )
            df.insert(0, "effect", blk["columns"])
            df.insert(0, "group", blk["factor"])
            rows.append(df)
        return pd.concat(rows, ignore_index=True)

    def correlations(self) -> pd.DataFrame:
        """Posterior summaries of the group-effect correlations (correlated blocks only)."""
        rows = []
        for blk in self.spec["blocks"]:
            var = f"corr_{blk['name']}"
            if var not in self.idata.posterior:
                continue
            cols = blk["columns"]
            da = self.idata.posterior[var]
            for i in range(len(cols)):
                for j in range(i + 1, len(cols)):
                    x = da.values[..., i, j].ravel()
                    a = (1 - self.conf_level) / 2
                    rows.append(
                        {
                            "group": blk["factor"],
                            "var1": cols[i],
                            "var2": cols[j],
                            "estimate": x.mean(),
                            "sd": x.std(ddof=1),
                            "lower": np.quantile(x, a),
                            "upper": np.quantile(x, 1 - a),
                        }
                    )
        cols = ["group", "var1", "var2", "estimate", "sd", "lower", "upper"]
        return pd.DataFrame(rows, columns=cols)

    def tau(self, factor: str | None = None, hdi_prob: float | None = None) -> TauSummary:
        """Posterior summary of the SD of the random intercept by ``factor`` (default: the
        first factor): draws, HDI and prior (link scale for GLMMs)."""
        i, c, bname = _intercept_block(self.model, factor)
        draws = self.idata.posterior[f"sd_{bname}"].values[..., c].ravel()
        prior = Prior.from_value(self.spec["priors"][f"sd_{bname}"])
        params = {k: v[c] if isinstance(v, list) else v for k, v in prior.params.items()}
        return tau_from_draws(
            draws,
            Prior(prior.dist, **params),
            float(hdi_prob or self.conf_level),
            scale=scale_label(self.spec.get("link", "identity")),
            group=self.model.parsed.blocks[i].factor,
        )

    def sigma(self) -> pd.DataFrame:
        """Posterior summary of the residual SD (Gaussian models)."""
        if "sigma" not in self.idata.posterior:
            raise ValueError(_no_sigma(self.spec["family"]))
        return self._summ("sigma").set_axis(["sigma"])

    def ranef(self) -> dict[str, pd.DataFrame]:
        """Group effects by block: posterior means, with posterior SDs (``sd_<effect>``)."""
        out = {}
        post = self.idata.posterior
        for blk in self.spec["blocks"]:
            da = post[f"b_{blk['name']}"]
            mean, sd = da.mean(("chain", "draw")), da.std(("chain", "draw"), ddof=1)
            df = pd.DataFrame(
                mean.values,
                index=pd.Index(da[da.dims[2]].values, name=blk["factor"]),
                columns=blk["columns"],
            )
            for c, col in enumerate(blk["columns"]):
                df[f"sd_{col}"] = sd.values[:, c]
            out[blk["name"]] = df
        return out

    def coef(self) -> dict[str, pd.DataFrame]:
        """Per-group coefficients: fixed effects + group effects, posterior means."""
        ranef = self.ranef()
        return _coef_table(
            self.model,
            {
                i: ranef[n][self.spec["blocks"][i]["columns"]].to_numpy()
                for i, n in enumerate(self.block_names)
            },
            dict(zip(self.spec["x_names"], self.fixed_effects()["estimate"], strict=True)),
        )

    def icc(self) -> pd.DataFrame:
        """Posterior of the intra-class correlation (random-intercept models)."""
        return report_mixed.icc(self)

    def __str__(self) -> str:
        s = self.spec["sampler"]
        with pd.option_context("display.width", 120):
            parts = [
                f"{'Linear' if self.spec['family'] == 'gaussian' else 'Generalized linear'} "
                f"mixed model ({self.spec['family']}, {self.spec.get('link', 'identity')} link), "
                f"Bayesian ({s['chains']} chains x {s['draws']} draws, "
                f"{self.spec.get('backend')}); posterior means and "
                f"{100 * self.conf_level:g}% central intervals",
                f"Formula: {self.spec['formula']}",
                "",
                "Fixed effects:",
                self.fixed_effects().round(4).to_string(),
                "",
                "Group SDs:",
                self.group_sds().round(4).to_string(index=False),
            ]
            cor = self.correlations()
            if len(cor):
                parts += ["", "Correlations:", cor.round(3).to_string(index=False)]
            if "sigma" in self.idata.posterior and self.spec["family"] == "gaussian":
                parts += ["", "Residual SD:", self.sigma().round(4).to_string()]
            disp = self.dispersion()
            if len(disp):
                title = "Thresholds:" if self.model.categories is not None else "Family parameters:"
                parts += ["", title, disp.round(4).to_string()]
            parts += ["", str(self.diagnostics())]
        return "\n".join(parts)

    __repr__ = __str__


def _sd_rows(model: ModelSpec, values) -> list[dict]:
    """Rows of a group-SD table; observation-level effects are labelled as overdispersion."""
    rows = []
    pf = model.parsed
    for b, v in zip(pf.blocks, values, strict=True):
        obs_level = is_observation_level(b, pf)
        for c, col in enumerate(b.columns):
            rows.append(
                {
                    "group": b.factor,
                    "effect": col,
                    "kind": "overdispersion" if obs_level else "group",
                    **v(c),
                }
            )
    return rows


class GLMMMLFit(MLFitSave, _MLInference, _MixedReports):
    """Laplace / adaptive-quadrature maximum-likelihood fit of a GLMM (the frequentist twin
    of a non-Gaussian formula model; see :func:`hierarch.freq.laplace.fit_glmm`).

    Examples
    --------
    >>> import hierarch
    >>> m = hierarch.model("incidence | trials(size) ~ C(period) + (1 | herd)",
    ...                    hierarch.load_dataset("cbpp"), family="binomial")
    >>> fit = m.fit(method="agq", n_agq=25)
    >>> round(fit.loglik, 2)
    -91.98
    """

    def __init__(self, model: ModelSpec, glmm, conf_level: float = 0.95) -> None:
        self.model = model
        self.glmm = glmm
        self.conf_level = conf_level

    @property
    def method(self) -> str:
        return "laplace" if self.glmm.n_agq <= 1 else "agq"

    def _check_values(self) -> dict[str, float]:
        return {"loglik": float(self.glmm.loglik)}

    @property
    def ml(self):
        """The estimates in the form the shared reporting functions read."""
        from types import SimpleNamespace

        g = self.glmm
        return SimpleNamespace(
            beta=g.beta,
            vcov=g.vcov,
            cov=g.cov,
            blocks=self.model.parsed.blocks,
            ranef=g.ranef,
            condvar=g.condvar,
            sigma=0.0,
        )

    @property
    def ml_theta(self) -> np.ndarray:
        """lme4's ``theta`` (the random effects' covariance factors)."""
        return self.glmm.theta

    @property
    def loglik(self) -> float:
        return self.glmm.loglik

    @property
    def aic(self) -> float:
        return self.glmm.aic

    @property
    def n_params(self) -> int:
        """Number of estimated parameters (fixed effects, theta, dispersion)."""
        return self.glmm.n_params

    @property
    def bic(self) -> float:
        return self.glmm.bic

    def fixed_effects(self) -> pd.DataFrame:
        """Estimates, standard errors (lme4's Hessian-based default), z values, p-values and
        Wald intervals (link scale)."""
        z = _z(self.conf_level)
        g = self.glmm
        df = pd.DataFrame(
            {"estimate": g.beta, "se": g.se}, index=pd.Index(self.model.parsed.x_names, name="coef")
        )
        df["z"] = df["estimate"] / df["se"]
        df["p"] = 2 * stats.norm.sf(np.abs(df["z"]))
        df["lower"], df["upper"] = df["estimate"] - z * df["se"], df["estimate"] + z * df["se"]
        return df

    def varcorr(self) -> pd.DataFrame:
        """Variance components as lme4's ``as.data.frame(VarCorr(fit))`` (link scale)."""
        return varcorr_table(self.model.parsed.blocks, self.glmm.cov)

    def group_sds(self) -> pd.DataFrame:
        """Random-effect SDs (link scale), one row per block and effect; ``kind`` marks an
        observation-level effect (one level per row) as ``overdispersion``; ``lower`` and
        ``upper`` are the profile interval at ``conf_level`` (as :meth:`confint`)."""
        return self._sd_intervals(
            pd.DataFrame(
                _sd_rows(
                    self.model,
                    [lambda c, C=C: {"estimate": float(np.sqrt(C[c, c]))} for C in self.glmm.cov],
                )
            )
        )

    def correlations(self) -> pd.DataFrame:
        vc = self.varcorr()
        cor = vc[vc["var2"].notna()]
        return cor.rename(columns={"sdcor": "estimate"})[["group", "var1", "var2", "estimate"]]

    def tau(self, factor: str | None = None) -> TauSummary:
        """The SD of the random intercept by ``factor`` (default: the first factor), on the
        link scale."""
        return _ml_tau(self, factor)

    def sigma(self) -> pd.DataFrame:
        """GLMMs have no residual SD (see :meth:`dispersion`)."""
        raise ValueError(_no_sigma(self.model.family))

    def icc(self) -> pd.DataFrame:
        """Intra-class correlation per grouping factor on the latent scale
        (:func:`hierarch.report.mixed.icc`; Nakagawa et al. 2017)."""
        return report_mixed.icc(self)

    def dispersion(self) -> pd.DataFrame:
        """The family's extra parameters (negative binomial ``k`` with ``Var = mu + mu^2/k``,
        gamma shape, beta precision ``phi``, Student-t ``sigma`` and ``df``, the zero
        probability ``zi`` of zero-inflated and hurdle families); empty for
        binomial / Poisson.  Where the Hessian behind the standard errors includes them
        (gamma, beta, inverse Gaussian, Student-t, zero-inflated and hurdle families, as
        glmmTMB's) also the ``scale`` the parameter is estimated on (``log``, or ``logit`` for
        a probability), its standard error there (``se_scale``) and the Wald interval on that
        scale (``lower``, ``upper``)."""
        g = self.glmm
        d = g.dispersion
        rows = [{"parameter": d[0], "estimate": d[1]}] if d else []
        rows += [{"parameter": k, "estimate": v} for k, v in g.family_params.items()]
        out = pd.DataFrame(rows)
        if rows and g.phi_cov is not None:  # Wald on the log / logit scale (glmmTMB's confint)
            from scipy.special import expit, logit

            z = _z(self.conf_level)
            links, ses = g.problem.fam.report(g.phi, g.phi_cov)
            out["scale"], out["se_scale"] = list(links), ses
            to = {"log": np.log, "logit": logit, "identity": lambda v: v}
            back = {"log": np.exp, "logit": expit, "identity": lambda v: v}
            for side, sign in (("lower", -1), ("upper", 1)):
                out[side] = [
                    back[lk](to[lk](est) + sign * z * se)
                    for lk, est, se in zip(links, out["estimate"], ses, strict=True)
                ]
        return out

    def ranef(self) -> dict[str, pd.DataFrame]:
        """Conditional modes by block with conditional SDs (``se_<effect>``)."""
        out = {}
        for i, (name, b) in enumerate(
            zip(self.model.block_names, self.model.parsed.blocks, strict=True)
        ):
            df = pd.DataFrame(
                self.glmm.ranef[i], index=pd.Index(b.levels, name=b.factor), columns=b.columns
            )
            for c, col in enumerate(b.columns):
                df[f"se_{col}"] = np.sqrt(self.glmm.condvar[i][:, c, c])
            out[name] = df
        return out

    def coef(self) -> dict[str, pd.DataFrame]:
        """Per-group coefficients: fixed effect + conditional mode (lme4's ``coef``)."""
        return _coef_table(
            self.model,
            dict(enumerate(self.glmm.ranef)),
            dict(zip(self.model.parsed.x_names, self.glmm.beta, strict=True)),
        )

    def __str__(self) -> str:
        g = self.glmm
        how = {
            0: "Laplace, fixed effects estimated in PIRLS: nAGQ = 0",
            1: "Laplace",
        }.get(g.n_agq, f"adaptive Gauss-Hermite quadrature ({g.n_agq})")
        pf = self.model.parsed
        lines = [
            f"Generalized linear mixed model fit by maximum likelihood ({how})",
            f"Family: {self.model.family} ({self.model.link})",
            f"Formula: {self.model.formula}",
            f"log-likelihood: {g.loglik:.4f}   AIC: {g.aic:.2f}   BIC: {g.bic:.2f}",
            "",
            *_residual_lines(self),
            "Random effects (link scale):",
        ]
        extra = (
            [f"{self.model.family} {g.dispersion[0]}: {g.dispersion[1]:.4f}"]
            if g.dispersion
            else []
        )
        what = "threshold" if getattr(self.model, "categories", None) else self.model.family
        extra += [f"{what} {k}: {v:.4f}" for k, v in g.family_params.items()]
        lines += _random_effect_lines(self.varcorr(), pf, g.n_obs, extra)
        lines += ["", "Fixed effects:", format_coef_table(self.fixed_effects())]
        lines += _correlation_lines(self)
        lines += [f"Note: {n}" for n in g.notes]
        return "\n".join(lines)

    __repr__ = __str__
