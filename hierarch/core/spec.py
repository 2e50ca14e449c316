"""The model spec: an lme4-style formula resolved against the data, its family and link,
its priors and the settings of the group effects.  Both engines take a :class:`ModelSpec`:
:mod:`hierarch.bayes` builds and samples PyMC graphs from it, :mod:`hierarch.freq` fits the
REML/ML and Laplace/AGQ twins.  Nothing here fits anything.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from hierarch.core.families import get_family
from hierarch.core.formula import FormulaError, ParsedFormula, formula_columns, parse_formula
from hierarch.core.priors import Prior, resolve_priors
from hierarch.core.validate import drop_incomplete, no_text, prior_weights

__all__ = ["ModelSpec", "check_parameterization", "is_observation_level", "unique_factors"]

PARAMETERIZATIONS = ("centred", "non-centred")

_TRIALS_LHS = re.compile(
    r"^\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*\|\s*trials\(\s*([A-Za-z_.][A-Za-z0-9_.]*)"
    r"\s*\)\s*~(.*)$",
    re.S,
)

_SE_LHS = re.compile(
    r"^\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*\|\s*se\(\s*([A-Za-z_.][A-Za-z0-9_.]*)"
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


def check_parameterization(choice: str | dict[str, str], block_names: list[str]):
    """``"auto"``, one of :data:`PARAMETERIZATIONS` for every block, or a dict per block
    (blocks not named are non-centred); returns ``"auto"`` or the dict per block."""
    if isinstance(choice, dict):
        unknown = set(choice) - set(block_names)
        if unknown:
            raise ValueError(
                f"parameterization names unknown blocks {sorted(unknown)}; "
                f"blocks: {', '.join(block_names)}"
            )
        out = {b: choice.get(b, "non-centred") for b in block_names}
    elif choice in PARAMETERIZATIONS:
        out = dict.fromkeys(block_names, choice)
    elif choice == "auto":
        return "auto"
    else:
        raise ValueError(
            f"parameterization must be 'auto', 'centred', 'non-centred' or a "
            f"dict per block, got {choice!r}"
        )
    bad = {k: v for k, v in out.items() if v not in PARAMETERIZATIONS}
    if bad:
        raise ValueError(f"parameterization values must be 'centred' or 'non-centred': {bad}")
    return out


class ModelSpec:
    """A mixed model described by an lme4-style formula: the spec both engines take.

    Parameters
    ----------
    formula : str
        ``"y ~ x + (x | g)"``, ``"y ~ x + (1 | g) + (0 + x | g)"``, ``"y ~ 1 + (1 | a/b)"``,
        ``"y ~ 1 + (1 | a) + (1 | b)"``, with categorical predictors (``C(x)`` or a string
        column) and interactions (``x:z``, ``x * z``).
    data : pandas.DataFrame
    family : str
        ``"gaussian"``, ``"student_t"`` (robust: scale ``sigma`` and degrees of freedom
        ``nu``), ``"bernoulli"``, ``"binomial"`` (trials by ``"m | trials(n) ~ ..."``
        or ``trials="n"``), ``"poisson"``, ``"negative_binomial"``, ``"gamma"``,
        ``"inverse_gaussian"``, ``"beta"``.
    priors : dict, optional
        Overrides of the default priors (see :meth:`default_priors`), by name:
        a fixed-effect coefficient name (``"week"``, ``"Intercept"``), ``"sigma"``,
        ``"sd"`` (every group SD), ``"sd_<block>"`` (one block's SDs), ``"lkj_eta"``.
    link : str, optional
        The link (default: the family's canonical one; see :mod:`hierarch.core.families`).
    trials : str, optional
        Column of binomial trials.
    aggregate : bool
        Bernoulli/binomial only: sum rows with identical design rows into binomial counts
        before sampling (:meth:`cells`); same posterior, less work.
    na_action : {"error", "drop"}
        Rows with a missing value in a column the model uses: ``"error"`` (default) names
        the column and rows; ``"drop"`` fits the complete rows, warns how many and which it
        dropped (:class:`hierarch.core.validate.DataWarning`) and keeps their labels in
        :attr:`dropped_rows`.
    weights : str, optional
        Gaussian models: a column of prior weights, lme4's ``weights`` (row ``i`` has the
        residual variance ``sigma^2 / w_i``; the log-likelihood includes
        ``sum(log w) / 2``, as lme4's).  The engines fit the rows scaled by ``sqrt(w)``
        (:attr:`engine_parsed`); reports use each row's SD ``sigma / sqrt(w)``.
    parameterization : {"auto", "centred", "non-centred"} or dict
        How group effects are sampled, for all blocks or per block name; ``"auto"`` chooses
        per block from how informative the groups are (see
        :func:`hierarch.bayes.parameterization.choose`).  Recorded in the fit's spec.

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
        na_action: str = "error",
        weights: str | None = None,
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
        se_match = _SE_LHS.match(formula) if isinstance(formula, str) else None
        self.se_column: str | None = None
        #: the known standard errors of ``y | se(s) ~ ...`` (None: a residual SD is estimated)
        self.known_se: np.ndarray | None = None
        if se_match:  # "estimate | se(s) ~ ...": the known-SE hierarchy
            self.se_column = se_match.group(2)
            formula = f"{se_match.group(1)} ~ {se_match.group(3)}"
        extra = [c for c in (trials, self.se_column, weights) if c is not None]
        data, self.dropped_rows = drop_incomplete(
            data, [*formula_columns(formula, data), *extra], na_action
        )
        ordered_levels = None
        if self.family_info.support == "ordinal":
            data, ordered_levels = _ordinal_codes(formula, data)
        self.data = data
        self.na_action = na_action
        self.parsed = parse_formula(formula, data)
        if not self.parsed.blocks:
            raise FormulaError("the formula has no random effects; add a term like (1 | group)")
        if self.se_column is not None:
            self.known_se = _known_se(self, data, family)
        #: the prior weights' column and values (Gaussian models; None: every row weight 1)
        self.weights_column = weights
        self.weights: np.ndarray | None = None
        if weights is not None:
            if family != "gaussian" or self.known_se is not None:
                raise ValueError(
                    f"weights= (prior weights: a row's residual variance sigma^2 / w, as "
                    f"lme4's) is for Gaussian models; this one is {family!r}"
                    + (" with known standard errors" if self.known_se is not None else "")
                    + (": binomial trials go in trials=" if family == "binomial" else "")
                )
            self.weights = prior_weights(data, weights)
        self.trials_column = trials
        self.trials = None
        if trials is not None:
            if trials not in data.columns:
                raise FormulaError(f"trials column {trials!r} is not a column of the data")
            self.trials = pd.to_numeric(data[trials], errors="coerce").to_numpy(dtype=float)
            if not np.isnan(self.trials).any():
                no_text(data, trials)
            if np.isnan(self.trials).any():
                raise ValueError(
                    f"trials column {trials!r} has missing or non-numeric values in "
                    f"rows {list(data.index[np.isnan(self.trials)][:10])}"
                )
            if family != "binomial":
                raise ValueError(f"trials are only used by family 'binomial', not {family!r}")
        self.family_info.validate(self.parsed.y, data.index, self.parsed.response, self.trials)
        #: the ordered categories of an ordinal response (codes 1 .. K in ``parsed.y``)
        self.categories: list | None = None
        if self.family_info.support == "ordinal":
            values = np.unique(self.parsed.y)
            if ordered_levels is None:  # numbers: whole numbers named without a decimal point
                whole = np.all(values == np.round(values))
                ordered_levels = [int(v) if whole else float(v) for v in values]
            self.categories = list(ordered_levels)
            codes = np.searchsorted(values, self.parsed.y) + 1.0
            self.parsed = dataclasses.replace(self.parsed.without_intercept(), y=codes)
        _check_structure(
            self.parsed, gaussian=self.family_info.data_scale and self.known_se is None
        )
        self.block_names = _block_names(self.parsed)
        priors = dict(priors or {})
        if "lkj_eta" in priors and not isinstance(priors["lkj_eta"], Prior):
            eta = priors["lkj_eta"]  # a number, or {"dist": "LKJ", "value": eta} from a saved fit
            priors["lkj_eta"] = _LKJEta(float(eta["value"] if isinstance(eta, dict) else eta))
        if "sd" in priors:  # one prior for every group SD
            sd = Prior.from_value(priors.pop("sd"))
            for bname in self.block_names:
                priors.setdefault(f"sd_{bname}", sd)
        defaults = self.default_priors()
        positive = {k for k in defaults if k == "sigma" or k.startswith("sd_")}
        extra = set(self.family_info.default_extra_priors(self.parsed.y))
        unit = extra & {"zi", "hu"}  # probabilities
        positive |= extra - unit - {"cutpoints"}  # (ordinal thresholds: any real numbers)
        self.priors = resolve_priors(defaults, priors, positive=positive, unit=unit)
        #: "auto" or a per-block dict of "centred" / "non-centred" (checked here; "auto" is
        #: resolved by the Bayesian engine, :func:`hierarch.bayes.parameterization.choose`)
        self.parameterization_choice = check_parameterization(parameterization, self.block_names)

    # ------------------------------------------------------------------ priors
    # ------------------------------------------------------------------ dimension names
    #: dimension names ArviZ owns (a grouping factor of this name gets another dimension)
    RESERVED_DIMS = ("chain", "draw", "__sample__")

    def _free_dim(self, base: str) -> str:
        """``base``, or ``base`` with underscores added until it is no column the model uses
        (the only names that become dimensions: grouping factors) and no reserved name, so
        the model's own dimensions never collide with a user's names; a fit reloaded from
        its stored columns finds the same names."""
        taken = {str(c) for c in self.columns_used} | set(self.RESERVED_DIMS)
        name = base
        while name in taken:
            name = f"{name}_"
        return name

    @property
    def dim_obs(self) -> str:
        """The dimension of the rows (``obs``, unless the data have such a column)."""
        return self._free_dim("obs")

    @property
    def dim_cell(self) -> str:
        """The dimension of aggregated binomial cells (``cell``)."""
        return self._free_dim("cell")

    @property
    def dim_coef(self) -> str:
        """The dimension of the fixed-effect coefficients (``coef``)."""
        return self._free_dim("coef")

    def dim_factor(self, factor: str) -> str:
        """The dimension of a grouping factor's levels: the factor's own name (``batch``),
        unless ArviZ owns that name (``chain``, ``draw``)."""
        return f"{factor}__level" if factor in self.RESERVED_DIMS else factor

    def dim_effect(self, block_name: str, bis: bool = False) -> str:
        """The dimension of a block's effects (``<block>_effect``; ``_effect_bis`` for the
        second axis of a correlation matrix)."""
        return self._free_dim(f"{block_name}_effect{'_bis' if bis else ''}")

    @property
    def columns_used(self) -> list[str]:
        """The data columns the model reads (formula, trials, standard errors)."""
        extra = [
            c for c in (self.trials_column, self.se_column, self.weights_column) if c is not None
        ]
        return list(dict.fromkeys([*self.parsed.columns_used, *extra]))

    @property
    def engine_parsed(self) -> ParsedFormula:
        """What the engines fit: the parsed formula, with prior weights its rows scaled by
        ``sqrt(w)`` (response, offset, fixed and random-effect designs), so that a weighted
        Gaussian model is an unweighted one of the scaled rows (the same estimates and
        posterior; the log-likelihood differs by ``sum(log w) / 2``)."""
        if self.weights is None:
            return self.parsed
        sw = np.sqrt(self.weights)
        pf = self.parsed
        return dataclasses.replace(
            pf,
            y=pf.y * sw,
            X=pf.X * sw[:, None],
            offset=None if pf.offset is None else pf.offset * sw,
            blocks=[dataclasses.replace(b, Z=b.Z * sw[:, None]) for b in pf.blocks],
        )

    @property
    def row_sd_scale(self) -> np.ndarray | float:
        """Each row's residual SD in units of ``sigma``: ``1 / sqrt(w)`` with prior weights,
        else 1."""
        return 1.0 if self.weights is None else 1.0 / np.sqrt(self.weights)

    def default_priors(self) -> dict[str, Prior]:
        """Weakly informative priors scaled to the data (as rstanarm's defaults).

        With ``s_y`` the SD of the response and ``s_x`` the SD of a predictor column:
        ``Intercept ~ Normal(mean(y), 2.5 s_y)``; each other coefficient
        ``~ Normal(0, 2.5 s_y / s_x)``; ``sigma ~ HalfNormal(s_y)``; the group SD of an
        intercept ``~ HalfNormal(s_y)``, of a slope on ``x`` ``~ HalfNormal(s_y / s_x)``;
        correlations ``~ LKJ(eta = 2)``.  Student-t responses take the same, with
        ``nu ~ Gamma(2, 0.1)`` for the degrees of freedom (brms's default; Juarez and Steel
        2010).

        Other families put the priors on the link scale, with ``s_y = 1``: the intercept is
        centred on the link of the mean response (``Normal(g(ybar), 2.5)``), coefficients
        ``Normal(0, 2.5 / s_x)``, group SDs ``HalfNormal(1)`` (intercepts) and
        ``HalfNormal(1 / s_x)`` (slopes); negative binomial ``alpha ~ Exponential(1)``,
        gamma ``shape ~ Exponential(0.1)``, beta ``kappa ~ Exponential(0.05)``.
        """
        pf = self.parsed
        gaussian = self.family_info.data_scale  # Gaussian or Student-t
        sy = (float(np.std(pf.y, ddof=1)) or 1.0) if gaussian else 1.0
        if self.known_se is not None:  # the spread of the estimates: their SD and their SEs
            sy = float(np.sqrt(np.var(pf.y, ddof=1) + np.mean(self.known_se**2)))
        loc = self.family_info.intercept_location(pf.y, self.link, self.trials)
        priors: dict[str, Prior] = {}
        for j, name in enumerate(pf.x_names):
            sx = float(np.std(pf.X[:, j], ddof=1))
            if name == "Intercept" or sx == 0:
                priors[name] = Prior("Normal", mu=loc, sigma=2.5 * sy)
            else:
                priors[name] = Prior("Normal", mu=0.0, sigma=2.5 * sy / sx)
        if gaussian and self.known_se is None:
            priors["sigma"] = Prior("HalfNormal", sigma=sy)
        priors.update(self.family_info.default_extra_priors(pf.y))
        for bname, b in zip(self.block_names, pf.blocks, strict=True):
            scales = []
            for c, col in enumerate(b.columns):
                sz = float(np.std(b.Z[:, c], ddof=1))
                scales.append(sy if col == "Intercept" or sz == 0 else sy / sz)
            priors[f"sd_{bname}"] = Prior("HalfNormal", sigma=scales)
        priors["lkj_eta"] = _LKJEta(2.0)
        return priors

    # several grouping factors are integrated out through one dense q x q Cholesky factor
    # (q = total number of group effects) per gradient, compiled into the graph: cheap up to a
    # few hundred; above, through a sparse (CHOLMOD) factor in one Op with its gradient
    # (hierarch.bayes.sparse_marginal)
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
        (identity link) and no known standard errors: one grouping factor through per-group
        cross-products, several (crossed, nested) through one Cholesky factor of the q x q
        system (dense up to ``MAX_MARGINAL_Q`` group effects, sparse above)."""
        if self.family != "gaussian" or self.link != "identity" or self.known_se is not None:
            return False
        return True

    @property
    def _sparse_marginal(self) -> bool:
        """Several factors with more than ``MAX_MARGINAL_Q`` group effects: the sparse Op."""
        return not self._single_factor and self.n_group_effects > self.MAX_MARGINAL_Q

    @property
    def _single_factor(self) -> bool:
        return len({b.factor for b in self.parsed.blocks}) == 1

    def _global_stats(self, dense: bool = True) -> dict[str, np.ndarray]:
        """Cross-products of the whole data for several grouping factors (computed once):
        ``Z`` is n x q, levels-major within each block, blocks in formula order; with prior
        weights, of the rows scaled by ``sqrt(w)`` (:attr:`engine_parsed`)."""
        pf = self.engine_parsed
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
            "ZtZ": np.asarray((Z.T @ Z).todense()) if dense else (Z.T @ Z).tocsc(),
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
        """Per-group sufficient statistics of the marginal likelihood (computed once); with
        prior weights, of the rows scaled by ``sqrt(w)`` (:attr:`engine_parsed`)."""
        pf = self.engine_parsed
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


def _ordinal_codes(formula: str, data: pd.DataFrame):
    """An ordered categorical response replaced by its codes 1 .. K (with its categories),
    or numbers kept as they are (their sorted distinct values are the categories)."""
    response = formula.split("~", 1)[0].strip()
    if response not in data.columns:
        return data, None
    col = data[response]
    if isinstance(col.dtype, pd.CategoricalDtype):
        if not col.cat.ordered:
            raise ValueError(
                f"response {response!r} is an unordered categorical: an ordinal model needs "
                "the order of its categories (pd.Categorical(..., ordered=True))"
            )
        used = [c for c in col.cat.categories if (col == c).any()]
        codes = col.map({c: i + 1 for i, c in enumerate(used)}).astype(float)
        return data.assign(**{response: codes}), used
    if not pd.api.types.is_numeric_dtype(col):
        raise ValueError(
            f"response {response!r} of an ordinal model must be numbers (ratings, scores) "
            "or an ordered pandas Categorical, not text: the order of its categories is "
            "not known"
        )
    return data, None


def _known_se(spec: ModelSpec, data: pd.DataFrame, family: str) -> np.ndarray:
    """The standard errors of ``y | se(s) ~ 1 + (1 | g)``, checked."""
    col = spec.se_column
    pf = spec.parsed
    if family != "gaussian":
        raise FormulaError(
            f"se({col}) gives known standard errors of a Gaussian response, "
            f"not of family {family!r}"
        )
    if spec.link != "identity":
        raise FormulaError(f"se({col}) needs the identity link, not {spec.link!r}")
    if col not in data.columns:
        raise FormulaError(f"se({col}): {col!r} is not a column of the data")
    s = pd.to_numeric(data[col], errors="coerce").to_numpy(dtype=float)
    if np.isfinite(s).all():
        no_text(data, col)
    bad = ~np.isfinite(s) | (s <= 0)
    if bad.any():
        raise ValueError(
            f"column {col!r} (standard errors) must be positive finite numbers; rows "
            f"{list(data.index[bad][:10])}"
        )
    if pf.x_names != ["Intercept"] or len(pf.blocks) != 1 or pf.blocks[0].columns != ["Intercept"]:
        raise FormulaError(
            f"known standard errors (se({col})) are supported for one random intercept and "
            f"no covariates so far: '{pf.response} | se({col}) ~ 1 + (1 | group)'"
        )
    return s


class _LKJEta(Prior):
    """The LKJ shape parameter: a fixed value, not a distribution."""

    def __init__(self, value: float = 2.0) -> None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"lkj_eta must be a positive number, got {value!r}") from None
        if not (np.isfinite(value) and value > 0):
            raise ValueError(
                f"lkj_eta must be a positive number (1: uniform over correlation matrices, "
                f"above 1: toward no correlation), got {value!r}"
            )
        self.dist = "LKJ"
        self.params = {"value": value}


def is_observation_level(block, parsed) -> bool:
    """A scalar intercept whose every level has exactly one row, beside another grouping
    factor: an overdispersion term (cbpp's ``(1 | obs)``).  When it is the model's only
    grouping factor the rows are the groups (rats' ``(1 | batch)`` on one row per batch) and
    the effect is a group effect."""
    return (
        block.columns == ["Intercept"]
        and block.n_levels == parsed.n
        and np.all(np.bincount(block.codes, minlength=block.n_levels) == 1)
        and len({b.factor for b in parsed.blocks}) > 1
    )


def unique_factors(blocks):
    seen, out = set(), []
    for b in blocks:
        if b.factor not in seen:
            seen.add(b.factor)
            out.append(b)
    return out
