"""Formula models: ``hierarch.model("y ~ x + (x | g)", data)``, fitted by NUTS or by REML/ML.

The :class:`Model` describes (formula resolved against the data, priors); ``Model.build()``
returns the PyMC graph; ``Model.fit(method=...)`` fits it: ``"bayes"`` samples with NUTS,
``"reml"`` and ``"ml"`` run the frequentist twin (:mod:`hierarch.freq.lmm`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hierarch.families import _inverse_link, get_family
from hierarch.formula import FormulaError, ParsedFormula, parse_formula
from hierarch.freq.lmm import LMMFit, fit_lmm, varcorr_table
from hierarch.priors import Prior, resolve_priors
from hierarch.results import BayesFit
from hierarch.sampling import SamplerSettings, sample

__all__ = ["MixedBayesFit", "MixedMLFit", "Model", "model"]

_TRIALS_LHS = re.compile(
    r"^\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*\|\s*trials\(\s*([A-Za-z_.][A-Za-z0-9_.]*)"
    r"\s*\)\s*~(.*)$",
    re.S,
)


def _block_names(pf: ParsedFormula) -> list[str]:
    """A unique, readable name per random-effect block (``id``; ``Subject__Days`` ...)."""
    counts: dict[str, int] = {}
    for b in pf.blocks:
        counts[b.factor] = counts.get(b.factor, 0) + 1
    return [
        b.factor if counts[b.factor] == 1 else f"{b.factor}__{'_'.join(b.columns)}"
        for b in pf.blocks
    ]


def _check_structure(pf: ParsedFormula, gaussian: bool = True) -> None:
    n = pf.n
    q = 0
    for b in pf.blocks:
        if b.n_levels < 2:
            raise FormulaError(
                f"grouping factor {b.factor!r} has only {b.n_levels} level "
                f"({b.levels[0]!r}); a random effect needs at least 2 groups"
            )
        if gaussian and b.n_levels >= n:
            raise FormulaError(
                f"grouping factor {b.factor!r} has {b.n_levels} levels for {n} observations: "
                "each group needs more than one observation to separate the group effect "
                "from the residual (for one row per level, see the GLMM observation-level "
                "effects)"
            )
        for c, name in enumerate(b.columns):
            if name == "Intercept":
                continue
            col = b.Z[:, c]
            spread = pd.Series(col).groupby(b.codes).agg(lambda s: np.ptp(s.to_numpy()))
            if np.all(spread.to_numpy() < 1e-12):
                raise FormulaError(
                    f"random slope on {name!r} by {b.factor!r}: {name!r} is constant within "
                    "every group, so a per-group slope cannot be estimated (it is a "
                    "group-level predictor: put it in the fixed part only)"
                )
        q += b.n_levels * b.k
    p = pf.X.shape[1]
    if n <= p:
        raise FormulaError(f"too few observations: {n} rows for {p} fixed-effect coefficients")
    if np.linalg.matrix_rank(pf.X) < p:
        raise FormulaError(
            "the fixed-effect design is rank deficient (a column is a combination of others): "
            f"columns {', '.join(pf.x_names)}"
        )


class Model:
    """A mixed model described by an lme4-style formula.

    Parameters
    ----------
    formula : str
        ``"y ~ x + (x | g)"``, ``"y ~ x + (1 | g) + (0 + x | g)"``, ``"y ~ 1 + (1 | a/b)"``,
        ``"y ~ 1 + (1 | a) + (1 | b)"``, with categorical predictors (``C(x)`` or a string
        column) and interactions (``x:z``, ``x * z``).
    data : pandas.DataFrame
    family : str
        ``"gaussian"``, ``"bernoulli"``, ``"binomial"`` (trials by ``"m | trials(n) ~ ..."``
        or ``trials="n"``), ``"poisson"``, ``"negative_binomial"``, ``"gamma"``, ``"beta"``.
    priors : dict, optional
        Overrides of the default priors (see :meth:`default_priors`), by name:
        a fixed-effect coefficient name (``"week"``, ``"Intercept"``), ``"sigma"``,
        ``"sd"`` (every group SD), ``"sd_<block>"`` (one block's SDs), ``"lkj_eta"``.
    link : str, optional
        The link (default: the family's canonical one; see :mod:`hierarch.families`).
    trials : str, optional
        Column of binomial trials.
    aggregate : bool
        Bernoulli/binomial only: sum rows with identical design rows into binomial counts
        before sampling (:meth:`cells`); same posterior, less work.
    parameterization : {"auto", "centred", "non-centred"} or dict
        How group effects are sampled, for all blocks or per block name; ``"auto"`` chooses
        per block from how informative the groups are (see
        :meth:`_choose_parameterization`).  Recorded in the fit's spec.

    Examples
    --------
    >>> import hierarch
    >>> m = hierarch.model("weight ~ week + (week | id)", hierarch.load_dataset("pigs"))
    >>> fit = m.fit(method="reml")
    >>> round(fit.lmm.criterion, 1)
    1740.9
    """

    def __init__(
        self,
        formula: str,
        data: pd.DataFrame,
        family: str = "gaussian",
        priors: dict[str, Any] | None = None,
        parameterization: str | dict[str, str] = "auto",
        *,
        link: str | None = None,
        trials: str | None = None,
        aggregate: bool = True,
    ) -> None:
        self.aggregate = aggregate
        self.family_info = get_family(family)
        self.family = family
        self.link = self.family_info.check_link(link)
        self.formula = formula
        self.data = data
        m = _TRIALS_LHS.match(formula) if isinstance(formula, str) else None
        if m:  # "successes | trials(n) ~ ..."
            if trials is not None and trials != m.group(2):
                raise FormulaError(f"trials given twice: {m.group(2)!r} and {trials!r}")
            trials = m.group(2)
            formula = f"{m.group(1)} ~ {m.group(3)}"
        self.parsed = parse_formula(formula, data)
        if not self.parsed.blocks:
            raise FormulaError("the formula has no random effects; add a term like (1 | group)")
        self.trials_column = trials
        self.trials = None
        if trials is not None:
            if trials not in data.columns:
                raise FormulaError(f"trials column {trials!r} is not a column of the data")
            self.trials = pd.to_numeric(data[trials], errors="coerce").to_numpy(dtype=float)
            if np.isnan(self.trials).any():
                raise ValueError(
                    f"trials column {trials!r} has missing or non-numeric values in "
                    f"rows {list(data.index[np.isnan(self.trials)][:10])}"
                )
            if family != "binomial":
                raise ValueError(f"trials are only used by family 'binomial', not {family!r}")
        self.family_info.validate(self.parsed.y, data.index, self.parsed.response, self.trials)
        _check_structure(self.parsed, gaussian=family == "gaussian")
        self.block_names = _block_names(self.parsed)
        priors = dict(priors or {})
        if "lkj_eta" in priors and not isinstance(priors["lkj_eta"], Prior):
            priors["lkj_eta"] = _LKJEta(float(priors["lkj_eta"]))
        if "sd" in priors:  # one prior for every group SD
            sd = Prior.from_value(priors.pop("sd"))
            for bname in self.block_names:
                priors.setdefault(f"sd_{bname}", sd)
        self.priors = resolve_priors(self.default_priors(), priors)
        self._parameterization_choice = parameterization
        self._parameterization: dict[str, str] | None = None
        if parameterization != "auto":  # check an explicit choice at once
            self._parameterization = self._choose_parameterization(parameterization)

    def _glmm_auto_parameterization(self) -> dict[str, str]:
        """GLMMs: a group's information about its intercept is about ``sum_i w_i`` with the
        working weights ``w_i`` at the mean response (binomial ``n p (1 - p)``, Poisson ``mu``,
        others 1 per row); with a prior-scale SD of 0.5, ``alpha_j = 0.25 I_j / (1 + 0.25 I_j)``.
        Single-effect blocks sharing no column with another block are centred when the
        average alpha is at least 0.7 (e.g. 1,000 Bernoulli rows per group), else
        non-centred (e.g. cbpp's 15 herds)."""
        pf = self.parsed
        y = pf.y
        if self.family in ("bernoulli", "binomial"):
            n = self.trials if self.trials is not None else np.ones(pf.n)
            p = np.clip(y.sum() / n.sum(), 0.01, 0.99)
            w = n * p * (1 - p)
        elif self.family in ("poisson", "negative_binomial"):
            w = np.full(pf.n, max(float(y.mean()), 0.01))
        else:
            w = np.ones(pf.n)
        out = {}
        for bname, b in zip(self.block_names, pf.blocks, strict=True):
            info = np.bincount(b.codes, weights=w, minlength=b.n_levels)
            alpha = float(np.mean(0.25 * info / (1 + 0.25 * info)))
            shared = any(set(b.columns) & set(o.columns) for o in pf.blocks if o is not b)
            out[bname] = "centred" if b.k == 1 and not shared and alpha >= 0.7 else "non-centred"
        return out

    @property
    def parameterization(self) -> dict[str, str]:
        """Centred or non-centred, per block (``"auto"`` is resolved on first use)."""
        if self._parameterization is None:
            self._parameterization = self._choose_parameterization(self._parameterization_choice)
        return self._parameterization

    def _choose_parameterization(self, choice: str | dict[str, str]) -> dict[str, str]:
        """Centred or non-centred per block.

        ``"auto"`` fits the REML twin (fast) and computes each block's average pooling
        weight ``alpha = var_c / (var_c + sigma^2 / sum_i z_ic^2)`` over groups and effects:
        informative groups (``alpha >= 0.7``) are sampled centred, the rest non-centred
        (the funnel of weakly informed groups is what non-centring is for).  A block whose
        REML variance is at zero is always non-centred.  For now only single-effect blocks
        that share no column with another block (no crossed or nested partner) are centred:
        centred correlated blocks (an MvNormal per group) sampled an order of magnitude
        slower here, and centring two crossed factors leaves the intercept on a ridge.
        """
        valid = ("centred", "non-centred")
        if isinstance(choice, dict):
            unknown = set(choice) - set(self.block_names)
            if unknown:
                raise ValueError(
                    f"parameterization names unknown blocks {sorted(unknown)}; "
                    f"blocks: {', '.join(self.block_names)}"
                )
            out = {b: choice.get(b, "non-centred") for b in self.block_names}
        elif choice in valid:
            out = dict.fromkeys(self.block_names, choice)
        elif choice == "auto" and self.family != "gaussian":
            out = self._glmm_auto_parameterization()
        elif choice == "auto":
            lm = fit_lmm(self.parsed, reml=True)
            out = {}
            s2 = lm.sigma**2
            for bname, b, C in zip(self.block_names, self.parsed.blocks, lm.cov, strict=True):
                var = np.diag(C)
                zz = np.stack(
                    [
                        np.bincount(b.codes, weights=b.Z[:, c] ** 2, minlength=b.n_levels)
                        for c in range(b.k)
                    ],
                    axis=1,
                )
                alpha = var[None, :] / (var[None, :] + s2 / np.maximum(zz, 1e-12))
                informative = np.all(var > 1e-8 * s2) and float(alpha.mean()) >= 0.7
                shared = any(
                    set(b.columns) & set(o.columns) for o in self.parsed.blocks if o is not b
                )
                out[bname] = "centred" if informative and b.k == 1 and not shared else "non-centred"
        else:
            raise ValueError(
                f"parameterization must be 'auto', 'centred', 'non-centred' or a "
                f"dict per block, got {choice!r}"
            )
        bad = {k: v for k, v in out.items() if v not in valid}
        if bad:
            raise ValueError(f"parameterization values must be 'centred' or 'non-centred': {bad}")
        return out

    # ------------------------------------------------------------------ priors
    def default_priors(self) -> dict[str, Prior]:
        """Weakly informative priors scaled to the data (as rstanarm's defaults).

        With ``s_y`` the SD of the response and ``s_x`` the SD of a predictor column:
        ``Intercept ~ Normal(mean(y), 2.5 s_y)``; each other coefficient
        ``~ Normal(0, 2.5 s_y / s_x)``; ``sigma ~ HalfNormal(s_y)``; the group SD of an
        intercept ``~ HalfNormal(s_y)``, of a slope on ``x`` ``~ HalfNormal(s_y / s_x)``;
        correlations ``~ LKJ(eta = 2)``.

        Other families put the priors on the link scale, with ``s_y = 1``: the intercept is
        centred on the link of the mean response (``Normal(g(ybar), 2.5)``), coefficients
        ``Normal(0, 2.5 / s_x)``, group SDs ``HalfNormal(1)`` (intercepts) and
        ``HalfNormal(1 / s_x)`` (slopes); negative binomial ``alpha ~ Exponential(1)``,
        gamma ``shape ~ Exponential(0.1)``, beta ``kappa ~ Exponential(0.05)``.
        """
        pf = self.parsed
        gaussian = self.family == "gaussian"
        sy = (float(np.std(pf.y, ddof=1)) or 1.0) if gaussian else 1.0
        loc = self.family_info.intercept_location(pf.y, self.link, self.trials)
        priors: dict[str, Prior] = {}
        for j, name in enumerate(pf.x_names):
            sx = float(np.std(pf.X[:, j], ddof=1))
            if name == "Intercept" or sx == 0:
                priors[name] = Prior("Normal", mu=loc, sigma=2.5 * sy)
            else:
                priors[name] = Prior("Normal", mu=0.0, sigma=2.5 * sy / sx)
        if gaussian:
            priors["sigma"] = Prior("HalfNormal", sigma=sy)
        priors.update(self.family_info.default_extra_priors())
        for bname, b in zip(self.block_names, pf.blocks, strict=True):
            scales = []
            for c, col in enumerate(b.columns):
                sz = float(np.std(b.Z[:, c], ddof=1))
                scales.append(sy if col == "Intercept" or sz == 0 else sy / sz)
            priors[f"sd_{bname}"] = Prior("HalfNormal", sigma=scales)
        priors["lkj_eta"] = _LKJEta(2.0)
        return priors

    # ------------------------------------------------------------------ PyMC graph

    def _block_chol(self, pm, bname: str, b):
        """Group-SD prior (and LKJ for correlated effects) of one block: returns the Cholesky
        factor of the block covariance and records ``sd_<block>`` / ``corr_<block>``."""
        pri = self.priors
        sd_prior = pri[f"sd_{bname}"]
        if b.k == 1:
            sd = sd_prior.create(f"sd_{bname}", dims=f"{bname}_effect")
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
        pm.Deterministic(f"sd_{bname}", scale * sd_u, dims=f"{bname}_effect")
        pm.Deterministic(f"corr_{bname}", corr, dims=(f"{bname}_effect", f"{bname}_effect_bis"))
        return scale[:, None] * chol_u

    def _coords(self) -> dict[str, Any]:
        pf = self.parsed
        coords: dict[str, Any] = {"obs": np.arange(pf.n), "coef": pf.x_names}
        for bname, b in zip(self.block_names, pf.blocks, strict=True):
            coords.setdefault(b.factor, b.levels)
            coords[f"{bname}_effect"] = b.columns
            coords[f"{bname}_effect_bis"] = b.columns
        return coords

    def _beta(self, pm):
        pf, pri = self.parsed, self.priors
        mus = np.array([pri[n].params["mu"] for n in pf.x_names])
        sds = np.array([pri[n].params["sigma"] for n in pf.x_names])
        if all(pri[n].dist == "Normal" for n in pf.x_names):
            return pm.Normal("beta", mu=mus, sigma=sds, dims="coef")
        beta = pm.math.stack([pri[n].create(f"beta_{n}") for n in pf.x_names])
        return pm.Deterministic("beta", beta, dims="coef")

    # several grouping factors are integrated out through one dense q x q Cholesky factor
    # (q = total number of group effects) per gradient: cheap up to a few hundred
    MAX_MARGINAL_Q = 400
    #: above this many per-group Z'Z entries, the marginal model takes its statistics as data
    #: rather than graph constants (see :meth:`build_marginal`)
    STATS_AS_DATA = 4096

    @property
    def n_group_effects(self) -> int:
        return sum(b.n_levels * b.k for b in self.parsed.blocks)

    @property
    def can_marginalize(self) -> bool:
        """True when the group effects can be integrated out exactly: a Gaussian response
        (identity link) with one grouping factor (per-group cross-products), or several
        factors (crossed, nested) with at most ``MAX_MARGINAL_Q`` group effects in all."""
        if self.family != "gaussian" or self.link != "identity":
            return False
        return self._single_factor or self.n_group_effects <= self.MAX_MARGINAL_Q

    @property
    def _single_factor(self) -> bool:
        return len({b.factor for b in self.parsed.blocks}) == 1

    def _global_stats(self) -> dict[str, np.ndarray]:
        """Cross-products of the whole data for several grouping factors (computed once):
        ``Z`` is n x q, levels-major within each block, blocks in formula order."""
        from scipy import sparse

        pf = self.parsed
        n = pf.n
        mats = []
        for b in pf.blocks:
            rows = np.repeat(np.arange(n), b.k)
            cols = (b.codes[:, None] * b.k + np.arange(b.k)[None, :]).ravel()
            mats.append(sparse.csr_matrix((b.Z.ravel(), (rows, cols)), shape=(n, b.n_levels * b.k)))
        Z = sparse.hstack(mats).tocsr()
        X, y = pf.X, pf.y - pf.offset_or_zero
        return {
            "n": float(n),
            "yty": float(y @ y),
            "Xty": X.T @ y,
            "XtX": X.T @ X,
            "Zty": np.asarray(Z.T @ y),
            "ZtX": np.asarray(Z.T @ X),
            "ZtZ": np.asarray((Z.T @ Z).todense()),
        }

    def _lambda_index(self):
        """Positions of every block's Cholesky entries in the q x q block-diagonal Lambda."""
        rows, cols, blk, ii, jj = [], [], [], [], []
        off = 0
        for bi, b in enumerate(self.parsed.blocks):
            for i in range(b.k):
                for j in range(i + 1):
                    base = off + np.arange(b.n_levels) * b.k
                    rows.append(base + i)
                    cols.append(base + j)
                    blk.append(np.full(b.n_levels, bi))
                    ii.append(np.full(b.n_levels, i))
                    jj.append(np.full(b.n_levels, j))
            off += b.n_levels * b.k
        return [np.concatenate(v) for v in (rows, cols, blk, ii, jj)]

    def _group_stats(self) -> dict[str, np.ndarray]:
        """Per-group sufficient statistics of the marginal likelihood (computed once)."""
        pf = self.parsed
        codes = pf.blocks[0].codes
        J = pf.blocks[0].n_levels
        Z = np.hstack([b.Z for b in pf.blocks])
        X, y = pf.X, pf.y - pf.offset_or_zero  # a known offset moves the response

        def gsum(w):
            return np.bincount(codes, weights=w, minlength=J)

        def cross(A, B):
            return np.stack(
                [
                    np.stack([gsum(A[:, i] * B[:, j]) for j in range(B.shape[1])], -1)
                    for i in range(A.shape[1])
                ],
                1,
            )

        return {
            "n": gsum(np.ones(len(y))),
            "yty": gsum(y * y),
            "Xty": cross(X, y[:, None])[..., 0],
            "XtX": cross(X, X),
            "Zty": cross(Z, y[:, None])[..., 0],
            "ZtX": cross(Z, X),
            "ZtZ": cross(Z, Z),
        }

    def _add_group_effects(self, idata, seed: int | None, chunk: int = 250) -> None:
        """Draw the group effects from their exact conditional posterior, draw by draw:
        ``b_j | beta, sigma, Sigma, y ~ N(L A_j^{-1} L' Z_j' r_j, sigma^2 L A_j^{-1} L')``."""
        import xarray as xr

        pf = self.parsed
        if not self._single_factor:
            return self._add_group_effects_global(idata, seed, chunk)
        st = self._group_stats()
        post = idata.posterior
        nc, nd = post.sizes["chain"], post.sizes["draw"]
        S = nc * nd

        def flat(name):
            v = post[name].values
            return v.reshape(S, *v.shape[2:])

        beta, sigma = flat("beta"), flat("sigma")
        chols = self._chol_draws(post, S)
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
        for bname, b in zip(self.block_names, pf.blocks, strict=True):
            vals = b_all[:, :, off : off + b.k].reshape(nc, nd, J, b.k)
            off += b.k
            post[f"b_{bname}"] = xr.DataArray(
                vals,
                dims=("chain", "draw", b.factor, f"{bname}_effect"),
                coords={b.factor: b.levels, f"{bname}_effect": b.columns},
            )
        idata.posterior = post

    def _chol_draws(self, post, S):
        pf = self.parsed
        chols = []
        for bname, b in zip(self.block_names, pf.blocks, strict=True):
            v = post[f"sd_{bname}"].values
            sd = v.reshape(S, *v.shape[2:])
            if b.k == 1:
                chols.append(sd[:, :, None])
            else:
                c = post[f"corr_{bname}"].values
                corr = c.reshape(S, *c.shape[2:])
                chols.append(sd[:, :, None] * np.linalg.cholesky(corr))
        return chols

    def _add_group_effects_global(self, idata, seed: int | None, chunk: int = 100) -> None:
        """Several factors: ``b | beta, sigma, Sigma, y ~ N(Lam A^-1 Lam' Z'r,
        sigma^2 Lam A^-1 Lam')`` with ``A = sigma^2 I + Lam' Z'Z Lam`` (q x q), per draw."""
        import xarray as xr

        pf = self.parsed
        st = self._global_stats()
        post = idata.posterior
        nc, nd = post.sizes["chain"], post.sizes["draw"]
        S = nc * nd
        beta = post["beta"].values.reshape(S, -1)
        sigma = post["sigma"].values.reshape(S)
        chols = self._chol_draws(post, S)
        rows, cols, blk, ii, jj = self._lambda_index()
        q = self.n_group_effects
        rng = np.random.default_rng(seed)
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
        off = 0
        for bname, b in zip(self.block_names, pf.blocks, strict=True):
            size = b.n_levels * b.k
            vals = b_all[:, off : off + size].reshape(nc, nd, b.n_levels, b.k)
            off += size
            post[f"b_{bname}"] = xr.DataArray(
                vals,
                dims=("chain", "draw", b.factor, f"{bname}_effect"),
                coords={b.factor: b.levels, f"{bname}_effect": b.columns},
            )
        idata.posterior = post

    def _build_marginal_global(self):
        """Several grouping factors: ``y ~ N(X beta, sigma^2 I + Z Lam Lam' Z')`` through the
        Woodbury identity on whole-data cross-products: with ``A = sigma^2 I + Lam'Z'Z Lam``
        (q x q, one dense Cholesky per gradient), ``log|V| = (n - q) log sigma^2 + log|A|``
        and ``r'V^-1 r = (r'r - |chol(A)^-1 Lam' Z'r|^2) / sigma^2``."""
        import pymc as pm
        import pytensor.tensor as pt

        pf = self.parsed
        q = self.n_group_effects
        rows, cols, blk, ii, jj = self._lambda_index()
        st = self._global_stats()
        self._marginal_digest = _digest(st)
        with pm.Model(coords=self._coords()) as m:
            beta = self._beta(pm)
            chols = [
                self._block_chol(pm, bn, b)
                for bn, b in zip(self.block_names, pf.blocks, strict=True)
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
            sigma = self.priors["sigma"].create("sigma")
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

    def build_marginal(self):
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

        if not self.can_marginalize:
            raise ValueError(
                "exact marginalization needs a Gaussian model (identity link) with one "
                f"grouping factor, or several with at most {self.MAX_MARGINAL_Q} group effects "
                f"in all (this one has {self.n_group_effects}); use the plain model "
                "(marginalize=False)"
            )
        if not self._single_factor:
            return self._build_marginal_global()
        pf = self.parsed
        st = self._group_stats()
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
        as_data = J * K * (K + 1) // 2 > self.STATS_AS_DATA
        self._marginal_digest = None if as_data else _digest(stats)
        with pm.Model(coords=self._coords()) as m:
            if as_data:
                stats = {k: pm.Data(f"stat_{k}", v) for k, v in stats.items()}
            beta = self._beta(pm)
            chols = [
                self._block_chol(pm, bn, b)
                for bn, b in zip(self.block_names, pf.blocks, strict=True)
            ]
            L = chols[0] if len(chols) == 1 else pt.linalg.block_diag(*chols)
            sigma = self.priors["sigma"].create("sigma")
            s2 = sigma**2
            rtr = (
                stats["yty"]
                - 2 * pt.dot(stats["Xty"], beta)
                + pt.dot(beta, pt.dot(stats["XtX"], beta))
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
        return m

    def build(self):
        """Build (do not sample) the PyMC model: group effects centred or non-centred per
        block (:attr:`parameterization`), LKJ-Cholesky correlated effects, coordinates
        ``obs``, ``coef`` and one per grouping factor."""
        import pymc as pm

        pf = self.parsed
        cells = self.cells()
        obs = "obs" if cells is None else "cell"
        coords = self._coords()
        if cells is not None:
            coords["cell"] = np.arange(len(cells["y"]))
        with pm.Model(coords=coords) as m:
            X = pm.Data("X", pf.X if cells is None else cells["X"], dims=(obs, "coef"))
            beta = self._beta(pm)
            mu = X @ beta
            if pf.offset is not None:
                off = pf.offset if cells is None else cells["offset"]
                mu = mu + pm.Data("offset", off, dims=obs)
            centred_cols: set[str] = set()  # fixed columns already used as a centring mean
            for i, (bname, b) in enumerate(zip(self.block_names, pf.blocks, strict=True)):
                codes = pm.Data(
                    f"codes_{bname}", b.codes if cells is None else cells["codes"][i], dims=obs
                )
                # a random intercept's Z is a column of ones: left out of the graph (a smaller
                # graph compiles faster); scalar blocks use elementwise products, not matmuls
                Zb = None
                if tuple(b.columns) != ("Intercept",):
                    Zb = pm.Data(
                        f"Z_{bname}",
                        b.Z if cells is None else cells["Z"][i],
                        dims=(obs, f"{bname}_effect"),
                    )
                dims = (b.factor, f"{bname}_effect")
                chol = self._block_chol(pm, bname, b)
                if self.parameterization[bname] == "non-centred":
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
                if Zb is None:
                    mu = mu + beff[:, 0][codes]  # 1-d indexing: a simpler Op to compile
                elif b.k == 1:
                    mu = mu + Zb[:, 0] * beff[:, 0][codes]
                else:
                    mu = mu + (Zb * beff[codes]).sum(axis=1)
            if self.family == "gaussian":
                sigma = self.priors["sigma"].create("sigma")
                y = pm.Data("y_obs", pf.y, dims="obs")
                pm.Normal("y", mu=_inverse_link(self.link, mu), sigma=sigma, observed=y, dims="obs")
            elif cells is not None:
                binomial = get_family("binomial")
                y = pm.Data("y_obs", cells["y"], dims="cell")
                n = pm.Data("trials", cells["n"], dims="cell")
                binomial.likelihood(pm, self.link, mu, y, n, self.priors, dims="cell")
            else:
                y = pm.Data("y_obs", pf.y, dims="obs")
                n = None if self.trials is None else pm.Data("trials", self.trials, dims="obs")
                self.family_info.likelihood(pm, self.link, mu, y, n, self.priors)
        return m

    def _cache_key(self, pm_model) -> tuple:
        """Structure key for reusing a compiled model (:func:`hierarch.sampling.model_key`)."""
        from hierarch.sampling import model_key

        marginal = "marginal_loglik" in pm_model.named_vars
        digest = getattr(self, "_marginal_digest", None) if marginal else None
        return model_key(pm_model, (*_structure(self, marginal), digest))

    def cells(self) -> dict[str, Any] | None:
        """Bernoulli / binomial rows with identical design rows (fixed and random, group
        included) summed into binomial counts, computed once: the same posterior (the
        likelihoods differ by a constant) with fewer terms.  ``None`` when it does not apply
        (other families, ``aggregate=False``, or no two rows alike)."""
        if not self.aggregate or self.family not in ("bernoulli", "binomial"):
            return None
        pf = self.parsed
        cols = [*pf.X.T, pf.offset_or_zero]
        for b in pf.blocks:
            cols += [b.codes, *b.Z.T]
        # rows alike: hash-factorize column by column (linear time; np.unique(axis=0) sorts
        # the rows, seconds for a million), cells numbered in order of first appearance
        inverse = np.zeros(pf.n, dtype=np.int64)
        n_cells = 1
        for col in cols:
            codes, uniques = pd.factorize(col)
            inverse, cells_ = pd.factorize(inverse * len(uniques) + codes)
            n_cells = len(cells_)
        if n_cells == pf.n:
            return None
        trials = self.trials if self.family == "binomial" else np.ones(pf.n)
        first = np.empty(n_cells, dtype=np.int64)
        first[inverse[::-1]] = np.arange(pf.n)[::-1]  # the last write is the first occurrence
        return {
            "X": pf.X[first],
            "offset": pf.offset_or_zero[first],
            "codes": [b.codes[first] for b in pf.blocks],
            "Z": [b.Z[first] for b in pf.blocks],
            "y": np.bincount(inverse, weights=pf.y).astype(np.int64),
            "n": np.bincount(inverse, weights=trials).astype(np.int64),
        }

    def _fit_glmm_ml(self, method: str, n_agq: int, conf_level: float):
        from hierarch.freq.laplace import LAPLACE_FAMILIES, fit_glmm

        pf = self.parsed
        if method == "agq" and n_agq < 2:
            n_agq = 25
        if method == "laplace":
            n_agq = 1
        if n_agq > 1 and (len(pf.blocks) != 1 or pf.blocks[0].k != 1):
            raise ValueError(
                "adaptive quadrature (method='agq') needs a single scalar random effect; this "
                f"model has {sum(b.k for b in pf.blocks)} random-effect terms "
                f"({', '.join(self.block_names)}): use method='laplace' or 'bayes'"
            )
        if self.family not in LAPLACE_FAMILIES:
            raise ValueError(f"no Laplace twin for family {self.family!r}")
        glmm = fit_glmm(
            pf.y,
            pf.X,
            [(b.Z, b.codes, b.n_levels) for b in pf.blocks],
            family=self.family,
            link=self.link,
            trials=self.trials if self.family == "binomial" else None,
            offset=pf.offset,
            n_agq=n_agq,
        )
        return GLMMMLFit(self, glmm, conf_level)

    # ------------------------------------------------------------------ fitting
    def fit(
        self,
        method: str = "bayes",
        *,
        draws: int = 1000,
        tune: int = 1000,
        chains: int = 4,
        target_accept: float = 0.9,
        sampler: str = "auto",
        random_seed: int | None = None,
        progressbar: bool | None = None,
        conf_level: float = 0.95,
        marginalize: bool | str = "auto",
        n_agq: int = 1,
    ):
        """Fit the model.

        Parameters
        ----------
        method : {"bayes", "reml", "ml", "laplace", "agq"}
            NUTS on :meth:`build`'s graph, or the frequentist twin: REML/ML for Gaussian
            models, Laplace or adaptive Gauss-Hermite quadrature (``n_agq`` points) for
            binomial, Bernoulli and Poisson models with one scalar random effect (so far).
        draws, tune, chains, target_accept, sampler, random_seed, progressbar
            NUTS settings (Bayesian only).
        conf_level : float
            Level of reported intervals.
        marginalize : bool or "auto"
            Sample the fixed effects and variance parameters under the exact marginal
            likelihood (group effects integrated out, :meth:`build_marginal`), then draw the
            group effects from their exact conditional posterior: the same posterior and the
            same variables as the plain model, at a fraction of the cost.  ``"auto"`` does so
            whenever it is exact (Gaussian response, one grouping factor).
        """
        if method in ("reml", "ml"):
            if self.family != "gaussian" or self.link != "identity":
                raise ValueError(
                    f"method {method!r} fits linear mixed models; for family "
                    f"{self.family!r} use method='laplace' or 'agq'"
                )
            pf = self.parsed
            if pf.offset is not None:  # a known offset moves the response
                pf = dataclasses.replace(pf, y=pf.y - pf.offset)
            return MixedMLFit(self, fit_lmm(pf, reml=method == "reml"), conf_level)
        if method in ("laplace", "agq"):
            return self._fit_glmm_ml(method, n_agq, conf_level)
        if method != "bayes":
            raise ValueError(
                f"method must be 'bayes', 'reml', 'ml', 'laplace' or 'agq', got {method!r}"
            )
        settings = SamplerSettings(draws, tune, chains, target_accept, sampler, random_seed)
        notes = []
        if marginalize == "auto":
            marginalize = self.can_marginalize
            if not marginalize and self.family == "gaussian":
                notes.append(
                    "group effects not integrated out: exact marginalization covers one "
                    f"grouping factor, or several with at most {self.MAX_MARGINAL_Q} group "
                    f"effects in all (this model has {self.n_group_effects}); the plain model "
                    "was sampled"
                )
        pm_model = self.build_marginal() if marginalize else self.build()
        idata, backend = sample(
            pm_model, settings, progressbar=progressbar, cache_key=self._cache_key(pm_model)
        )
        if marginalize:
            self._add_group_effects(idata, random_seed)
        cols = self.parsed.columns_used + ((self.trials_column,) if self.trials_column else ())
        _store_data(idata, self.data, cols)
        spec = {
            "model": "mixed",
            "formula": self.formula,
            "family": self.family,
            "link": self.link,
            "trials": self.trials_column,
            "response": self.parsed.response,
            "x_names": self.parsed.x_names,
            "blocks": [
                {"name": n, "factor": b.factor, "columns": b.columns}
                for n, b in zip(self.block_names, self.parsed.blocks, strict=True)
            ],
            "conf_level": conf_level,
            "priors": {k: p.to_dict() for k, p in self.priors.items()},
            "sampler": settings.to_dict(),
            "backend": backend,
            "parameterization": "marginalized" if marginalize else self.parameterization,
            "marginalized": bool(marginalize),
            "notes": notes,
        }
        fit = MixedBayesFit(idata, spec)
        fit._model = self
        fit.diagnostics(warn=True, stacklevel=4)
        return fit


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


def _digest(stats: dict[str, Any]) -> str:
    """A digest of the marginal model's constant statistics (part of its cache key)."""
    import hashlib

    h = hashlib.sha1()
    for k in sorted(stats):
        h.update(k.encode())
        h.update(np.ascontiguousarray(np.asarray(stats[k], dtype=float)).tobytes())
    return h.hexdigest()


def _structure(model: Model, marginal: bool = False) -> tuple:
    # a marginalized model has no group effects to centre: its parameterization (which for
    # Gaussian models means a REML fit, seconds on a million rows) is not asked for
    return (
        "mixed",
        model.formula,
        model.family,
        model.link,
        tuple(model.parsed.x_names),
        tuple((b.factor, tuple(b.columns)) for b in model.parsed.blocks),
        # prior values are constants of the graph: a refit with other priors compiles again
        tuple(sorted((k, repr(sorted(p.to_dict().items()))) for k, p in model.priors.items())),
        "marginalized" if marginal else tuple(sorted(model.parameterization.items())),
    )


class _LKJEta(Prior):
    """The LKJ shape parameter: a fixed value, not a distribution."""

    def __init__(self, value: float = 2.0) -> None:
        self.dist = "LKJ"
        self.params = {"value": float(value)}


def model(
    formula: str,
    data: pd.DataFrame,
    family: str = "gaussian",
    priors: dict[str, Any] | None = None,
    parameterization: str | dict[str, str] = "auto",
    *,
    link: str | None = None,
    trials: str | None = None,
    aggregate: bool = True,
) -> Model:
    """Describe a mixed model with an lme4-style formula (see :class:`Model`).

    Examples
    --------
    >>> import hierarch
    >>> m = hierarch.model("Reaction ~ Days + (Days | Subject)",
    ...                    hierarch.load_dataset("sleepstudy"))
    >>> [round(x, 2) for x in m.fit(method="reml").lmm.beta]
    [251.41, 10.47]
    """
    return Model(
        formula,
        data,
        family=family,
        priors=priors,
        parameterization=parameterization,
        link=link,
        trials=trials,
        aggregate=aggregate,
    )


# ---------------------------------------------------------------------- results
def _z(level: float) -> float:
    return float(stats.norm.ppf(0.5 + level / 2))


class _MixedReports:
    """Reporting methods shared by the ML and the Bayesian fits (pure functions in
    :mod:`hierarch.report_mixed`)."""

    def ppc(self, n_draws: int = 200, random_seed: int | None = None) -> pd.DataFrame:
        """Posterior predictive replicates (see :func:`report_mixed.ppc`)."""
        from hierarch import report_mixed

        return report_mixed.ppc(self, n_draws, random_seed)

    def predict(
        self,
        newdata: pd.DataFrame,
        kind: str = "conditional",
        prob: float | None = None,
        random_seed: int | None = None,
    ) -> pd.DataFrame:
        """Predictions for new rows (see :func:`report_mixed.predict`)."""
        from hierarch import report_mixed

        return report_mixed.predict(self, newdata, kind, prob, random_seed)

    def loo(self):
        """PSIS-LOO via ArviZ (see :func:`report_mixed.loo`)."""
        from hierarch import report_mixed

        return report_mixed.loo(self)

    def coefficients(self, factor: str | None = None, scale: str = "link") -> pd.DataFrame:
        """Per-group coefficients with intervals (see :func:`report_mixed.coefficients`)."""
        from hierarch import report_mixed

        return report_mixed.coefficients(self, factor, scale)

    def shrinkage(self, factor: str | None = None, scale: str = "link") -> pd.DataFrame:
        """No / partial / complete pooling per group (see :func:`report_mixed.shrinkage`)."""
        from hierarch import report_mixed

        return report_mixed.shrinkage(self, factor, scale)

    def new_group(
        self,
        newdata: pd.DataFrame | None = None,
        prob: float | None = None,
        random_seed: int | None = None,
        scale: str = "link",
    ) -> pd.DataFrame:
        """Predictions for a new group (see :func:`report_mixed.new_group`)."""
        from hierarch import report_mixed

        return report_mixed.new_group(self, newdata, prob, random_seed, scale)


class MixedMLFit(_MixedReports):
    """A REML/ML fit of a formula model (the frequentist twin)."""

    method_label = {"reml": "REML", "ml": "maximum likelihood"}

    def __init__(self, model: Model, lmm: LMMFit, conf_level: float = 0.95) -> None:
        self.model = model
        self.lmm = lmm
        self.conf_level = conf_level

    @property
    def method(self) -> str:
        return self.lmm.method

    @property
    def ml(self) -> LMMFit:
        """The estimates in the form the shared reporting functions read."""
        return self.lmm

    def fixed_effects(self) -> pd.DataFrame:
        """Estimates, standard errors and Wald intervals of the fixed effects."""
        z = _z(self.conf_level)
        fe = self.lmm.fixed_effects
        fe["lower"] = fe["estimate"] - z * fe["se"]
        fe["upper"] = fe["estimate"] + z * fe["se"]
        fe.index.name = "coef"
        return fe

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
        """Estimated group SDs, one row per block and effect (as the Bayesian fit's table)."""
        rows = [
            {"group": b.factor, "effect": col, "estimate": float(np.sqrt(C[c, c]))}
            for b, C in zip(self.lmm.blocks, self.lmm.cov, strict=True)
            for c, col in enumerate(b.columns)
        ]
        return pd.DataFrame(rows)

    def correlations(self) -> pd.DataFrame:
        """Estimated correlations of correlated group effects (NaN when a variance is 0)."""
        vc = self.varcorr()
        cor = vc[vc["var2"].notna()]
        return cor.rename(columns={"sdcor": "estimate"})[["group", "var1", "var2", "estimate"]]

    def sigma(self) -> float:
        """Estimated residual SD."""
        return self.lmm.sigma

    def icc(self) -> float:
        """Intra-class correlation for random-intercept models: tau^2 / (sum tau^2 + sigma^2)."""
        return _icc(self.model, [np.diag(c) for c in self.lmm.cov], self.lmm.sigma**2)

    def __str__(self) -> str:
        lm = self.lmm
        crit = "REML criterion" if lm.method == "reml" else "deviance (-2 log-likelihood)"
        lines = [
            f"Linear mixed model fit by {self.method_label[lm.method]}",
            f"Formula: {self.model.formula}",
            f"{crit}: {lm.criterion:.4f}   log-likelihood: {lm.loglik:.4f}   AIC: {lm.aic:.2f}",
            "",
            "Random effects:",
        ]
        lines += _random_effect_lines(self.varcorr(), self.model.parsed, lm.n_obs)
        lines += ["", "Fixed effects:", self.fixed_effects().round(5).to_string()]
        lines += [f"Note: {n}" for n in lm.notes]
        return "\n".join(lines)

    __repr__ = __str__


def _random_effect_lines(vc: pd.DataFrame, pf: ParsedFormula, n_obs: int, extra=()) -> list[str]:
    """The random-effects part of a printed ML summary (as lme4's): SDs, correlations, the
    residual SD or family parameter, and the numbers of observations and groups."""
    lines = []
    for _, r in vc.iterrows():
        if r["group"] == "Residual":
            lines.append(f"  {'Residual':<14s}{'':<14s} SD {r['sdcor']:.4f}")
        elif pd.isna(r["var2"]):
            blk = next(b for b in pf.blocks if b.factor == r["group"])
            tag = "  (overdispersion)" if _is_observation_level(blk, pf.n) else ""
            lines.append(f"  {r['group']:<14s}{r['var1']:<14s} SD {r['sdcor']:.4f}{tag}")
        else:
            value = (
                f"{r['sdcor']:.3f}" if np.isfinite(r["sdcor"]) else "undefined (a variance is zero)"
            )
            lines.append(
                f"  {r['group']:<14s}{'cor(' + r['var1'] + ', ' + r['var2'] + ')':<14s}    {value}"
            )
    lines += [f"  {e}" for e in extra]
    ng = ", ".join(f"{b.factor}, {b.n_levels}" for b in _unique_factors(pf.blocks))
    lines.append(f"Number of obs: {n_obs}; groups: {ng}")
    return lines


def _unique_factors(blocks):
    seen, out = set(), []
    for b in blocks:
        if b.factor not in seen:
            seen.add(b.factor)
            out.append(b)
    return out


def _coef_table(
    model: Model, ranef: dict[int, np.ndarray], beta: dict[str, float]
) -> dict[str, pd.DataFrame]:
    """Per factor: fixed effects plus the factor's random effects on the matching columns."""
    out: dict[str, pd.DataFrame] = {}
    for b in _unique_factors(model.parsed.blocks):
        df = pd.DataFrame(index=pd.Index(b.levels, name=b.factor))
        for name, val in beta.items():
            df[name] = val
        for i, blk in enumerate(model.parsed.blocks):
            if blk.factor != b.factor:
                continue
            for c, col in enumerate(blk.columns):
                if col in df.columns:
                    df[col] = df[col] + ranef[i][:, c]
        out[b.factor] = df
    return out


def _icc(model: Model, block_vars: list[np.ndarray], sigma2: float) -> float:
    intercepts = [
        v[blk.columns.index("Intercept")]
        for blk, v in zip(model.parsed.blocks, block_vars, strict=True)
        if "Intercept" in blk.columns
    ]
    if not intercepts or any(
        blk.k > 1 or blk.columns != ["Intercept"] for blk in model.parsed.blocks
    ):
        raise ValueError(
            "the ICC is defined here for random-intercept models only "
            "(with random slopes the ICC depends on the predictor values)"
        )
    return float(intercepts[0] / (sum(intercepts) + sigma2))


_DATA_PREFIX = "data__"


def _store_data(idata, data: pd.DataFrame, columns) -> None:
    """Keep the columns the formula uses in ``constant_data`` (so a saved fit can be re-read
    and reported on without the original DataFrame)."""
    import xarray as xr

    arrays = {}
    for col in columns:
        values = data[col].to_numpy()
        if values.dtype == object or isinstance(data[col].dtype, pd.CategoricalDtype):
            values = data[col].astype(str).to_numpy(dtype=str)
        arrays[f"{_DATA_PREFIX}{col}"] = xr.DataArray(values, dims=["obs"])
    ds = xr.Dataset(arrays, coords={"obs": np.arange(len(data))})
    if "constant_data" in idata.groups():
        idata.constant_data = idata.constant_data.assign(ds.data_vars)
    else:
        idata.add_groups(constant_data=ds)


class MixedBayesFit(_MixedReports, BayesFit):
    """A Bayesian formula-model fit: InferenceData plus spec."""

    model_name = "mixed"
    _model: Model | None = None

    @property
    def data(self) -> pd.DataFrame:
        """The data the model was fitted to (read back from the InferenceData)."""
        cd = self.idata.constant_data
        cols = [v for v in cd.data_vars if str(v).startswith(_DATA_PREFIX)]
        return pd.DataFrame({str(c)[len(_DATA_PREFIX) :]: cd[c].values for c in cols})

    @property
    def model(self) -> Model:
        """The :class:`Model` (rebuilt from the spec and the stored data after loading)."""
        if self._model is None:
            self._model = Model(
                self.spec["formula"],
                self.data,
                family=self.spec["family"],
                link=self.spec.get("link"),
                trials=self.spec.get("trials"),
            )
        return self._model

    @property
    def block_names(self) -> list[str]:
        return [b["name"] for b in self.spec["blocks"]]

    def _check_names(self) -> list[str]:
        names = ["beta", "sigma", "alpha", "shape", "kappa"]
        for n in self.block_names:
            names += [f"sd_{n}", f"corr_{n}", f"z_{n}", f"c_{n}"]
        return [v for v in names if v in self.idata.posterior]

    def _summ(self, var: str) -> pd.DataFrame:
        a = (1 - self.conf_level) / 2
        da = self.idata.posterior[var]
        q = da.quantile([a, 1 - a], dim=("chain", "draw"))
        df = pd.DataFrame(
            {
                "mean": da.mean(("chain", "draw")).values.ravel(),
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
                0, "kind", "overdispersion" if _is_observation_level(b, model.parsed.n) else "group"
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
                            "mean": x.mean(),
                            "sd": x.std(ddof=1),
                            "lower": np.quantile(x, a),
                            "upper": np.quantile(x, 1 - a),
                        }
                    )
        return pd.DataFrame(rows)

    def sigma(self) -> pd.DataFrame:
        """Posterior summary of the residual SD."""
        return self._summ("sigma").set_axis(["sigma"])

    def icc(self) -> pd.DataFrame:
        """Posterior of the intra-class correlation (random-intercept models)."""
        from hierarch import report_mixed

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
            if "sigma" in self.idata.posterior:
                parts += ["", "Residual SD:", self.sigma().round(4).to_string()]
            for extra in ("alpha", "shape", "kappa"):
                if extra in self.idata.posterior:
                    parts += [
                        "",
                        f"{extra}:",
                        self._summ(extra).set_axis([extra]).round(4).to_string(),
                    ]
            parts += ["", str(self.diagnostics())]
        return "\n".join(parts)

    __repr__ = __str__


def _is_observation_level(block, n_obs: int) -> bool:
    """A scalar intercept whose every level has exactly one row: an overdispersion term."""
    return (
        block.columns == ["Intercept"]
        and block.n_levels == n_obs
        and np.all(np.bincount(block.codes, minlength=block.n_levels) == 1)
    )


def _sd_rows(model: Model, values) -> list[dict]:
    """Rows of a group-SD table; observation-level effects are labelled as overdispersion."""
    rows = []
    pf = model.parsed
    for b, v in zip(pf.blocks, values, strict=True):
        obs_level = _is_observation_level(b, pf.n)
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


class GLMMMLFit(_MixedReports):
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

    def __init__(self, model: Model, glmm, conf_level: float = 0.95) -> None:
        self.model = model
        self.glmm = glmm
        self.conf_level = conf_level

    @property
    def method(self) -> str:
        return "laplace" if self.glmm.n_agq == 1 else "agq"

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
        observation-level effect (one level per row) as ``overdispersion``."""
        return pd.DataFrame(
            _sd_rows(
                self.model,
                [lambda c, C=C: {"estimate": float(np.sqrt(C[c, c]))} for C in self.glmm.cov],
            )
        )

    def correlations(self) -> pd.DataFrame:
        vc = self.varcorr()
        cor = vc[vc["var2"].notna()]
        return cor.rename(columns={"sdcor": "estimate"})[["group", "var1", "var2", "estimate"]]

    def dispersion(self) -> pd.DataFrame:
        """The family's extra parameter (negative binomial ``k`` with ``Var = mu + mu^2/k``,
        gamma shape, beta precision ``phi``); empty for binomial / Poisson."""
        d = self.glmm.dispersion
        return pd.DataFrame([{"parameter": d[0], "estimate": d[1]}] if d else [])

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
        how = "Laplace" if g.n_agq == 1 else f"adaptive Gauss-Hermite quadrature ({g.n_agq})"
        pf = self.model.parsed
        lines = [
            f"Generalized linear mixed model fit by maximum likelihood ({how})",
            f"Family: {self.model.family} ({self.model.link})",
            f"Formula: {self.model.formula}",
            f"log-likelihood: {g.loglik:.4f}   AIC: {g.aic:.2f}   BIC: {g.bic:.2f}",
            "",
            "Random effects (link scale):",
        ]
        extra = (
            [f"{self.model.family} {g.dispersion[0]}: {g.dispersion[1]:.4f}"]
            if g.dispersion
            else []
        )
        lines += _random_effect_lines(self.varcorr(), pf, g.n_obs, extra)
        lines += ["", "Fixed effects:", self.fixed_effects().round(5).to_string()]
        lines += [f"Note: {n}" for n in g.notes]
        return "\n".join(lines)

    __repr__ = __str__
