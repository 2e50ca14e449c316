"""Models on data that stay in an engine (Parquet through DuckDB, a DuckDB relation, a Dask
DataFrame): the formula is read against a small sample, the statistics are computed where the
data live (:mod:`hierarch.core.engines`)."""

from __future__ import annotations

from hierarch.core.engines import (
    _relation,
    binomial_cells,
    engine_of,
    gaussian_statistics,
)
from hierarch.core.formula import parse_formula
from hierarch.freq.lmm import fit_lmm_statistics

__all__ = ["from_engine"]

_SAMPLE = 500


def _sample(source):
    kind = engine_of(source)
    if kind == "duckdb":
        return _relation(source).limit(_SAMPLE).df()
    return source.head(_SAMPLE)


def from_engine(formula: str, source, family: str = "gaussian", method: str = "reml"):
    """Fit or prepare a model whose rows stay in an engine.

    Parameters
    ----------
    formula : str
        An lme4 formula.  Gaussian: one grouping factor, ``y ~ x + (x | g)``; design columns
        are the intercept, numeric columns and their products.  Bernoulli / binomial:
        ``y ~ x + (1 | g)`` or ``y | trials(n) ~ ...`` with discrete covariates (rows alike in
        every column the formula uses are summed into one binomial cell).
    source : str, Path, DuckDB relation or Dask DataFrame
        A Parquet file, glob or folder (read by DuckDB, out of core), a DuckDB relation, or a
        Dask DataFrame (computed on its cluster).  A pandas DataFrame works too.
    family : {"gaussian", "bernoulli", "binomial"}
    method : {"reml", "ml"}
        Gaussian only: the twin's criterion.

    Returns
    -------
    hierarch.freq.lmm.LMMFit or Model
        Gaussian: the REML/ML fit from the sufficient statistics (``LMMFit``: fixed
        effects, variance components, conditional modes).  Bernoulli / binomial: a
        :class:`hierarch.Model` on the aggregated cells, to ``.fit()`` with any method
        (Bayesian or Laplace/AGQ): the same likelihood as the rows.

    Examples
    --------
    >>> import hierarch
    >>> fit = hierarch.from_engine("weight ~ week + (week | id)", hierarch.load_dataset("pigs"))
    >>> [round(float(b), 4) for b in fit.beta]
    [19.3556, 6.2099]
    """
    from hierarch.frontends.mixed import model

    sample = _sample(source)
    pf = parse_formula(formula, sample)
    if family == "gaussian":
        if method not in ("reml", "ml"):
            raise ValueError(f"method must be 'reml' or 'ml' for data in an engine, not {method!r}")
        if len(pf.blocks) != 1:
            raise ValueError(
                "data in an engine: a Gaussian model takes one random-effect term (x | g); "
                f"this formula has {len(pf.blocks)}"
            )
        b = pf.blocks[0]
        st = gaussian_statistics(source, pf.response, pf.x_names, b.factor, b.columns)
        return fit_lmm_statistics(st, reml=method == "reml")
    if family in ("bernoulli", "binomial"):
        lhs = formula.split("~")[0]
        trials = None
        if "trials(" in lhs:
            trials = lhs.split("trials(")[1].split(")")[0].strip()
        response = lhs.split("|")[0].strip()
        by = [c for c in pf.columns_used if c not in (response, trials)]
        cells = binomial_cells(source, response, by, trials=trials)
        rhs = formula.split("~", 1)[1]
        tname = trials or "trials"
        return model(f"{response} | trials({tname}) ~ {rhs}", cells, family="binomial")
    raise ValueError(
        f"family {family!r}: data in an engine take 'gaussian', 'bernoulli' or 'binomial' "
        "(the families whose likelihood reduces to statistics)"
    )
